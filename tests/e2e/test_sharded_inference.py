"""predict, propose, find-label-issues, rank-uncertain and evaluate under torchrun (two CPU processes,
gloo) write the same files, byte for byte, as one process; rank 0 alone prints and writes the summaries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_ddp import REPO, free_port
from tests.trainer_fixtures import person_folder
from tests.unit.proposal_fixtures import labelled_new_dataset, tiny_checkpoint

SAMPLE_VAL = REPO / "resources" / "sample_coco" / "val2017"
TIMES = {"seconds", "created"}  # wall-clock fields: they differ between any two runs


def balanced(ckpt: Path, images: Path) -> Path:
    """``ckpt`` with its head's bias moved so the random model predicts person on about half the pixels:
    both classes in every output, and many near-ties, where any numeric difference would flip a pixel."""
    import numpy as np
    import torch

    from cocoseg_gui.core.training.checkpoint import load_checkpoint, save_checkpoint
    from cocoseg_gui.core.training.predict import Predictor
    from cocoseg_gui.core.training.transforms import load_rgb

    predictor = Predictor.from_checkpoint(ckpt, "cpu")
    logits = predictor.logits_batch([load_rgb(f) for f in sorted(images.iterdir())])
    gap = float(np.median(np.concatenate([(lg[1] - lg[0]).numpy().ravel() for lg in logits])))
    data = load_checkpoint(ckpt)
    bias = data["model"]["state_dict"]["head.bias"]
    data["model"]["state_dict"]["head.bias"] = bias + torch.tensor([gap, 0.0])
    save_checkpoint(ckpt, data)
    return ckpt


def class_names(masks: Path) -> list[str]:
    mapping = json.loads((masks / "category_mapping.json").read_text())
    return [c["name"] for c in sorted(mapping["classes"], key=lambda c: c["index"])]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """5 images with persons (3 batches of 2: the ranks get 2 and 1), their masks, a new dataset with 4
    unlabelled images and random U-Net checkpoints with each folder's classes."""
    base = tmp_path_factory.mktemp("sharded")
    masks = person_folder(base / "person5", 5)
    images = base / "images"
    images.mkdir()
    manifest = json.loads((masks / "manifest.json").read_text())
    for name in json.loads((masks / "image_mask_map.json").read_text()):
        shutil.copy(masks / manifest["images_dir"] / name, images / name)
    (base / "new").mkdir()
    new = labelled_new_dataset(base / "new", SAMPLE_VAL, 5)
    return {
        "masks": masks,
        "images": images,
        "new": new,
        "ckpt": balanced(tiny_checkpoint(base / "person.pt", class_names(masks)), images),
        "new_ckpt": tiny_checkpoint(base / "new.pt", class_names(new)),
    }


def plan(inputs: dict[str, Path], out: Path) -> list[list[str]]:
    ckpt, common = str(inputs["ckpt"]), ["--device", "cpu", "--batch-size", "2"]
    return [
        ["predict", "--checkpoint", ckpt, str(inputs["images"]), "--out", str(out / "predict"), "--overlay",
         *common],
        ["evaluate", "--checkpoint", ckpt, "--data", str(inputs["masks"]), "--json", *common],
        ["find-label-issues", "--checkpoint", ckpt, "--data", str(inputs["masks"]), "--out",
         str(out / "issues.json"), "--min-region-area", "4", *common],
        ["rank-uncertain", "--checkpoint", ckpt, "--images", str(inputs["images"]), "--out",
         str(out / "uncertain.json"), *common],
        ["propose", "--checkpoint", str(inputs["new_ckpt"]), "--masks", str(inputs["new"]), "--out",
         str(out / "proposals"), "--device", "cpu"],
    ]  # fmt: skip


def run_plan(inputs: dict[str, Path], out: Path, nproc: int) -> subprocess.CompletedProcess[str]:
    out.mkdir()
    (out / "plan.json").write_text(json.dumps(plan(inputs, out)))
    launcher = [sys.executable]
    if nproc > 1:
        port = free_port()
        launcher += ["-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--master_port={port}"]
    cmd = [*launcher, str(REPO / "tests" / "e2e" / "cli_sequence.py"), str(out / "plan.json")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


@pytest.mark.slow
def test_two_processes_write_what_one_process_writes(inputs: dict[str, Path], tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    run_plan(inputs, one, 1)
    run_plan(inputs, two, 2)

    # predict: every mask and overlay the same bytes; one record, kept by rank 0, naming them all
    masks_one, masks_two = files(one / "predict"), files(two / "predict")
    record = masks_two.pop("predict_manifest.jsonl").decode()
    masks_one.pop("predict_manifest.jsonl")
    assert len(masks_one) == 10 and masks_two == masks_one
    assert {json.loads(line)["file"] for line in record.splitlines()} == set(masks_one)
    # proposals: the PNGs the same bytes, proposals.json the same entries
    props_one, props_two = files(one / "proposals"), files(two / "proposals")
    manifest_one = json.loads(props_one.pop("proposals.json"))
    manifest_two = json.loads(props_two.pop("proposals.json"))
    props_one.pop(".cocoseg.lock", None), props_two.pop(".cocoseg.lock", None)
    assert len(props_one) == 8 and props_two == props_one
    assert len(manifest_one["images"]) == 4 and without_times(manifest_two) == without_times(manifest_one)
    # rankings: the same JSON but for the time they took
    for name in ("issues.json", "uncertain.json"):
        ranking_one = json.loads((one / name).read_text())
        assert len(ranking_one["images"]) == 5
        assert without_times(json.loads((two / name).read_text())) == without_times(ranking_one)
    # evaluate: rank 0 prints the one report; the confusion matrix is summed exactly
    report_one = json.loads((one / "stdout.1.rank0.txt").read_text())
    report_two = json.loads((two / "stdout.1.rank0.txt").read_text())
    assert report_one["num_images"] == 5 and report_two == report_one
    assert min(map(min, report_two["confusion"])) > 0  # both classes predicted where both are given
    # rank 1 printed nothing; rank 0 the same lines as one process (timings aside)
    for n in range(5):
        assert (two / f"stdout.{n}.rank1.txt").read_text() == ""

    def said(root: Path, n: int) -> str:  # the command's line, its output folder and timing left out
        text = (root / f"stdout.{n}.rank0.txt").read_text().replace(str(root), "OUT")
        return re.sub(r" in [0-9.]+ s", "", text)

    assert [said(two, n) for n in (0, 2, 3, 4)] == [said(one, n) for n in (0, 2, 3, 4)]
