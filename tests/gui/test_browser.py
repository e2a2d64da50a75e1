"""The dataset browser: numpy filters and sorting against the index, thumbnails off the GUI thread."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QLineEdit

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.gui.widgets.browser import DatasetBrowser
from cocoseg_gui.gui.widgets.browser import thumbnails as thumbs
from cocoseg_gui.gui.widgets.browser.filtering import BrowserQuery, ImageTable, Presence, SortKey
from cocoseg_gui.gui.widgets.browser.image_list_model import ImageIdRole


@pytest.fixture(scope="module")
def val_index(val_annotations, tmp_path_factory) -> CocoIndex:
    return CocoIndex.load(val_annotations, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def browser(qtbot, val_index, val_images) -> DatasetBrowser:
    widget = DatasetBrowser()
    qtbot.addWidget(widget)
    widget.resize(340, 700)
    widget.set_dataset(val_index, val_images, None)
    yield widget
    widget.shutdown()


def shown_names(browser: DatasetBrowser) -> list[str]:
    table = browser.table
    return [table.names[table.position_of(i)] for i in browser.model.shown_image_ids()]


def test_category_filter_matches_the_index(browser: DatasetBrowser, val_index: CocoIndex) -> None:
    person = next(c.id for c in val_index.categories if c.name == "person")
    dog = next(c.id for c in val_index.categories if c.name == "dog")
    browser.categories.set_checked([person])
    expected = val_index.images_for_category(person)
    assert browser.model.rowCount() == len(expected) > 0
    assert set(browser.model.shown_image_ids().tolist()) == set(expected.tolist())
    assert browser.count_label.text() == f"{len(expected)} of 50 images"
    browser.categories.set_checked([person, dog])  # any of the checked categories
    union = set(expected.tolist()) | set(val_index.images_for_category(dog).tolist())
    assert set(browser.model.shown_image_ids().tolist()) == union
    # the checklist shows image counts and searches by name
    browser.categories.search.setText("dog")
    visible = [
        browser.categories.list.item(i)
        for i in range(browser.categories.list.count())
        if not browser.categories.list.item(i).isHidden()
    ]
    counts = val_index.category_image_counts()
    assert [i.text() for i in visible] == [f"dog  ({counts[dog]})", f"hot dog  ({counts[58]})"]


def test_name_and_presence_filters(qtbot, browser: DatasetBrowser, val_index: CocoIndex) -> None:
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.WITHOUT_ANNOTATIONS))
    assert sorted(shown_names(browser)) == ["000000058636.jpg", "000000226111.jpg"]
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.WITH_ANNOTATIONS))
    assert browser.model.rowCount() == 48
    browser.presence.setCurrentIndex(0)
    qtbot.keyClicks(browser.name_filter, "0000004")
    qtbot.waitUntil(lambda: browser.model.rowCount() < 50, timeout=30000)  # debounced
    expected = [img.file_name for img in val_index.images() if "0000004" in img.file_name]
    assert sorted(shown_names(browser)) == sorted(expected) and 0 < len(expected) < 50
    browser.clear_filters()
    assert browser.model.rowCount() == 50
    # has-mask: only the images whose masks are on disk
    masked = {img.file_name for img in val_index.images()[:7]}
    browser.set_masked_names(masked)
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.WITH_MASK))
    assert set(shown_names(browser)) == masked
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.WITHOUT_MASK))
    assert browser.model.rowCount() == 43 and not set(shown_names(browser)) & masked


def test_sorting(browser: DatasetBrowser, val_index: CocoIndex) -> None:
    assert browser.model.shown_image_ids().tolist() == val_index.image_ids().tolist()  # file order first
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.NAME))
    names = shown_names(browser)
    assert names == sorted(names) != [img.file_name for img in val_index.images()]
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.ID))
    assert browser.model.shown_image_ids().tolist() == sorted(val_index.image_ids().tolist())
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.ANNOTATIONS))
    counts = [val_index.annotation_count(int(i)) for i in browser.model.shown_image_ids()]
    assert counts == sorted(counts) and counts[0] == 0
    assert browser.descending.text() == "↑" and "Ascending" in browser.descending.toolTip()
    browser.descending.setChecked(True)
    counts = [val_index.annotation_count(int(i)) for i in browser.model.shown_image_ids()]
    assert counts == sorted(counts, reverse=True) and counts[0] == max(val_index.annotation_counts())
    assert browser.descending.text() == "↓" and "Descending" in browser.descending.toolTip()


def test_selection_survives_filtering_and_steps(qtbot, browser: DatasetBrowser, val_index: CocoIndex) -> None:
    target = int(val_index.image_ids()[10])
    with qtbot.waitSignal(browser.image_selected) as blocker:
        assert browser.select_image(target)
    assert blocker.args == [target]
    cat = int(val_index.image_category_ids(target)[0])
    browser.categories.set_checked([cat])
    assert browser.current_image_id() == target  # still shown, still selected
    browser.step(1)
    assert browser.current_image_id() == browser.model.image_id_at(browser.model.row_of_image(target) + 1)
    # selecting an image hidden by the filters clears them
    hidden = next(int(i) for i in val_index.image_ids() if cat not in val_index.image_category_ids(int(i)))
    assert browser.select_image(hidden) and browser.model.rowCount() == 50


def test_thumbnails_are_decoded_off_the_gui_thread(qtbot, browser: DatasetBrowser, monkeypatch) -> None:
    threads: list[threading.Thread] = []
    original = thumbs.decode_thumbnail

    def recording(path: Path, size: int):
        threads.append(threading.current_thread())
        return original(path, size)

    monkeypatch.setattr(thumbs, "decode_thumbnail", recording)
    browser.show()
    model = browser.model
    first = model.index(0)
    placeholder = model.data(first, Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(
        lambda: model.data(first, Qt.ItemDataRole.DecorationRole) is not placeholder, timeout=60000
    )
    pix = model.data(first, Qt.ItemDataRole.DecorationRole)
    assert 0 < pix.width() <= 112 and 0 < pix.height() <= 84
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert model.data(first, ImageIdRole) == browser.model.image_id_at(0)
    assert "annotations" in model.data(first, Qt.ItemDataRole.ToolTipRole)


def test_only_visible_rows_are_decoded_on_a_big_list(
    qtbot, tmp_path, val_annotations, val_images, monkeypatch
) -> None:
    """3000 rows (the sample repeated): painting the view decodes about one screenful, not the list."""
    data = json.loads(val_annotations.read_text(encoding="utf-8"))
    images = [dict(img, id=k * 1_000_000 + img["id"]) for k in range(60) for img in data["images"]]
    big = tmp_path / "instances_big.json"
    big.write_text(json.dumps({"images": images, "annotations": [], "categories": data["categories"]}))
    index = CocoIndex.load(big, cache_dir=tmp_path / "cache")
    decoded: list[Path] = []
    original = thumbs.decode_thumbnail
    monkeypatch.setattr(thumbs, "decode_thumbnail", lambda p, s: (decoded.append(p), original(p, s))[1])
    widget = DatasetBrowser()
    qtbot.addWidget(widget)
    widget.resize(340, 600)
    widget.set_dataset(index, val_images, None)
    widget.show()
    qtbot.waitUntil(lambda: len(decoded) > 0 and widget.loader.pending_count() == 0, timeout=60000)
    widget.loader.wait_idle()
    assert widget.model.rowCount() == 3000
    assert 0 < len(decoded) < 100
    # scrolling to the end requests the rows now visible, newest first
    widget.view.scrollToBottom()
    qtbot.waitUntil(lambda: widget.loader.get(int(widget.model._rows[-1])) is not None, timeout=60000)
    widget.loader.wait_idle()
    assert len(decoded) < 200
    widget.shutdown()


def test_thumbnail_cache_is_bounded(qtbot, val_index: CocoIndex, val_images) -> None:
    loader = thumbs.ThumbnailLoader(max_bytes=112 * 84 * 4 * 5)
    table = ImageTable(val_index)
    loader.set_source(lambda pos: val_images / table.names[pos])
    ready: list[int] = []
    loader.ready.connect(ready.append)
    for pos in range(20):
        loader.request(pos)
    qtbot.waitUntil(lambda: len(ready) == 20, timeout=60000)
    assert loader.cached_bytes() <= loader.max_bytes
    assert sum(loader.get(p) is not None for p in ready[-5:]) >= 4  # the newest are kept
    loader.shutdown()


def test_query_is_pure_numpy(val_index: CocoIndex) -> None:
    table = ImageTable(val_index)
    positions = table.query(BrowserQuery(presence=Presence.WITHOUT_ANNOTATIONS, sort=SortKey.ID))
    assert isinstance(positions, np.ndarray)
    assert sorted(table.names[p] for p in positions) == ["000000058636.jpg", "000000226111.jpg"]


def test_edited_filter_is_numpy_over_the_table(val_annotations) -> None:  # type: ignore[no-untyped-def]
    """The Qt-free table: "Edited" keeps exactly the names given, in the query's sort order."""
    table = ImageTable(CocoIndex.load(val_annotations, use_cache=False))
    picked = {table.names[7], table.names[2], "not-in-the-dataset.jpg"}
    table.set_edited_names(picked)
    rows = table.query(BrowserQuery(presence=Presence.EDITED, sort=SortKey.FILE))
    assert rows.tolist() == [2, 7]
    table.set_edited_names(None)
    assert table.query(BrowserQuery(presence=Presence.EDITED)).size == 0


