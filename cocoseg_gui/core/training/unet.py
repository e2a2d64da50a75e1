"""A small U-Net (Ronneberger et al. 2015) with BatchNorm, for any input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """Encoder/decoder with skip connections; ``width`` channels at full resolution, doubled per level.

    ``depth`` down-samplings (default 4); inputs whose size is not a multiple of 2**depth are
    padded internally (reflect) and the logits cropped back, so the output is [N, C, H, W].
    """

    def __init__(self, num_classes: int, width: int = 32, depth: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        if num_classes < 1 or width < 1 or depth < 1:
            raise ValueError(f"invalid UNet(num_classes={num_classes}, width={width}, depth={depth})")
        self.depth = depth
        chans = [width * 2**i for i in range(depth + 1)]
        self.stem = _double_conv(in_channels, chans[0])
        self.down = nn.ModuleList(_double_conv(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in range(depth))
        self.dec = nn.ModuleList(_double_conv(2 * chans[i], chans[i]) for i in range(depth))
        self.head = nn.Conv2d(chans[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for i in reversed(range(self.depth)):
            y = self.dec[i](torch.cat([skips.pop(), self.up[i](y)], dim=1))
        return self.head(y)[..., :h, :w]
