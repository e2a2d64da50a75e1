"""Accepting a proposal (all, one class, inside a box or a brush stroke) as ONE undo step of the editor.

The proposal's classes are written through the same overwrite rule as every tool (core.editing.rules:
"preserve other classes" keeps labelled pixels), only inside the chosen region, and only where a class
is proposed. Multi-valued, so it is its own small paint rather than ``rules.paint`` (one value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.rules import OVERWRITE, Rule
from cocoseg_gui.core.editing.stroke import Point, segment_area
from cocoseg_gui.core.proposals.proposal import Proposal


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


def accept(editor: ImageEditor, proposal: Proposal, where: Where) -> Box:
    """Accept ``proposal`` into the editor's shown image as one undo step under its overwrite rule.

    Returns the changed box (empty when nothing changed: no step is recorded)."""
    labels = editor.current_labels
    if labels is None:
        return Box.empty_box()
    proposal = proposal.resized(labels.shape)
    area = accept_area(proposal, where)
    name = step_name(where, editor.class_name(where.index) if isinstance(where, AcceptClass) else "")
    rule = editor.settings.rule
    return editor.apply_edit(area.box, name, lambda label: paint_values(label, area, proposal.labels, rule))
