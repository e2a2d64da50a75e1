# ruff: noqa: F811  (pytest fixtures imported from other test modules)
"""Issue 19 item 5 headless: find-label-issues, rank-uncertain and propose say before they run when the model
is weak or unscored (a warning line with its val mIoU and weak classes) and record its score in their output
files. Real tiny trainings on the sample's person images; the recorded score of one run is set by rewriting
its metrics.jsonl (the file the score is read from) so that weak and strong are both exercised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.proposals.batch import PROPOSALS_FILE
from cocoseg_gui.core.quality.issues_file import read_label_issues, read_uncertainty
from cocoseg_gui.core.training.model_score import WEAK_MIOU
from cocoseg_gui.core.training.trainer import train
from tests.trainer_fixtures import person4  # noqa: F401
from tests.unit.proposal_fixtures import TV_MODEL, fake_weights_file, labelled_new_dataset, tiny_checkpoint  # noqa: F401
from tests.unit.test_trainer import tiny_config


def set_recorded_miou(run: Path, miou: float) -> None:
    lines = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "epoch" and event.get("miou") is not None:
            event["miou"] = miou
            event["per_class_iou"] = {"background": 0.9, "person": miou}
        lines.append(json.dumps(event))
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def run(person4: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    assert train(tiny_config(person4, out, epochs=1)).status == "finished"
    return out


def test_find_label_issues_warns_before_a_weak_model_and_records_its_score(
    run: Path, person4: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_recorded_miou(run, 0.01)
    out = tmp_path / "issues.json"
    args = [
        "--checkpoint",
        str(run / "best.pt"),
        "--data",
        str(person4),
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert cli_main(["find-label-issues", *args]) == 0
    err = capsys.readouterr().err
    assert "cocoseg find-label-issues: warning: the model is weak: val mIoU 0.010 on 4 val images" in err
    assert f"below {WEAK_MIOU:.2f}" in err and "person 0.01" in err  # the class it cannot find
    score = read_label_issues(out).model_score
    assert score is not None and score["miou"] == 0.01 and score["weak"] is True
    assert score["val_set"]["images"] == 4 and score["img_size"] == 64

    set_recorded_miou(run, 0.9)
    assert cli_main(["find-label-issues", *args, "--overwrite"]) == 0  # its own earlier file
    assert "warning" not in capsys.readouterr().err
    score = read_label_issues(out).model_score
    assert score is not None and score["miou"] == 0.9 and score["weak"] is False


def test_rank_uncertain_warns_before_an_unscored_model(
    person4: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = CancelToken()
    train(
        tiny_config(person4, tmp_path / "stopped"),
        callbacks=[lambda e: token.cancel() if e.type == "step" else None],
        cancel=token,
    )  # last.pt saved one step into the first epoch: never validated
    out = tmp_path / "u.json"
    code = cli_main(
        ["rank-uncertain", "--checkpoint", str(tmp_path / "stopped" / "last.pt"), "--data", str(person4),
         "--device", "cpu", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert "cocoseg rank-uncertain: warning: the model is unscored" in capsys.readouterr().err
    score = read_uncertainty(out).model_score
    assert score is not None and score["miou"] is None and score["weak"] is True


@pytest.fixture
def new_dataset(tmp_path: Path, val_images: Path) -> Path:
    """A new dataset of 3 sample images (person, dog, airplane), the first one labelled."""
    return labelled_new_dataset(tmp_path, val_images, 3)


def test_propose_warns_for_an_unscored_checkpoint_and_records_torchvisions_published_score(
    new_dataset: Path, fake_weights_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tiny_checkpoint(tmp_path / "random.pt", ["background", "person", "dog", "airplane"])
    out = tmp_path / "proposals"
    code = cli_main(["propose", "--checkpoint", str(ckpt), "--masks", str(new_dataset), "--out", str(out)])
    assert code == 0
    assert "cocoseg propose: warning: the model is unscored" in capsys.readouterr().err
    score = json.loads((out / PROPOSALS_FILE).read_text())["model_score"]
    assert score["miou"] is None and score["weak"] is True

    tv_out = tmp_path / "tv"
    args = ["propose", "--torchvision", TV_MODEL, "--weights", str(fake_weights_file)]
    code = cli_main([*args, "--masks", str(new_dataset), "--out", str(tv_out)])
    assert code == 0 and "warning" not in capsys.readouterr().err
    score = json.loads((tv_out / PROPOSALS_FILE).read_text())["model_score"]
    assert score["miou"] == pytest.approx(0.579) and "published by torchvision" in score["note"]
