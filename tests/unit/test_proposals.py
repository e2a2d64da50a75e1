"""Model proposals (core): accepted per class and per region (box, stroke) they change exactly those
pixels as one undo step, only unlabelled ones unless replacing is chosen (and then counted first); VOC
names match COCO's; missing torchvision weights give a clear message and never a download; a real
(randomly initialised) model proposes on sample images."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from PIL import Image

from cocoseg_gui.core.editing.box import Box
from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.rules import Mode
from cocoseg_gui.core.editing.stroke import segment_area
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.proposals.accept import (
    AcceptAll,
    AcceptBox,
    AcceptClass,
    AcceptMode,
    AcceptPlan,
    AcceptStroke,
    accept,
)
from cocoseg_gui.core.proposals.class_match import NOT_PROPOSED, VOC_CLASSES, match_classes
from cocoseg_gui.core.proposals.confidence_view import confidence_rgba
from cocoseg_gui.core.proposals.proposal import ConfidenceKind, Proposal
from cocoseg_gui.core.proposals.source import ProposalSource, SourceCache, SourceSpec, torchvision_weights
from cocoseg_gui.core.training.models import PretrainedWeightsUnavailable
from tests.unit.editing_fixtures import first_mask, made_masks, mask_folder  # noqa: F401
from tests.unit.proposal_fixtures import TV_MODEL, fake_weights_file, tiny_checkpoint, tv_spec  # noqa: F401


def shifted_proposal(label: np.ndarray, shift: int = 25) -> Proposal:
    """The image's own mask moved right by ``shift`` px as the 'model's' proposal; the leftmost 10
    columns not proposed; confidence rising left to right."""
    labels = np.roll(label, shift, axis=1)
    labels[labels == 255] = 0
    proposed = np.ones(labels.shape, bool)
    proposed[:, :10] = False
    conf = np.tile(np.linspace(0, 1, labels.shape[1], dtype=np.float32), (labels.shape[0], 1))
    return Proposal(labels, proposed, conf, conf / 2)


def editor_on(folder, name: str, label: np.ndarray) -> tuple[ImageEditor, LabelMap]:
    names = dict(enumerate(MaskDatasetFolder(folder).mapping.class_names()))
    labels = LabelMap(label, names)
    editor = ImageEditor(mask_folder=folder)
    editor.attach(1, name, labels, label.shape)
    return editor, labels


def check_exactly(
    before: np.ndarray, after: np.ndarray, proposal: Proposal, region: np.ndarray, replace: bool = False
) -> None:
    """``after`` is ``before`` with the proposal written in ``region`` where proposed, and (unless
    ``replace``) only where ``before`` was unlabelled (background)."""
    expected = before.copy()
    write = region & proposal.proposed & (True if replace else before == 0)
    expected[write] = proposal.labels[write]
    assert np.array_equal(after, expected)


def test_accept_one_class_changes_exactly_its_pixels_and_undoes_in_one_step(mask_folder) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    before = label.copy()
    proposal = shifted_proposal(label)
    cls = int(np.bincount(proposal.labels[proposal.labels > 0]).argmax())
    editor, labels = editor_on(mask_folder, name, label)
    changed = accept(editor, proposal, AcceptClass(cls))
    assert not changed.empty
    check_exactly(before, labels.array, proposal, proposal.labels == cls)
    assert (labels.array != before).sum() > 100
    assert editor.undo_text.startswith("Accept proposal (") and editor.dirty
    assert editor.undo() and np.array_equal(labels.array, before)
    assert editor.undo_text is None  # one step, nothing before it


def test_accept_in_a_box_and_in_a_stroke_change_only_inside(mask_folder) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    before = label.copy()
    proposal = shifted_proposal(label)
    editor, labels = editor_on(mask_folder, name, label)
    box = Box(20, 5, 200, 300)
    accept(editor, proposal, AcceptBox(box))
    region = np.zeros(label.shape, bool)
    region[box.slices] = True
    check_exactly(before, labels.array, proposal, region)
    assert editor.undo() and np.array_equal(labels.array, before)

    points = ((40.5, 60.5), (250.5, 90.5), (300.5, 200.5))
    accept(editor, proposal, AcceptStroke(points, radius=6))
    region = np.zeros(label.shape, bool)
    for a, b in itertools.pairwise(points):
        area = segment_area(a, b, 6, Tip.ROUND, label.shape)
        region[area.box.slices] |= area.mask
    check_exactly(before, labels.array, proposal, region)
    assert (labels.array != before).any() and editor.undo_text == "Accept proposal in stroke"
    assert editor.undo() and np.array_equal(labels.array, before)


def test_accept_all_fills_only_unlabelled_pixels_unless_replacing_is_chosen_and_confirmed(
    mask_folder,  # noqa: F811
) -> None:
    """Issue 18: under the default every labelled pixel stays (whatever the brush's overwrite rule);
    replacing is asked with the exact count of labelled pixels per class; each accept is one step."""
    name, label = first_mask(mask_folder)
    before = label.copy()
    proposal = shifted_proposal(label)
    editor, labels = editor_on(mask_folder, name, label)
    assert len(set(np.unique(before).tolist()) - {0}) >= 2  # several labelled classes to lose
    differs = proposal.proposed & (proposal.labels != before)
    labelled = differs & (before != 0)
    counts = np.bincount(before[labelled], minlength=256)
    expected_replaced = {int(c): int(counts[c]) for c in np.flatnonzero(counts)}
    assert sum(expected_replaced.values()) > 100

    editor.set_rule(Mode.OVERWRITE)  # the brush's "Overwrite all" does not apply to proposals
    asked: list[AcceptPlan] = []
    accept(editor, proposal, AcceptAll(), confirm=lambda plan: asked.append(plan) or True)
    check_exactly(before, labels.array, proposal, np.ones(label.shape, bool))
    assert np.array_equal(labels.array[before != 0], before[before != 0]) and asked == []
    assert (labels.array != before).sum() == int((differs & (before == 0)).sum()) > 0
    assert editor.undo_text == "Accept proposal" and editor.undo()
    assert np.array_equal(labels.array, before) and editor.undo_text is None

    declined = accept(editor, proposal, AcceptAll(), AcceptMode.REPLACE, lambda p: asked.append(p) or False)
    assert declined.empty and np.array_equal(labels.array, before) and editor.undo_text is None
    (plan,) = asked
    assert plan.replaced == expected_replaced and plan.replaced_pixels == int(labelled.sum())
    assert plan.filled == int((differs & (before == 0)).sum())

    accept(editor, proposal, AcceptAll(), AcceptMode.REPLACE, lambda p: True)
    check_exactly(before, labels.array, proposal, np.ones(label.shape, bool), replace=True)
    assert editor.undo_text == "Accept proposal" and editor.undo()
    assert np.array_equal(labels.array, before) and editor.undo_text is None  # one step


def test_voc_names_match_coco_categories_by_name(mask_folder) -> None:  # noqa: F811
    assert list(torchvision_weights(TV_MODEL).meta["categories"]) == list(VOC_CLASSES)
    target = dict(enumerate(MaskDatasetFolder(mask_folder).mapping.class_names()))  # COCO's 80 names
    match = match_classes(VOC_CLASSES, target)
    by_voc = dict(match.pairs)
    assert by_voc["aeroplane"] == "airplane" and by_voc["diningtable"] == "dining table"
    assert by_voc["motorbike"] == "motorcycle" and by_voc["sofa"] == "couch"
    assert by_voc["tvmonitor"] == "tv" and by_voc["pottedplant"] == "potted plant"
    assert len(match.pairs) == 20  # every VOC class is a COCO category
    assert match.lut[VOC_CLASSES.index("person")] == next(i for i, n in target.items() if n == "person")
    small = match_classes(VOC_CLASSES, {0: "background", 1: "Dining_Table", 2: "giraffe"})
    assert small.lut[VOC_CLASSES.index("diningtable")] == 1 and small.lut[0] == 0
    assert (small.lut == NOT_PROPOSED).sum() == 19  # giraffe is no VOC class; cat, dog, ... unmatched


def test_unmatched_classes_are_not_proposed_and_confidence_is_max_softmax_and_margin() -> None:
    probs = np.zeros((3, 2, 2), np.float32)
    probs[:, 0, 0] = [0.7, 0.2, 0.1]
    probs[:, 0, 1] = [0.1, 0.6, 0.3]
    probs[:, 1, 0] = [0.2, 0.3, 0.5]  # class 2 wins: unmatched
    probs[:, 1, 1] = [0.3, 0.35, 0.35]
    match = match_classes(["background", "cat", "unicorn"], {0: "background", 4: "cat"})
    p = Proposal.from_probabilities(probs, match)
    assert p.labels.tolist() == [[0, 4], [0, 4]] and p.proposed.tolist() == [[True, True], [False, True]]
    assert np.allclose(p.confidence, [[0.7, 0.6], [0.5, 0.35]])
    assert np.allclose(p.margin, [[0.5, 0.3], [0.2, 0.0]])
    rgba = confidence_rgba(p, ConfidenceKind.MARGIN)
    assert rgba[1, 0, 3] == 0 and rgba[1, 1, 3] > rgba[0, 0, 3] > 0  # unsure is opaque


def test_missing_torchvision_weights_say_where_and_never_download(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))

    def no_network(*_a, **_k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        ProposalSource.load(SourceSpec(torchvision=TV_MODEL), {0: "background", 1: "person"})
    text = str(err.value)
    assert "not on this computer" in text and "never downloads them on its own" in text
    assert f"cocoseg download-weights {TV_MODEL}" in text
    assert str(tmp_path / "empty_home" / "hub" / "checkpoints") in text and ".pth" in text


def test_torchvision_weights_propose_on_a_sample_image(tv_spec, val_images) -> None:  # noqa: F811
    source = ProposalSource.load(tv_spec, {0: "background", 1: "person", 2: "dog"})
    image = Image.open(sorted(val_images.iterdir())[0]).convert("RGB")
    p = source.propose(image)
    assert p.shape == (image.height, image.width)
    assert set(np.unique(p.labels[p.proposed])) <= {0, 1, 2}
    assert ((p.confidence > 0) & (p.confidence <= 1)).all() and (p.margin <= p.confidence).all()
    # the proposal is the Predictor's argmax remapped (the one source of probabilities)
    probs = source.predictor.probabilities_batch([image])[0]
    top = probs.argmax(0)
    assert np.array_equal(p.proposed, source.match.lut[top] != NOT_PROPOSED)


def test_a_cocoseg_checkpoint_with_no_class_in_common_is_refused(tmp_path) -> None:
    ckpt = tiny_checkpoint(tmp_path / "c.pt", ["background", "zebra"])
    with pytest.raises(Exception, match="same name"):
        ProposalSource.load(SourceSpec(checkpoint=ckpt), {0: "background", 1: "person"})
    ok = ProposalSource.load(SourceSpec(checkpoint=ckpt), {0: "background", 3: "zebra"})
    assert ok.match.lut.tolist() == [0, 3]


def test_the_source_cache_keeps_the_model_until_the_source_or_the_classes_change(tmp_path) -> None:
    names = ["background", "person", "dog"]
    first = tiny_checkpoint(tmp_path / "a.pt", names)
    second = tiny_checkpoint(tmp_path / "b.pt", names)
    target = dict(enumerate(names))
    cache = SourceCache()
    a = cache.get(SourceSpec(checkpoint=first), target)
    assert cache.get(SourceSpec(checkpoint=first), dict(target)) is a  # another image: no reload
    b = cache.get(SourceSpec(checkpoint=second), target)  # e.g. a fine-tune ended
    assert b is not a and b.predictor.source == second
    assert cache.get(SourceSpec(checkpoint=second), {0: "background", 1: "dog"}) is not b
