"""AppState is a relay of the Workbench (issue 20): one Qt signal per workbench event, no state of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.project.workbench import LoadedDataset
from cocoseg_gui.gui.services.app_state import AppState

SIGNALS = (
    "project_changed",
    "dataset_entry_changed",
    "dataset_loaded",
    "masks_dir_changed",
    "run_dir_changed",
    "checkpoint_changed",
)


def record(state: AppState) -> list[str]:
    heard: list[str] = []
    for name in SIGNALS:
        getattr(state, name).connect(lambda *_args, name=name: heard.append(name))
    return heard


def test_loading_a_dataset_with_its_masks_is_one_signal_and_read_from_the_workbench(
    qapp, tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    state = AppState(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    heard = record(state)
    index = CocoIndex.load(val_annotations, cache_dir=tmp_path / "cache")
    state.workbench.set_loaded(LoadedDataset(index, val_annotations, val_images), tmp_path / "masks")
    assert heard == ["dataset_loaded"]
    assert state.index is index and state.images_dir == val_images and state.masks_dir == tmp_path / "masks"
    assert state.annotations_path == val_annotations
    state.set_masks_dir(None)  # a folder dropped is heard too
    state.set_checkpoint(tmp_path / "best.pt")
    assert heard == ["dataset_loaded", "masks_dir_changed", "checkpoint_changed"]
    assert state.masks_dir is None and state.workbench.checkpoint == tmp_path / "best.pt"


def test_app_state_has_no_setter_of_its_own(qapp, tmp_path: Path) -> None:
    """The silent ``masks_dir`` setter and the copied index are gone: the workbench is the one state."""
    state = AppState(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    for name in ("masks_dir", "index", "annotations_path", "images_dir", "project", "checkpoint_path"):
        with pytest.raises(AttributeError):
            setattr(state, name, None)
    assert not hasattr(state, "set_dataset") and not hasattr(state, "dataset_changed")
