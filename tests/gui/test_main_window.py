"""The workbench window on the demo data: open, show with overlay, legend, shortcuts, errors, settings."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, default_masks_dir, locate
from cocoseg_gui.core.masks.palette import display_palette, distinct_colors, voc_palette
from cocoseg_gui.core.types import IGNORE_INDEX
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets.qimage_utils import qimage_to_rgb
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401


@pytest.fixture
def window(qtbot, tmp_path, val_annotations, val_images) -> MainWindow:
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, val_annotations, val_images)
    return win


def rendered(window: MainWindow) -> np.ndarray:
    """The viewer's scene at image resolution (image, overlay, outlines)."""
    return qimage_to_rgb(window.images.viewer.render_image(1.0)).astype(np.int16)


def reference_masks(index, image_id: int) -> tuple[np.ndarray, np.ndarray, list]:
    """pycocotools annToMask unions of the non-crowd and the crowd annotations of an image."""
    from pycocotools.coco import COCO

    coco = COCO(str(index.path))
    anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
    info = coco.loadImgs(image_id)[0]
    objects = np.zeros((info["height"], info["width"]), dtype=bool)
    crowd = np.zeros_like(objects)
    for ann in anns:
        m = coco.annToMask(ann).astype(bool)
        if ann["iscrowd"]:
            crowd |= m
        else:
            objects |= m
    return objects, crowd, anns


def test_opens_the_demo_and_shows_the_first_image_with_its_mask(window: MainWindow, val_annotations) -> None:
    state = window.state
    assert state.annotations_path == val_annotations.resolve()
    assert len(state.index) == 50
    assert window.images.browser.model.rowCount() == 50
    assert window.images.browser.count_label.text() == "50 of 50 images"
    item = window.images.current
    assert item is not None and item.image_id == window.images.browser.current_image_id()
    info = state.index.image(item.image_id)
    assert item.rgb.shape == (info.height, info.width, 3)
    assert item.mask_source == "annotations"
    # the mask drawn on the fly agrees with pycocotools: objects where annotations are, 255 on bare crowd
    objects, crowd, _ = reference_masks(state.index, item.image_id)
    mask = item.mask
    assert np.array_equal((mask != 0) & (mask != IGNORE_INDEX), objects)
    assert np.array_equal(mask == IGNORE_INDEX, crowd & ~objects)
    assert window.images.legend.entries(), "the legend lists the classes present"
    assert "val2017 (sample_coco) · 50 of 50 images" in window.summary_label.text()
    # project — dataset (role), not the instances_*.json name shared by every COCO set
    assert window.windowTitle() == "sample_coco — val2017 (val) — cocoseg"


def test_overlay_pixels_are_the_class_colours_blended_at_the_opacity(qtbot, window: MainWindow) -> None:
    # the image with the most annotations, outlines off so only image + fill are drawn
    index = window.state.index
    image_id = int(index.image_ids()[np.argmax(index.annotation_counts())])
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.images.browser.select_image(image_id)
    window.act_outlines.setChecked(False)
    mask, rgb = window.images.current.mask, window.images.current.rgb.astype(np.int16)
    out = rendered(window)
    alpha = window.opacity()
    assert alpha == pytest.approx(0.5)
    palette = distinct_colors(display_palette(), np.unique(mask)).astype(np.int16)  # look-alikes told apart
    expected = np.where((mask > 0)[..., None], rgb * (1 - alpha) + palette[mask] * alpha, rgb)
    assert np.abs(out - expected).max() <= 2
    assert (mask > 0).sum() > 1000  # a real overlay was checked

    # opacity up with its shortcut (']'): the blend follows
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.opacity() == pytest.approx(0.6)
    out = rendered(window)
    expected = np.where((mask > 0)[..., None], rgb * 0.4 + palette[mask] * 0.6, rgb)
    assert np.abs(out - expected).max() <= 2

    # overlay off ('O'): the image alone
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert not window.act_overlay.isChecked()
    assert np.abs(rendered(window) - rgb).max() <= 1


