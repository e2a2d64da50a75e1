"""Tiny real datasets (copied from the demo) whose first image, in file order, cannot be shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

from tests.conftest import SAMPLE

FIRST_IMAGE_PROBLEMS = ("missing", "bomb", "zero-size", "nul-name")


def tiny_dataset(root: Path, problem: str = "", images: int = 3, extra_categories: int = 0) -> Path:
    """``images`` demo val images (sorted by file name) with their annotations under ``root``; the first
    one broken as ``problem`` says, ``extra_categories`` more categories. Returns the annotations JSON."""
    data = json.loads((SAMPLE / "annotations" / "instances_val2017.json").read_text(encoding="utf-8"))
    chosen = sorted(data["images"], key=lambda i: i["file_name"])[:images]
    image_dir = root / "images"
    image_dir.mkdir(parents=True)
    for info in chosen:
        shutil.copy(SAMPLE / "val2017" / info["file_name"], image_dir / info["file_name"])
    first = chosen[0]
    if problem == "missing":
        (image_dir / first["file_name"]).unlink()
    elif problem == "bomb":  # a real PNG over Pillow's decompression-bomb limit (27 kB on disk)
        (image_dir / first["file_name"]).unlink()
        first["file_name"] = "0_bomb.png"
        Image.new("1", (15000, 15000)).save(image_dir / first["file_name"])
    elif problem == "zero-size":
        first["width"] = first["height"] = 0
    elif problem == "nul-name":
        first["file_name"] = "0_a\x00b.jpg"
    elif problem:
        raise ValueError(problem)
    ids = {i["id"] for i in chosen}
    top = max(c["id"] for c in data["categories"])
    data["categories"] += [
        {"id": top + 1 + i, "name": f"extra{i}", "supercategory": "extra"} for i in range(extra_categories)
    ]
    data["images"] = chosen
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    path = root / "instances.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
