# ruff: noqa: F811  (pytest fixtures imported from tests.unit.proposal_fixtures)
"""Batch proposals: every unlabelled image of a new dataset into a proposals folder; resumable,
cancellable, reviewable; and `cocoseg propose` on the same data. No network (fake cached weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.masks.png import read_mask_png
from cocoseg_gui.core.proposals.batch import (
    ACCEPTED,
    PENDING,
    PROPOSALS_FILE,
    ProposalsFolder,
    find_proposals,
    propose_folder,
    unlabelled_images,
)
from tests.unit.proposal_fixtures import TV_MODEL, fake_weights_file, labelled_new_dataset, tv_spec  # noqa: F401


@pytest.fixture
def new_dataset(tmp_path: Path, val_images: Path) -> Path:
    """A new dataset of 4 sample images (person, dog, airplane), the first one labelled by hand."""
    return labelled_new_dataset(tmp_path, val_images, 4)


def test_unlabelled_images_are_those_without_a_saved_mask(new_dataset: Path) -> None:
    images, names = unlabelled_images(new_dataset)
    assert len(names) == 3 and sorted(p.name for p in images.iterdir())[0] not in names


def test_batch_writes_every_unlabelled_image_and_resumes_after_a_cancel(
    new_dataset, tv_spec, tmp_path
) -> None:
    out = tmp_path / "proposals"
    token = CancelToken()
    seen: list[int] = []

    def cancel_after_first(p) -> None:
        seen.append(p.done)
        if p.done >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        propose_folder(tv_spec, new_dataset, out, progress=cancel_after_first, cancel=token)
    partial = json.loads((out / PROPOSALS_FILE).read_text())
    assert len(partial["images"]) == 1  # written before the cancel and kept
    result = propose_folder(tv_spec, new_dataset, out)
    assert result.resumed == 1 and len(result.written) == 2 and result.total == 3
    folder = ProposalsFolder(out)
    _, names = unlabelled_images(new_dataset)
    assert sorted(folder.entries) == names
    for name in names:
        entry = folder.entries[name]
        labels = read_mask_png(out / entry.proposal)
        assert set(np.unique(labels)) <= {0, 1, 2, 3, 255} and entry.status == PENDING
        p = folder.load(name)
        assert p.shape == labels.shape and (p.proposed == (labels != 255)).all()
        # the margin comes back too (it was the max softmax again before: the review's margin view lied)
        assert (p.margin <= p.confidence + 1 / 255).all() and not np.array_equal(p.margin, p.confidence)
    again = propose_folder(tv_spec, new_dataset, out)
    assert again.resumed == 3 and not again.written


def test_review_status_and_next_unreviewed_and_finding_the_folder(new_dataset, tv_spec, tmp_path) -> None:
    out = tmp_path / "proposals"
    propose_folder(tv_spec, new_dataset, out)
    folder = ProposalsFolder(out)
    first, second, third = sorted(folder.entries)
    assert folder.next_unreviewed() == first
    folder.set_status(first, ACCEPTED)
    assert ProposalsFolder(out).entries[first].status == ACCEPTED  # saved
    assert folder.next_unreviewed(first) == second and folder.next_unreviewed(third) == second
    found = find_proposals(new_dataset, [tmp_path / "nowhere", out])
    assert found is not None and found.root == out
    with pytest.raises(Exception, match="another mask folder"):
        ProposalsFolder(out, tmp_path / "other_masks")


def test_the_proposals_folder_may_not_be_the_mask_or_image_folder(new_dataset, tv_spec) -> None:
    with pytest.raises(Exception, match="apart from the mask folder"):
        propose_folder(tv_spec, new_dataset, new_dataset / "proposals")


def test_cli_propose_writes_the_folder_and_reports_offline_weights(
    new_dataset,
    tv_spec,
    tmp_path,
    capsys,
    monkeypatch,
) -> None:
    out = tmp_path / "cli_out"
    weights = ["--weights", str(tv_spec.weights)]
    code = cli_main(
        ["propose", "--torchvision", TV_MODEL, *weights, "--masks", str(new_dataset), "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    assert "3 proposals written" in capsys.readouterr().out
    assert len(json.loads((out / PROPOSALS_FILE).read_text())["images"]) == 3
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    code = cli_main(
        ["propose", "--torchvision", TV_MODEL, "--masks", str(new_dataset), "--out", str(tmp_path / "o2")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "cocoseg propose: error:" in err and "never downloads" in err