def test_legend_click_hides_a_class(qtbot, window: MainWindow) -> None:
    index = window.state.index
    image_id = int(index.image_ids()[np.argmax(index.annotation_counts())])
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.images.browser.select_image(image_id)
    window.act_outlines.setChecked(False)
    mask, rgb = window.images.current.mask, window.images.current.rgb.astype(np.int16)
    entries = window.images.legend.entries()
    assert len(entries) >= 2
    hidden_cls = entries[0][0]  # the largest class
    row_rect = window.images.legend.list.visualItemRect(window.images.legend.list.item(0))
    with qtbot.waitSignal(window.images.legend.hidden_changed, timeout=WAIT_MS):
        qtbot.mouseClick(
            window.images.legend.list.viewport(), Qt.MouseButton.LeftButton, pos=row_rect.center()
        )
    assert window.images.viewer.hidden_classes() == {hidden_cls}
    out = rendered(window)
    hidden = mask == hidden_cls
    shown = (mask > 0) & ~hidden
    assert np.abs(out[hidden] - rgb[hidden]).max() <= 1, "pixels of a hidden class revert to the image"
    assert np.abs(out[shown] - rgb[shown]).mean() > 5, "other classes keep their overlay"
    # the hidden class stays hidden on the next image
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.images.browser.step(1)
    assert window.images.viewer.hidden_classes() == {hidden_cls}


def test_next_previous_and_side_by_side_shortcuts(qtbot, window: MainWindow) -> None:
    first = window.images.browser.current_image_id()
    window.activateWindow()
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    second = blocker.args[0]
    assert second != first and second == window.images.browser.model.image_id_at(1)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert blocker.args[0] == first
    qtbot.keyClick(window, Qt.Key.Key_S)
    assert window.images.central.currentWidget() is window.images.side
    assert np.array_equal(window.images.side.right.mask(), window.images.current.mask)
    qtbot.keyClick(window, Qt.Key.Key_S)
    assert window.images.central.currentWidget() is window.images.viewer
    rows = dict(window.shortcut_table()).values()
    assert "Next image" in rows and "Zoom to fit" in rows


def test_hover_readout_names_the_class(window: MainWindow) -> None:
    mask = window.images.current.mask
    ys, xs = np.nonzero((mask > 0) & (mask != IGNORE_INDEX))
    x, y = int(xs[0]), int(ys[0])
    window.images.viewer.hovered.emit(x, y, int(mask[y, x]))
    name = window.images.source.class_names()[int(mask[y, x])]
    assert window.hover_label.text() == f"{x}, {y}: {name}"


def test_broken_json_shows_an_error_and_keeps_the_dataset(
    qtbot, window: MainWindow, tmp_path, monkeypatch, val_images
) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append((title, text)))
    broken = tmp_path / "instances_broken.json"
    broken.write_text('{"images": [{"id": 1, "file_name": "a.jpg", ', encoding="utf-8")
    index_before = window.state.index
    with qtbot.waitSignal(window.dataset_failed, timeout=WAIT_MS):
        window.open_dataset(broken, val_images)
    assert len(shown) == 1 and "instances_broken.json" in shown[0][1]
    assert window.state.index is index_before and window.images.browser.model.rowCount() == 50
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):  # still working
        window.images.browser.step(1)
    # a missing file fails before any thread starts, with the same dialog
    with qtbot.waitSignal(window.dataset_failed, timeout=WAIT_MS):
        window.open_dataset(tmp_path / "nope.json")
    assert "nope.json" in shown[-1][1] and "does not exist" in shown[-1][1]


def test_drop_a_dataset_folder_opens_it(qtbot, window: MainWindow, sample_root, train_annotations) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(train_annotations))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.dropEvent(event)
    assert window.state.annotations_path.name == "instances_train2017.json"
    assert window.state.images_dir.name == "train2017"
    # a dataset root folder finds its annotations and images (val first)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_path(sample_root)
    assert window.state.annotations_path.name == "instances_val2017.json"
    assert [p.annotations.name for p in window.recent_datasets()] == [
        "instances_val2017.json",
        "instances_train2017.json",
    ]


