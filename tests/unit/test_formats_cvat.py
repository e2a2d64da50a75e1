"""CVAT for images 1.1: class maps of the COCO sample round-trip bit-exactly through masks and through
polygons; bad input is skipped with the file and the reason, a broken XML names the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.formats import cvat
from cocoseg_gui.core.formats.interchange import IGNORE, LabelledImage
from tests.unit.format_fixtures import VAL_IMAGES, by_name, files_under, sample_class_maps, small_images


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[LabelledImage]]:
    return sample_class_maps(tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("writer", [cvat.write, cvat.write_polygons])
def test_sample_round_trip_is_bit_exact(sample, writer, tmp_path: Path) -> None:
    classes, images = sample
    assert any((i.label == IGNORE).any() for i in images)  # crowd pixels are part of what must survive
    dest = tmp_path / "out"
    written = writer(classes, iter(images), dest, VAL_IMAGES)
    assert written.images == len(images) and written.skipped == [] and written.notes == []
    assert files_under(tmp_path) == {dest / "annotations.xml"}
    text = (dest / "annotations.xml").read_text()
    assert ("<polygon " in text) == (writer is cvat.write_polygons) and ("<mask " in text) == (
        writer is cvat.write
    )
    back = cvat.read(dest, VAL_IMAGES)
    assert back.classes == classes and back.skipped == []
    got = by_name(back.images)
    assert got.keys() == {i.file_name for i in images}
    for image in images:  # bit-exact: every pixel of every image and class
        assert np.array_equal(got[image.file_name], image.label), image.file_name


def test_rle_is_cvats_row_major_runs() -> None:
    crop = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    assert cvat.encode_rle(crop) == [0, 2, 2, 2]
    assert cvat.encode_rle(~crop) == [2, 2, 2]
    decoded = cvat.decode_rle([0, 2, 2, 2], 2, 3)
    assert decoded is not None and np.array_equal(decoded, crop)
    assert cvat.decode_rle([1, 2], 2, 3) is None  # does not cover the box


BAD = """<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
<meta><task><labels><label><name>cat</name></label><label><name>dog</name></label></labels></task></meta>
<image id="0" name="a.png" width="20" height="10">
  <polygon label="cat" points="0,0;10,0;10,10;0,10" z_order="0" occluded="0"/>
  <box label="dog" xtl="5" ytl="2" xbr="8" ybr="6" z_order="1" occluded="0"/>
  <polygon label="horse" points="0,0;5,0;5,5" z_order="0" occluded="0"/>
  <polygon label="cat" points="30,30;40,30;40,40" z_order="0" occluded="0"/>
  <polyline label="cat" points="1,1;2,2" z_order="0" occluded="0"/>
  <mask label="dog" rle="0, 2, 2, 2" left="18" top="8" width="3" height="2" z_order="2" occluded="0"/>
</image>
<image id="1" name="a.png" width="20" height="10"></image>
<image id="2" name="gone.png" width="20" height="10"></image>
<image id="3" name="../up.png" width="20" height="10"></image>
<image id="4" name="b.png" width="20" height="10"></image>
</annotations>
"""


def test_bad_records_are_skipped_and_named(tmp_path: Path) -> None:
    images = small_images(tmp_path / "images", {"a.png": (10, 20), "b.png": (12, 20)})
    (tmp_path / "annotations.xml").write_text(BAD)
    read = cvat.read(tmp_path / "annotations.xml", images)
    assert read.classes == ["cat", "dog"]
    got = by_name(read.images)
    reasons = {(s.subject, s.reason) for s in read.skipped}
    assert reasons == {
        ("a.png: polygon 3", "unknown class 'horse'"),
        ("a.png: polygon 4", "polygon outside the image"),
        ("a.png: polyline 5", "a polyline has no area"),
        ("a.png", "duplicate file name"),
        ("gone.png", "missing image"),
        ("../up.png", "unsafe file name (parent_dir)"),
        ("b.png", "the image is 20x12, the labels say 20x10"),
    }
    label = got["a.png"]
    assert list(got) == ["a.png"] and label.shape == (10, 20)
    assert (label[:10, :10] != 0).all() and (label[:, 10:18] == 0).all()
    assert (label[2:6, 5:8] == 2).all() and (label[:2, :5] == 1).all()  # the box (z_order 1) is on top
    assert label[8, 18] == 2 and label[9, 19] == 2 and label[9, 18] == 0  # the mask, clipped to the image


def test_broken_xml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(BAD[: len(BAD) // 2])
    with pytest.raises(DatasetError, match=r"annotations\.xml: not valid XML"):
        cvat.read(tmp_path, None)
    path.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotations/>')
    with pytest.raises(DatasetError, match="entity"):
        cvat.read(path, None)


def test_writer_skips_duplicate_names_and_notes_crowd(tmp_path: Path) -> None:
    label = np.zeros((4, 4), dtype=np.uint8)
    label[1:3, 1:3] = 1
    crowd = label == 1
    images = [
        LabelledImage("x.png", label, crowd),
        LabelledImage("x.png", label),
        LabelledImage("../y.png", label),
    ]
    written = cvat.write(["cat"], images, tmp_path, None)
    assert written.images == 1
    assert [(s.subject, s.reason) for s in written.skipped] == [
        ("x.png", "duplicate file name"),
        ("'../y.png'", "unsafe file name (parent_dir)"),
    ]
    assert written.notes == [
        "CVAT has no crowd flag: crowd regions of 1 images are written as their class map values"
    ]


def test_zip_download_is_read(tmp_path: Path) -> None:
    import zipfile

    label = np.zeros((4, 6), dtype=np.uint8)
    label[1:3, 2:5] = 1
    cvat.write(["cat"], [LabelledImage("x.png", label)], tmp_path / "out", None)
    archive = tmp_path / "task.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / "out" / "annotations.xml", "annotations.xml")
    assert np.array_equal(by_name(cvat.read(archive, None).images)["x.png"], label)
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("other.txt", "")
    with pytest.raises(DatasetError, match=r"empty\.zip: has no annotations\.xml"):
        cvat.read(tmp_path / "empty.zip", None)
