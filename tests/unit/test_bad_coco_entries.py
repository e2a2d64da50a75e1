"""Bad entries in a COCO instances file (issue 12 items 9, 12, 13, 14, 17): refused, reported or named,
never a traceback, an invalid PNG, a silent wrong class or a 23 GB allocation. Real files in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.rasterize import rasterize_image

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "index_cache"))


def _sample(val_annotations: Path) -> dict[str, Any]:
    return json.loads(val_annotations.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict[str, Any], name: str = "instances.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run(ann: Path, images: Path, out: Path, **kw: Any) -> Any:
    return generate_masks(ann, images, out, MaskOptions(workers=1, **kw))


# ----------------------------------------------------------------------------------- item 12
def test_duplicate_category_name_asks_for_an_id(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    data = _sample(val_annotations)
    car = next(c for c in data["categories"] if c["id"] == 3)
    car["name"] = "Bicycle"  # names match ignoring case: "bicycle" now names ids 2 and 3
    path = _write(tmp_path, data)
    with pytest.raises(OptionsError, match=r"'bicycle' is ambiguous: categories 2, 3 .* by its id"):
        _run(path, val_images, tmp_path / "a", classes=("bicycle",), max_images=3)
    with pytest.raises(OptionsError, match="categories 2, 3"):
        _run(path, val_images, tmp_path / "b", overlap="priority", priority=("bicycle",), max_images=3)
    assert not (tmp_path / "a" / "masks").exists()
    result = _run(path, val_images, tmp_path / "c", classes=("3",), max_images=3)
    mapping = json.loads((tmp_path / "c" / "category_mapping.json").read_text())
    assert mapping["category_id_to_index"] == {"3": 1} and result.num_images == 3


# ------------------------------------------------------------------------------- items 9, 14
def test_bad_image_entries_are_refused_and_reported(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    data = _sample(val_annotations)
    imgs = data["images"]
    imgs[0]["width"] = 0
    imgs[1]["height"] = 0
    imgs[2]["width"] = -5
    imgs[3]["file_name"] = "bad\0name.jpg"
    bad = {img["id"]: img["file_name"] for img in imgs[:4]}
    path = _write(tmp_path, data)
    index = CocoIndex.load(path)
    bad_anns = sum(index.annotation_count(i) for i in bad)
    assert bad_anns > 0

    result = _run(path, val_images, tmp_path / "out")
    assert result.num_images == len(imgs) - 4 and result.complete
    refused = result.report["refused_images"]
    assert {r["image_id"]: r["file_name"] for r in refused} == bad
    reasons = {r["image_id"]: r["error"] for r in refused}
    assert "size 0x" in reasons[imgs[0]["id"]] and "x0 " in reasons[imgs[1]["id"]]
    assert "size -5x" in reasons[imgs[2]["id"]] and "NUL" in reasons[imgs[3]["id"]]
    assert [r["reason"] for r in refused] == ["bad_size", "bad_size", "bad_size", "nul_byte"]
    assert result.report["skipped"]["refused_image"] == bad_anns
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["refused_images"] == refused
    image_map = json.loads((tmp_path / "out" / "image_mask_map.json").read_text())
    assert len(image_map) == len(imgs) - 4 and not set(image_map) & set(bad.values())
    masks = sorted((tmp_path / "out" / "masks").iterdir())
    assert len(masks) == len(imgs) - 4
    for mask in masks:
        with Image.open(mask) as im:
            assert im.width > 0 and im.height > 0
    with pytest.raises(DatasetError, match=r"image id \d+ .*not a valid image size"):
        rasterize_image(index, imgs[0]["id"], ClassMapping.from_categories(index.categories), MaskOptions())


def test_shared_file_names_are_an_error_naming_them(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    data = _sample(val_annotations)
    imgs = data["images"]
    first = imgs[0]["file_name"]
    for img in imgs[1:5]:
        img["file_name"] = first
    imgs[6]["file_name"] = "./" + imgs[5]["file_name"]  # the same file, spelled differently
    path = _write(tmp_path, data)
    with pytest.raises(DatasetError) as info:
        _run(path, val_images, tmp_path / "out")
    msg = str(info.value)
    assert str(path) in msg and "2 file names are used by more than one image entry" in msg
    assert f"{first!r} (image ids {imgs[0]['id']}, {imgs[1]['id']}, {imgs[2]['id']}, ...; 5 entries)" in msg
    assert repr(imgs[5]["file_name"]) in msg
    assert not (tmp_path / "out" / "masks").exists()


# ------------------------------------------------------------------------------- items 13, 14
_BOUNDED = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
ann, images, out = map(Path, sys.argv[1:4])
result = generate_masks(ann, images, out, MaskOptions(workers=1))
print(json.dumps(result.report["refused_images"]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_huge_polygon_and_image_size_run_in_small_memory(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    """Coordinates near 1e8 made pycocotools allocate ~23 GB (killed, or a segfault under a limit), and
    a 100000x100000 or 30000x30000 entry a 10 GB / 900 MB class map; now all run within 1.5 GB."""
    data = _sample(val_annotations)
    a, b, c = data["images"][:3]
    h, w = a["height"], a["width"]
    strip = [5.0, 5.0, 1e8, 5.0, 1e8, 25.0, 5.0, 25.0]  # a band from x=5 to far beyond the right edge
    cover = [-1e8, -1e8, 1e8, -1e8, 1e8, 1e8, -1e8, 1e8]  # a square holding the whole image
    base = {"area": 100.0, "bbox": [0, 0, 1, 1], "iscrowd": 0, "image_id": a["id"]}
    data["annotations"] = [ann for ann in data["annotations"] if ann["image_id"] != a["id"]] + [
        {**base, "id": 10**9, "category_id": 1, "segmentation": [strip], "area": 2e9},
        {**base, "id": 10**9 + 1, "category_id": 18, "segmentation": [cover], "area": 4e16},
    ]
    b["width"] = b["height"] = 100_000
    c["width"] = c["height"] = 30_000
    path = _write(tmp_path, data)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BOUNDED), str(path), str(val_images), str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    refused = {r["image_id"]: r["error"] for r in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert set(refused) == {b["id"], c["id"]}
    assert "10,000,000,000 pixels is above the limit of 178,956,970" in refused[b["id"]]
    assert "900,000,000 pixels" in refused[c["id"]] and "--max-image-pixels" in refused[c["id"]]

    name = json.loads((out / "image_mask_map.json").read_text())[a["file_name"]]
    with Image.open(out / "masks" / name) as im:
        label = np.asarray(im)
    dog = json.loads((out / "category_mapping.json").read_text())["category_id_to_index"]["18"]
    # the strip as annToMask draws it when it ends just past the image (its edges are horizontal)
    inside = [5.0, 5.0, w + 10.0, 5.0, w + 10.0, 25.0, 5.0, 25.0]
    band = mask_utils.decode(mask_utils.frPyObjects([inside], h, w)[0]).astype(bool)
    assert band.sum() == 20 * (w - 5)
    assert (label[band] == 1).all() and (label[~band] == dog).all()


def test_max_image_pixels_is_an_option(tmp_path: Path, val_annotations: Path, val_images: Path) -> None:
    index = CocoIndex.load(val_annotations)
    limit = 300_000
    big = {img.id for img in index.images() if img.width * img.height > limit}
    assert 0 < len(big) < len(index)
    result = _run(val_annotations, val_images, tmp_path / "out", max_image_pixels=limit)
    assert {r["image_id"] for r in result.report["refused_images"]} == big
    assert result.num_images == len(index) - len(big)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["options"]["max_image_pixels"] == limit
    with pytest.raises(OptionsError, match="--max-image-pixels must be >= 1"):
        MaskOptions(max_image_pixels=0)


# ------------------------------------------------------------------------------------ item 17
def test_non_utf8_bytes_are_located(tmp_path: Path, val_annotations: Path) -> None:
    raw = val_annotations.read_bytes()
    pos = raw.index(b"000000037777.jpg") + 3
    path = tmp_path / "latin1.json"
    path.write_bytes(raw[:pos] + b"\xe9" + raw[pos + 1 :])  # a Latin-1 "é" in a file name
    line = raw.count(b"\n", 0, pos) + 1
    column = pos - raw.rfind(b"\n", 0, pos)
    with pytest.raises(DatasetError) as info:
        CocoIndex.load(path, use_cache=False)
    msg = str(info.value)
    assert msg.startswith(str(path)) and f"not UTF-8 text at byte {pos} (line {line}, column {column}" in msg
    assert "surrogates" not in msg


def test_negative_rle_counts_are_called_negative(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    data = _sample(val_annotations)
    img = data["images"][0]
    ann = next(a for a in data["annotations"] if a["image_id"] == img["id"])
    h, w = img["height"], img["width"]
    ann["segmentation"] = {"size": [h, w], "counts": [h * w + 100, -100]}  # sums to h*w
    path = _write(tmp_path, data)
    result = _run(path, val_images, tmp_path / "out", max_images=1)
    assert result.report["skipped"]["invalid_rle"] == 1
    (example,) = result.report["examples"]["invalid_rle"]
    assert example["annotation_id"] == ann["id"] and example["image_id"] == img["id"]
    assert "RLE count -100 at position 1 is negative" in example["detail"]
    assert "sum to" not in example["detail"]


def test_large_image_painting_equals_the_fast_path(
    val_annotations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images above 16M pixels are painted without per-class image-sized buffers: same class maps."""
    from cocoseg_gui.core.masks import rasterize

    index = CocoIndex.load(val_annotations)
    mapping = ClassMapping.from_categories(index.categories)
    ids = index.image_ids()[:12].tolist()
    fast = [rasterize_image(index, i, mapping, MaskOptions()) for i in ids]
    monkeypatch.setattr(rasterize, "_FILL_BUFFER_PIXELS", 0)
    for i, want in zip(ids, fast):
        assert np.array_equal(rasterize_image(index, i, mapping, MaskOptions()), want)
