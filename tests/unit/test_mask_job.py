"""generate_masks: the folder format, the report, edge cases, resume, cancel and worker processes."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress, RateMeter
from cocoseg_gui.core.masks import job as mask_job
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks, mask_names
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.palette import palette_bytes
from cocoseg_gui.core.masks.rasterize import rasterize_image


@pytest.fixture(autouse=True)
def index_cache(tmp_path_factory, monkeypatch) -> None:
    """Keep CocoIndex's cache out of the home folder (spawned workers inherit the variable)."""
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "index_cache"))


def read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.mode == "P" and img.getpalette() == list(palette_bytes())
        return np.asarray(img)


def run(ann: Path, images: Path, out: Path, **kw) -> mask_job.MaskReport:
    overwrite = kw.pop("overwrite", False)
    progress = kw.pop("progress", None)
    cancel = kw.pop("cancel", None)
    kw.setdefault("workers", 1)
    return generate_masks(ann, images, out, MaskOptions(**kw), progress, cancel, overwrite=overwrite)


@pytest.fixture(scope="module")
def val_run(tmp_path_factory, val_annotations: Path, val_images: Path) -> Path:
    out = tmp_path_factory.mktemp("val_masks")
    mp = pytest.MonkeyPatch()
    mp.setenv("COCOSEG_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "index_cache"))
    try:
        run(val_annotations, val_images, out)
    finally:
        mp.undo()
    return out


def test_val_folder_and_report(val_run: Path, val_annotations: Path) -> None:
    out = val_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["num_images"] == 50
    assert manifest["options"]["overlap"] == "smaller-on-top" and manifest["options"]["crowd"] == "ignore"
    assert (out / manifest["annotations"]).resolve() == val_annotations.resolve()
    image_map = json.loads((out / "image_mask_map.json").read_text())
    assert len(image_map) == 50 and image_map["000000397133.jpg"] == "000000397133.png"
    mapping = json.loads((out / "category_mapping.json").read_text())
    assert mapping["num_classes"] == 81 and mapping["category_id_to_index"]["90"] == 80
    report = json.loads((out / "report.json").read_text())
    assert report["crowd_drawn_as_ignore"] == 5 and report["annotations_drawn"] == 382
    assert sorted(report["images_without_annotations"]) == ["000000058636.jpg", "000000226111.jpg"]
    assert report["unreadable_images"] == [] and report["size_mismatches"] == []
    assert all(v == 0 for v in report["skipped"].values())
    index = CocoIndex.load(val_annotations)
    total = sum(img.width * img.height for img in index.images())
    classes = {c["index"]: c for c in report["classes"]}
    assert sum(c["pixels"] for c in classes.values()) == total
    assert classes[255]["images"] == sum("255" in h for h in report["per_image"].values()) > 0
    for file_name, mask_name in image_map.items():
        label = read(out / "masks" / mask_name)
        info = index.image_by_file(file_name)
        assert label.shape == (info.height, info.width)
        hist = report["per_image"][mask_name]
        assert {int(k): v for k, v in hist.items()} == {
            int(v): int(c) for v, c in zip(*np.unique(label, return_counts=True))
        }
    assert classes[1]["pixels"] == sum(h.get("1", 0) for h in report["per_image"].values())


def test_masks_equal_rasterize_image_and_reader(val_run: Path, val_annotations: Path) -> None:
    """The GUI's on-the-fly class map and the dataset reader agree with the files."""
    index = CocoIndex.load(val_annotations)
    folder = MaskDatasetFolder(val_run)
    assert folder.complete and len(folder.samples()) == 50
    assert folder.class_pixels().sum() > 0 and folder.mapping.num_classes == 81
    assert all(s.image_path.exists() and s.mask_path.exists() for s in folder.samples())
    for info in index.images():
        expected = rasterize_image(index, info.id, folder.mapping, MaskOptions())
        assert np.array_equal(folder.read_mask(info.file_name), expected)


def test_classes_by_name_and_id(tmp_path: Path, val_annotations: Path, val_images: Path) -> None:
    by_name = run(val_annotations, val_images, tmp_path / "a", classes=("person", "dog"), max_images=12)
    by_id = run(val_annotations, val_images, tmp_path / "b", classes=("1", "18"), max_images=12)
    assert by_name.options_hash == by_id.options_hash and by_name.num_images == 12
    mapping = ClassMapping.read(tmp_path / "a" / "category_mapping.json")
    assert mapping.class_names() == ["background", "person", "dog"]
    for name in json.loads((tmp_path / "a" / "image_mask_map.json").read_text()).values():
        a, b = read(tmp_path / "a" / "masks" / name), read(tmp_path / "b" / "masks" / name)
        assert np.array_equal(a, b) and set(np.unique(a)) <= {0, 1, 2, 255}
    assert by_name.report["skipped"]["class_not_selected"] > 0
    with pytest.raises(OptionsError, match=r"unknown class 'persn'.*person, bicycle"):
        run(val_annotations, val_images, tmp_path / "c", classes=("persn",))


def _write_image(path: Path, size: tuple[int, int], mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, 128).save(path)


def _edge_dataset(root: Path) -> Path:
    """A small COCO file with one annotation per edge case; images: RGB, grayscale, wrong size, missing."""
    images = root / "images"
    _write_image(images / "a.jpg", (40, 30))
    _write_image(images / "gray.png", (40, 30), "L")
    _write_image(images / "big.jpg", (50, 30))  # JSON says 40x30
    _write_image(images / "sub1" / "x.jpg", (40, 30))
    _write_image(images / "sub2" / "x.jpg", (40, 30))
    (images / "broken.jpg").write_bytes(b"not an image")
    rle = mask_utils.encode(np.asfortranarray(np.pad(np.ones((6, 7), np.uint8), ((3, 21), (4, 29)))))
    sq = [[2, 2, 12, 2, 12, 12, 2, 12]]  # one polygon
    anns = [
        (1, 1, 1, sq, 100),
        (2, 1, 1, None, 10),  # missing
        (3, 1, 1, [], 10),  # empty
        (4, 1, 1, [[1, 1, 5, 5]], 10),  # degenerate
        (5, 1, 2, [[20, 20, 25, 20, 25, 25], [1, 2, 3]], 12),  # odd part dropped, the other drawn
        (6, 1, 77, sq, 100),  # unknown category
        (7, 999, 1, sq, 100),  # unknown image
        (8, 1, 1, [-10, -10, 60, -10, 60, 5, -10, 5], 300),  # out of bounds: clipped, a flat list
        (9, 2, 2, {"size": [30, 40], "counts": rle["counts"].decode()}, 42),  # compressed string RLE
        (10, 2, 1, {"size": [10, 10], "counts": [100]}, 100),  # RLE size mismatch
        (11, 3, 1, sq, 0),  # zero area field
        (12, 4, 2, sq, 100),
        (13, 5, 2, sq, 100),
        (14, 6, 1, sq, 100),
    ]
    data = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
            {"id": 2, "file_name": "gray.png", "width": 40, "height": 30},
            {"id": 3, "file_name": "big.jpg", "width": 40, "height": 30},
            {"id": 4, "file_name": "sub1/x.jpg", "width": 40, "height": 30},
            {"id": 5, "file_name": "sub2/x.jpg", "width": 40, "height": 30},
            {"id": 6, "file_name": "missing.jpg", "width": 40, "height": 30},
            {"id": 7, "file_name": "broken.jpg", "width": 40, "height": 30},
            {"id": 8, "file_name": "empty.jpg", "width": 40, "height": 30},
        ],
        "annotations": [
            {
                "id": i,
                "image_id": im,
                "category_id": c,
                "segmentation": s,
                "area": a,
                "bbox": [0, 0, 1, 1],
                "iscrowd": 0,
            }
            for i, im, c, s, a in anns
        ],
        "categories": [
            {"id": 1, "name": "cat", "supercategory": "x"},
            {"id": 2, "name": "dog", "supercategory": "x"},
        ],
    }
    data["annotations"] = [{k: v for k, v in a.items() if v is not None} for a in data["annotations"]]
    path = root / "ann.json"
    path.write_text(json.dumps(data))
    return path