def test_ranking_sorts_appear_with_scores_and_put_unscored_images_last(
    browser: DatasetBrowser, val_images: Path
) -> None:
    names = browser.table.names
    scores = {names[7]: 0.5, names[3]: 0.9, names[5]: 0.5, "not-in-dataset.jpg": 1.0}
    assert browser.sort.findData(SortKey.SUSPICIOUS.value) < 0
    browser.set_ranking(SortKey.SUSPICIOUS, scores, select=True)
    assert browser.sort.currentData() == SortKey.SUSPICIOUS.value
    tied = sorted([names[7], names[5]])
    rest = sorted(n for n in names if n not in scores)
    assert shown_names(browser) == [names[3], *tied, *rest]  # highest first, ties and unscored by name
    assert browser.current_image_id() == browser.table.ids[3]  # the most suspicious is selected
    browser.descending.setChecked(True)
    assert shown_names(browser)[:3] == rest[::-1][:3]
    # kept across another dataset load, gone when the ranking goes
    browser.set_dataset(browser.table.index, val_images, None)
    assert shown_names(browser)[-1] == names[3]
    browser.set_ranking(SortKey.SUSPICIOUS, None)
    assert browser.sort.findData(SortKey.SUSPICIOUS.value) < 0
    assert browser.sort.currentData() == SortKey.FILE.value


