"""Real SAM-family architectures with random weights for the click-segment tests (ADR 0038).

MobileSAM is small (10 M parameters, 40 MB): it is built, saved and loaded for real. ViT-B/L/H would
cost 0.4-2.5 GB each, so their recognition is tested on key/shape tables (``vit_shapes``) only.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import SAMPLE

pytest.importorskip("mobile_sam", reason="the sam extra (scripts/bootstrap dev installs it)")
pytest.importorskip("segment_anything", reason="the sam extra (scripts/bootstrap dev installs it)")

from cocoseg_gui.core.segment.kinds import MOBILE_SAM
from cocoseg_gui.core.segment.model import LoadedSam, build_architecture, load_sam
from cocoseg_gui.core.segment.prompt import ImageEmbedding
from cocoseg_gui.core.segment.segmenter import Segmenter

SAMPLE_IMAGE = SAMPLE / "val2017" / "000000006818.jpg"  # 427x640, portrait: padding on the right


def vit_shapes(width: int, blocks: int) -> dict[str, tuple[int, ...]]:
    """The keys and shapes recognition looks at in a SAM ViT state_dict."""
    shapes: dict[str, tuple[int, ...]] = {
        "image_encoder.patch_embed.proj.weight": (width, 3, 16, 16),
        "image_encoder.pos_embed": (1, 64, 64, width),
        "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": (2, 128),
        "mask_decoder.iou_token.weight": (1, 256),
    }
    for i in range(blocks):
        shapes[f"image_encoder.blocks.{i}.attn.qkv.weight"] = (3 * width, width)
    return shapes


@pytest.fixture(scope="session")
def mobile_state() -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mobile_sam  # noqa: F401  (imported before seeding: the same weights in any test order)
    torch.manual_seed(21)
    return build_architecture(MOBILE_SAM).state_dict()


@pytest.fixture(scope="session")
def mobile_sam_file(tmp_path_factory: pytest.TempPathFactory, mobile_state: dict[str, torch.Tensor]) -> Path:
    """Randomly initialised MobileSAM weights, saved as the official file is (a plain state_dict)."""
    path = tmp_path_factory.mktemp("sam") / "mobile_sam_random.pt"
    torch.save(mobile_state, path)
    return path


@pytest.fixture(scope="session")
def loaded_mobile_sam(mobile_sam_file: Path) -> LoadedSam:
    return load_sam(mobile_sam_file)


@pytest.fixture(scope="session")
def sample_image() -> np.ndarray:
    return np.asarray(Image.open(SAMPLE_IMAGE).convert("RGB"))


@pytest.fixture(scope="session")
def torch_segmenter(loaded_mobile_sam: LoadedSam) -> Segmenter:
    return Segmenter(loaded_mobile_sam, decoder="torch")


@pytest.fixture(scope="session")
def sample_embedding(torch_segmenter: Segmenter, sample_image: np.ndarray) -> ImageEmbedding:
    return torch_segmenter.embed(sample_image)
