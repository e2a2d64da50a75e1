"""Small mask dataset folders for the trainer, evaluate and predict tests.

``person_folder``: the first sample val images that contain a person, relabelled to two classes
(background, person; crowd stays 255), built from tests.training_fixtures (pycocotools annToMask).
Import the fixtures into a test module: ``from tests.trainer_fixtures import person4  # noqa: F401``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.masks.palette import class_color, palette_bytes
from tests.training_fixtures import build_mask_folder

IGNORE = 255


def keep_classes(root: Path, names: list[str], max_images: int | None = None) -> Path:
    """Relabel a mask folder in place to background + ``names`` (others -> background), keeping only
    images that contain the first of ``names``, at most ``max_images``; report.json is recomputed."""
    mapping = json.loads((root / "category_mapping.json").read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in mapping["classes"]}
    lut = np.zeros(256, dtype=np.uint8)
    lut[IGNORE] = IGNORE
    classes = [dict(mapping["classes"][0])]
    for i, name in enumerate(names, 1):
        lut[by_name[name]["index"]] = i
        classes.append({**by_name[name], "index": i, "color": list(class_color(i))})
    mask_map = json.loads((root / "image_mask_map.json").read_text(encoding="utf-8"))
    keep: dict[str, str] = {}
    per_image: dict[str, dict[str, int]] = {}
    pixels = np.zeros(256, dtype=np.int64)
    images = np.zeros(256, dtype=np.int64)
    for image_name, mask_name in sorted(mask_map.items()):
        if max_images is not None and len(keep) == max_images:
            break
        mask = lut[np.array(Image.open(root / "masks" / mask_name))]
        if not (mask == 1).any():
            continue
        out = Image.fromarray(mask, mode="P")
        out.putpalette(palette_bytes())
        out.save(root / "masks" / mask_name)
        keep[image_name] = mask_name
        counts = np.bincount(mask.ravel(), minlength=256)
        pixels += counts
        images += counts > 0
        per_image[mask_name] = {str(i): int(counts[i]) for i in np.flatnonzero(counts)}
    mapping.update(
        num_classes=len(classes),
        classes=classes,
        category_id_to_index={str(c["category_id"]): c["index"] for c in classes[1:]},
    )
    report = json.loads((root / "report.json").read_text(encoding="utf-8"))
    report["classes"] = [
        {
            "index": c["index"],
            "name": c["name"],
            "pixels": int(pixels[c["index"]]),
            "images": int(images[c["index"]]),
        }
        for c in classes
    ]
    report["per_image"] = per_image
    for name, obj in [
        ("category_mapping.json", mapping),
        ("image_mask_map.json", keep),
        ("report.json", report),
    ]:
        (root / name).write_text(json.dumps(obj, indent=1), encoding="utf-8")
    return root


def person_folder(out: Path, max_images: int, scan: int = 16, copy_images: bool = False) -> Path:
    """A background/person mask folder of the first ``max_images`` sample val images with a person."""
    build_mask_folder(out, max_images=scan, copy_images=copy_images)
    return keep_classes(out, ["person"], max_images)


@pytest.fixture(scope="session")
def person4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four sample val images with persons, two classes (read-only: copy it to damage it)."""
    return person_folder(tmp_path_factory.mktemp("person4"), 4)


def part_of(src: Path, dst: Path, keep: slice) -> Path:
    """A copy of a mask folder with only the images ``keep`` of its sorted map (images found as before)."""
    shutil.copytree(src, dst)
    manifest = json.loads((src / "manifest.json").read_text())
    manifest["images_dir"] = (src / manifest["images_dir"]).resolve().as_posix()
    (dst / "manifest.json").write_text(json.dumps(manifest))
    mask_map = json.loads((src / "image_mask_map.json").read_text())
    kept = dict(sorted(mask_map.items())[keep])
    (dst / "image_mask_map.json").write_text(json.dumps(kept))
    return dst


def edit_first(masks: Path) -> str:
    """Save a correction of the folder's first image the way the editor does (edited.json)."""
    mask_map = json.loads((masks / "image_mask_map.json").read_text())
    name = sorted(mask_map)[0]
    mask = np.array(Image.open(masks / "masks" / mask_map[name]))
    mask[: mask.shape[0] // 2] = 1
    save_edited_mask(masks, name, mask, mask.shape)
    return name