def test_range_sliders_keep_images_by_object_size_and_by_ranking_score(
    qtbot, browser: DatasetBrowser, val_annotations: Path
) -> None:
    coco = json.loads(val_annotations.read_text())
    names = {im["id"]: im["file_name"] for im in coco["images"]}
    sizes: dict[str, list[float]] = {n: [] for n in names.values()}
    for ann in coco["annotations"]:
        sizes[names[ann["image_id"]]].append(float(ann["area"]) ** 0.5)
    top = max(max(v, default=0) for v in sizes.values())
    assert browser.size_range.maximum() == np.ceil(top)  # the slider spans the dataset's objects
    assert not browser.score_range.isEnabled()  # no ranking to filter by yet

    browser.show()
    qtbot.mouseClick(browser.ranges.toggleButton(), Qt.MouseButton.LeftButton)
    assert browser.ranges.isExpanded()
    browser.size_range.setValue((150.0, browser.size_range.maximum()))  # large objects only
    qtbot.waitUntil(lambda: browser.query().size_range is not None and browser.model.rowCount() < len(names))
    expected = sorted(n for n, v in sizes.items() if any(s >= 150 for s in v))
    assert 0 < len(expected) < len(names) and sorted(shown_names(browser)) == expected
    assert browser.ranges.text().endswith("filtering")  # said even when folded away
    browser.size_range.setValue((0.0, browser.size_range.maximum()))  # all again
    qtbot.waitUntil(lambda: browser.model.rowCount() == len(names))

    scores = {n: i / 10 for i, n in enumerate(sorted(sizes))}  # a ranking, as the jobs give one
    browser.set_ranking(SortKey.SUSPICIOUS, scores, select=True)
    assert browser.score_range.isEnabled() and browser.score_range.maximum() == pytest.approx(
        max(scores.values())
    )
    browser.score_range.setValue((0.25, 0.55))
    qtbot.waitUntil(lambda: browser.model.rowCount() == 3)
    assert shown_names(browser) == [
        n for n, s in sorted(scores.items(), key=lambda kv: -kv[1]) if 0.25 <= s <= 0.55
    ]


