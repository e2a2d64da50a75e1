"""labelme JSON: class maps of the COCO sample round-trip bit-exactly through mask shapes and through
polygons; rectangle and circle shapes are read; bad files and shapes are skipped with the file named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.formats import labelme
from cocoseg_gui.core.formats.interchange import IGNORE, LabelledImage
from tests.unit.format_fixtures import VAL_IMAGES, by_name, files_under, sample_class_maps, small_images


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[LabelledImage]]:
    return sample_class_maps(tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("writer", [labelme.write, labelme.write_polygons])
def test_sample_round_trip_is_bit_exact(sample, writer, tmp_path: Path) -> None:
    classes, images = sample
    dest = tmp_path / "out"
    written = writer(classes, iter(images), dest, VAL_IMAGES)
    assert written.images == len(images) and written.skipped == [] and written.notes == []
    jsons = {dest / Path(i.file_name).with_suffix(".json") for i in images}
    assert files_under(tmp_path) == jsons | {dest / "labels.txt"}
    document = json.loads((dest / Path(images[0].file_name).with_suffix(".json")).read_text())
    assert (dest / document["imagePath"]).resolve() == (VAL_IMAGES / images[0].file_name).resolve()
    assert document["imageData"] is None and document["imageHeight"] == images[0].height
    kinds = {s["shape_type"] for s in document["shapes"]}
    assert kinds == ({"polygon"} if writer is labelme.write_polygons else {"mask"})
    for images_dir in (VAL_IMAGES, None):  # without the images folder: found from imagePath
        back = labelme.read(dest, images_dir)
        assert back.classes == classes and back.skipped == []
        assert back.images_dir is not None and back.images_dir.resolve() == VAL_IMAGES.resolve()
        got = by_name(back.images)
        assert got.keys() == {i.file_name for i in images}
        for image in images:
            assert np.array_equal(got[image.file_name], image.label), image.file_name
    assert any((i.label == IGNORE).any() for i in images)


def test_mask_shape_is_a_png_of_its_box(tmp_path: Path) -> None:
    label = np.zeros((6, 8), dtype=np.uint8)
    label[2:5, 3:5] = 1
    label[3, 3] = 0
    labelme.write(["cat"], [LabelledImage("a.png", label)], tmp_path, None)
    (shape,) = json.loads((tmp_path / "a.json").read_text())["shapes"]
    assert shape["points"] == [[3, 2], [4, 4]] and shape["label"] == "cat"  # box corners, inclusive
    crop = labelme.decode_mask(shape["mask"])
    assert crop is not None and np.array_equal(crop, label[2:5, 3:5] == 1)


def shape(label: str, kind: str, points: list[list[float]]) -> dict[str, object]:
    return {"label": label, "points": points, "shape_type": kind, "group_id": None, "flags": {}}


def labelme_file(path: Path, image: str, shapes: list[dict[str, object]], size: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image, "imageData": None}
    path.write_text(json.dumps({**document, "imageHeight": size[0], "imageWidth": size[1]}))


def test_shapes_and_bad_input(tmp_path: Path) -> None:
    small_images(tmp_path / "img", {"a.png": (10, 20), "b.png": (10, 20)})
    ann = tmp_path / "ann"
    shapes = [
        shape("cat", "rectangle", [[8, 0], [0, 4]]),
        shape("dog", "circle", [[15, 5], [15, 8]]),
        shape("cat", "polygon", [[30, 30], [40, 30], [40, 40]]),
        shape("cat", "linestrip", [[1, 1], [2, 2]]),
        shape("__ignore__", "polygon", [[0, 8], [2, 8], [2, 10], [0, 10]]),
    ]
    labelme_file(ann / "a.json", "../img/a.png", shapes, (10, 20))
    labelme_file(ann / "again.json", "../img/a.png", [], (10, 20))
    labelme_file(ann / "gone.json", "../img/gone.png", [], (10, 20))
    labelme_file(
        ann / "b.json", "../img/b.png", [shape("horse", "polygon", [[0, 0], [5, 0], [5, 5]])], (10, 20)
    )
    (ann / "cut.json").write_text((ann / "a.json").read_text()[:50])
    read = labelme.read(ann, None)
    assert read.images_dir == tmp_path / "img" and read.classes == ["cat", "dog", "horse"]
    assert {(s.subject, s.reason.split(":")[0]) for s in read.skipped} == {
        ("a.json: shape 3", "polygon outside the image"),
        ("a.json: shape 4", "a linestrip has no area"),
        ("again.json", "duplicate file name"),
        ("gone.json", "missing image gone.png"),
        ("cut.json", "not valid JSON (truncated?)"),
    }
    label = by_name(read.images)["a.png"]
    assert (label[:4, :8] == 1).all() and label[4, 0] == 0 and label[0, 8] == 0  # rectangle corners
    assert label[5, 15] == 2 and label[5, 17] == 2 and label[5, 18] == 0 and label[2, 15] == 2  # radius 3
    assert (label[8:, :2] == IGNORE).all()

    (ann / "labels.txt").write_text("__ignore__\n_background_\ndog\ncat\n")
    read = labelme.read(ann, tmp_path / "img")
    assert read.classes == ["dog", "cat"]
    assert ("b.json: shape 1", "unknown class 'horse' (not in labels.txt)") in {
        (s.subject, s.reason) for s in read.skipped
    }
    assert by_name(read.images)["b.png"].max() == 0


def test_image_outside_the_images_folder_is_skipped(tmp_path: Path) -> None:
    small_images(tmp_path / "img", {"a.png": (4, 4)})
    labelme_file(tmp_path / "ann" / "a.json", "../img/a.png", [], (4, 4))
    read = labelme.read(tmp_path / "ann" / "a.json", tmp_path / "ann")
    assert [s.subject for s in read.skipped] == ["a.json"] and "outside the images folder" in read.skipped[
        0
    ].reason
    assert list(read.images) == []
