"""Training on several mask folders at once (issue 19 item 1): `--data A --data B` and TrainConfig.extra_data;
classes matched by name and category id before anything is written; run_inputs.json lists each folder with
its images and edited masks; edited images drawn more often. Real sample masks, tiny UNet on CPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.project.project import DatasetEntry, Role, new_project
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.data_sources import check_same_classes
from cocoseg_gui.core.training.distributed import DistContext
from cocoseg_gui.core.training.events import EventLog
from cocoseg_gui.core.training.run_inputs import collect_run_inputs, read_run_inputs
from cocoseg_gui.core.training.run_reader import read_events
from cocoseg_gui.core.training.trainer import Trainer, train
from tests.trainer_fixtures import edit_first, part_of, person4  # noqa: F401

TINY = {"width": 8, "depth": 2}


def config(data: Path, out: Path, **kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(
        data=data,
        out=out,
        model="unet",
        model_kwargs=TINY,
        epochs=1,
        batch_size=2,
        img_size=64,
        workers=0,
        log_every=1,
        val_on_train=True,
        time_budget_s=None,
        device="cpu",
        augment=False,
        seed=1,
    )
    base.update(kw)
    return TrainConfig(**base)


def backdate_saves(masks: Path, seconds: int) -> None:
    """Move the edited records' save times back (a save made well before a training that follows it at
    once: times are kept to the second, and a save within the training's last second counts as newer)."""
    from datetime import datetime, timedelta, timezone

    when = (datetime.now(timezone.utc) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for file in (masks / "edited.json", masks / ".edited-backup.json"):
        if file.exists():
            data = json.loads(file.read_text())
            for entry in data["images"].values():
                entry["first_saved"] = entry["saved"] = when
            file.write_text(json.dumps(data))


@pytest.fixture
def two_parts(person4: Path, tmp_path: Path) -> tuple[Path, Path]:  # noqa: F811
    return part_of(person4, tmp_path / "train2017", slice(0, 2)), part_of(
        person4, tmp_path / "corr", slice(2, 4)
    )


def test_two_folders_train_together_and_run_inputs_lists_each(
    two_parts: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_parts
    edited = edit_first(b)
    out = tmp_path / "run"
    end = train(config(a, out, extra_data=[b]))
    assert end.status == "finished"
    start = next(e for e in read_events(out) if e.type == "start")
    assert start.num_train == 4  # two images of each folder
    inputs = read_run_inputs(out)
    assert inputs is not None
    assert [(Path(d.data).name, d.images, d.edited) for d in inputs.datasets] == [
        ("train2017", 2, []),
        ("corr", 2, [edited]),
    ]
    assert inputs.edited == [f"corr:{edited}"]
    assert "train2017: 2 images, 0 edited; corr: 2 images, 1 edited" in start.inputs_summary
    saved = json.loads((out / "config.json").read_text())
    assert saved["extra_data"] == [b.as_posix()]
    assert TrainConfig.from_json(saved).training_folders() == [a, b]


def test_a_split_of_two_folders_names_the_second_folders_images_by_folder(
    two_parts: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_parts
    out = tmp_path / "run"
    assert train(config(a, out, extra_data=[b], val_on_train=False, val_fraction=0.5)).status == "finished"
    split = json.loads((out / "split.json").read_text())
    names = sorted(split["train"] + split["val"])
    a_files = sorted(json.loads((a / "image_mask_map.json").read_text()))
    b_files = sorted(json.loads((b / "image_mask_map.json").read_text()))
    assert names == sorted(a_files + [f"corr:{f}" for f in b_files])
    assert len(split["val"]) == 2


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"name": "rider"}, "class 1 is 'person' in the first training folder and 'rider' here"),
        (
            {"category_id": 7},
            "class 1 (person) has COCO category id 1 in the first training folder and 7 here",
        ),
    ],
)
def test_classes_that_differ_are_an_error_before_the_run_folder_is_made(
    two_parts: tuple[Path, Path], tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    a, b = two_parts
    mapping_file = b / "category_mapping.json"
    mapping = json.loads(mapping_file.read_text())
    mapping["classes"][1].update(change)
    mapping_file.write_text(json.dumps(mapping))
    out = tmp_path / "run"
    with pytest.raises(DatasetError) as err:
        train(config(a, out, extra_data=[b]))
    assert err.value.path == mapping_file
    assert said in str(err.value)
    assert not out.exists()
    with pytest.raises(DatasetError):
        check_same_classes([a, b])  # the same check the Train form makes before Start


def test_a_folder_given_twice_is_an_option_error(two_parts: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = two_parts
    with pytest.raises(OptionsError, match="given twice"):
        config(a, tmp_path / "run", extra_data=[a / "."])


def test_edited_images_are_drawn_more_often_with_edited_weight(
    two_parts: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_parts
    edited = edit_first(b)

    def draws(weight: float) -> int:
        cfg = config(a, tmp_path / f"run-{weight}", extra_data=[b], edited_weight=weight, epochs=1)
        trainer = Trainer(cfg, DistContext(), torch.device("cpu"), EventLog(None), None)
        trainer.prepare()
        index = trainer.train_ds.files.index(f"corr:{edited}")
        drawn = 0
        for epoch in range(50):
            trainer.train_sampler.set_epoch(epoch)
            drawn += sum(1 for i, _seed in trainer.train_sampler if i == index)
        return drawn

    plain, heavy = draws(1.0), draws(20.0)
    assert plain == 50  # a permutation: once an epoch
    assert heavy > 120  # 20 times the weight of each of the 3 others: about 3.5 of 4 draws an epoch


def test_cli_trains_on_two_data_options_and_a_projects_train_role(
    two_parts: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_parts
    common = [
        "--model",
        "unet",
        "--unet-width",
        "8",
        "--unet-depth",
        "2",
        "--epochs",
        "1",
        "--img-size",
        "64",
    ]
    common += ["--batch-size", "2", "--workers", "0", "--device", "cpu", "--val-on-train"]
    out = tmp_path / "cli-run"
    assert cli_main(["train", "--data", str(a), "--data", str(b), "--out", str(out), *common]) == 0
    printed = capsys.readouterr().out
    assert "4 train / 4 val images" in printed
    assert "train2017: 2 images, 0 edited; corr: 2 images, 0 edited" in printed

    project = new_project(tmp_path / "proj")
    for name, masks in (("train2017", a), ("corr", b)):
        project.add_dataset(DatasetEntry(name, Role.TRAIN, images=tmp_path / f"{name}-images", masks=masks))
    project.save()
    assert cli_main(["train", "--project", str(project.file), *common]) == 0
    run = Path(json.loads(project.file.read_text())["runs"][0])
    run = run if run.is_absolute() else project.folder / run
    inputs = read_run_inputs(run)
    assert inputs is not None and [d.images for d in inputs.datasets] == [2, 2]


def test_collect_run_inputs_counts_without_torch_and_survives_a_damaged_edited_list(
    two_parts: tuple[Path, Path],
) -> None:
    a, b = two_parts
    (b / "edited.json").write_text("{not json")
    inputs = collect_run_inputs(a, None, [b])
    assert [d.images for d in inputs.datasets] == [2, 2]
    assert inputs.datasets[1].problem is not None and "edited.json" in inputs.datasets[1].problem
    assert inputs.problem is not None and inputs.problem.startswith("corr: ")


def test_a_folder_the_checkpoint_never_trained_on_counts_every_edit(
    two_parts: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_parts
    labelled = edit_first(b)  # labelled before the first training, which did not read this folder
    backdate_saves(b, 10)
    first = tmp_path / "first"
    assert train(config(a, first)).status == "finished"
    inputs = collect_run_inputs(a, first / "last.pt", [b])
    assert [(d.new_to_model, d.edited) for d in inputs.datasets] == [(False, []), (True, [labelled])]
    assert "corr: 2 images, 1 edited (new to the model: every edit counts)" in inputs.summary()
    tuned = tmp_path / "tuned"
    assert train(config(a, tuned, extra_data=[b], init_from=first / "last.pt")).status == "finished"
    saved = read_run_inputs(tuned)
    assert saved is not None and saved.edited == [f"corr:{labelled}"]
    # once trained on it, only later edits count
    again = collect_run_inputs(a, tuned / "last.pt", [b])
    assert [(d.new_to_model, d.edited) for d in again.datasets] == [(False, []), (False, [])]
