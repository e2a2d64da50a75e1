"""The forms' typed models without Qt: the Train form's TrainRequest (core.training.train_request) and Find
likely label errors' options (core.quality.find_options): what each field means, and the message that
names a wrong one as the form labels it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.masks.folder import check_mask_folder
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.train_request import (
    FINE_TUNE_EDITED_WEIGHT,
    FINE_TUNE_EPOCHS,
    VAL_FOLDER,
    VAL_SPLIT,
    VAL_TRAIN,
    TrainRequest,
    fine_tune_request,
    format_model_options,
    parse_model_options,
    settings_values,
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


def test_a_run_config_becomes_the_request_with_its_defaults_for_missing_keys(tmp_path: Path) -> None:
    """config.json's keys and the defaults of the keys an older run did not write live in core."""
    (tmp_path / "masks").mkdir()
    config = TrainConfig(
        data=tmp_path / "masks", out=tmp_path / "run", model_kwargs={"width": 8}, val_data=tmp_path / "v",
        time_budget_s=5400.0, amp=True, epochs=3, lr=0.01, init_from=None, edited_weight=2.0,
    ).to_json()  # fmt: skip
    request = TrainRequest.from_config(config)
    assert (request.data, request.out) == (str(tmp_path / "masks"), str(tmp_path / "run"))
    assert (request.val_mode, request.val_data, request.model_options) == (
        VAL_FOLDER,
        str(tmp_path / "v"),
        "width=8",
    )
    assert (request.time_budget, request.amp, request.init_from, request.edited_weight) == (
        "90m",
        "bf16",
        "",
        2.0,
    )
    assert request.config().to_json() | {"amp": True} == config | {"checkpoint_every_s": 600.0, "workers": 2}
    old = {k: v for k, v in config.items() if k not in ("extra_data", "edited_weight", "time_budget_s")}
    older = TrainRequest.from_config(old, None)
    assert (older.extra_data, older.edited_weight, older.time_budget) == ([], 1.0, "6h")
    # with a base, only the keys given change it (a preset, remembered settings)
    based = TrainRequest.from_config({"epochs": 7}, request)
    assert based == TrainRequest(**{**request.__dict__, "epochs": 7}) and request.epochs == 3
    with pytest.raises(OptionsError, match=r"^epochs: expected a number, got 'many'"):
        TrainRequest.from_config({**config, "epochs": "many"})
    with pytest.raises(OptionsError, match=r"^extra_data: expected a list of folders"):
        TrainRequest.from_config({**config, "extra_data": 3})


def test_remembered_settings_are_text_that_reads_back(tmp_path: Path) -> None:
    (tmp_path / "masks").mkdir()
    request = TrainRequest(
        data=str(tmp_path / "masks"), out=str(tmp_path / "run"), extra_data=[tmp_path / "masks2"],
        model_options="width=8 depth=2", time_budget="", oversample=True, val_mode=VAL_TRAIN, lr=0.02,
    )  # fmt: skip
    (tmp_path / "masks2").mkdir()
    saved = settings_values(request.config())
    assert all(isinstance(v, str) for v in saved.values()) and saved["extra_data"] == str(tmp_path / "masks2")
    base = TrainRequest(out="/next/run")
    assert TrainRequest.from_settings(saved, base) == TrainRequest(**{**request.__dict__, "out": "/next/run"})
    assert TrainRequest.from_settings({}, base) is None  # nothing saved: the form keeps its defaults
    unreadable = {"model": "unet", "epochs": "", "lr": "fast", "time_budget_s": "soon"}
    assert TrainRequest.from_settings(unreadable, base) == base


def test_the_fine_tune_preset_takes_the_checkpoints_model_at_a_tenth_of_its_rate(tmp_path: Path) -> None:
    run = {"model": "unet", "model_kwargs": {"width": 8}, "img_size": 64, "lr": 0.01, "data": "/old/masks"}
    form = TrainRequest(data="/current/masks", epochs=40, pretrained="imagenet")
    tuned = fine_tune_request(form, run, tmp_path / "best.pt", tmp_path / "finetune-1")
    assert (tuned.model_options, tuned.img_size, tuned.epochs, tuned.lr) == (
        "width=8",
        64,
        FINE_TUNE_EPOCHS,
        0.001,
    )
    assert (tuned.data, tuned.pretrained, tuned.edited_weight) == (
        "/current/masks",
        "none",
        FINE_TUNE_EDITED_WEIGHT,
    )
    assert (tuned.init_from, tuned.out) == (str(tmp_path / "best.pt"), str(tmp_path / "finetune-1"))
    unknown = fine_tune_request(TrainRequest(), {}, tmp_path / "best.pt", tmp_path / "f")
    assert unknown.lr == 1e-4 and unknown.data == ""  # a checkpoint outside a run folder


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
