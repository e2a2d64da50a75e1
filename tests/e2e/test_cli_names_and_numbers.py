"""Dataset names that could lead outside the project, and numeric options that are not finite or out of
range, refused where they are read and written (issue 18 items 11 and 13), on real files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cocoseg_gui.cli import build_parser, main
from cocoseg_gui.cli.arg_types import non_negative_int, positive_int
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.project.project import DatasetEntry, Project, Role, new_project, slug


def project_file(folder: Path, datasets: list[dict[str, object]], version: object = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "cocoseg-project.json"
    data = {"format": "cocoseg-project", "version": version, "name": "p", "datasets": datasets}
    file.write_text(json.dumps(data))
    return file


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../../evil", "..", "/tmp/evil", "a/b", "a\\b", ".hidden", "x\x00y", " x"])
def test_a_bad_dataset_name_in_the_project_file_is_refused(
    name: str, tmp_path: Path, val_annotations: Path, val_images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"name": name, "role": "train", "annotations": str(val_annotations), "images": str(val_images)}
    file = project_file(tmp_path / "project", [entry])
    before = files_under(tmp_path)
    with pytest.raises(DatasetError, match="dataset name") as raised:
        Project.load(file)
    assert raised.value.path == file
    assert main(["masks", "--project", str(file), "--workers", "1", "--max-images", "1"]) == 2
    err = capsys.readouterr().err
    assert str(file) in err and "dataset name" in err and "Traceback" not in err
    assert files_under(tmp_path) == before  # no mask folder written anywhere, inside or outside


def test_bad_names_are_never_written_or_looked_up(
    tmp_path: Path, val_annotations: Path, val_images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = new_project(tmp_path / "project")
    with pytest.raises(OptionsError, match=r"dataset name '\.\./\.\./evil' may not contain '/'"):
        project.add_dataset(DatasetEntry("../../evil", Role.TRAIN, val_annotations, val_images))
    project.datasets.append(DatasetEntry("../evil", Role.TRAIN, val_annotations, val_images))
    with pytest.raises(OptionsError, match="dataset name"):
        project.save()  # a name put there by hand is not written either
    with pytest.raises(OptionsError, match="dataset name"):
        project.default_masks_dir(project.datasets[0])
    assert not project.file.exists()
    project.datasets.clear()
    project.add_dataset(DatasetEntry("val", Role.VAL, val_annotations, val_images))
    project.save()
    before = files_under(tmp_path)
    for argv in (
        ["masks", "--project", str(project.file), "--dataset", "../../evil"],
        ["export-coco", "--project", str(project.file), "--dataset", "../val", "--out", str(tmp_path / "x")],
        ["new-dataset", "--images", str(val_images), "--classes", "cat", "--project", str(project.file),
         "--name", "../../evil"],
    ):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "may not contain '/'" in err and ("--dataset" in err or "--name" in err), err
    assert files_under(tmp_path) == before
    # names made from folder names never climb: slug drops separators and leading dots
    assert slug("../../evil") == "evil" and slug("..") == "dataset" and slug(".x") == "x"


def test_the_new_project_dialog_refuses_a_bad_name(qtbot, tmp_path: Path, val_annotations: Path) -> None:
    from cocoseg_gui.gui.widgets.project_dialog import NewProjectDialog

    dialog = NewProjectDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.name.setText("p")
    dialog.folder.setText(str(tmp_path / "project"))
    dialog.add_annotations(val_annotations)
    dialog.table.item(0, 0).setText("../../evil")
    dialog.create_button.click()
    assert dialog.result() != dialog.DialogCode.Accepted
    text = dialog.message.text()
    assert "'../../evil'" in text and "Name column" in text and "--" not in text
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("version", "words"),
    [
        (
            "1",
            r"\"version\" must be a whole number from 1 to 1, got '1' \(a string: write the number without",
        ),
        (1.0, "must be a whole number from 1 to 1, got 1.0"),
        (True, "must be a whole number"),
        (0, "must be a whole number from 1 to 1, got 0"),
        (2, "version 2 is newer than this cocoseg reads"),
    ],
)
def test_project_version_messages(version: object, words: str, tmp_path: Path) -> None:
    file = project_file(tmp_path, [], version)
    with pytest.raises(DatasetError, match=words):
        Project.load(file)


def numeric_options(parser: argparse.ArgumentParser, where: str = "") -> list[tuple[str, argparse.Action]]:
    """Every option of every sub-command that takes a typed value, with the sub-command's argv prefix."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += numeric_options(sub, f"{where} {name}".strip())
        elif action.type is not None and action.option_strings:
            found.append((where, action))
    return found


NUMERIC = [
    (where, action)
    for where, action in numeric_options(build_parser())
    if getattr(action.type, "__name__", "") in ("number", "integer", "positive_int", "non_negative_int")
    or action.type in (int, float)
]


def test_every_numeric_option_uses_the_one_type() -> None:
    assert len(NUMERIC) >= 20  # masks, train, predict, evaluate, export, label issues...
    plain = [f"{where} {a.option_strings[0]}" for where, a in NUMERIC if a.type in (int, float)]
    assert not plain, f"use cli.arg_types.number (finite, in range) instead of int/float: {plain}"
    assert {positive_int, non_negative_int} >= {
        a.type for _, a in NUMERIC if a.type.__name__.endswith("_int")
    }


@pytest.mark.parametrize(("where", "action"), NUMERIC, ids=[f"{w} {a.option_strings[0]}" for w, a in NUMERIC])
def test_numeric_options_refuse_nan_inf_and_text(
    where: str, action: argparse.Action, capsys: pytest.CaptureFixture[str]
) -> None:
    option = action.option_strings[0]
    for bad in ("nan", "inf", "-inf", "1e999", "many"):
        with pytest.raises(SystemExit) as raised:
            build_parser().parse_args([*where.split(), f"{option}={bad}"])
        assert raised.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {option}" in err and repr(bad) in err, err


def test_min_area_nan_writes_nothing(
    tmp_path: Path, val_annotations: Path, val_images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "masks"
    args = ["masks", "--annotations", str(val_annotations), "--images", str(val_images), "--out", str(out)]
    with pytest.raises(SystemExit):
        main([*args, "--min-area", "nan"])
    assert "--min-area: must be a finite number at least 0, got 'nan'" in capsys.readouterr().err
    assert not out.exists()
    from cocoseg_gui.core.masks.options import MaskOptions

    with pytest.raises(OptionsError, match="finite"):  # the GUI's and the API's way in too
        MaskOptions(min_area=float("nan"))
    for bad, words in (("-1", "at least 0"), ("1.5", "at most 1")):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["predict", "x.jpg", "--out", str(out), "--alpha", bad])
        assert words in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--val-fraction", "1"])
    assert "--val-fraction: must be a finite number above 0 and below 1, got '1'" in capsys.readouterr().err
    ok = build_parser().parse_args([*args, "--min-area", "2.5", "--max-image-pixels", "1000"])
    assert ok.min_area == 2.5 and ok.max_image_pixels == 1000
