"""`cocoseg ... --project P`: defaults from the project's roles, explicit options win, results recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample_coco"
TINY = ["--img-size", "64", "--unet-width", "8", "--workers", "0", "--batch-size", "2", "--device", "cpu"]
FAST = ["--epochs", "1", "--max-steps-per-epoch", "1", "--time-budget", "1h", *TINY]


def cocoseg(*args: str | Path, merge: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI; ``merge``: stderr into stdout, to check what is printed before what."""
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", *map(str, args)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        text=True, timeout=300,
    )  # fmt: skip


def project_json(folder: Path) -> dict:
    return json.loads((folder / "cocoseg-project.json").read_text())


def masks(folder: Path, dataset: str) -> subprocess.CompletedProcess[str]:
    return cocoseg("masks", "--project", folder, "--dataset", dataset, "--max-images", "5", "--workers", "1")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of resources/sample_coco with masks (5 images) of both datasets."""
    folder = tmp_path_factory.mktemp("project")
    init = cocoseg("project", "init", folder, "--coco", SAMPLE)
    assert init.returncode == 0, init.stderr
    datasets = project_json(folder)["datasets"]
    assert [(d["name"], d["role"], d["masks"]) for d in datasets] == [
        ("train2017", "train", None),
        ("val2017", "val", None),
    ]
    for name in ("train2017", "val2017"):
        proc = masks(folder, name)
        assert proc.returncode == 0, proc.stderr
        assert "5 masks in" in proc.stdout
    return folder


def test_masks_go_into_the_project_folder_and_are_recorded(project: Path) -> None:
    assert (project / "masks" / "val2017" / "masks").is_dir()
    assert len(list((project / "masks" / "val2017" / "masks").glob("*.png"))) == 5
    recorded = {d["name"]: d["masks"] for d in project_json(project)["datasets"]}
    assert recorded == {"train2017": "masks/train2017", "val2017": "masks/val2017"}
    show = cocoseg("project", "show", project)
    assert show.returncode == 0 and "val2017 [val]" in show.stdout and "masks/val2017" in show.stdout


def test_masks_needs_a_dataset_name_when_several_have_annotations(project: Path) -> None:
    proc = cocoseg("masks", "--project", project, "--max-images", "1")
    assert proc.returncode == 2
    assert "cocoseg-project.json" in proc.stderr and "--dataset NAME" in proc.stderr
    assert "train2017, val2017" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["masks", "export-coco"])
def test_an_unknown_dataset_name_lists_the_names_there_are(project: Path, command: str) -> None:
    proc = cocoseg(
        command, "--project", project, "--dataset", "nope", *(["--out", "x.json"] * (command != "masks"))
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        "no dataset 'nope' (datasets: train2017, val2017)" in proc.stderr and "Traceback" not in proc.stderr
    )


@pytest.mark.slow
def test_train_uses_the_roles_and_records_the_run(project: Path) -> None:
    data = project_json(project)  # the module's project may hold another test's model: start with none
    data["checkpoint"] = None
    (project / "cocoseg-project.json").write_text(json.dumps(data))
    proc = cocoseg("train", "--project", project, "--model", "unet", *FAST)
    assert proc.returncode == 0, proc.stderr
    run = project / "runs" / "unet-1"
    config = json.loads((run / "config.json").read_text())
    assert Path(config["data"]).resolve() == (project / "masks" / "train2017").resolve()
    assert Path(config["val_data"]).resolve() == (project / "masks" / "val2017").resolve()
    assert "5 train / 5 val images" in proc.stdout
    saved = project_json(project)
    assert saved["runs"][0] == "runs/unet-1" and saved["checkpoint"] == "runs/unet-1/best.pt"
    assert "training dataset" not in proc.stderr  # the roles are right: no role warning

    again = cocoseg("train", "--project", project, "--model", "unet", *FAST)  # a free folder, not a refusal
    assert again.returncode == 0, again.stderr
    assert project_json(project)["runs"][:2] == ["runs/unet-2", "runs/unet-1"]
    # the same options and seed score the same: not better, so the project keeps its model (ADR 0027)
    assert project_json(project)["checkpoint"] == "runs/unet-1/best.pt"
    assert "the project keeps its model" in again.stderr and "does not score better" in again.stderr

    evaluate = cocoseg("evaluate", "--project", project, "--device", "cpu")
    assert evaluate.returncode == 0, evaluate.stderr
    assert "mIoU" in evaluate.stdout and "(5 images)" in evaluate.stdout


@pytest.mark.slow
def test_swapped_roles_are_warned_before_training_and_explicit_options_win(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "explicit-run"
    val_masks, train_masks = project / "masks" / "val2017", project / "masks" / "train2017"
    proc = cocoseg(
        "train", "--project", project, "--model", "unet", "--data", val_masks, "--val-data", train_masks,
        "--out", out, "--log-every", "1", *FAST,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "training on val2017 (val), which is not a training dataset" in proc.stderr
    assert "validating on train2017 (train), which is a training dataset" in proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert Path(config["data"]).resolve() == val_masks.resolve()
    assert Path(config["out"]).resolve() == out.resolve()
    assert project_json(project)["runs"][0] == str(out.resolve())
    # before: the warning is on stderr before the trainer's first event reaches stderr/stdout
    merged = cocoseg(
        "train", "--project", project, "--model", "unet", "--data", val_masks, "--val-data", train_masks,
        "--out", tmp_path / "merged", *FAST, merge=True,
    )  # fmt: skip
    text = merged.stdout
    assert merged.returncode == 0, text
    assert text.index("which is not a training dataset") < text.index("training unet")

    evaluate = cocoseg(
        "evaluate", "--project", project, "--data", train_masks, "--checkpoint", out / "best.pt",
        "--device", "cpu",
    )  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr
    assert "evaluating on train2017 (train): the model has seen these images" in evaluate.stderr


def test_missing_defaults_name_the_project_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    assert cocoseg("project", "init", empty).returncode == 0
    train = cocoseg("train", "--project", empty, "--model", "unet")
    assert train.returncode == 2
    assert f"{empty / 'cocoseg-project.json'}: no --data given and the project has no train dataset" in (
        train.stderr
    )
    evaluate = cocoseg("evaluate", "--project", empty)
    assert evaluate.returncode == 2 and "no --checkpoint given" in evaluate.stderr
    predict = cocoseg("predict", "--project", empty, "x.jpg", "--out", tmp_path / "p")
    assert predict.returncode == 2 and "the project has no checkpoint" in predict.stderr
    again = cocoseg("project", "init", empty)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_without_project_missing_options_are_refused_as_before(tmp_path: Path) -> None:
    for args, missing in (
        (["masks", "--out", str(tmp_path / "o")], "--annotations, --images"),
        (["train", "--model", "unet"], "--data, --out"),
        (["evaluate"], "--checkpoint, --data"),
        (["predict", "x.jpg", "--out", str(tmp_path / "p")], "--checkpoint"),
    ):
        proc = cocoseg(*args)
        assert proc.returncode == 2, args
        assert f"error: the following arguments are required: {missing}" in proc.stderr
    assert not (tmp_path / "o").exists()