def test_a_new_ranking_reorders_the_list_sorted_by_it(browser: DatasetBrowser) -> None:
    """Sort orders are kept between filters; new scores for the shown ranking sort again."""
    names = browser.table.names
    browser.set_ranking(SortKey.SUSPICIOUS, {names[1]: 0.9, names[2]: 0.1}, select=True)
    assert shown_names(browser)[:2] == [names[1], names[2]]
    browser.set_ranking(SortKey.SUSPICIOUS, {names[1]: 0.1, names[2]: 0.9, names[4]: 0.5})
    assert shown_names(browser)[:3] == [names[2], names[4], names[1]]


def test_name_filter_ignores_case_beyond_ascii(tmp_path: Path, val_annotations: Path) -> None:
    data = json.loads(val_annotations.read_text(encoding="utf-8"))
    names = ["Ärger_01.JPG", "dog_ärger.png", "cat.jpg", "ÉTÉ.jpg"]
    images = [dict(img, file_name=n) for img, n in zip(data["images"], names)]
    path = tmp_path / "instances_names.json"
    path.write_text(json.dumps({"images": images, "annotations": [], "categories": data["categories"]}))
    table = ImageTable(CocoIndex.load(path, use_cache=False))
    assert [table.names[p] for p in table.query(BrowserQuery(name_contains=" äRG "))] == names[:2]
    assert [table.names[p] for p in table.query(BrowserQuery(name_contains="été", sort=SortKey.NAME))] == [
        names[3]
    ]
    assert table.query(BrowserQuery(name_contains=".JPG", sort=SortKey.NAME)).tolist() == [2, 0, 3]


def test_a_double_click_selects_and_never_edits_the_name(qtbot, browser: DatasetBrowser) -> None:
    browser.show()
    view = browser.view
    rect = view.visualRect(browser.model.index(2))
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert browser.current_image_id() == browser.model.image_id_at(2)
    assert view.state() != QAbstractItemView.State.EditingState
    assert not view.viewport().findChildren(QLineEdit)
    assert not browser.model.flags(browser.model.index(2)) & Qt.ItemFlag.ItemIsEditable


def test_name_filter_never_matches_across_two_names(tmp_path: Path, val_annotations: Path) -> None:
    """The names are searched as one text with a line break between them; a name holding one is searched
    name by name."""
    data = json.loads(val_annotations.read_text(encoding="utf-8"))
    for names in (["xa", "bx", "ab"], ["xa", "b\nx", "ab"]):
        images = [dict(img, file_name=n) for img, n in zip(data["images"], names)]
        path = tmp_path / "instances_names.json"
        path.write_text(json.dumps({"images": images, "annotations": [], "categories": data["categories"]}))
        table = ImageTable(CocoIndex.load(path, use_cache=False))
        assert table.query(BrowserQuery(name_contains="ab")).tolist() == [2]
        assert table.query(BrowserQuery(name_contains="x")).tolist() == [0, 1]
