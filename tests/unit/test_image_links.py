"""Symbolic links leading outside an image folder (ADR 0003) are neither listed nor opened by
`new-dataset` nor proposed for by `propose`; links that stay inside are fine (issue 18 item 12)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.masks.new_dataset import categories_from_names, create_new_dataset, list_images
from cocoseg_gui.core.proposals.batch import PROPOSALS_FILE, propose_folder
from cocoseg_gui.core.proposals.source import SourceSpec
from tests.unit.proposal_fixtures import tiny_checkpoint


@pytest.fixture
def linked_folder(val_images: Path, tmp_path: Path) -> Path:
    """photos/: three images, a link to one of them (inside), a link to an image elsewhere and a link
    to a whole folder elsewhere (both outside)."""
    if not hasattr(os, "symlink"):
        pytest.skip("no symbolic links here")
    first, second, third, fourth = sorted(val_images.iterdir())[:4]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(fourth, elsewhere / "private.jpg")
    photos = tmp_path / "photos"
    photos.mkdir()
    for f in (first, second, third):
        shutil.copy(f, photos / f.name)
    (photos / "again.jpg").symlink_to(photos / first.name)
    (photos / "outside.jpg").symlink_to(elsewhere / "private.jpg")
    (photos / "linked_dir").symlink_to(elsewhere, target_is_directory=True)
    return photos


def test_listing_leaves_out_links_that_lead_outside(linked_folder: Path, val_images: Path) -> None:
    refused: list[str] = []
    names = list_images(linked_folder, refused)
    firsts = [p.name for p in sorted(val_images.iterdir())[:3]]
    assert names == sorted(["again.jpg", *firsts])
    assert refused == ["outside.jpg"]  # the linked folder is not descended at all


def test_new_dataset_never_lists_or_opens_an_outside_link(
    linked_folder: Path, tmp_path: Path, capsys
) -> None:
    made = create_new_dataset(linked_folder, categories_from_names("cat, dog"), tmp_path / "masks")
    listed = [im["file_name"] for im in json.loads(made.annotations.read_text())["images"]]
    assert "outside.jpg" not in listed and not any(n.startswith("linked_dir") for n in listed)
    assert made.num_images == 4 and made.refused == ("outside.jpg",)
    code = cli_main(
        ["new-dataset", "--images", str(linked_folder), "--classes", "cat", "--out", str(tmp_path / "m2")]
    )
    out = capsys.readouterr().out
    assert code == 0 and "'outside.jpg' left out: a link leading outside" in out and "4 images" in out


def test_propose_never_reads_an_outside_link(linked_folder: Path, tmp_path: Path) -> None:
    made = create_new_dataset(linked_folder, categories_from_names("cat, dog"), tmp_path / "masks")
    (linked_folder / "late.jpg").symlink_to(tmp_path / "elsewhere" / "private.jpg")  # after new-dataset
    spec = SourceSpec(checkpoint=tiny_checkpoint(tmp_path / "c.pt", ["background", "cat", "dog"]))
    result = propose_folder(spec, made.folder, tmp_path / "proposals")
    assert result.total == 4 and len(result.written) == 4
    assert sorted(n for n, _ in result.failed) == ["late.jpg", "outside.jpg"]
    assert all("outside the image folder" in why for _, why in result.failed)
    entries = json.loads((tmp_path / "proposals" / PROPOSALS_FILE).read_text())["images"]
    assert "outside.jpg" not in entries and "late.jpg" not in entries and len(entries) == 4
