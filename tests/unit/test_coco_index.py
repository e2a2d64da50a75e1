"""CocoIndex on the bundled sample COCO data, checked against pycocotools."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from cocoseg_gui.core.coco import index_parse as coco_index_parse
from cocoseg_gui.core.coco.index import CocoIndex, resolve_image_path
from cocoseg_gui.core.coco.index_cache import cache_file, default_cache_dir
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress


@pytest.fixture(scope="module")
def coco_refs(val_annotations: Path, train_annotations: Path) -> dict[str, COCO]:
    return {"val": COCO(str(val_annotations)), "train": COCO(str(train_annotations))}


def _load(path: Path, tmp_path: Path, **kw: Any) -> CocoIndex:
    return CocoIndex.load(path, cache_dir=tmp_path / "cache", **kw)


def _plain(seg: Any) -> Any:
    """A segmentation as plain JSON values (polygons as lists of floats)."""
    if isinstance(seg, list):
        return [p.tolist() if isinstance(p, np.ndarray) else p for p in seg]
    return seg


def _write(tmp_path: Path, obj: Any, name: str = "instances.json") -> Path:
    path = tmp_path / name
    path.write_bytes(obj if isinstance(obj, bytes) else orjson.dumps(obj))
    return path


def _minimal(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 20, "height": 10},
            {"id": 2, "file_name": "sub/b.jpg", "width": 30, "height": 40},
        ],
        "categories": [{"id": 3, "name": "cat", "supercategory": "animal"}, {"id": 1, "name": "person"}],
        "annotations": [
            {
                "id": 10,
                "image_id": 1,
                "category_id": 3,
                "segmentation": [[1, 1, 5, 1, 5, 5]],
                "area": 8.0,
                "bbox": [1, 1, 4, 4],
                "iscrowd": 0,
            },
        ],
    }
    data.update(over)
    return data


@pytest.mark.parametrize(("split", "n_images", "n_anns"), [("val", 50, 382), ("train", 50, 470)])
def test_counts(split: str, n_images: int, n_anns: int, sample_root: Path, tmp_path: Path) -> None:
    idx = _load(sample_root / "annotations" / f"instances_{split}2017.json", tmp_path)
    assert len(idx) == n_images
    assert idx.num_annotations() == n_anns
    assert len(idx.categories) == 80
    assert [c.id for c in idx.categories] == sorted(c.id for c in idx.categories)
    assert int(idx.annotation_counts().sum()) == n_anns
    assert idx.problems == []
    assert idx.orphan_annotations() == []


@pytest.mark.parametrize("split", ["val", "train"])
def test_matches_pycocotools(
    split: str, sample_root: Path, tmp_path: Path, coco_refs: dict[str, COCO]
) -> None:
    ref = coco_refs[split]
    idx = _load(sample_root / "annotations" / f"instances_{split}2017.json", tmp_path)
    assert idx.image_ids().dtype == np.int64
    assert idx.image_ids().tolist() == [img["id"] for img in ref.dataset["images"]]
    for image_id, count in zip(idx.image_ids().tolist(), idx.annotation_counts().tolist()):
        img, ref_img = idx.image(image_id), ref.imgs[image_id]
        assert (img.file_name, img.width, img.height) == (
            ref_img["file_name"],
            ref_img["width"],
            ref_img["height"],
        )
        assert idx.image_by_file(img.file_name) == img
        mine = idx.annotations_for(image_id)
        theirs = ref.loadAnns(ref.getAnnIds(imgIds=[image_id]))
        assert count == idx.annotation_count(image_id) == len(theirs)
        assert [a.id for a in mine] == [t["id"] for t in theirs]
        for a, t in zip(mine, theirs):
            assert (a.image_id, a.category_id, a.iscrowd) == (
                t["image_id"],
                t["category_id"],
                bool(t["iscrowd"]),
            )
            assert a.area == t["area"] and list(a.bbox) == t["bbox"]
            assert _plain(a.segmentation) == t["segmentation"]
        h, w = img.height, img.width
        for a, t in zip(mine, theirs):  # the rasteriser's route: frPyObjects accepts what we give back
            got = mask_utils.decode(mask_utils.merge(_as_rles(a.segmentation, h, w)))
            assert np.array_equal(got, ref.annToMask(t))
        assert idx.image_category_ids(image_id).tolist() == sorted({t["category_id"] for t in theirs})
    for cat_id in ref.getCatIds():
        assert set(idx.images_for_category(cat_id).tolist()) == set(ref.catToImgs[cat_id])
        assert idx.category_image_counts()[cat_id] == len(set(ref.catToImgs[cat_id]))
        assert idx.category_annotation_counts()[cat_id] == len(ref.getAnnIds(catIds=[cat_id]))
        assert idx.category(cat_id).name == ref.cats[cat_id]["name"]


def _as_rles(seg: Any, h: int, w: int) -> list:
    rles = mask_utils.frPyObjects(seg, h, w)
    return rles if isinstance(rles, list) else [rles]


def test_crowd_rle_kept_as_dict(val_annotations: Path, tmp_path: Path) -> None:
    idx = _load(val_annotations, tmp_path)
    crowd = [a for i in idx.image_ids().tolist() for a in idx.annotations_for(i) if a.iscrowd]
    assert len(crowd) == 5
    for a in crowd:
        assert set(a.segmentation) == {"size", "counts"}
        assert isinstance(a.segmentation["counts"], list) and all(
            type(c) is int for c in a.segmentation["counts"]
        )
    polys = next(a for a in idx.annotations_for(int(idx.image_ids()[0])) if not a.iscrowd).segmentation
    assert isinstance(polys, list) and all(p.ndim == 1 and p.dtype == np.float64 for p in polys)
    with pytest.raises(ValueError):
        polys[0][0] = 1.0  # the index's storage is read-only


def test_images_without_annotations(
    val_annotations: Path, tmp_path: Path, coco_refs: dict[str, COCO]
) -> None:
    idx = _load(val_annotations, tmp_path)
    ref = coco_refs["val"]
    empty = idx.image_ids()[idx.annotation_counts() == 0].tolist()
    assert empty == [i for i in ref.getImgIds() if not ref.getAnnIds(imgIds=[i])]
    assert empty, "the sample has images without annotations"
    for image_id in empty:
        assert idx.annotations_for(image_id) == []
        assert idx.image_category_ids(image_id).size == 0


def test_unknown_ids(val_annotations: Path, tmp_path: Path) -> None:
    idx = _load(val_annotations, tmp_path)
    assert not idx.has_image(-5) and idx.has_image(int(idx.image_ids()[3]))
    assert not idx.has_category(1000) and idx.has_category(1)
    with pytest.raises(KeyError):
        idx.image(-5)
    with pytest.raises(KeyError):
        idx.annotations_for(-5)
    with pytest.raises(KeyError):
        idx.category(1000)
    with pytest.raises(KeyError):
        idx.image_by_file("nope.jpg")
    assert idx.images_for_category(1000).size == 0
    assert [i.id for i in idx.images()] == idx.image_ids().tolist()


def test_segmentation_given_back_faithfully(tmp_path: Path) -> None:
    rle = mask_utils.encode(np.asfortranarray(np.eye(6, 8, dtype=np.uint8)))
    compressed = {"size": [6, 8], "counts": rle["counts"].decode("ascii")}
    segs: list[Any] = [
        None,
        [],
        [[1.5, 2, 3, 4, 5, 6.25]],
        [[1, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8]],
        compressed,
        {"size": [6, 8], "counts": [3, 4, 41]},
        "MISSING",
        [1, 2, 3, 4, 5, 6],
        {"counts": "x"},
        [[1, "a"]],
    ]
    anns = []
    for i, seg in enumerate(segs):
        ann = {"id": 100 + i, "image_id": 1 + i % 2, "category_id": 3, "area": 1.0, "bbox": [0, 0, 1, 1]}
        if seg != "MISSING":
            ann["segmentation"] = seg
        anns.append(ann)
    path = _write(tmp_path, _minimal(annotations=anns))
    for attempt in ("parsed", "cached"):
        idx = _load(path, tmp_path)
        assert idx.from_cache == (attempt == "cached")
        got = {a.id: a.segmentation for i in (1, 2) for a in idx.annotations_for(i)}
        for i, seg in enumerate(segs):
            want = None if seg == "MISSING" else seg
            assert _plain(got[100 + i]) == want if isinstance(want, list) else got[100 + i] == want
        assert isinstance(got[101], list) and got[101] == []
        assert got[100] is None and got[106] is None


def test_cache_hit_skips_parsing(
    val_annotations: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _load(val_annotations, tmp_path)
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0] == cache_file(tmp_path / "cache", val_annotations.resolve())

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("parsed the JSON although the cache is valid")

    monkeypatch.setattr(coco_index_parse, "parse_coco", boom)
    monkeypatch.setattr("cocoseg_gui.core.coco.index.parse_coco", boom)
    second = _load(val_annotations, tmp_path)
    assert second.from_cache and not first.from_cache
    assert second.image_ids().tolist() == first.image_ids().tolist()
    assert second.categories == first.categories
    for image_id in first.image_ids().tolist():
        a, b = first.annotations_for(image_id), second.annotations_for(image_id)
        assert [(x.id, x.category_id, x.area, x.bbox, x.iscrowd) for x in a] == [
            (x.id, x.category_id, x.area, x.bbox, x.iscrowd) for x in b
        ]
        assert [_plain(x.segmentation) for x in a] == [_plain(x.segmentation) for x in b]
    assert second.category_image_counts() == first.category_image_counts()


def test_no_cache_when_disabled(val_annotations: Path, tmp_path: Path) -> None:
    idx = CocoIndex.load(val_annotations, use_cache=False, cache_dir=tmp_path / "cache")
    assert len(idx) == 50 and not (tmp_path / "cache").exists()


def test_stale_cache_rebuilt(tmp_path: Path) -> None:
    path = _write(tmp_path, _minimal())
    assert len(_load(path, tmp_path)) == 2
    assert _load(path, tmp_path).from_cache
    data = _minimal()
    data["images"].append({"id": 7, "file_name": "c.jpg", "width": 1, "height": 1})
    _write(tmp_path, data)
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    idx = _load(path, tmp_path)
    assert not idx.from_cache and len(idx) == 3 and idx.image(7).file_name == "c.jpg"
    assert _load(path, tmp_path).from_cache


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "flip_header"])
def test_corrupt_cache_ignored(damage: str, val_annotations: Path, tmp_path: Path) -> None:
    _load(val_annotations, tmp_path)
    target = cache_file(tmp_path / "cache", val_annotations.resolve())
    raw = target.read_bytes()
    damaged = {
        "truncate": raw[: len(raw) // 2],
        "garbage": os.urandom(len(raw)),
        "empty": b"",
        "flip_header": raw[:20] + b"\xff" * 10 + raw[30:],
    }[damage]
    target.write_bytes(damaged)
    idx = _load(val_annotations, tmp_path)
    assert not idx.from_cache and len(idx) == 50 and idx.num_annotations() == 382
    assert _load(val_annotations, tmp_path).from_cache  # rebuilt


def _annotation_records(idx: CocoIndex) -> list[Any]:
    return [
        (a.id, a.image_id, a.category_id, a.area, a.bbox, a.iscrowd, _plain(a.segmentation))
        for i in idx.image_ids().tolist()
        for a in idx.annotations_for(i)
    ]


@pytest.mark.parametrize(
    "array", ["coords", "part_off", "seg_start", "seg_len", "ann_ids", "ann_cat", "img_ann_start", "header"]
)
def test_changed_bytes_in_cache_rebuild_it(array: str, val_annotations: Path, tmp_path: Path) -> None:
    """A few bytes changed inside a real cache (a disk or copy fault) used to give wrong annotations
    (38 of 40 drawn) or a segfault; the checksum catches them and the index is rebuilt exactly."""
    ref = CocoIndex.load(val_annotations, use_cache=False)
    _load(val_annotations, tmp_path)
    target = cache_file(tmp_path / "cache", val_annotations.resolve())
    raw = bytearray(target.read_bytes())
    if array == "header":
        pos = raw.find(b'"bicycle"') + 1  # a category name: still valid JSON, another name
        offsets = [pos, pos + 3]
    else:
        blob = np.ascontiguousarray(ref._a[array]).tobytes()
        start = raw.find(blob)
        assert start > 0 and len(blob) >= 8
        offsets = [start + 1, start + len(blob) // 2, start + len(blob) - 3]
    for k, pos in enumerate(offsets):
        raw[pos] ^= 1 if array == "header" else 0x41 << (k % 2)  # header: "bicycle" -> "cicxcle"
    target.write_bytes(bytes(raw))
    idx = _load(val_annotations, tmp_path)
    assert not idx.from_cache
    assert idx.categories == ref.categories and idx.images() == ref.images()
    assert _annotation_records(idx) == _annotation_records(ref)
    again = _load(val_annotations, tmp_path)
    assert again.from_cache and _annotation_records(again) == _annotation_records(ref)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("COCOSEG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "cocoseg" / "index"


def test_env_cache_dir_used(val_annotations: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "envcache"))
    CocoIndex.load(val_annotations)
    assert len(list((tmp_path / "envcache").iterdir())) == 1


def _error(path: Path, tmp_path: Path) -> str:
    with pytest.raises(DatasetError) as info:
        _load(path, tmp_path)
    assert str(path) in str(info.value)
    return info.value.problem


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _error(tmp_path / "nope.json", tmp_path)
    assert "folder" in _error(tmp_path, tmp_path)


def test_not_json_gives_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"images": [],\n  "annotations": [1, 2,, 3]}')
    problem = _error(path, tmp_path)
    assert "not valid JSON" in problem and "line 2" in problem and "column 24" in problem


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], "top level is a JSON list"),
        ({"images": [], "annotations": []}, "missing key(s) 'categories'"),
        ({"annotations": [], "categories": []}, "missing key(s) 'images'"),
        ({"images": {}, "annotations": [], "categories": []}, "'images' must be a list"),
        (_minimal(annotations=[{"id": 1, "image_id": 1, "caption": "a dog"}]), "captions"),
        (_minimal(categories=[{"id": 1, "name": "person", "keypoints": ["nose"]}]), "keypoints"),
        (_minimal(images=[{"id": 1, "file_name": "a.jpg", "width": 3}]), "images[0] (id 1) has no 'height'"),
        (_minimal(images=[{"file_name": "a.jpg", "width": 3, "height": 4}]), "images[0] has no 'id'"),
        (_minimal(images=[{"id": "1", "file_name": "a", "width": 3, "height": 4}]), "'id' must be int"),
        (
            _minimal(images=[{"id": 1, "file_name": 5, "width": 3, "height": 4}]),
            "'file_name' must be a string",
        ),
        (_minimal(categories=[{"id": 1}]), "categories[0] (id 1) has no 'name'"),
        (_minimal(annotations=[{"id": 1, "category_id": 3}]), "annotations[0] (id 1) has no 'image_id'"),
        (
            _minimal(annotations=[{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2]}]),
            "'bbox' must be",
        ),
        (_minimal(annotations=[7]), "annotations[0] is not a JSON object"),
    ],
)
def test_bad_files(data: Any, expected: str, tmp_path: Path) -> None:
    assert expected in _error(_write(tmp_path, data), tmp_path)


def test_duplicate_ids(tmp_path: Path) -> None:
    img = {"id": 4, "file_name": "a.jpg", "width": 1, "height": 1}
    assert "duplicate image id 4" in _error(_write(tmp_path, _minimal(images=[img, dict(img)])), tmp_path)
    cats = [{"id": 2, "name": "a"}, {"id": 2, "name": "b"}]
    assert "duplicate category id 2" in _error(_write(tmp_path, _minimal(categories=cats)), tmp_path)
    ann = _minimal()["annotations"][0]
    problem = _error(_write(tmp_path, _minimal(annotations=[ann, dict(ann, image_id=2)])), tmp_path)
    assert "duplicate annotation id 10" in problem


def test_unknown_images_and_categories_are_problems(tmp_path: Path) -> None:
    base = {"segmentation": [[0, 0, 4, 0, 4, 4]], "area": 8.0, "bbox": [0, 0, 4, 4], "iscrowd": 0}
    anns = [
        dict(base, id=1, image_id=1, category_id=3),
        dict(base, id=2, image_id=99, category_id=3),
        dict(base, id=3, image_id=2, category_id=55),
        dict(base, id=4, image_id=98, category_id=1),
        dict(base, id=5, image_id=1, category_id=55),
    ]
    idx = _load(_write(tmp_path, _minimal(annotations=anns)), tmp_path)
    assert idx.num_annotations() == 5
    assert [a.id for a in idx.orphan_annotations()] == [2, 4]
    assert [a.id for a in idx.annotations_for(1)] == [1, 5]
    assert [a.id for a in idx.annotations_for(2)] == [3]
    assert idx.annotation_counts().tolist() == [2, 1]
    assert len(idx.problems) == 2
    assert "2 annotations point at image ids not in 'images'" in idx.problems[0] and "98" in idx.problems[0]
    assert "2 annotations have category ids not in 'categories' (55)" in idx.problems[1]
    assert idx.images_for_category(55).tolist() == [1, 2]
    assert idx.category_image_counts() == {1: 0, 3: 1, 55: 2}
    assert idx.category_annotation_counts() == {1: 1, 3: 2, 55: 2}
    assert idx.image_category_ids(1).tolist() == [3, 55]
    assert [c.id for c in idx.categories] == [1, 3] and idx.category(3).supercategory == "animal"


def test_missing_optional_fields(tmp_path: Path) -> None:
    anns = [{"id": 1, "image_id": 1, "category_id": 3}]
    idx = _load(_write(tmp_path, _minimal(annotations=anns)), tmp_path)
    (ann,) = idx.annotations_for(1)
    assert ann.segmentation is None and not ann.iscrowd
    assert np.isnan(ann.area) and all(np.isnan(ann.bbox))
    assert any("no 'area'" in p for p in idx.problems)


def test_empty_dataset(tmp_path: Path) -> None:
    idx = _load(_write(tmp_path, {"images": [], "annotations": [], "categories": []}), tmp_path)
    assert len(idx) == 0 and idx.num_annotations() == 0 and idx.images() == [] and idx.categories == []
    assert _load(tmp_path / "instances.json", tmp_path).from_cache


def test_unicode_file_names(tmp_path: Path) -> None:
    images = [{"id": 1, "file_name": "été/日本.jpg", "width": 2, "height": 3}]
    path = _write(tmp_path, _minimal(images=images, annotations=[]))
    for _ in range(2):
        idx = _load(path, tmp_path)
        assert idx.image(1).file_name == "été/日本.jpg" and idx.image_by_file("été/日本.jpg").id == 1


def test_progress_and_cancel(val_annotations: Path, tmp_path: Path) -> None:
    events: list[Progress] = []
    _load(val_annotations, tmp_path, progress=events.append, use_cache=False)
    messages = " ".join(e.message for e in events)
    assert "reading" in messages and "parsing" in messages and "indexing" in messages
    assert all(e.done <= e.total for e in events) and events[-1].fraction == 1.0

    token = CancelToken()

    def cancel_on_parse(event: Progress) -> None:
        if event.message.startswith("parsing"):
            token.cancel()

    with pytest.raises(Cancelled):
        _load(val_annotations, tmp_path, progress=cancel_on_parse, cancel=token)
    assert not (tmp_path / "cache").exists()  # nothing cached by a cancelled load
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        _load(val_annotations, tmp_path, cancel=token, use_cache=False)


def test_json_files_written_by_stdlib_load_the_same(val_annotations: Path, tmp_path: Path) -> None:
    """Pretty-printed JSON with other key order loads identically."""
    data = json.loads(val_annotations.read_text())
    reordered = {k: data[k] for k in ("categories", "annotations", "info", "images", "licenses")}
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(reordered, indent=2))
    a, b = _load(val_annotations, tmp_path), _load(path, tmp_path)
    assert a.image_ids().tolist() == b.image_ids().tolist()
    for i in a.image_ids().tolist():
        assert [(x.id, _plain(x.segmentation)) for x in a.annotations_for(i)] == [
            (x.id, _plain(x.segmentation)) for x in b.annotations_for(i)
        ]


@pytest.mark.parametrize(
    "name", ["../x.jpg", "/etc/passwd", "a/../../x.jpg", "..", "C:\\Windows\\x.jpg", "a\\..\\..\\x.jpg", ""]
)
def test_resolve_image_path_refuses_escapes(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        resolve_image_path(tmp_path, name)
    assert str(tmp_path) in str(info.value)


def test_resolve_image_path(val_images: Path) -> None:
    assert resolve_image_path(val_images, "000000397133.jpg").is_file()
    assert resolve_image_path(Path("imgs"), "sub/x.jpg") == Path("imgs/sub/x.jpg")
    assert resolve_image_path(Path("imgs"), "sub/../x.jpg") == Path("imgs/sub/../x.jpg")


def _same_data(a: Any, b: Any) -> None:
    assert a.arrays.keys() == b.arrays.keys()
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key
    assert (a.categories, a.problems, a.extras) == (b.categories, b.problems, b.extras)


def _tricky(tmp_path: Path) -> Path:
    """Strings with braces and escaped quotes, nested lists of objects, odd whitespace, keys reordered."""
    data = _minimal()
    data["images"] += [
        {"id": 5 + i, "file_name": 'we},{ird"]}\\ ' + f"{i} é.jpg", "width": 4, "height": 4}
        for i in range(30)
    ]
    anns = []
    for i in range(60):
        anns.append(
            {
                "id": 100 + i,
                "image_id": 5 + i % 30,
                "category_id": 3,
                "extra": [{"a": "},{"}, {"b": [1]}],
                "segmentation": [[0, 0, 3, 0, 3, 3.5]] if i % 3 else {"size": [4, 4], "counts": [0, 5, 11]},
                "area": 4.5,
                "bbox": [0, 0, 3, 3],
                "iscrowd": int(i % 3 == 0),
            }
        )
    data["annotations"] = anns
    text = json.dumps(
        {
            "annotations": anns,
            "info": {"x": "}]"},
            "categories": data["categories"],
            "images": data["images"],
        },
        indent="\t",
        ensure_ascii=False,
    )
    return _write(tmp_path, text.replace("\t", " \t\r\n").encode("utf-8"), "tricky.json")


@pytest.mark.parametrize("block", [1 << 22, 4096, 97])
def test_streaming_equals_whole_parse(block: int, val_annotations: Path, tmp_path: Path, monkeypatch) -> None:
    from cocoseg_gui.core.coco import index_stream as coco_index_stream

    for path in (val_annotations, _tricky(tmp_path)):
        whole = coco_index_parse.parse_coco(path, path.stat().st_size, stream=False)
        monkeypatch.setattr(coco_index_stream, "BLOCK", block)
        with monkeypatch.context() as m:
            m.setattr(coco_index_parse, "_events_whole", lambda *a: pytest.fail("fell back to whole parse"))
            streamed = coco_index_parse.parse_coco(path, path.stat().st_size)
        _same_data(streamed, whole)


def test_tricky_file_reads_right(tmp_path: Path) -> None:
    idx = _load(_tricky(tmp_path), tmp_path)
    assert len(idx) == 32 and idx.num_annotations() == 60
    assert idx.image(7).file_name == 'we},{ird"]}\\ 2 é.jpg'
    assert [a.id for a in idx.annotations_for(5)] == [100, 130]
    assert idx.annotations_for(5)[0].segmentation == {"size": [4, 4], "counts": [0, 5, 11]}


def test_syntax_error_late_in_a_big_array(val_annotations: Path, tmp_path: Path, monkeypatch) -> None:
    from cocoseg_gui.core.coco import index_stream as coco_index_stream

    monkeypatch.setattr(coco_index_stream, "BLOCK", 4096)
    lines = val_annotations.read_text().splitlines()
    bad = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].strip().startswith('"area"'))
    lines[bad] = lines[bad].replace(":", "")
    path = _write(tmp_path, "\n".join(lines).encode(), "bad.json")
    problem = _error(path, tmp_path)
    assert "not valid JSON" in problem and f"line {bad + 1}," in problem