def test_edge_cases_counted_and_drawn_like_pycocotools(tmp_path: Path) -> None:
    ann = _edge_dataset(tmp_path)
    result = run(ann, tmp_path / "images", tmp_path / "out", overlap="later")
    rep = result.report
    expected = dict.fromkeys(
        ["missing_segmentation", "empty_segmentation", "degenerate_polygon", "unknown_category",
         "unknown_image", "rle_size_mismatch", "zero_area"], 1,
    )  # fmt: skip
    assert {k: v for k, v in rep["skipped"].items() if v} == expected
    assert rep["clipped_out_of_bounds"] == 1 and rep["polygon_parts_dropped"] == 1
    assert rep["examples"]["degenerate_polygon"][0]["annotation_id"] == 4
    assert rep["size_mismatches"] == [{"file_name": "big.jpg", "json": [30, 40], "actual": [30, 50]}]
    assert sorted(u["file_name"] for u in rep["unreadable_images"]) == [
        "broken.jpg",
        "empty.jpg",
        "missing.jpg",
    ]
    assert rep["images_without_annotations"] == ["broken.jpg", "empty.jpg"]
    image_map = json.loads((tmp_path / "out" / "image_mask_map.json").read_text())
    assert image_map["sub1/x.jpg"] != image_map["sub2/x.jpg"] and len(set(image_map.values())) == 8
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(ann))
    for image in coco.dataset["images"]:  # drawable annotations: exactly annToMask, in file order
        ref = np.zeros((30, 40), np.uint8)
        for a in coco.imgToAnns.get(image["id"], []):
            if a["id"] in (1, 9, 12, 13, 14):
                ref[coco.annToMask(a) > 0] = a["category_id"]
            elif a["id"] == 8:  # a flat polygon list: one part (annToMask itself cannot read it)
                ref[mask_utils.decode(mask_utils.frPyObjects([a["segmentation"]], 30, 40)[0]) > 0] = 1
            elif a["id"] == 5:  # pycocotools would read the odd part too; we drop it
                ref[
                    mask_utils.decode(mask_utils.frPyObjects([a["segmentation"][0]], 30, 40))[:, :, 0] > 0
                ] = 2
        assert np.array_equal(read(tmp_path / "out" / "masks" / image_map[image["file_name"]]), ref)