def test_settings_are_remembered(qtbot, tmp_path, val_annotations, val_images) -> None:
    first = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, first, val_annotations, val_images)
    first.set_opacity(0.8)
    first.act_outlines.setChecked(False)
    first.show_panel("predict")
    first.close()
    second = make_window(qtbot, tmp_path)
    assert second.opacity() == pytest.approx(0.8)
    assert not second.act_outlines.isChecked()
    assert second.panel_tabs.currentIndex() == 2
    assert second.recent_datasets() == [DatasetPaths(val_annotations.resolve(), val_images.resolve())]
    # never the user's settings
    assert Path(second.state.settings.fileName()).parent == tmp_path


def test_mask_folder_is_shown_instead_of_drawing(qtbot, window: MainWindow, tmp_path) -> None:
    """A mask folder's PNG is what the viewer shows (here a mask made of one class, to tell them apart)."""
    item = window.images.current
    out = tmp_path / "masks_val2017"
    (out / "masks").mkdir(parents=True)
    fake = np.full(item.mask.shape, 7, dtype=np.uint8)
    png = Image.fromarray(fake, mode="L").convert("P")
    png.putpalette(voc_palette().tobytes())
    png.save(out / "masks" / "x.png")
    (out / "image_mask_map.json").write_text(f'{{"{item.file_name}": "x.png"}}', encoding="utf-8")
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.open_masks(out)
    assert window.images.current.mask_source == "mask file"
    assert np.array_equal(window.images.current.mask, fake)
    assert [e[0] for e in window.images.legend.entries()] == [7]


def test_locate_standard_layouts(tmp_path, sample_root, val_annotations) -> None:
    assert locate(val_annotations).images_dir.name == "val2017"
    assert locate(sample_root).annotations.name == "instances_val2017.json"
    assert locate(sample_root / "train2017").annotations.name == "instances_train2017.json"
    paths = locate(val_annotations)
    assert default_masks_dir(paths) == sample_root / "masks_val2017"
    lonely = tmp_path / "instances_x.json"
    lonely.write_text("{}", encoding="utf-8")
    with pytest.raises(Exception, match="cannot find its image folder"):
        locate(lonely)


def test_screenshot_waits_for_the_panel_to_prepare(qtbot, tmp_path, monkeypatch) -> None:
    """--panel P --screenshot: the workspace's prepare_screenshot(demo, done) runs first (with the demo
    data it needs: none for Masks); the grab waits for done()."""
    from PySide6.QtCore import QTimer

    from cocoseg_gui.gui import app as gui_app
    from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel

    calls: list[str] = []

    def prepare_masks(panel, demo, done) -> None:
        calls.append("prepare" if isinstance(panel, MasksPanel) else "wrong panel")
        assert demo.masks_dir is None and demo.checkpoint is None
        QTimer.singleShot(0, lambda: (calls.append("done"), done()))

    monkeypatch.setattr(MasksPanel, "prepare_screenshot", prepare_masks)
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    shot = tmp_path / "shot.png"
    tempdir_before = tempfile.gettempdir()
    assert gui_app.main(["--panel", "masks", "--screenshot", str(shot)]) == 0
    assert calls == ["prepare", "done"]
    # the screenshot's temporary folder is gone, and nothing else points into it any more
    from cocoseg_gui.gui import screenshots as demo

    assert demo.temp_root is None and tempfile.gettempdir() == tempdir_before
    with Image.open(shot) as im:
        assert im.size == gui_app.SCREENSHOT_SIZE


def test_workspaces_switch_by_shortcut_and_viewer_keys_follow(qtbot, window: MainWindow) -> None:
    """Train/Predict/Evaluate fill the window; the viewer's single-key shortcuts only act on images."""
    current = window.images.current.image_id
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.panel_tabs.currentWidget().widget() is window.panels["train"]
    assert not window.act_next.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_J)  # "next image" must not fire while the Train form is shown
    assert window.images.browser.current_image_id() == current
    assert window.panels["train"].width() > window.width() * 0.9  # the whole width, not a dock
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.panel_tabs.currentWidget() is window.images and window.act_next.isEnabled()
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_J)
    assert window.images.current.image_id != current


