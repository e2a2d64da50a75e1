"""Proposals for every UNLABELLED image of a mask folder, into a proposals folder reviewed image by image.

An image is unlabelled when its image folder holds it and the mask folder has no saved mask for it
(``image_mask_map.json``: a new dataset's map starts empty and the editor adds each saved mask). Per
image: ``<name>.png`` (palette PNG of class indices, 255 = not proposed) and ``<name>.confidence.png``
(grey + alpha: max softmax x 255 and margin x 255), then its entry in ``proposals.json``
(docs/formats.md). Every file is written atomically and the manifest at least every few seconds and
at the end, so a cancelled or killed job leaves complete files and a rerun continues where it stopped
(images with an entry and both files are skipped). Review statuses (accepted / edited / skipped) live
in the same manifest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_json, atomic_write_with
from cocoseg_gui.core.files.folder_lock import JOB_LOCK_WAIT_S, locked
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.files.output_guard import OutputRefused, check_output_folder
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.folder import mask_names
from cocoseg_gui.core.masks.new_dataset import list_images
from cocoseg_gui.core.masks.png import read_mask_png, write_mask_png
from cocoseg_gui.core.proposals.proposal import Proposal
from cocoseg_gui.core.proposals.source import ProposalSource, SourceSpec, source_score
from cocoseg_gui.core.training.sharding import Shard

PROPOSALS_FILE = "proposals.json"
FORMAT = "cocoseg-proposals"
VERSION = 1
PENDING, ACCEPTED, EDITED, SKIPPED = "pending", "accepted", "edited", "skipped"
STATUSES = (PENDING, ACCEPTED, EDITED, SKIPPED)
MANIFEST_EVERY_S = 2.0


def default_proposals_dir(masks_dir: Path, project_folder: Path | None = None) -> Path:
    """``<project>/proposals/<mask folder name>``; without a saved project beside the mask folder."""
    base = project_folder if project_folder is not None else Path(masks_dir).parent
    return base / "proposals" / Path(masks_dir).name


@dataclass(frozen=True)
class ProposalEntry:
    """One image of a proposals folder (``proposals.json`` ``images[file_name]``)."""

    file_name: str
    proposal: str  # file name in the folder
    confidence: str
    status: str = PENDING
    classes: dict[int, int] = field(default_factory=dict)  # proposed pixels per class index
    mean_confidence: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "proposal": self.proposal,
            "confidence": self.confidence,
            "status": self.status,
            "classes": {str(k): v for k, v in sorted(self.classes.items())},
            "mean_confidence": round(self.mean_confidence, 4),
        }


@dataclass
class BatchResult:
    """What ``propose_folder`` did: images proposed now, already there (resumed), that failed."""

    out: Path
    total: int = 0
    written: list[str] = field(default_factory=list)
    resumed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


class ProposalsFolder:
    """A proposals folder: its manifest read once, entries updated and written back atomically."""

    def __init__(self, root: Path, masks_dir: Path | None = None, source: SourceSpec | None = None) -> None:
        self.root = Path(root)
        path = self.root / PROPOSALS_FILE
        data = read_json(path, required=masks_dir is None)
        if data is None:
            assert masks_dir is not None
            data = {
                "format": FORMAT, "version": VERSION, "masks": str(Path(masks_dir).resolve()),
                "source": source.to_json() if source else None, "created": _now(), "images": {},
            }  # fmt: skip
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("images"), dict)
        ):
            raise DatasetError(path, f"not a cocoseg proposals manifest (no 'format': '{FORMAT}')")
        if masks_dir is not None and Path(data.get("masks", "")).resolve() != Path(masks_dir).resolve():
            raise OptionsError(
                f"{self.root} holds proposals for another mask folder ({data.get('masks')}); "
                "choose another folder"
            )
        self.data = data
        self.entries: dict[str, ProposalEntry] = {}
        for name, e in data["images"].items():
            try:
                self.entries[str(name)] = ProposalEntry(
                    str(name), str(e["proposal"]), str(e["confidence"]), str(e.get("status", PENDING)),
                    {int(k): int(v) for k, v in (e.get("classes") or {}).items()},
                    float(e.get("mean_confidence", 0.0)),
                )  # fmt: skip
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(path, f"entry {name!r} is damaged ({exc})") from exc

    @property
    def masks_dir(self) -> Path:
        return Path(self.data["masks"])

    def complete(self, file_name: str) -> bool:
        e = self.entries.get(file_name)
        return e is not None and (self.root / e.proposal).is_file() and (self.root / e.confidence).is_file()

    def load(self, file_name: str) -> Proposal:
        """The proposal of an image (KeyError: none; DatasetError naming a damaged file)."""
        e = self.entries[file_name]
        labels = read_mask_png(self.root / e.proposal)
        try:
            with Image.open(self.root / e.confidence) as im:
                two = np.asarray(im.convert("LA")) if im.mode == "LA" else None  # margin in the alpha
                conf = two[..., 0] if two is not None else np.asarray(im.convert("L"))
        except OSError as exc:
            raise DatasetError(self.root / e.confidence, f"cannot read the confidence image ({exc})") from exc
        if conf.shape != labels.shape:
            raise DatasetError(
                self.root / e.confidence, f"size {conf.shape} differs from {e.proposal}'s {labels.shape}"
            )
        return Proposal.from_files(labels, conf, two[..., 1] if two is not None else None)

    def set_status(self, file_name: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown review status {status!r}")
        self.entries[file_name] = replace(self.entries[file_name], status=status)
        self.save()

    def next_unreviewed(self, after: str | None = None) -> str | None:
        """The first pending image after ``after`` in name order (wrapping round); None: all reviewed."""
        names = sorted(n for n, e in self.entries.items() if e.status == PENDING)
        if not names:
            return None
        later = [n for n in names if after is None or n > after]
        return (later or names)[0]

    def save(self) -> None:
        self.data["images"] = {n: e.to_json() for n, e in sorted(self.entries.items())}
        atomic_write_json(self.root / PROPOSALS_FILE, self.data)


def find_proposals(masks_dir: Path, candidates: Sequence[Path]) -> ProposalsFolder | None:
    """The first of ``candidates`` holding proposals for ``masks_dir`` (unreadable ones are passed over)."""
    for folder in candidates:
        if (Path(folder) / PROPOSALS_FILE).is_file():
            try:
                found = ProposalsFolder(folder)
            except (DatasetError, OptionsError):
                continue
            if found.masks_dir.resolve() == Path(masks_dir).resolve():
                return found
    return None


def unlabelled_images(
    masks_dir: Path, images_dir: Path | None = None, refused: list[str] | None = None
) -> tuple[Path, list[str]]:
    """(image folder, names of its images with no saved mask in ``masks_dir``); symbolic links leading
    outside the image folder are never proposed for (ADR 0003), their names appended to ``refused``."""
    folder = MaskDatasetFolder(masks_dir, browse=True)
    if not Path(masks_dir).is_dir():
        raise DatasetError(Path(masks_dir), "mask folder not found")
    images = Path(images_dir) if images_dir is not None else folder.images_dir
    if images is None:
        raise OptionsError(f"{masks_dir}: its manifest names no image folder; choose the images")
    labelled = {sample.file_name for sample in folder.samples()}  # mask on disk, names checked (SafeRoot)
    return images, [n for n in list_images(images, refused) if n not in labelled]


def _check_out(out: Path, masks_dir: Path, images_dir: Path) -> None:
    o = out.resolve()
    for other, what in ((masks_dir, "the mask folder"), (images_dir, "the image folder")):
        r = Path(other).resolve()
        if o == r or r in o.parents or o in r.parents:
            raise OptionsError(f"{out}: the proposals folder must lie apart from {what} ({other})")
    check_output_folder(out, reads={"the mask folder": masks_dir}, image_dirs=[images_dir])


def propose_folder(
    spec: SourceSpec,
    masks_dir: Path,
    out: Path,
    images_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    device: str = "cpu",
    source: ProposalSource | None = None,
    shard: Shard | None = None,
) -> BatchResult:
    """Propose for every unlabelled image of ``masks_dir`` into ``out`` (resumable; see the module doc).
    Holds ``out``'s lock (core/files/folder_lock.py): FolderBusyError naming another job writing it.
    ``shard`` (torchrun): each rank proposes for its share of the images; rank 0 holds the lock and
    writes proposals.json (the other ranks' entries at the end: a killed run redoes their images)."""
    shard = shard or Shard()

    def make(mapping: ClassMapping) -> ProposeOne:
        classes = dict(enumerate(mapping.class_names()))
        loaded = source or ProposalSource.load(spec, classes, shard.device(device))
        return lambda _name, rgb: loaded.propose(rgb)

    return propose_folder_with(
        make, spec.to_json(), source_score(spec).to_json(), masks_dir, out, images_dir, progress, cancel,
        shard=shard,
    )  # fmt: skip


# (image file name, its RGB image) -> its proposal; made once per batch, after the checks, only when needed
ProposeOne = Callable[[str, Any], Proposal]


def propose_folder_with(
    make: Callable[[ClassMapping], ProposeOne],
    source_json: dict[str, Any],
    score_json: dict[str, Any],
    masks_dir: Path,
    out: Path,
    images_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    shard: Shard | None = None,
) -> BatchResult:
    """``propose_folder`` for any proposer (a model, SAM from boxes: core/segment/from_boxes.py):
    ``source_json`` and ``score_json`` go into the manifest as the source and its score."""
    masks_dir, out = Path(masks_dir), Path(out)
    refused: list[str] = []
    images, names = unlabelled_images(masks_dir, images_dir, refused)
    _check_out(out, masks_dir, images)
    mapping = MaskDatasetFolder(masks_dir, browse=True).mapping
    if mapping is None:
        raise DatasetError(masks_dir, "no category_mapping.json: the folder's classes are unknown")
    if out.is_dir() and not (out / PROPOSALS_FILE).is_file() and any(out.iterdir()):
        raise OutputRefused(
            out, f"holds files but no {PROPOSALS_FILE}: it is not a proposals folder, and its files "
            "are never replaced; choose a new or empty folder",
        )  # fmt: skip
    shard = shard or Shard()
    shard.barrier()  # every rank checked OUT before rank 0 creates it
    with contextlib.ExitStack() as stack:
        if shard.is_main:
            out.mkdir(parents=True, exist_ok=True)
            stack.enter_context(locked(out, JOB_LOCK_WAIT_S))  # one batch job writes a folder at a time
        return _propose_into(
            make, source_json, score_json, masks_dir, out, images, names, refused, mapping, progress, cancel,
            shard,
        )  # fmt: skip


def _propose_into(
    make: Callable[[ClassMapping], ProposeOne],
    source_json: dict[str, Any],
    score_json: dict[str, Any],
    masks_dir: Path,
    out: Path,
    images: Path,
    names: list[str],
    refused: list[str],
    mapping: ClassMapping,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    shard: Shard,
) -> BatchResult:
    folder = ProposalsFolder(out, masks_dir) if shard.is_main else None
    if folder is not None:
        if folder.data.get("source") is None:
            folder.data["source"] = source_json
        folder.data["model_score"] = score_json  # what the proposals were made with
        folder.save()  # before any PNG: a folder with the manifest is ours (a killed run's files included)
    shard.barrier()
    if folder is None:
        folder = ProposalsFolder(out)  # rank 0's, just saved: the same images are left to do on every rank
    result = BatchResult(out, total=len(names))
    result.failed += [(n, "a symbolic link leading outside the image folder: not read") for n in refused]
    todo = [(n, f) for n, f in zip(names, mask_names(names)) if not folder.complete(n)]
    result.resumed = len(names) - len(todo)
    propose_one = make(mapping) if todo else None
    meter = RateMeter(len(names), start_done=result.resumed)
    safe = SafeRoot(images)
    last_save = time.monotonic()
    report(progress, Progress(result.resumed, len(names), message="Proposing"))
    made: list[tuple[int, ProposalEntry]] = []
    failed: list[tuple[int, tuple[str, str]]] = []
    try:
        for r, b in shard.rounds(len(todo), cancel):
            if b is not None:
                assert propose_one is not None
                name, png = todo[b]
                entry = _propose_one(propose_one, safe, out, name, png)
                if isinstance(entry, ProposalEntry):
                    folder.entries[name] = entry
                    made.append((b, entry))
                else:
                    failed.append((b, (name, entry)))
            if shard.is_main and time.monotonic() - last_save >= MANIFEST_EVERY_S:
                folder.save()
                last_save = time.monotonic()
            done = result.resumed + shard.round_batches(r, len(todo)).stop
            if progress is not None and meter.due(done):
                report(progress, meter.progress(done, todo[done - result.resumed - 1][0]))
        for entry in shard.gather(made):  # every rank's, in one process's order
            folder.entries[entry.file_name] = entry
            result.written.append(entry.file_name)
        result.failed += shard.gather(failed)
    finally:
        if shard.is_main:
            folder.save()  # also on cancel or failure: what was written is kept and resumed
    report(progress, Progress(len(names), len(names), message="Proposals written"))
    return result


def _propose_one(
    propose_one: ProposeOne, safe: SafeRoot, out: Path, name: str, png: str
) -> ProposalEntry | str:
    """One image's proposal and confidence PNGs written; its entry, or the problem when it cannot be read."""
    from cocoseg_gui.core.training.transforms import load_rgb

    try:
        proposal = propose_one(name, load_rgb(safe.resolve(name)))  # listed links may change
    except DatasetError as exc:
        return exc.problem
    conf_name = png[: -len(".png")] + ".confidence.png"
    write_mask_png(out / png, proposal.file_labels())
    # max softmax and margin, one byte each: the review's confidence view offers both
    both = np.stack([proposal.confidence, proposal.margin], axis=-1)
    both = np.clip(np.rint(both * 255), 0, 255).astype(np.uint8)
    atomic_write_with(out / conf_name, partial(Image.fromarray(both, "LA").save, format="PNG"), fsync=False)
    mean = float(proposal.confidence.mean()) if proposal.confidence.size else 0.0
    return ProposalEntry(name, png, conf_name, PENDING, proposal.class_pixels(), mean)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
