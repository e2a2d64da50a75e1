"""The forms' typed models without Qt: the Train form's TrainRequest (core.training.train_request) and Find
likely label errors' options (core.quality.find_options): what each field means, and the message that
names a wrong one as the form labels it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.masks.folder import check_mask_folder
from cocoseg_gui.core.training.train_request import (
    VAL_FOLDER,
    VAL_SPLIT,
    VAL_TRAIN,
    TrainRequest,
    format_model_options,
    parse_model_options,
)


def _request(tmp_path: Path, **fields: object) -> TrainRequest:
    base = {"data": str(tmp_path / "masks"), "out": str(tmp_path / "run")}
    return TrainRequest(**{**base, **fields})  # type: ignore[arg-type]


def test_the_fields_become_the_run_config(tmp_path: Path) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    config = _request(
        tmp_path,
        extra_data=[extra],
        model_options="width=8 depth=2 bilinear=true",
        time_budget="1h30m",
        val_mode=VAL_SPLIT,
        val_fraction=0.25,
        epochs=3,
        lr=0.01,
        amp="bf16",
    ).config()
    assert config.data == tmp_path / "masks" and config.out == tmp_path / "run"
    assert config.training_folders() == [tmp_path / "masks", extra]
    assert config.model_kwargs == {"width": 8, "depth": 2, "bilinear": True}
    assert config.time_budget_s == 5400.0 and config.val_fraction == 0.25 and config.val_data is None
    assert (config.epochs, config.lr, config.amp) == (3, 0.01, "bf16") and not config.val_on_train
    assert _request(tmp_path, time_budget=" ").config().time_budget_s is None


def test_validation_modes(tmp_path: Path) -> None:
    val = tmp_path / "val"
    folder = _request(tmp_path, val_mode=VAL_FOLDER, val_data=str(val)).config()
    assert folder.val_data == val and not folder.val_on_train
    on_train = _request(tmp_path, val_mode=VAL_TRAIN, val_data=str(val)).config()
    assert on_train.val_on_train and on_train.val_data is None  # the folder field is not used
    with pytest.raises(OptionsError, match=r"^Val\. folder: no folder chosen"):
        _request(tmp_path, val_mode=VAL_FOLDER).config()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"data": ""}, "^Mask dataset: no folder chosen"),
        ({"out": "  "}, "^Run folder: no folder chosen"),
        ({"init_from": "/no/such/best.pt"}, "^Start from checkpoint: /no/such/best.pt is not a file"),
        ({"extra_data": [Path("/no/such/folder")]}, "^Also train on: /no/such/folder is not a folder"),
        ({"model_options": "width"}, "model options: 'width' is not key=value"),
        ({"time_budget": "soon"}, "invalid duration 'soon'"),
        ({"val_mode": "both"}, "^Validation: unknown mode 'both'"),
        ({"epochs": 0}, "epochs must be >= 1"),  # TrainConfig's own checks come after the form's
    ],
)
def test_a_wrong_field_is_named(tmp_path: Path, fields: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        _request(tmp_path, **fields).config()


def test_a_starting_checkpoint_replaces_pretrained_weights_unless_resuming(tmp_path: Path) -> None:
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    fine_tune = _request(tmp_path, init_from=str(checkpoint), pretrained="imagenet").config()
    assert fine_tune.init_from == checkpoint and fine_tune.pretrained == "none"
    resumed = _request(tmp_path, init_from=str(checkpoint)).config(resume=tmp_path / "run")
    assert resumed.init_from is None and resumed.resume == tmp_path / "run"
    assert _request(tmp_path, pretrained="").config().pretrained == "none"


def test_model_options_round_trip() -> None:
    kwargs = parse_model_options("width=16, depth=3 dropout=0.5 name=x")
    assert kwargs == {"width": 16, "depth": 3, "dropout": 0.5, "name": "x"}
    assert parse_model_options(format_model_options(kwargs)) == kwargs


def test_check_mask_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no category_mapping\.json"):
        check_mask_folder(tmp_path)
    with pytest.raises(DatasetError, match="not a mask dataset folder"):
        check_mask_folder(None)
    (tmp_path / "category_mapping.json").write_text("{}")
    assert check_mask_folder(tmp_path) == tmp_path


def test_find_issues_options_check_the_checkpoint(tmp_path: Path) -> None:
    from cocoseg_gui.core.quality.find_options import find_options, run_epochs

    with pytest.raises(OptionsError, match=r"^Choose a checkpoint file \(\.pt\)\.$"):
        find_options("  ", "softmin", True, 5, 20)
    with pytest.raises(OptionsError, match="is not a file"):
        find_options(str(tmp_path / "best.pt"), "softmin", True, 5, 20)
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    crossed = find_options(str(checkpoint), "balanced", True, 4, 7)
    assert (crossed.checkpoint, crossed.score, crossed.cross_fit, crossed.fold_epochs) == (
        checkpoint,
        "balanced",
        4,
        7,
    )
    plain = find_options(str(checkpoint), "regions", False, 4, 7)
    assert (plain.cross_fit, plain.fold_epochs) == (0, None)
    assert run_epochs(checkpoint) is None
    (tmp_path / "config.json").write_text('{"epochs": 12}')
    assert run_epochs(checkpoint) == 12


def test_evaluate_request_names_a_missing_checkpoint_or_mask_folder(tmp_path: Path) -> None:
    from cocoseg_gui.core.errors import CocoSegError
    from cocoseg_gui.core.training.evaluate_request import EvaluateRequest

    with pytest.raises(CocoSegError, match=r"^no checkpoint: checkpoint file not found"):
        EvaluateRequest(" ", str(tmp_path)).checked()
    checkpoint = tmp_path / "best.pt"
    with pytest.raises(CocoSegError, match=f"^{re.escape(str(checkpoint))}: checkpoint file not found"):
        EvaluateRequest(str(checkpoint), str(tmp_path)).checked()
    checkpoint.write_bytes(b"weights")
    with pytest.raises(DatasetError, match=r"no category_mapping\.json"):
        EvaluateRequest(f" {checkpoint} ", str(tmp_path)).checked()
    with pytest.raises(DatasetError, match=r"^not a mask dataset folder"):
        EvaluateRequest(str(checkpoint), "").checked()
    (tmp_path / "category_mapping.json").write_text("{}")
    assert EvaluateRequest(str(checkpoint), str(tmp_path), "cpu", 2).checked() == (checkpoint, tmp_path)


def test_export_request_says_which_field_to_fill(tmp_path: Path) -> None:
    from cocoseg_gui.core.formats.export_request import ExportRequest

    with pytest.raises(OptionsError, match=r"^Choose the output file"):
        ExportRequest("  ", False, "").checked()
    with pytest.raises(OptionsError, match=r"^Choose the original annotations file"):
        ExportRequest(str(tmp_path / "out.json"), True, " ").checked()
    out = tmp_path / "out.json"
    assert ExportRequest(f" {out} ", False, "ignored.json").checked() == (out, None)
    original = tmp_path / "instances.json"
    assert ExportRequest(str(out), True, str(original), "polygon").checked() == (out, original)
    # another format: a folder, and the original annotations (COCO only) are not asked for
    with pytest.raises(OptionsError, match=r"^Choose the output folder"):
        ExportRequest("", True, "", label_format="voc").checked()
    assert ExportRequest(str(tmp_path / "voc"), True, "", label_format="voc").checked() == (
        tmp_path / "voc",
        None,
    )
