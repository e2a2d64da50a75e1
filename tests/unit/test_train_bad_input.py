"""Issue 12 (train side): bad input and faults never lose a run's files and end with a clear message.

Real tiny runs on the sample data (CPU, narrow U-Net at 64 px); bad inputs are real damaged files.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from cocoseg_gui.core.errors import CocoSegError, DatasetError, OptionsError
from cocoseg_gui.core.training.checkpoint import load_checkpoint, save_checkpoint
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.event_types import CheckpointEvent, EndEvent, Event, WarningEvent, WarningKind
from cocoseg_gui.core.training.run_folder import RunExistsError, next_free_folder, run_files
from cocoseg_gui.core.training.trainer import available_cpus, train
from tests.trainer_fixtures import keep_classes, person4  # noqa: F401
from tests.training_fixtures import build_mask_folder

TINY = {"width": 8, "depth": 4}
REPO = Path(__file__).resolve().parents[2]
RUN_FILES = ("metrics.jsonl", "best.pt", "last.pt", "config.json")


def tiny_config(data: Path, out: Path, **kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(
        data=data, out=out, epochs=1, batch_size=2, img_size=64, workers=0, model_kwargs=dict(TINY),
        log_every=1, val_on_train=True, time_budget_s=None, device="cpu",
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, person4: Path) -> Path:  # noqa: F811
    """A finished one-epoch run (read-only: copy it to change it)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert train(tiny_config(person4, out)).status == "finished"
    return out


def copy_run(run: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out, {n: (out / n).read_bytes() for n in RUN_FILES}


def assert_untouched(run: Path, before: dict[str, bytes]) -> None:
    assert {n: (run / n).read_bytes() for n in RUN_FILES} == before


def events_of(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# -- item 2: a new run never replaces a run silently -------------------------------------------------


def test_new_run_into_a_run_folder_is_refused_unless_overwrite(
    finished_run: Path,
    person4: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run, before = copy_run(finished_run, tmp_path)
    assert run_files(run) == ["best.pt", "last.pt", "metrics.jsonl"]
    with pytest.raises(RunExistsError, match="already holds a run"):
        train(tiny_config(person4, run))
    assert_untouched(run, before)

    end = train(tiny_config(person4, run, overwrite=True))
    assert end.status == "finished"
    assert [e["type"] for e in events_of(run)].count("start") == 1  # a fresh log
    assert next_free_folder(run) == tmp_path / "run-2"


def test_cli_refuses_a_run_folder_and_names_the_ways_out(finished_run: Path, tmp_path: Path, capsys) -> None:
    from cocoseg_gui.cli import main

    run, before = copy_run(finished_run, tmp_path)
    data = json.loads((run / "config.json").read_text())["data"]
    rc = main(["train", "--data", data, "--model", "unet", "--out", str(run), "--img-size", "64"])
    err = capsys.readouterr().err
    assert rc == 2 and "cocoseg train: error:" in err and "already holds a run" in err
    assert "--resume" in err and "--out" in err and "--overwrite" in err
    assert_untouched(run, before)


# -- item 3: a start that fails leaves the folder as it was ------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pretrained": "PATH"}, "not a file written by torch.save"),
        ({"model_kwargs": {"width": 1000, "depth": 4}}, "width must be an integer"),
        ({"loss": "focal", "focal_gamma": -5.0}, "focal gamma"),
    ],
)
def test_a_failing_start_leaves_the_run_untouched(
    finished_run: Path,
    person4: Path,  # noqa: F811
    tmp_path: Path,
    change: dict[str, Any],
    message: str,
) -> None:
    run, before = copy_run(finished_run, tmp_path)
    if change.get("pretrained") == "PATH":
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"garbage, not a torch file")
        change = {"pretrained": str(bad)}
    with pytest.raises(CocoSegError, match=message):
        train(tiny_config(person4, run, overwrite=True, **change))
    assert_untouched(run, before)


# -- item 10: a non-finite learning rate or loss ---------------------------------------------------


@pytest.mark.parametrize("lr", [float("inf"), float("nan"), -1.0, 0.0])
def test_learning_rate_must_be_finite_and_positive(person4: Path, tmp_path: Path, lr: float) -> None:  # noqa: F811
    with pytest.raises(OptionsError, match="learning rate must be a finite number > 0"):
        tiny_config(person4, tmp_path / "run", lr=lr)


