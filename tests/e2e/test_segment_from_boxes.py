# ruff: noqa: F811  (pytest fixtures imported from tests.unit.segment_fixtures)
"""`cocoseg propose --sam-weights W --from-boxes`: a box-only COCO file's boxes -> the usual proposals
folder (real MobileSAM, random weights), each box's mask exactly what a click-segment box prompt gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.cli import main
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.proposals.batch import PENDING, ProposalsFolder
from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
from cocoseg_gui.core.segment.model import load_sam
from cocoseg_gui.core.segment.prompt import Prompt
from cocoseg_gui.core.segment.segmenter import Segmenter
from tests.unit.proposal_fixtures import labelled_new_dataset
from tests.unit.segment_fixtures import mobile_sam_file, mobile_state  # noqa: F401


@pytest.fixture
def box_dataset(
    tmp_path: Path, val_images: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, list[str]]:
    """A new dataset of 4 sample images (the first labelled by hand) and a COCO file holding boxes only:
    the second image one person box, the third a person and a dog box, the fourth a polygon only."""
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    masks = labelled_new_dataset(tmp_path, val_images, 4)
    names = sorted(p.name for p in (tmp_path / "images").iterdir())
    mapping = ClassMapping.read(masks / "category_mapping.json")
    person, dog = mapping.category_ids[0], mapping.category_ids[1]
    sizes = [Image.open(tmp_path / "images" / n).size for n in names]
    images = [
        {"id": i, "file_name": n, "width": w, "height": h}
        for i, (n, (w, h)) in enumerate(zip(names, sizes), 1)
    ]
    annotations = [
        {"id": 1, "image_id": 2, "category_id": person, "bbox": [40, 50, 200, 300], "iscrowd": 0, "area": 1},
        {"id": 2, "image_id": 3, "category_id": person, "bbox": [10, 10, 300, 300], "iscrowd": 0, "area": 1},
        {"id": 3, "image_id": 3, "category_id": dog, "bbox": [100, 120, 60, 50], "iscrowd": 0, "area": 3e3,
         "segmentation": []},
        {"id": 4, "image_id": 4, "category_id": dog, "bbox": [10, 10, 50, 50], "iscrowd": 0, "area": 2500,
         "segmentation": [[10, 10, 60, 10, 60, 60]]},
    ]  # fmt: skip
    categories = [{"id": c, "name": mapping.name_of(i + 1)} for i, c in enumerate(mapping.category_ids)]
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return masks, boxes, names


def test_boxes_become_reviewable_proposals(
    box_dataset: tuple[Path, Path, list[str]], mobile_sam_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    masks, boxes, names = box_dataset
    out = tmp_path / "proposals"
    argv = ["propose", "--sam-weights", str(mobile_sam_file), "--from-boxes", "--annotations", str(boxes),
            "--masks", str(masks), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "2 proposals from boxes written" in captured.out
    assert f"skipped {names[3]}: " in captured.err and "no boxes without a segmentation" in captured.err

    folder = ProposalsFolder(out)
    assert sorted(folder.entries) == names[1:3] and folder.entries[names[1]].status == PENDING
    assert folder.data["source"]["boxes_from"] == str(boxes)

    # the one-box image: exactly the mask a box prompt gives (the embedding comes from the cache)
    segmenter = Segmenter(load_sam(mobile_sam_file), EmbeddingCache(), decoder="torch")
    rgb = np.asarray(Image.open(masks.parent / "images" / names[1]).convert("RGB"))
    expected = segmenter.predict(segmenter.embed(rgb), Prompt(box=(40, 50, 240, 350)), multimask=False).masks[
        0
    ]
    assert segmenter.embeddings_computed == 0
    proposal = folder.load(names[1])
    assert proposal.shape == rgb.shape[:2]
    np.testing.assert_array_equal(proposal.proposed, expected)
    assert set(np.unique(proposal.labels[proposal.proposed])) <= {1}
    # two boxes: the smaller (dog, class 2) painted over the larger (person, class 1)
    both = folder.load(names[2])
    assert set(folder.entries[names[2]].classes) <= {1, 2}
    assert set(np.unique(both.labels[both.proposed])) <= {1, 2}

    # --all-boxes also prompts with the fourth image's segmented annotation
    assert main([*argv, "--all-boxes"]) == 0
    assert names[3] in ProposalsFolder(out).entries


def test_sam_weights_need_the_boxes(box_dataset, mobile_sam_file, tmp_path, capsys) -> None:
    masks, _boxes, _ = box_dataset
    base = [
        "propose",
        "--sam-weights",
        str(mobile_sam_file),
        "--masks",
        str(masks),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(base) == 2
    assert "--sam-weights and --from-boxes go together" in capsys.readouterr().err
