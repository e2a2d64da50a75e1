"""Prediction with a trained checkpoint, at the original image size.

Preprocessing is the validation transform of the checkpoint (letterbox to the input size by
default); the logits are un-letterboxed (crop the content, resize back bilinearly) before the
argmax, so the mask has exactly the input image's height and width.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cocoseg_gui.core.errors import CocoSegError, DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_with
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.palette import voc_palette
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.predict_output import OVERWRITE_HINT, PredictRecord, check_predict_out
from cocoseg_gui.core.training.sharding import Shard, progress_done
from cocoseg_gui.core.types import IGNORE_INDEX, IMAGE_SUFFIXES

ImageLike = Image.Image | np.ndarray


def class_palette(classes: Sequence[dict[str, Any]]) -> np.ndarray:
    """256x3 uint8 colours: the VOC palette with each class's own colour at its index."""
    pal = voc_palette().copy()
    for c in classes:
        pal[int(c["index"])] = [int(v) for v in c["color"]]
    return pal


def overlay_image(
    rgb: np.ndarray, mask: np.ndarray, colors: np.ndarray | Sequence[Sequence[int]], alpha: float = 0.5
) -> np.ndarray:
    """``rgb`` (H,W,3 uint8) blended with ``colors[class]`` where ``mask`` (H,W) is a class > 0.

    Background (0) and indices without a colour (e.g. 255 when only K+1 colours are given) keep
    the image's pixels. Returns a new H,W,3 uint8 array.
    """
    rgb = np.asarray(rgb)
    mask = np.asarray(mask)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != mask.shape:
        raise ValueError(f"overlay needs rgb (H,W,3) and mask (H,W); got {rgb.shape} and {mask.shape}")
    pal = np.asarray(colors, dtype=np.float32).reshape(-1, 3)
    sel = (mask > 0) & (mask < len(pal))
    out = rgb.copy()
    if sel.any():
        mixed = (1.0 - alpha) * rgb[sel].astype(np.float32) + alpha * pal[mask[sel].astype(np.intp)]
        out[sel] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


def _to_pil(image: ImageLike) -> Image.Image:
    from cocoseg_gui.core.training.transforms import to_rgb

    if isinstance(image, Image.Image):
        return to_rgb(image)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise OptionsError(f"an image array must be HxW, HxWx1, HxWx3 or HxWx4; got shape {arr.shape}")
    return Image.fromarray(np.ascontiguousarray(arr), mode="RGB")


