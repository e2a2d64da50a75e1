"""YOLO segmentation: class maps of the COCO sample round-trip (IoU per image and class >= 0.98; here
exact, holes bridged into the outlines) but for IGNORE, which YOLO has no class for and the notes count;
bad lines and files are skipped with file and line, a missing names list names the folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.formats import yolo_seg
from cocoseg_gui.core.formats.interchange import IGNORE, LabelledImage
from tests.unit.format_fixtures import (
    VAL_IMAGES,
    by_name,
    files_under,
    sample_class_maps,
    small_images,
    worst_iou,
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[LabelledImage]]:
    return sample_class_maps(tmp_path_factory.mktemp("cache"))


def test_sample_round_trip(sample, tmp_path: Path) -> None:
    classes, images = sample
    dest = tmp_path / "out"
    written = yolo_seg.write(classes, iter(images), dest, VAL_IMAGES)
    assert written.images == len(images) and written.skipped == []
    ignored = sum(int((i.label == IGNORE).sum()) for i in images)
    with_ignore = sum(bool((i.label == IGNORE).any()) for i in images)
    assert ignored > 0 and written.notes == [
        f"YOLO has no ignore class: {ignored} ignore pixels in {with_ignore} images not written "
        "(they read back as background or as the object around them)"
    ]
    labels = {dest / "labels" / Path(i.file_name).with_suffix(".txt") for i in images}
    assert files_under(tmp_path) == labels | {dest / "data.yaml"}
    line = (dest / "labels" / Path(images[0].file_name).with_suffix(".txt")).read_text().splitlines()[0]
    index, *coords = line.split()
    assert 0 <= int(index) < len(classes) and len(coords) % 2 == 0 and len(coords) >= 6
    assert all(0.0 <= float(v) <= 1.0 for v in coords)

    back = yolo_seg.read(dest, VAL_IMAGES)
    assert back.classes == classes and back.skipped == []
    got = by_name(back.images)
    assert got.keys() == {i.file_name for i in images}
    holes = 0
    for image in images:
        expected = np.where(image.label == IGNORE, 0, image.label)
        assert worst_iou(expected, got[image.file_name]) >= 0.98, image.file_name
        assert np.array_equal(got[image.file_name], expected), image.file_name  # holes survive too
        for value in np.unique(expected[expected > 0]).tolist():
            region = expected == value
            holes += int(np.count_nonzero(ndimage.binary_fill_holes(region)) - np.count_nonzero(region))
    assert holes > 1000  # the sample has regions with holes, which outline-only polygons would fill


def test_ultralytics_layout_and_yaml_forms(sample, tmp_path: Path) -> None:
    """``images/`` beside ``labels/`` needs no images folder; names as a flow list; classes.txt."""
    classes, images = sample
    dest = tmp_path / "ds"
    yolo_seg.write(classes, iter(images[:2]), dest, VAL_IMAGES)
    (dest / "images").mkdir()
    for image in images[:2]:
        shutil.copyfile(VAL_IMAGES / image.file_name, dest / "images" / image.file_name)
    back = yolo_seg.read(dest / "data.yaml", None)
    assert back.images_dir == dest and sorted(i.file_name for i in back.images) == sorted(
        f"images/{i.file_name}" for i in images[:2]
    )
    flow = ", ".join(f"'{n}'" if i % 2 else f'"{n}"' for i, n in enumerate(classes))
    (dest / "data.yaml").write_text(f"path: ../x  # a comment\nnames: [{flow}]\n")
    assert yolo_seg.read(dest, None).classes == classes
    (dest / "data.yaml").unlink()
    (dest / "classes.txt").write_text("\n".join(classes) + "\n")
    assert yolo_seg.read(dest, None).classes == classes


def test_bad_lines_and_files_are_skipped_and_named(tmp_path: Path) -> None:
    images = small_images(tmp_path / "images", {"a.png": (10, 20), "d.png": (10, 20), "d.jpg": (10, 20)})
    root = tmp_path / "ds"
    (root / "labels").mkdir(parents=True)
    (root / "data.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    (root / "labels" / "a.txt").write_text(
        "0 0 0 0.5 0 0.5 1 0 1\n"  # cat: the left half
        "1 0.5 0.5 0.2 0.4\n"  # dog: a detection box in the middle, on top
        "7 0 0 1 0 1 1\n"  # no class 7
        "0 2 2 3 2 3 3\n"  # outside
        "0 0.1 0.1 0.2\n"  # 3 coordinates
    )
    (root / "labels" / "gone.txt").write_text("0 0 0 1 0 1 1\n")
    (root / "labels" / "d.txt").write_text("")
    read = yolo_seg.read(root, images)
    assert read.classes == ["cat", "dog"]
    assert {(s.subject, s.reason) for s in read.skipped} == {
        ("labels/a.txt: line 3", "unknown class '7' (2 classes)"),
        ("labels/a.txt: line 4", "polygon outside the image"),
        ("labels/a.txt: line 5", "3 coordinates: neither a box (4) nor a polygon (6 or more, in pairs)"),
        ("labels/gone.txt", "missing image"),
        ("labels/d.txt", "duplicate file name: d.jpg, d.png all match"),
    }
    label = by_name(read.images)["a.png"]
    assert (label[:, :8] == 1).all() and (label[3:7, 8:12] == 2).all() and (label[:, 12:] == 0).all()


def test_missing_names_or_images_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no data\.yaml"):
        yolo_seg.read(tmp_path, None)
    (tmp_path / "data.yaml").write_text("train: images\n")
    with pytest.raises(DatasetError, match="has no 'names' list"):
        yolo_seg.read(tmp_path, None)
    (tmp_path / "data.yaml").write_text("names: [a]\n")
    with pytest.raises(DatasetError, match="no labels/ folder"):
        yolo_seg.read(tmp_path, None)


def test_writer_skips_colliding_label_files(tmp_path: Path) -> None:
    label = np.ones((4, 4), dtype=np.uint8)
    images = [LabelledImage("x.png", label), LabelledImage("x.jpg", label)]
    written = yolo_seg.write(["cat"], images, tmp_path, None)
    assert written.images == 1
    assert [(s.subject, s.reason) for s in written.skipped] == [
        ("x.jpg", "duplicate file name (labels/x.txt is taken)")
    ]
    assert (
        tmp_path / "labels" / "x.txt"
    ).read_text() == "0 0.000000 0.000000 0.000000 1.000000 1.000000 1.000000 1.000000 0.000000\n"


def test_noisy_class_maps_redraw_exactly(tmp_path: Path) -> None:
    """Rings, holes in holes, diagonal pinches: random 16x16 maps of 3 classes come back pixel for pixel."""
    rng = np.random.default_rng(22)
    sizes = {f"n{k}.png": (16, 16) for k in range(40)}
    images_dir = small_images(tmp_path / "images", sizes)
    maps = [
        LabelledImage(name, ((rng.random((16, 16)) < 0.5) * rng.integers(1, 4, (16, 16))).astype(np.uint8))
        for name in sizes
    ]
    written = yolo_seg.write(["a", "b", "c"], maps, tmp_path / "out", images_dir)
    assert written.images == 40 and written.notes == [] and written.skipped == []
    got = by_name(yolo_seg.read(tmp_path / "out", images_dir).images)
    for image in maps:
        assert np.array_equal(got[image.file_name], image.label), image.file_name


def test_roboflow_layout_finds_images_beside_labels(tmp_path: Path) -> None:
    small_images(tmp_path / "train" / "images", {"a.png": (4, 8)})
    (tmp_path / "train" / "labels").mkdir()
    (tmp_path / "train" / "labels" / "a.txt").write_text("0 0 0 0.5 0 0.5 1 0 1\n")
    (tmp_path / "README.txt").write_text("not a label file\n")
    (tmp_path / "coco8-seg.yaml").write_text("names:\n  - cat\n")
    read = yolo_seg.read(tmp_path, None)
    assert read.classes == ["cat"] and read.skipped == []
    label = by_name(read.images)["train/images/a.png"]
    assert (label[:, :4] == 1).all() and (label[:, 4:] == 0).all()
