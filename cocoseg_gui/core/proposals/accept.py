"""Accepting a proposal (all, one class, inside a box or a brush stroke) as ONE undo step of the editor.

By default an accept only FILLS: it writes the proposal's classes where the map is unlabelled
(background), so labels a user made are never replaced by a model's guess (issue 18: "Accept all" under
the brush's "Overwrite all" left 1 of 11 labelled classes). Replacing labelled pixels (ignore included)
is an explicit choice, ``AcceptMode.REPLACE``; ``plan_accept`` says beforehand how many labelled pixels
of which classes it changes, so the GUI can ask. The brush's overwrite rule is not used: proposals have
their own. Multi-valued, so it is its own small paint rather than ``rules.paint`` (one value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.rules import OVERWRITE, Rule
from cocoseg_gui.core.editing.stroke import Point, segment_area
from cocoseg_gui.core.proposals.proposal import Proposal
from cocoseg_gui.core.types import BACKGROUND


class AcceptMode(str, Enum):
    FILL = "fill"  # the default: only unlabelled (background) pixels get the proposal's class
    REPLACE = "replace"  # labelled pixels too: an explicit choice, asked with the counts first


@dataclass(frozen=True)
class AcceptAll:
    pass


@dataclass(frozen=True)
class AcceptClass:
    index: int


@dataclass(frozen=True)
class AcceptBox:
    box: Box  # mask pixels, half-open


@dataclass(frozen=True)
class AcceptStroke:
    points: tuple[Point, ...]  # mask pixels, the brush swept along them
    radius: int
    tip: Tip = Tip.ROUND


Where = AcceptAll | AcceptClass | AcceptBox | AcceptStroke


def stroke_area(points: Sequence[Point], radius: int, tip: Tip, shape: tuple[int, int]) -> Area:
    """The pixels a brush of ``radius`` covers along ``points`` (the editor's own swept footprint)."""
    if not points:
        return Area.nothing()
    pts = list(points)
    segments = [segment_area(a, b, radius, tip, shape) for a, b in zip(pts, pts[1:] or pts)]
    box = Box.empty_box()
    for s in segments:
        box = box.union(s.box)
    if box.empty:
        return Area.nothing()
    mask = np.zeros(box.shape, dtype=bool)
    for s in segments:
        if not s.empty:
            mask[s.box.relative_to(box)] |= s.mask
    return Area(box, mask)


def accept_area(proposal: Proposal, where: Where) -> Area:
    """Where an accept writes: the region (box of the whole map, the class, the box, the stroke) AND
    proposed pixels; a class accept takes only that class's pixels."""
    shape = proposal.shape
    if isinstance(where, AcceptStroke):
        area = stroke_area(where.points, where.radius, where.tip, shape)
    else:
        box = where.box.clipped(shape) if isinstance(where, AcceptBox) else Box(0, 0, *shape)
        area = Area(box, np.ones(box.shape, dtype=bool)) if not box.empty else Area.nothing()
    if area.empty:
        return area
    inside = area.mask & proposal.proposed[area.box.slices]
    if isinstance(where, AcceptClass):
        inside &= proposal.labels[area.box.slices] == int(where.index)
    tight = Box.of_mask(inside, area.box)
    if tight.empty:
        return Area.nothing()
    return Area(tight, inside[tight.relative_to(area.box)])


def paint_values(label: np.ndarray, area: Area, values: np.ndarray, rule: Rule | None = None) -> Box:
    """Write ``values[area]`` (a full-size class map) into ``label`` where ``area`` and ``rule`` allow.
    Returns the tight box of the changed pixels."""
    if area.empty:
        return Box.empty_box()
    patch = label[area.box.slices]
    new = values[area.box.slices]
    change = area.mask & (patch != new)
    allowed = (rule or OVERWRITE).writable(patch)
    if allowed is not None:
        change &= allowed
    changed = Box.of_mask(change, area.box)
    if not changed.empty:
        np.copyto(patch, new, where=change)
    return changed


def step_name(where: Where, class_name: str = "") -> str:
    if isinstance(where, AcceptClass):
        return f"Accept proposal ({class_name or where.index})"
    if isinstance(where, AcceptBox):
        return "Accept proposal in box"
    if isinstance(where, AcceptStroke):
        return "Accept proposal in stroke"
    return "Accept proposal"


@dataclass(frozen=True, eq=False)
class AcceptPlan:
    """What an accept will change, computed before it does.

    ``change``: the pixels of ``area.box`` that change; ``filled``: unlabelled pixels among them;
    ``replaced``: labelled pixels that change, per current class; ``kept``: labelled pixels where the
    proposal says another class but FILL keeps them (per current class)."""

    where: Where
    mode: AcceptMode
    area: Area
    change: np.ndarray
    filled: int = 0
    replaced: dict[int, int] = field(default_factory=dict)
    kept: dict[int, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.filled == 0 and not self.replaced

    @property
    def replaced_pixels(self) -> int:
        return sum(self.replaced.values())

    @property
    def kept_pixels(self) -> int:
        return sum(self.kept.values())


def _per_class(values: np.ndarray) -> dict[int, int]:
    counts = np.bincount(values.ravel(), minlength=256) if values.size else np.zeros(256, np.int64)
    return {int(i): int(counts[i]) for i in np.flatnonzero(counts)}


def plan_accept(label: np.ndarray, proposal: Proposal, where: Where, mode: AcceptMode) -> AcceptPlan:
    """The accept of ``proposal`` (at ``label``'s size) in ``where`` under ``mode``, not yet written."""
    area = accept_area(proposal, where)
    if area.empty:
        return AcceptPlan(where, mode, area, np.zeros((0, 0), bool))
    patch = label[area.box.slices]
    differs = area.mask & (patch != proposal.labels[area.box.slices])
    unlabelled = patch == BACKGROUND
    labelled_differs = differs & ~unlabelled
    change = differs if AcceptMode(mode) is AcceptMode.REPLACE else differs & unlabelled
    per_class = _per_class(patch[labelled_differs])
    replace = AcceptMode(mode) is AcceptMode.REPLACE
    return AcceptPlan(
        where,
        mode,
        area,
        change,
        filled=int((differs & unlabelled).sum()),
        replaced=per_class if replace else {},
        kept={} if replace else per_class,
    )


def describe_classes(counts: dict[int, int], class_name: Callable[[int], str]) -> str:
    """'person 50,000, car 3,360' (largest first)."""
    order = sorted(counts, key=lambda c: (-counts[c], c))
    return ", ".join(f"{class_name(c)} {counts[c]:,}" for c in order)


def apply_plan(editor: ImageEditor, proposal: Proposal, plan: AcceptPlan) -> Box:
    """Write ``plan`` into the editor's shown image as ONE undo step; the changed box (empty: no step).

    The plan must have been made on the shown map as it is now (``plan_accept`` on
    ``editor.current_labels``); pixels that changed since are written only where the plan says."""
    if plan.empty or plan.area.empty or editor.current_labels is None:
        return Box.empty_box()
    proposal = proposal.resized(editor.current_labels.shape)
    where = plan.where
    name = step_name(where, editor.class_name(where.index) if isinstance(where, AcceptClass) else "")
    area = Area(plan.area.box, plan.change)
    return editor.apply_edit(area.box, name, lambda label: paint_values(label, area, proposal.labels))


def accept(
    editor: ImageEditor,
    proposal: Proposal,
    where: Where,
    mode: AcceptMode = AcceptMode.FILL,
    confirm: Callable[[AcceptPlan], bool] | None = None,
) -> Box:
    """Accept ``proposal`` into the editor's shown image as one undo step.

    FILL (the default) writes unlabelled pixels only; REPLACE also labelled ones, after ``confirm(plan)``
    says yes when there are any. Returns the changed box (empty when nothing changed: no step)."""
    labels = editor.current_labels
    if labels is None:
        return Box.empty_box()
    proposal = proposal.resized(labels.shape)
    plan = plan_accept(labels, proposal, where, mode)
    if plan.replaced and confirm is not None and not confirm(plan):
        return Box.empty_box()
    return apply_plan(editor, proposal, plan)