class Predictor:
    """A model loaded from a checkpoint, in eval mode, with its preprocessing."""

    def __init__(self, checkpoint: dict[str, Any], device: torch.device, source: Path | None = None) -> None:
        from cocoseg_gui.core.training.models import build_model
        from cocoseg_gui.core.training.transforms import SegTransform

        spec, inp = checkpoint["model"], checkpoint["input"]
        self.source = source
        self.classes: list[dict[str, Any]] = list(checkpoint["classes"])
        self.num_classes = len(self.classes)
        self.ignore_index = int(checkpoint.get("ignore_index", IGNORE_INDEX))
        self.img_size = int(inp["img_size"])
        self.resize = str(inp.get("resize", "letterbox"))
        self.model_name = str(spec["name"])
        self.metrics: dict[str, Any] = dict(checkpoint.get("metrics") or {})
        self.val_set: dict[str, Any] | None = checkpoint.get("val_set")  # what the metrics measured
        self.device = device
        try:
            model = build_model(self.model_name, self.num_classes, pretrained="none", **spec["kwargs"])
            model.load_state_dict(spec["state_dict"])
        except (RuntimeError, TypeError, KeyError) as exc:
            where = f"{source}: " if source else ""
            raise CocoSegError(
                f"{where}the checkpoint's weights do not fit model {self.model_name!r} ({exc})"
            ) from exc
        self.model = model.to(device).eval()
        self.transform = SegTransform(
            self.img_size, train=False, resize=self.resize, mean=inp["mean"], std=inp["std"]
        )
        self.palette = class_palette(self.classes)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "auto") -> Predictor:
        """Load ``path`` (a cocoseg checkpoint; anything else raises CocoSegError naming it)."""
        from cocoseg_gui.core.training.trainer import resolve_device

        dev = device if isinstance(device, torch.device) else resolve_device(device)
        return cls(load_checkpoint(path, map_location="cpu"), dev, Path(path))

    @property
    def class_names(self) -> list[str]:
        return [str(c["name"]) for c in self.classes]

    def _prepare(self, image: ImageLike) -> tuple[torch.Tensor, tuple[int, int]]:
        pil = _to_pil(image)
        tensor, _ = self.transform(pil, None)
        return tensor, (pil.height, pil.width)

    def _restore(self, logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """[C,S,S] logits of a transformed image -> [C,H,W] logits of the original image."""
        from cocoseg_gui.core.training.transforms import letterbox_size

        h, w = size
        if self.resize == "letterbox":
            nh, nw = letterbox_size(h, w, self.img_size)
            logits = logits[:, :nh, :nw]
        if tuple(logits.shape[-2:]) != (h, w):
            logits = torch.nn.functional.interpolate(
                logits[None], size=(h, w), mode="bilinear", align_corners=False
            )[0]
        return logits

    @torch.no_grad()
    def logits_batch(self, images: Sequence[ImageLike]) -> list[torch.Tensor]:
        """Float logits [C,H,W] at each image's original size (on the predictor's device)."""
        prepared = [self._prepare(im) for im in images]
        if not prepared:
            return []
        shapes = {tuple(t.shape) for t, _ in prepared}
        if len(shapes) == 1:
            batch = torch.stack([t for t, _ in prepared]).to(self.device)
            outs = list(self.model(batch).float())
        else:  # resize="none": sizes differ, one at a time
            outs = [self.model(t[None].to(self.device)).float()[0] for t, _ in prepared]
        return [self._restore(o, size) for o, (_, size) in zip(outs, prepared)]

    @torch.no_grad()
    def probabilities_batch(self, images: Sequence[ImageLike]) -> list[np.ndarray]:
        """float32 softmax probabilities [C,H,W] at each image's original size, on the CPU.

        The one source of per-pixel class probabilities (proposals, confidence views, label-issue
        ranking all read these, so they agree with ``predict_batch``'s argmax)."""
        return [torch.softmax(lg, dim=0).cpu().numpy() for lg in self.logits_batch(images)]

    @torch.no_grad()
    def top2_batch(self, images: Sequence[ImageLike]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(values float32 [2,H,W], class indices int64 [2,H,W]) of the two most probable classes per
        pixel, computed on the predictor's device: what proposals and the uncertainty ranking read,
        without carrying all C probabilities to the CPU (81 classes at 1080p would be 670 MB). With one
        class both rows are that class."""
        out = []
        for lg in self.logits_batch(images):
            probs = torch.softmax(lg, dim=0)
            if probs.shape[0] == 1:
                values, indices = probs.expand(2, *probs.shape[1:]), torch.zeros_like(probs, dtype=torch.long)
                indices = indices.expand(2, *probs.shape[1:])
            else:
                values, indices = probs.topk(2, dim=0)
            out.append((values.cpu().numpy(), indices.cpu().numpy()))
        return out

    def predict_batch(self, images: Sequence[ImageLike]) -> list[np.ndarray]:
        """uint8 class maps [H,W], each at its image's original size."""
        # max().indices: the first maximum, as argmax, but a contiguous reduction (10x faster on CPU)
        return [lg.max(0).indices.to(torch.uint8).cpu().numpy() for lg in self.logits_batch(images)]

    def predict(self, image: ImageLike) -> np.ndarray:
        """uint8 class map [H,W] at the original size of ``image`` (PIL image or array)."""
        return self.predict_batch([image])[0]

    def mask_image(self, mask: np.ndarray) -> Image.Image:
        """A palette ("P") PNG-ready image of ``mask`` with the checkpoint's class colours."""
        img = Image.fromarray(np.asarray(mask, dtype=np.uint8), mode="P")
        img.putpalette(self.palette.tobytes())
        return img


@dataclass
class PredictResult:
    """What predict_files wrote: mask paths, overlay paths, and the inputs that failed."""

    masks: list[Path] = field(default_factory=list)
    overlays: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def collect_images(inputs: Sequence[str | Path]) -> list[Path]:
    """Image files among ``inputs`` (files, or folders searched recursively), in a stable order."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            )
        elif p.is_file():
            found.append(p)
        else:
            raise DatasetError(p, "input image or folder not found")
    return found


def _output_names(files: Sequence[Path]) -> list[str]:
    """Unique output stems: the file stem, suffixed -2, -3, ... when stems repeat."""
    seen: dict[str, int] = {}
    names = []
    for f in files:
        n = seen.get(f.stem, 0) + 1
        seen[f.stem] = n
        names.append(f.stem if n == 1 else f"{f.stem}-{n}")
    return names


def predict_files(
    checkpoint: str | Path,
    inputs: Sequence[str | Path],
    out: str | Path,
    overlay: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    device: str = "auto",
    batch_size: int = 4,
    alpha: float = 0.5,
    overlay_format: str = "jpg",
    overwrite: bool = False,
    ground_truth: Sequence[str | Path] = (),
    overwrite_hint: str = OVERWRITE_HINT,
    shard: Shard | None = None,
) -> PredictResult:
    """Write ``out/<stem>.png`` palette masks (and ``out/overlays/<stem>.<jpg|png>``) for the inputs.

    ``out`` must not hold inputs or ground truth, nor files at the target names that predict did
    not write unless ``overwrite`` (core.predict_output; ``ground_truth``: more folders to protect).
    Unreadable images are listed in ``failed`` and skipped. Files are written atomically;
    ``cancel`` stops between batches (raising Cancelled), leaving only complete files. ``shard``
    (torchrun): this rank predicts its share of the batches (core.training.sharding); OUT must be one
    folder all ranks see; rank 0 keeps the record; every rank returns the whole result.
    """
    from cocoseg_gui.core.training.transforms import load_rgb

    if overlay_format not in ("jpg", "png"):
        raise OptionsError(f"overlay format must be jpg or png, got {overlay_format!r}")
    if batch_size < 1:
        raise OptionsError(f"batch size must be at least 1, got {batch_size}")
    files = collect_images(inputs)
    if not files:
        raise OptionsError(f"no images found in {', '.join(str(i) for i in inputs)}")
    out = Path(out)
    names = _output_names(files)
    targets = {n: [f"{n}.png", *([f"overlays/{n}.{overlay_format}"] if overlay else [])] for n in names}
    check_predict_out(
        out, [*inputs, *files], [t for ts in targets.values() for t in ts],
        ground_truth=ground_truth, overwrite=overwrite, overwrite_hint=overwrite_hint,
    )  # fmt: skip
    shard = shard or Shard()
    shard.barrier()  # every rank checked OUT before any writes to it
    predictor = Predictor.from_checkpoint(checkpoint, shard.device(device))
    if shard.is_main:
        out.mkdir(parents=True, exist_ok=True)
    record = PredictRecord(out) if shard.is_main else None  # one writer of the record: rank 0
    result = PredictResult()
    written: list[tuple[tuple[int, int], tuple[str, Path]]] = []
    failed: list[tuple[tuple[int, int], tuple[Path, str]]] = []
    meter = RateMeter(len(files))
    num_batches = math.ceil(len(files) / batch_size)

    def round_targets(r: int) -> list[str]:
        chunk = names[r * shard.world_size * batch_size : (r + 1) * shard.world_size * batch_size]
        return [t for name in chunk for t in targets[name]]

    for r, b in shard.rounds(num_batches, cancel):
        if record is not None:
            record.pending(round_targets(r))  # before writing: a killed run still owns its files
        shard.barrier()
        if b is not None:
            start = b * batch_size
            chunk = list(zip(files[start : start + batch_size], names[start : start + batch_size]))
            loaded: list[tuple[Path, str, Image.Image]] = []
            for pos, (path, name) in enumerate(chunk):
                try:
                    loaded.append((path, name, load_rgb(path)))
                except DatasetError as exc:
                    failed.append(((b, pos), (path, exc.problem)))
            masks = predictor.predict_batch([im for _, _, im in loaded])
            for pos, ((_, name, image), mask) in enumerate(zip(loaded, masks)):
                target = out / f"{name}.png"
                atomic_write_with(target, partial(predictor.mask_image(mask).save, format="PNG"), fsync=False)
                written.append(((b, pos), ("mask", target)))
                if overlay:
                    mixed = overlay_image(np.asarray(image), mask, predictor.palette, alpha)
                    blended = Image.fromarray(mixed)
                    target = out / "overlays" / f"{name}.{overlay_format}"
                    fmt = "JPEG" if overlay_format == "jpg" else "PNG"
                    atomic_write_with(target, partial(blended.save, format=fmt), fsync=False)
                    written.append(((b, pos), ("overlay", target)))
        shard.barrier()
        if record is not None:
            record.written(round_targets(r))
        done = progress_done(shard, r, num_batches, batch_size, len(files))
        if progress is not None and meter.due(done):
            report(progress, meter.progress(done, files[done - 1].name))
    for kind, path in shard.gather(written):
        (result.masks if kind == "mask" else result.overlays).append(path)
    result.failed = shard.gather(failed)
    if record is None:
        return result
    with contextlib.suppress(OSError):  # the append-only record stays valid without compaction
        record.compact()
    return result