def test_non_finite_loss_stops_and_keeps_the_good_checkpoints(
    finished_run: Path,
    person4: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run, before = copy_run(finished_run, tmp_path)
    hot = tmp_path / "hot.pt"  # last.pt with a learning rate of 1e30 in its optimiser state
    ck = load_checkpoint(run / "last.pt")
    ck["train_state"]["scheduler"]["base_lrs"] = [1e30]
    for group in ck["train_state"]["optimizer"]["param_groups"]:
        group["lr"] = group["initial_lr"] = 1e30
    torch.save(ck, hot)
    events: list[Event] = []
    with pytest.raises(CocoSegError, match="not finite") as info:
        train(tiny_config(person4, run, epochs=3, resume=hot), callbacks=[events.append])
    assert "kept (best.pt, last.pt)" in str(info.value)
    end = events[-1]
    assert isinstance(end, EndEvent) and end.status == "failed" and end.kind == "non_finite_loss"
    assert not [e for e in events if isinstance(e, CheckpointEvent)]
    for name in ("best.pt", "last.pt"):
        assert (run / name).read_bytes() == before[name]


# -- item 11: bad masks ---------------------------------------------------------------------------


def damaged_copy(person4: Path, tmp_path: Path) -> tuple[Path, list[str]]:  # noqa: F811
    data = tmp_path / "data"
    shutil.copytree(person4, data)
    manifest = json.loads((person4 / "manifest.json").read_text())
    manifest["images_dir"] = str((person4 / manifest["images_dir"]).resolve())  # relative to the folder
    (data / "manifest.json").write_text(json.dumps(manifest))
    return data, sorted(json.loads((data / "image_mask_map.json").read_text()).values())


@pytest.mark.parametrize("workers", [0, 1])
def test_mask_value_above_the_classes_is_an_error_naming_the_file(
    person4: Path,  # noqa: F811
    tmp_path: Path,
    workers: int,
) -> None:
    import numpy as np

    data, masks = damaged_copy(person4, tmp_path)
    path = data / "masks" / masks[1]
    with Image.open(path) as im:
        arr, palette = np.array(im), im.getpalette()
    arr[0, :5] = 7  # 2 classes: 7 is no class and not 255
    out = Image.fromarray(arr, mode="P")
    out.putpalette(palette)
    out.save(path)
    with pytest.raises(
        DatasetError, match=r"mask value 7 \(5 pixels\) is neither a class index 0\.\.1"
    ) as info:
        train(tiny_config(data, tmp_path / "run", workers=workers))
    assert info.value.path == path


def test_mask_folder_without_its_mask_files_says_so(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    data, masks = damaged_copy(person4, tmp_path)
    for name in masks:
        (data / "masks" / name).unlink()
    with pytest.raises(
        DatasetError, match=f"none of the {len(masks)} mask files named in image_mask_map"
    ) as info:
        train(tiny_config(data, tmp_path / "run"))
    assert masks[0] in str(info.value) and str(data / "masks") in str(info.value)
    assert not (tmp_path / "run").exists()


def test_training_where_every_image_is_skipped_fails(tmp_path: Path) -> None:
    data = build_mask_folder(tmp_path / "data", max_images=4, copy_images=True)
    for image in (data / "images").iterdir():
        image.write_bytes(b"not an image")
    events: list[Event] = []
    with pytest.raises(DatasetError, match="no training image of epoch 1 could be read"):
        train(tiny_config(data, tmp_path / "run", val_on_train=False), callbacks=[events.append])
    assert isinstance(events[-1], EndEvent) and events[-1].status == "failed"
    assert not (tmp_path / "run" / "last.pt").exists()


# -- item 14: tracebacks -> messages -------------------------------------------------------------


def png_claiming_size(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb to Pillow), a few bytes long."""
    Image.new("P", (1, 1)).save(path)
    raw = bytearray(path.read_bytes())
    ihdr = raw.index(b"IHDR")
    raw[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    raw[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(raw[ihdr : ihdr + 17])))
    path.write_bytes(bytes(raw))


def test_decompression_bomb_mask_is_skipped_with_a_warning_naming_it(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    data, masks = damaged_copy(person4, tmp_path)
    png_claiming_size(data / "masks" / masks[0], 30000, 30000)
    events: list[Event] = []
    end = train(tiny_config(data, tmp_path / "run"), callbacks=[events.append])
    assert end.status == "finished" and end.skipped == 1
    warnings = [
        e.message for e in events if isinstance(e, WarningEvent) and e.kind == WarningKind.SKIPPED_IMAGES
    ]
    assert any("skipped unreadable image or mask" in w and masks[0] in w and "decompression bomb" in w
               for w in warnings), warnings  # fmt: skip


def test_resume_on_data_with_other_classes_names_both_counts(
    finished_run: Path,
    tmp_path: Path,
) -> None:
    data = build_mask_folder(tmp_path / "data", max_images=8)
    keep_classes(data, ["person", "car"], max_images=4)
    run, before = copy_run(finished_run, tmp_path)
    with pytest.raises(DatasetError, match="the checkpoint has 2 classes and the data 3"):
        train(tiny_config(data, run, epochs=2, resume=run / "last.pt"))
    assert_untouched(run, before)


def test_absurd_image_sizes_are_refused(finished_run: Path, person4: Path, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(OptionsError, match=r"image size must be in \[16, 8192\], got 100000"):
        tiny_config(person4, tmp_path / "run", img_size=100000)
    ck = load_checkpoint(finished_run / "last.pt")
    ck["input"]["img_size"] = 100000
    torch.save(ck, tmp_path / "huge.pt")
    with pytest.raises(CocoSegError, match="input size 100000 is not in"):
        load_checkpoint(tmp_path / "huge.pt")
    with pytest.raises(CocoSegError, match="input size 100000 is not in"):
        train(tiny_config(person4, tmp_path / "run", resume=tmp_path / "huge.pt"))
    assert not (tmp_path / "run").exists()


SAVE_OVER_LIMIT = """
import resource, signal, sys
from pathlib import Path
import torch
from cocoseg_gui.core.errors import describe_os_error
from cocoseg_gui.core.training.checkpoint import save_checkpoint
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # like a disk with 200 kB free
try:
    save_checkpoint(Path(sys.argv[1]), {"w": torch.zeros(1_000_000)})
except OSError as exc:
    print("OSError", exc.errno, describe_os_error(exc))
"""


def test_a_failed_checkpoint_write_is_an_os_error_naming_the_file(tmp_path: Path) -> None:
    """torch.save reports a short write as RuntimeError "enforce fail at inline_container.cc"."""
    import errno

    target = tmp_path / "last.pt"
    save_checkpoint(target, {"w": torch.ones(3)})
    good = target.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", SAVE_OVER_LIMIT, str(target)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"OSError {errno.EFBIG} {target}: File too large"), proc.stdout
    assert "inline_container" not in proc.stdout
    assert target.read_bytes() == good and not list(tmp_path.glob(".*.tmp"))


def test_disk_full_hint_for_checkpoint_errors() -> None:
    import errno

    from cocoseg_gui.core.errors import describe_os_error

    exc = OSError(errno.ENOSPC, "No space left on device")
    exc.filename = "RUN/last.pt"
    assert describe_os_error(exc).startswith("RUN/last.pt: No space left on device (the disk is full")


# -- item 16: workers ----------------------------------------------------------------------------


def test_workers_are_capped_at_the_cpu_count(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    events: list[Event] = []
    cfg = tiny_config(person4, tmp_path / "run", workers=1000, max_steps_per_epoch=1)
    assert train(cfg, callbacks=[events.append]).status == "finished"
    warnings = [
        e.message for e in events if isinstance(e, WarningEvent) and e.kind == WarningKind.WORKERS_CAPPED
    ]
    cpus = available_cpus()
    assert f"--workers 1000: only {cpus} CPUs are available; using {cpus} loader workers" in warnings


# -- item 17: messages -----------------------------------------------------------------------------


def test_pretrained_failures_say_what_is_wrong(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    files = {
        "int_keys.pt": ({101: torch.zeros(1)}, "not a state_dict: 1 of its 1 entries are not tensors named"),
        "objects.pt": ({"x": Path("p")}, "pickled objects, not only tensors and plain data"),
        "other_model.pt": ({"backbone.conv.weight": torch.zeros(2)}, "no weights in this file match model"),
        "a_list.pt": ([1, 2], "not a state_dict or a cocoseg checkpoint"),
    }
    for name, (obj, message) in files.items():
        torch.save(obj, tmp_path / name)
        with pytest.raises(CocoSegError) as info:
            train(tiny_config(person4, tmp_path / "run", pretrained=str(tmp_path / name)))
        text = str(info.value)
        assert str(tmp_path / name) in text and message in text, text
        assert "weights_only" not in text and "KeyError" not in text
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("budget", ["0", "-5", "0s"])
def test_time_budget_zero_or_negative_is_refused(person4: Path, tmp_path: Path, budget: str, capsys) -> None:  # noqa: F811
    from cocoseg_gui.cli import main

    rc = main(["train", "--data", str(person4), "--model", "unet", "--out", str(tmp_path / "run"),
               "--time-budget", budget])  # fmt: skip
    assert rc == 2 and "time budget must be > 0 seconds (or none)" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