def test_screenshot_size_is_chosen(tmp_path) -> None:
    from cocoseg_gui.gui import app as gui_app

    shot = tmp_path / "small.png"
    assert gui_app.main(["--screenshot", str(shot), "--size", "1024x700"]) == 0
    with Image.open(shot) as im:
        assert im.size == (1024, 700)
    with pytest.raises(SystemExit):
        gui_app.build_parser().parse_args(["--size", "300x200"])


def test_workspaces_scroll_only_when_their_minimum_does_not_fit(qtbot) -> None:
    """Qt sizes scroll content holding a word-wrapped label by a height-for-width computed from size
    hints: Evaluate at 1024x700 scrolled, its x-axis label below the fold, though its minimum fitted."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    from cocoseg_gui.gui.main_window import _scrollable

    class Plot(QWidget):  # like the confusion plot: wants 480 px, makes do with 68
        def sizeHint(self) -> QSize:
            return QSize(600, 480)

        def minimumSizeHint(self) -> QSize:
            return QSize(68, 68)

    content = QWidget()
    lay = QVBoxLayout(content)
    summary = QLabel("mIoU 0.0038 · pixel accuracy 0.0855 · mean Dice 0.0072 · 50 images")
    summary.setWordWrap(True)
    lay.addWidget(summary)
    lay.addWidget(Plot(), 1)
    scroll = _scrollable(content)
    qtbot.addWidget(scroll)
    scroll.resize(1000, 400)
    scroll.show()
    qtbot.waitExposed(scroll)
    qtbot.waitUntil(lambda: content.height() == scroll.viewport().height())
    assert scroll.verticalScrollBar().maximum() == 0
    scroll.resize(1000, 60)  # really too small: the scroll bar comes back
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)


def test_the_first_window_fits_a_small_screen(qapp) -> None:
    from PySide6.QtCore import QRect, QSize

    from cocoseg_gui.gui.main_window import DEFAULT_WINDOW_SIZE, default_window_size

    class Screen:
        def __init__(self, w: int, h: int) -> None:
            self.rect = QRect(0, 0, w, h)

        def availableGeometry(self) -> QRect:
            return self.rect

    assert default_window_size(Screen(1024, 700)) == QSize(1024, 700)  # the 1024x700 laptop: all of it
    assert default_window_size(Screen(1920, 1080)) == DEFAULT_WINDOW_SIZE == QSize(1440, 900)
    assert default_window_size(None) == DEFAULT_WINDOW_SIZE


def test_hidden_workspaces_are_built_when_first_shown(qtbot, window: MainWindow, val_images) -> None:
    """Train, Predict and Evaluate are built on first show (ADR 0035); a comparison asked for by Evaluate
    before Predict exists still reaches it."""
    assert [window.panels.is_built(name) for name in ("masks", "train", "predict", "evaluate")] == [
        True,
        False,
        False,
        False,
    ]
    assert len(window.workspaces()) == 2  # the Images workspace and its Masks panel: nothing else built
    image = sorted(val_images.glob("*.jpg"))[0]
    window.state.compare_requested.emit(str(image))
    predict = window.panels["predict"]
    assert window.panel_tabs.currentWidget().widget() is predict
    shown = predict.image_list.currentItem()
    assert shown is not None and shown.data(Qt.ItemDataRole.UserRole) == str(image)
    assert predict.image_list.count() == 1  # delivered once
    assert not window.panels.is_built("train") and len(window.workspaces()) == 3


def test_the_last_workspace_is_restored_and_built(qtbot, tmp_path) -> None:
    from tests.gui.window_helpers import make_window

    first = make_window(qtbot, tmp_path)
    first.show_panel("evaluate")
    assert first.panel_tabs.currentWidget().widget() is first.panels["evaluate"]
    first.close()
    again = make_window(qtbot, tmp_path)
    assert again.panels.is_built("evaluate") and not again.panels.is_built("train")
    assert again.panel_tabs.currentWidget().widget() is again.panels["evaluate"]
    assert again.panels["evaluate"].isVisible()