def test_mask_names_disambiguate() -> None:
    names = mask_names(["a/x.jpg", "b/x.jpg", "x.png", "y.jpg", "Y.png", "a__x.jpg"])
    assert names == ["a__x_1.png", "b__x.png", "x.png", "y.png", "Y_1.png", "a__x.png"]


def test_resume_recomputes_only_missing_masks(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    out = tmp_path / "out"
    first = run(val_annotations, val_images, out, max_images=20)
    masks = sorted((out / "masks").iterdir())
    removed = {p.name: read(p) for p in masks[:3]}
    for name in removed:
        (out / "masks" / name).unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in masks[3:]}
    second = run(val_annotations, val_images, out, max_images=20)
    assert (second.written, second.reused) == (3, 17) and second.options_hash == first.options_hash
    assert {p.name: p.stat().st_mtime_ns for p in masks[3:]} == kept
    for name, label in removed.items():
        assert np.array_equal(read(out / "masks" / name), label)
    assert second.report["per_image"] == first.report["per_image"]
    assert json.loads((out / "manifest.json").read_text())["options_hash"] == first.options_hash
    with pytest.raises(OptionsError, match="--overwrite") as info:
        run(val_annotations, val_images, out, max_images=20, crowd="skip")
    assert info.value.what == "masks made with other options (crowd 'ignore' -> 'skip')"  # no JSON dump
    third = run(val_annotations, val_images, out, max_images=20, crowd="skip", overwrite=True)
    assert third.written == 20 and third.options_hash != first.options_hash


