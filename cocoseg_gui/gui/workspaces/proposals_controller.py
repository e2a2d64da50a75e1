"""Model proposals in the Images workspace's Edit mode (ADR 0021): M proposes for the shown
image in a JobWorker (the model load cached across images), the proposal is a layer over the image, and
the bar accepts all / the active class / inside a dragged box / under a painted stroke, each one undo
step through the editor, or rejects it. An accept only labels unlabelled pixels unless "Replace labels"
is on, and then asks first, naming how many labelled pixels of which classes change (issue 18). The
same bar runs the batch job over the unlabelled images and reviews its proposals folder image by image
(accept / edit / skip).

The source follows the session's checkpoint ("Project checkpoint"), so a fine-tune that ends switches
it; a checkpoint file or torchvision weights (cache or file, never downloaded) can be chosen instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QMainWindow, QMessageBox

from cocoseg_gui.core.editing.box import Box
from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.core.project.image_view_state import ImageChanged
from cocoseg_gui.core.proposals.accept import (
    AcceptAll,
    AcceptBox,
    AcceptClass,
    AcceptMode,
    AcceptPlan,
    AcceptStroke,
    Where,
    apply_plan,
    describe_classes,
    plan_accept,
)
from cocoseg_gui.core.proposals.batch import (
    ACCEPTED,
    EDITED,
    SKIPPED,
    ProposalsFolder,
    default_proposals_dir,
    find_proposals,
    propose_folder,
)
from cocoseg_gui.core.proposals.proposal import Proposal
from cocoseg_gui.core.proposals.source import TORCHVISION_MODELS, SourceCache, SourceSpec, source_score
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.services.device_probe import preload_torch_modules
from cocoseg_gui.gui.services.workers import JobWorker, describe_progress
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.widgets.model_question import confirm_model_quality
from cocoseg_gui.gui.widgets.proposal_bar import SOURCE_FILE, SOURCE_PROJECT, SOURCE_TV_FILE, ProposalBar
from cocoseg_gui.gui.widgets.proposal_layer import ProposalLayer

if TYPE_CHECKING:
    from cocoseg_gui.core.editing.editor import ImageEditor
    from cocoseg_gui.core.project.image_view_state import ImageViewState
    from cocoseg_gui.core.project.project import Project
    from cocoseg_gui.gui.services.image_source import ImageSource

BOX, STROKE = "box", "stroke"
DEVICE = "auto"  # a GPU when there is one: proposals are interactive

ANY_TORCHVISION = "torchvision"  # preload: checkpoints and torchvision sources may both need it


def _propose(
    cache: SourceCache, spec: SourceSpec, target: dict[int, str], rgb: np.ndarray, image_id: int, **_job: Any
) -> tuple[int, Proposal]:
    return image_id, cache.get(spec, target, DEVICE).propose(rgb)


def _load_review(folder: ProposalsFolder, file_name: str, image_id: int, **_job: Any) -> tuple[int, Proposal]:
    return image_id, folder.load(file_name)


def _find(masks_dir: Path, candidates: list[Path], **_job: Any) -> ProposalsFolder | None:
    return find_proposals(masks_dir, candidates)


class ProposalsHost(Protocol):
    """What the controller reads and drives in the workspace that owns it (the Images workspace): the
    shown image, the editor its accepts go through, the open source; it steps to an image to review."""

    view_state: ImageViewState
    editor: ImageEditor
    source: ImageSource | None

    @property
    def editing(self) -> bool: ...

    def save_current(self) -> bool: ...

    def select_image(self, image_id: int) -> None: ...


class ProposalsController(QObject):
    """The proposal layer, bar, keys and jobs of one ImagesWorkspace.

    Its dependencies are passed in: ``ws`` (what it reads and drives), ``frame`` (the window its bar,
    keys and dialogs belong to), ``scene`` (where the proposal layer draws), ``status`` (the status bar).
    """

    def __init__(
        self,
        ws: ProposalsHost,
        frame: QMainWindow,
        scene: QGraphicsScene,
        status: Callable[[str, int], None],
    ) -> None:
        super().__init__(frame)
        self.ws = ws
        self.frame = frame
        self._show_status = status
        self._quality_confirmed: set[str] = set()  # models the user chose to run despite a weak score
        self.layer = ProposalLayer(scene)
        self.bar = ProposalBar(frame)
        self.act_propose = self._action("&Propose (model)", "proposals.propose", self.propose)
        self.act_accept_all = self._action(
            "Accept &all of the proposal", "proposals.accept_all", self.accept_all
        )
        self.act_next = self._action("Next unreviewed proposal", "proposals.next", self.next_unreviewed)
        for act, short in (
            (self.act_propose, "Propose"),
            (self.act_accept_all, "Accept all"),
            (self.act_next, "Next"),
        ):
            act.setIconText(short)  # the bar's button; the full text stays in menus and the shortcuts list
        self.bar.install(self.act_propose, self.act_accept_all, self.act_next)
        frame.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        frame.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.bar.setVisible(False)
        self.bar.set_busy(False)
        self.bar.set_review("")
        self.bar.source_chosen.connect(self.choose_source)
        self.bar.act_accept_class.triggered.connect(self.accept_class)
        self.bar.act_accept_box.toggled.connect(lambda on: self._set_mode(BOX if on else None))
        self.bar.act_accept_stroke.toggled.connect(lambda on: self._set_mode(STROKE if on else None))
        self.bar.act_reject.triggered.connect(self.reject)
        self.bar.act_confidence.toggled.connect(lambda _on: self._show())
        self.bar.confidence_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.bar.act_batch.triggered.connect(self.propose_unlabelled)
        self.bar.cancel_button.clicked.connect(self.cancel_batch)
        self.bar.act_review_accept.triggered.connect(lambda: self.review_step(ACCEPTED))
        self.bar.act_review_edit.triggered.connect(lambda: self.review_step(EDITED))
        self.bar.act_review_skip.triggered.connect(lambda: self.review_step(SKIPPED))

        self.choice = SOURCE_PROJECT
        self.session_checkpoint: Path | None = None
        self.project_checkpoint: Path | None = None  # the project's recorded one, until the session has one
        self.file_spec: SourceSpec | None = None
        self.cache = SourceCache()
        self.proposal: Proposal | None = None
        self.proposal_image: int | None = None
        self.mode: str | None = None
        self._drag: tuple[float, float] | None = None
        self._stroke: list[tuple[float, float]] = []
        self.job: JobWorker | None = None
        self.batch_job: JobWorker | None = None
        self.review: ProposalsFolder | None = None
        self.project_folder: Path | None = None
        self.last_error = ""
        ws.view_state.image_changed.subscribe(self._on_image)
        self.set_editing(False)

    def _action(self, text: str, shortcut: str, slot: Callable[[], object]) -> QAction:
        action = shortcuts.bind(QAction(text, self.frame), shortcut)
        action.setToolTip(f"{text.replace('&', '')} ({', '.join(shortcuts.keys(shortcut))})")
        action.triggered.connect(lambda _c=False: slot())
        self.frame.addAction(action)  # listed by the shortcuts dialog with the workspace's other keys
        return action

    def _status(self, text: str, ms: int = 6000) -> None:
        self._show_status(text, ms)

    # ------------------------------------------------------------------------------------- hooks
    def set_editing(self, on: bool) -> None:
        self.bar.setVisible(on)
        for act in (self.act_propose, self.act_accept_all, self.act_next):
            act.setEnabled(on)
        if not on:
            self.bar.act_accept_box.setChecked(False)
            self.bar.act_accept_stroke.setChecked(False)
            self.layer.hide()
        else:
            self._show()
            self.refresh_review()

    def set_session_checkpoint(self, path: Path | None) -> None:
        """The session's checkpoint changed (chosen, or a training / fine-tune ended): "Project
        checkpoint" proposes with it from the next proposal on."""
        self.session_checkpoint = Path(path) if path is not None else None

    def set_project(self, project: Project | None) -> None:
        saved = project is not None and project.file.is_file()
        self.project_folder = project.folder if saved and project is not None else None
        self.project_checkpoint = project.checkpoint if project is not None else None

    def masks_changed(self) -> None:
        self.cache.clear()
        self.review = None
        self.bar.set_review("")
        self.reject()
        if self.ws.editing:
            self.refresh_review()

    def busy_job(self) -> str | None:
        running = self.batch_job is not None and self.batch_job.is_running()
        return "proposing for the unlabelled images" if running else None

    def shutdown(self) -> None:
        for job in (self.job, self.batch_job):
            if job is not None:
                job.cancel()
                job.wait(30_000)

    # ------------------------------------------------------------------------------------ source
    def spec(self) -> SourceSpec | None:
        if self.choice == SOURCE_PROJECT:
            checkpoint = self.session_checkpoint or self.project_checkpoint
            return SourceSpec(checkpoint=checkpoint) if checkpoint else None
        if self.choice in (SOURCE_FILE, SOURCE_TV_FILE):
            return self.file_spec
        return SourceSpec(torchvision=self.choice)

    def choose_source(self, choice: str, path: Path | None = None) -> None:
        """The Model box: the project's checkpoint, a file (asked for unless ``path``), torchvision."""
        if choice in (SOURCE_FILE, SOURCE_TV_FILE):
            if path is None:
                title = "Checkpoint file" if choice == SOURCE_FILE else "Torchvision weights file"
                chosen, _ = QFileDialog.getOpenFileName(
                    self.frame, title, "", "Weights (*.pt *.pth);;All files (*)"
                )
                if not chosen:
                    self._sync_combo()
                    return
                path = Path(chosen)
            if choice == SOURCE_FILE:
                self.file_spec = SourceSpec(checkpoint=path)
            else:
                model = next((m for m in TORCHVISION_MODELS if m in path.name), None)
                if model is None:
                    show_error(
                        self.frame, "Cannot use these weights",
                        f"{path}: the file name does not say which torchvision model it is "
                        f"(one of {', '.join(TORCHVISION_MODELS)})",
                    )  # fmt: skip
                    self._sync_combo()
                    return
                self.file_spec = SourceSpec(torchvision=model, weights=path)
        self.choice = choice
        self._sync_combo()

    def _sync_combo(self) -> None:
        combo = self.bar.source_combo
        combo.setCurrentIndex(max(0, combo.findData(self.choice)))

    # ----------------------------------------------------------------------------------- propose
    def propose(self) -> None:
        """M: a proposal for the shown image (a worker; the first one loads the model)."""
        image, spec = self.ws.view_state.image, self.spec()
        if not self.ws.editing or image is None or self.ws.editor.current_image is None:
            self._status("Proposals work in Edit mode (E) on a shown image")
            return
        if spec is None:
            self._status(
                "No checkpoint in this project yet: train one, or choose a checkpoint file or "
                "torchvision weights in the Model box",
                10000,
            )
            return
        if self.job is not None and self.job.is_running():
            self._status("A proposal is still being computed")
            return
        preload_torch_modules(ANY_TORCHVISION)  # jobs never import (the shiboken import-hook crash)
        if not self._model_good_enough(spec):
            return
        job = JobWorker(_propose, self.cache, spec, self.ws.editor.class_names(), image.rgb, image.image_id)
        job.succeeded.connect(self._on_proposal)
        job.failed.connect(lambda exc: self._failed("Cannot propose", exc))
        self.job = job
        job.start()
        self._status(f"Proposing with {spec.label}…", 0)

    def _model_good_enough(self, spec: SourceSpec) -> bool:
        """A weak or unscored model is named before its first proposal (once per model: M is pressed on
        every image); the user may still use it. The batch records the score in proposals.json."""
        if spec.label in self._quality_confirmed:
            return True
        score = source_score(spec)
        if not confirm_model_quality(self.frame, "Propose", score):
            self._status(f"Not proposing: {score.describe()}", 10000)
            return False
        self._quality_confirmed.add(spec.label)
        return True

    def _on_proposal(self, result: tuple[int, Proposal]) -> None:
        image_id, proposal = result
        image = self.ws.view_state.image
        if image is None or image.image_id != image_id:
            return  # another image is shown by now
        self.proposal, self.proposal_image = proposal, image_id
        self._show()
        counts = proposal.class_pixels()
        names = [
            self.ws.editor.class_name(i)
            for i in sorted(counts, key=counts.__getitem__, reverse=True)
            if i > 0
        ]
        self._status(f"Proposal: {', '.join(names[:5]) or 'background only'}", 8000)

    def _failed(self, title: str, exc: BaseException) -> None:
        self.last_error = str(exc)
        self._status("")
        if isinstance(exc, CocoSegError | OSError):
            show_error(self.frame, title, exc)
        else:
            show_error(self.frame, title, f"{type(exc).__name__}: {exc}")

    def _show(self) -> None:
        image = self.ws.view_state.image
        if (
            self.proposal is None
            or image is None
            or image.labels is None
            or image.image_id != self.proposal_image
            or not self.ws.editing
        ):
            self.layer.hide()
            return
        self.layer.show(
            self.proposal, np.asarray(image.labels.colors), image.size, self.bar.confidence_kind()
        )

    def _on_image(self, event: ImageChanged) -> None:
        image = self.ws.view_state.image
        if image is None or image.image_id != self.proposal_image:
            self.proposal, self.proposal_image = None, None
            self._stroke, self._drag = [], None
            self.layer.hide()
            self._load_reviewed()

    # ------------------------------------------------------------------------------------ accept
    def accept_mode(self) -> AcceptMode:
        return AcceptMode.REPLACE if self.bar.act_replace.isChecked() else AcceptMode.FILL

    def accept_where(self, where: Where) -> Box | None:
        """Accept in ``where`` as one undo step; the changed box, None when the user declined to replace
        labelled pixels."""
        editor = self.ws.editor
        labels = editor.current_labels
        if self.proposal is None or labels is None or editor.current_image != self.proposal_image:
            self._status("No proposal for this image: press M to propose")
            return Box.empty_box()
        proposal = self.proposal.resized(labels.shape)
        plan = plan_accept(labels, proposal, where, self.accept_mode())
        if plan.replaced and not self.confirm_replace(plan):
            self._status("Not accepted: the labelled pixels are kept")
            return None
        box = apply_plan(editor, proposal, plan)
        self._status(self._accepted_text(plan, box), 10000)
        return box

    def confirm_replace(self, plan: AcceptPlan) -> bool:
        """Ask before labelled pixels are replaced, saying how many of which classes."""
        classes = describe_classes(plan.replaced, self.ws.editor.class_name)
        also = f" It also labels {plan.filled:,} unlabelled pixels." if plan.filled else ""
        text = (
            f"Accepting this proposal replaces {plan.replaced_pixels:,} labelled pixels: {classes}.{also}\n\n"
            "Undo (Ctrl+Z) takes the whole accept back in one step."
        )
        yes, cancel = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel
        return QMessageBox.question(self.frame, "Replace labelled pixels?", text, yes | cancel, cancel) == yes

    def _accepted_text(self, plan: AcceptPlan, box: Box) -> str:
        kept = (
            f"; {plan.kept_pixels:,} labelled pixels kept (Replace labels changes them)" if plan.kept else ""
        )
        if box.empty:
            return f"Nothing to accept there{kept}"
        if plan.replaced:
            return (
                f"Accepted: {plan.filled:,} unlabelled and {plan.replaced_pixels:,} labelled pixels changed"
            )
        return f"Accepted: {plan.filled:,} unlabelled pixels labelled{kept}"

    def accept_all(self) -> Box | None:
        return self.accept_where(AcceptAll())

    def accept_class(self) -> None:
        self.accept_where(AcceptClass(self.ws.editor.settings.active_class))

    def reject(self) -> None:
        self.proposal, self.proposal_image = None, None
        self.bar.act_accept_box.setChecked(False)
        self.bar.act_accept_stroke.setChecked(False)
        self.layer.hide()

    def _set_mode(self, mode: str | None) -> None:
        if mode == BOX:
            self.bar.act_accept_stroke.setChecked(False)
        elif mode == STROKE:
            self.bar.act_accept_box.setChecked(False)
        if mode is None and (self.bar.act_accept_box.isChecked() or self.bar.act_accept_stroke.isChecked()):
            return
        self.mode = mode
        self._drag, self._stroke = None, []
        self.layer.set_box(None)
        self.layer.set_stroke(())

    def _scale(self) -> tuple[float, float]:
        image = self.ws.view_state.image
        return image.mask_scale if image is not None else (1.0, 1.0)

    def handle_mouse(self, kind: QEvent.Type, event: QMouseEvent, point: tuple[float, float] | None) -> bool:
        """Box or stroke accept with the left button; True when the event was used."""
        if self.mode is None or point is None:
            return False
        sx, sy = self._scale()
        left = event.button() == Qt.MouseButton.LeftButton
        if kind == QEvent.Type.MouseButtonPress and left:
            self._drag, self._stroke = point, [point]
        elif kind == QEvent.Type.MouseMove and self._drag is not None:
            if self.mode == BOX:
                (x0, y0), (x1, y1) = self._drag, point
                self.layer.set_box(QRectF(QPointF(x0 * sx, y0 * sy), QPointF(x1 * sx, y1 * sy)))
            else:
                self._stroke.append(point)
                r = self.ws.editor.settings.brush_radius
                self.layer.set_stroke([QPointF(x * sx, y * sy) for x, y in self._stroke], (2 * r + 1) * sx)
        elif kind == QEvent.Type.MouseButtonRelease and left and self._drag is not None:
            if self.mode == BOX:
                (x0, y0), (x1, y1) = self._drag, point
                box = Box(
                    math.floor(min(y0, y1)), math.floor(min(x0, x1)),
                    math.floor(max(y0, y1)) + 1, math.floor(max(x0, x1)) + 1,
                )  # fmt: skip
                self.accept_where(AcceptBox(box))
            else:
                s = self.ws.editor.settings
                self.accept_where(AcceptStroke(tuple(self._stroke), s.brush_radius, s.tip))
            self._drag, self._stroke = None, []
            self.layer.set_box(None)
            self.layer.set_stroke(())
        else:
            return False  # other buttons (panning), moves without a drag (the brush cursor)
        return True

    # ------------------------------------------------------------------------------------- batch
    def _masks_dir(self) -> Path | None:
        source = self.ws.source
        return source.masks_dir if source is not None else None

    def proposals_dir(self) -> Path | None:
        masks = self._masks_dir()
        return default_proposals_dir(masks, self.project_folder) if masks is not None else None

    def propose_unlabelled(self) -> None:
        """Propose for every image of the open dataset without a saved mask into the proposals folder."""
        spec, masks, out, source = self.spec(), self._masks_dir(), self.proposals_dir(), self.ws.source
        if spec is None or masks is None or out is None or source is None:
            self._status("Choose a model (Model box) and open a mask folder first", 8000)
            return
        if self.batch_job is not None and self.batch_job.is_running():
            return
        preload_torch_modules(ANY_TORCHVISION)
        if not self._model_good_enough(spec):
            return
        job = JobWorker(propose_folder, spec, masks, out, source.images_dir, device=DEVICE)
        job.progress.connect(self._on_batch_progress)
        job.succeeded.connect(
            lambda r: self._status(
                f"{len(r.written)} proposals written to {r.out} ({r.total} unlabelled images)", 10000
            )
        )
        job.failed.connect(lambda exc: self._failed("Cannot propose for the unlabelled images", exc))
        job.cancelled.connect(
            lambda: self._status(f"Cancelled; {out} keeps what was written: run again to continue")
        )
        job.done.connect(self._on_batch_done)
        self.batch_job = job
        self.bar.set_busy(True, "Proposing %p%")
        self.bar.progress.setValue(0)
        job.start()

    def _on_batch_progress(self, event: object) -> None:
        if isinstance(event, Progress) and event.total:
            self.bar.progress.setValue(int(100 * event.done / event.total))
            self.bar.progress.setToolTip(describe_progress(event))

    def cancel_batch(self) -> None:
        if self.batch_job is not None:
            self.batch_job.cancel()

    def _on_batch_done(self) -> None:
        self.bar.set_busy(False)
        self.refresh_review()

    # ------------------------------------------------------------------------------------ review
    def refresh_review(self) -> None:
        """Look for a proposals folder of the open mask folder (in a worker: it reads its manifest)."""
        masks = self._masks_dir()
        if masks is None:
            return
        candidates = [default_proposals_dir(masks, self.project_folder), default_proposals_dir(masks)]
        job = JobWorker(_find, masks, candidates)
        job.succeeded.connect(lambda folder, m=masks: self._on_review(folder, m))
        job.start()

    def _on_review(self, folder: ProposalsFolder | None, masks: Path) -> None:
        if masks != self._masks_dir():
            return
        self.review = folder
        self._update_review_label()
        if folder is not None and self.proposal is None:
            self._load_reviewed()

    def _update_review_label(self) -> None:
        if self.review is None:
            self.bar.set_review("")
            return
        pending = sum(e.status == "pending" for e in self.review.entries.values())
        self.bar.set_review(f"Proposals: {pending} of {len(self.review.entries)} to review")

    def _load_reviewed(self) -> None:
        image = self.ws.view_state.image
        if self.review is None or image is None or image.file_name not in self.review.entries:
            return
        job = JobWorker(_load_review, self.review, image.file_name, image.image_id)
        job.succeeded.connect(self._on_proposal)
        job.failed.connect(lambda exc: self._failed("Cannot read the proposal", exc))
        job.start()

    def review_step(self, status: str) -> None:
        """Accept (and save, then the next), Edit (accept and stay), Skip (the next)."""
        image = self.ws.view_state.image
        if self.review is None or image is None or image.file_name not in self.review.entries:
            self._status("This image has no proposal in the proposals folder")
            return
        if status in (ACCEPTED, EDITED) and self.accept_all() is None:
            return  # the user kept the labelled pixels: nothing saved, nothing recorded
        if status == ACCEPTED and not self.ws.save_current():
            return
        try:
            self.review.set_status(image.file_name, status)
        except (CocoSegError, OSError) as exc:
            self._failed("Cannot record the review", exc)
            return
        self._update_review_label()
        if status != EDITED:
            self.next_unreviewed()

    def next_unreviewed(self) -> None:
        """N: show the next image whose proposal is not reviewed yet."""
        image, source = self.ws.view_state.image, self.ws.source
        if self.review is None or source is None:
            self._status("No proposals folder for this mask folder")
            return
        name = self.review.next_unreviewed(image.file_name if image is not None else None)
        if name is None:
            self._status("Every proposal is reviewed")
            return
        try:
            image_id = source.index.image_by_file(name).id
        except KeyError:
            self._status(f"{name} is not in the open dataset")
            return
        self.ws.select_image(image_id)
