"""Known label errors put into a copy of a mask folder: the ground truth of the label-issue tests and
benchmark (benchmarks/bench_label_issues.py).

Each corruption changes one object (the largest 8-connected component of a class) of one mask:
``erase`` relabels it background, ``swap`` relabels it another class, ``shift`` moves it by a third of
its size (the vacated pixels become background), as a polygon drawn in the wrong place would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from cocoseg_gui.core.masks.palette import palette_bytes

KINDS = ("erase", "swap", "shift")
IGNORE = 255


@dataclass(frozen=True)
class Corruption:
    file: str  # image file name
    kind: str
    changed: np.ndarray  # bool [H, W]: the pixels whose label changed

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(self.changed)
        return (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))

    @property
    def area(self) -> int:
        return int(self.changed.sum())


def largest_object(mask: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(class, bool pixels) of the largest 8-connected component of a class other than 0 and ignore."""
    best: tuple[int, np.ndarray] | None = None
    for cls in np.unique(mask):
        if cls in (0, IGNORE):
            continue
        n, labels, stats, _ = cv2.connectedComponentsWithStats((mask == cls).astype(np.uint8), connectivity=8)
        if n < 2:
            continue
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if best is None or stats[k, cv2.CC_STAT_AREA] > best[1].sum():
            best = (int(cls), labels == k)
    return best


def corrupt(mask: np.ndarray, kind: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(new mask, changed pixels) of one corruption of the largest object of ``mask``."""
    found = largest_object(mask)
    if found is None:
        raise ValueError("no object to corrupt")
    cls, obj = found
    out = mask.copy()
    if kind == "erase":
        out[obj] = 0
    elif kind == "swap":
        out[obj] = 1 + cls % (num_classes - 1)  # the next class (never background)
    elif kind == "shift":
        ys, xs = np.nonzero(obj)
        dy, dx = (int(ys.max() - ys.min() + 1) // 3, int(xs.max() - xs.min() + 1) // 3)
        moved = np.zeros_like(obj)
        h, w = obj.shape
        moved[dy:, dx:] = obj[: h - dy, : w - dx]
        out[obj & (out == cls)] = 0
        out[moved & (mask != IGNORE)] = cls
    else:
        raise ValueError(f"unknown corruption {kind!r}")
    return out, out != mask


def write_mask(path: Path, mask: np.ndarray) -> None:
    img = Image.fromarray(mask, mode="P")
    img.putpalette(palette_bytes())
    img.save(path)


def corrupt_folder(folder: Path, count: int, seed: int = 0) -> list[Corruption]:
    """Corrupt ``count`` masks of ``folder`` in place (kinds in turn, images chosen by ``seed``)."""
    mapping = json.loads((folder / "category_mapping.json").read_text(encoding="utf-8"))
    mask_map = json.loads((folder / "image_mask_map.json").read_text(encoding="utf-8"))
    files = sorted(mask_map)
    chosen = np.random.default_rng(seed).choice(len(files), size=count, replace=False)
    kinds = KINDS if int(mapping["num_classes"]) > 2 else ("erase", "shift")  # swap needs 2 classes
    done = []
    for n, i in enumerate(sorted(chosen)):
        path = folder / "masks" / mask_map[files[i]]
        mask = np.array(Image.open(path))
        kind = kinds[n % len(kinds)]
        new, changed = corrupt(mask, kind, int(mapping["num_classes"]))
        write_mask(path, new)
        done.append(Corruption(files[i], kind, changed))
    return done


def precision_at(ranked: list[str], relevant: set[str], k: int) -> float:
    """Share of the first ``k`` of ``ranked`` that are in ``relevant``."""
    return sum(f in relevant for f in ranked[:k]) / k


def keep_large_objects(folder: Path, min_fraction: float) -> Path:
    """Keep in ``folder``'s image_mask_map.json only images whose largest object covers at least
    ``min_fraction`` of the image (a small model at a small input size sees those)."""
    path = folder / "image_mask_map.json"
    mask_map = json.loads(path.read_text(encoding="utf-8"))
    keep = {}
    for name, mask_name in mask_map.items():
        mask = np.array(Image.open(folder / "masks" / mask_name))
        found = largest_object(mask)
        if found is not None and found[1].sum() >= min_fraction * mask.size:
            keep[name] = mask_name
    path.write_text(json.dumps(keep, indent=1), encoding="utf-8")
    return folder


def copy_mask_folder(src: Path, dst: Path) -> Path:
    """A copy of a mask folder whose manifest points at the same images (made absolute: the copy may lie
    at another depth than the relative path assumed)."""
    import shutil

    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    manifest["images_dir"] = str((src / manifest["images_dir"]).resolve())
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return dst