def test_cancel_leaves_complete_masks_then_resumes(
    tmp_path: Path, val_annotations: Path, val_images: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    cancel = CancelToken()
    seen: list[Progress] = []

    def progress(p: Progress) -> None:
        seen.append(p)
        if p.done >= 7:
            cancel.cancel()

    monkeypatch.setattr(mask_job, "RateMeter", lambda total: RateMeter(total, min_interval_s=0))
    with pytest.raises(Cancelled):
        run(val_annotations, val_images, out, progress=progress, cancel=cancel)
    files = list((out / "masks").iterdir())
    assert 7 <= len(files) < 50
    assert all(p.suffix == ".png" and not p.name.startswith(".") for p in files)
    for p in files:
        read(p)
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    assert not (out / "report.json").exists()
    folder = MaskDatasetFolder(out)
    assert not folder.complete
    assert sorted(folder.image_mask_map.values()) == sorted(p.name for p in files)
    again = run(val_annotations, val_images, out)
    assert again.reused == len(files) and again.written == 50 - len(files)
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


@pytest.mark.slow
def test_worker_processes_give_identical_output(
    tmp_path: Path, val_annotations: Path, val_images: Path, val_run: Path, monkeypatch
) -> None:
    monkeypatch.setattr(mask_job, "MIN_IMAGES_FOR_POOL", 0)
    monkeypatch.setattr(mask_job, "CHUNK_IMAGES", 8)
    result = run(val_annotations, val_images, tmp_path / "out", workers=2)
    assert result.written == 50
    single = json.loads((val_run / "report.json").read_text())
    assert result.report == single
    for p in (val_run / "masks").iterdir():
        assert np.array_equal(read(p), read(tmp_path / "out" / "masks" / p.name))


def test_full_disk_names_the_file_and_a_rerun_resumes(
    tmp_path: Path, val_annotations: Path, val_images: Path, monkeypatch, capsys
) -> None:
    """A write failing with ENOSPC: a clear CLI message (file, problem, what to do), no partial file,
    and once space is back the same command keeps the masks already written."""
    import errno

    from cocoseg_gui.cli import main as cli_main
    from cocoseg_gui.core.masks.png import write_file_atomic

    out = tmp_path / "out"
    calls = {"n": 0}

    def disk_fills_up(path, data) -> None:
        calls["n"] += 1
        if calls["n"] > 6:
            with open(Path(path).with_name(f".{Path(path).name}.x.tmp"), "wb"):
                pass  # the kind of debris a failed writer could leave; the writer cleans its own
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write_file_atomic(path, data)

    monkeypatch.setattr(mask_job, "write_file_atomic", disk_fills_up)
    args = ["masks", "--annotations", str(val_annotations), "--images", str(val_images), "--out", str(out)]
    assert cli_main([*args, "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(out / "masks") in err and "rerun resumes" in err
    written = sorted(p.name for p in (out / "masks").glob("*.png"))
    assert len(written) == 6
    for p in written:
        read(out / "masks" / p)  # complete files only
    monkeypatch.setattr(mask_job, "write_file_atomic", write_file_atomic)
    assert cli_main([*args, "--workers", "1"]) == 0
    assert "44 written, 6 kept" in capsys.readouterr().out
    assert not list((out / "masks").glob(".*.tmp"))  # the rerun cleared the debris


def test_masks_of_another_dataset_are_named_as_such(
    tmp_path: Path, val_annotations: Path, val_images: Path, train_annotations: Path, train_images: Path
) -> None:
    """Same options, another dataset: not "made with other options" (issue 9)."""
    from cocoseg_gui.core.masks.folder import MasksExistError

    out = tmp_path / "out"
    run(val_annotations, val_images, out, max_images=3)
    with pytest.raises(MasksExistError) as info:
        run(train_annotations, train_images, out, max_images=3)
    assert info.value.what.startswith("the masks of another dataset (instances_val2017.json")
    assert info.value.out == out
