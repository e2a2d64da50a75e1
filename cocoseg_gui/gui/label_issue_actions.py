"""Tools › Find likely label errors… and Tools › Rank images by uncertainty…: the rankings of
core.quality in the window.

App layer, beside ``dataset_actions``: each action runs its job in a ``JobWorker`` (progress dialog with
Cancel), then gives the browser its sort ("most suspicious first", "most uncertain first") and outlines
the shown image's suspicious regions in the viewer (``widgets/issue_outline.py``), the score in the
status bar and the outline's tooltip. Results are written next to the masks (label_issues.json,
uncertainty.json) and read back, off the GUI thread, whenever a mask folder is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QMenu, QProgressDialog

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback
from cocoseg_gui.core.project.image_view_state import ShownImage
from cocoseg_gui.core.quality.image_scores import DEFAULT_SCORE
from cocoseg_gui.core.quality.issues_file import (
    LABEL_ISSUES_FILE,
    UNCERTAINTY_FILE,
    LabelIssues,
    UncertaintyRanking,
    read_label_issues,
    read_uncertainty,
)
from cocoseg_gui.core.training.model_score import score_of_run_checkpoint
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.device_probe import preload_torch_modules
from cocoseg_gui.gui.services.preferences import OUTLINES_KEY, read_preferences
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.browser import DatasetBrowser
from cocoseg_gui.gui.widgets.browser.filtering import SortKey
from cocoseg_gui.gui.widgets.dialogs import job_progress_dialog, show_error
from cocoseg_gui.gui.widgets.find_issues_dialog import FindIssuesDialog
from cocoseg_gui.gui.widgets.issue_outline import IssueOutline
from cocoseg_gui.gui.widgets.model_question import confirm_model_quality
from cocoseg_gui.gui.window_hooks import WindowHooks

Rankings = tuple[LabelIssues | None, UncertaintyRanking | None]


def read_rankings(
    folder: Path, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
) -> Rankings:
    """The rankings saved in a mask folder (a job: large datasets make large files); unreadable = none."""
    found: list[Any] = []
    for name, reader in ((LABEL_ISSUES_FILE, read_label_issues), (UNCERTAINTY_FILE, read_uncertainty)):
        path = folder / name
        try:
            found.append(reader(path) if path.is_file() else None)
        except CocoSegError:
            found.append(None)  # damaged: as if never run (the next run rewrites it)
    return found[0], found[1]


def _find_issues(checkpoint: Path, masks: Path, **kwargs: Any) -> LabelIssues:
    from cocoseg_gui.core.quality.job import find_label_issues

    # the mask folder's ranking is the window's own file: a rerun replaces it (the output guard still runs)
    return find_label_issues(checkpoint, masks, out=masks / LABEL_ISSUES_FILE, replace_own=True, **kwargs)


def _rank_uncertain(
    checkpoint: Path, images_dir: Path, out: Path | None, **kwargs: Any
) -> UncertaintyRanking:
    from cocoseg_gui.core.quality.job import rank_uncertain

    return rank_uncertain(checkpoint, images_dir, out=out, replace_own=True, **kwargs)


class LabelIssueActions(QObject):
    """The Tools menu's two rankings, their jobs, the browser's sorts and the viewer's outline.

    Given what it uses of the Images workspace: the ``browser`` it sorts, the viewer's ``scene`` it
    outlines in and ``shown_image`` (the image looked at); the window calls ``outline_current`` when
    another image is shown.
    """

    def __init__(
        self,
        state: AppState,
        hooks: WindowHooks,
        browser: DatasetBrowser,
        scene: QGraphicsScene,
        shown_image: Callable[[], ShownImage | None],
    ) -> None:
        super().__init__(hooks.parent)
        window = hooks.parent
        self.window = window
        self.hooks = hooks
        self.state = state
        self.browser = browser
        self._shown_image = shown_image
        self.issues: LabelIssues | None = None
        self.uncertainty: UncertaintyRanking | None = None
        self.job: JobWorker | None = None
        self._job_title = ""
        self.progress_dialog: QProgressDialog | None = None
        self.options_dialog: FindIssuesDialog | None = None
        self.outline = IssueOutline(scene)
        self.act_find = QAction("Find likely &label errors…", window)
        self.act_find.setToolTip(
            "Rank the open mask folder's images by how confidently a checkpoint disagrees with their masks"
        )
        self.act_find.triggered.connect(lambda _c=False: self.find_issues())
        self.act_rank = QAction("Rank images by &uncertainty…", window)
        self.act_rank.setToolTip("Sort the images by how unsure a checkpoint is about them: label these next")
        self.act_rank.triggered.connect(lambda _c=False: self.rank_uncertain())
        # the outlines can be hidden (they clutter painting); the choice is remembered
        self.act_show_outlines = QAction("Outline likely label errors", window, checkable=True)
        self.act_show_outlines.setToolTip("Draw boxes around the shown image's suspicious regions")
        self.act_show_outlines.setChecked(read_preferences(self.state.settings).outline_issues)
        self.act_show_outlines.toggled.connect(self._on_show_outlines)
        self.state.masks_dir_changed.connect(self.reload)
        self.state.dataset_loaded.connect(self.reload)  # a dataset comes with its masks

    def install(self, menu: QMenu) -> None:
        menu.addAction(self.act_find)
        menu.addAction(self.act_rank)
        menu.addSeparator()
        menu.addAction(self.act_show_outlines)

    # -- choosing a checkpoint
    def _checkpoint(self, title: str) -> Path | None:
        """The session's checkpoint, confirmed or replaced in a file dialog."""
        current = self.state.checkpoint_path
        start = str(current) if current is not None else self.hooks.dialog_dir()
        chosen, _ = QFileDialog.getOpenFileName(
            self.window, title, start, "Checkpoints (*.pt);;All files (*)"
        )
        return Path(chosen) if chosen else None

    def _model_good_enough(self, title: str, checkpoint: Path) -> bool:
        """A weak or unscored model is named before it runs (its score is read from its run folder's JSON,
        cheap enough for the GUI thread); the user may still run it."""
        score = score_of_run_checkpoint(checkpoint)
        if confirm_model_quality(self.window, title, score):
            return True
        self.state.status_message.emit(f"{title}: not run ({score.describe()})")
        return False

    # -- the jobs
    def find_issues(
        self,
        checkpoint: Path | None = None,
        *,
        score: str = DEFAULT_SCORE,
        cross_fit: int = 0,
        fold_epochs: int | None = None,
    ) -> JobWorker | None:
        """Rank the open mask folder. ``checkpoint`` None: the options dialog (``options_dialog``,
        the session's checkpoint filled in) asks first and Find starts the job; None is returned."""
        masks = self.state.masks_dir
        if masks is None:
            show_error(
                self.window,
                "Find likely label errors",
                "No mask folder is open: generate masks in the Masks panel or open one (File › Open mask "
                "folder…) first.",
            )
            return None
        if checkpoint is None:
            self._ask_find_options()
            return None
        if not self._model_good_enough("Find likely label errors", checkpoint):
            return None
        folds = {"epochs": fold_epochs} if cross_fit and fold_epochs else None
        job = JobWorker(_find_issues, checkpoint, masks, score=score, cross_fit=cross_fit, fold_options=folds)
        title = "Finding likely label errors" + (f" (cross-fitting, {cross_fit} models)" if cross_fit else "")
        return self._start(title, job, self._on_issues)

    def _ask_find_options(self) -> None:
        if self.options_dialog is not None:
            self.options_dialog.raise_()
            return
        dialog = FindIssuesDialog(self.state.checkpoint_path, self.window)
        self.options_dialog = dialog

        def accepted() -> None:
            chosen = dialog.options()
            if chosen is not None:
                self.find_issues(
                    chosen.checkpoint, score=chosen.score, cross_fit=chosen.cross_fit,
                    fold_epochs=chosen.fold_epochs,
                )  # fmt: skip

        def finished(_result: int) -> None:
            self.options_dialog = None
            dialog.deleteLater()

        dialog.accepted.connect(accepted)
        dialog.finished.connect(finished)
        dialog.open()

    def rank_uncertain(self, checkpoint: Path | None = None) -> JobWorker | None:
        """Rank the open dataset's images by the model's uncertainty."""
        index, images_dir, table = self.state.index, self.state.images_dir, self.browser.table
        if index is None or images_dir is None or table is None:
            show_error(self.window, "Rank images by uncertainty", "No dataset is open: open one first.")
            return None
        checkpoint = checkpoint or self._checkpoint("Rank images by uncertainty: choose a checkpoint")
        if checkpoint is None or not self._model_good_enough("Rank images by uncertainty", checkpoint):
            return None
        labelled = frozenset(n for n, m in zip(table.names, table.has_mask) if m)
        masks = self.state.masks_dir
        out = masks / UNCERTAINTY_FILE if masks is not None else None
        job = JobWorker(
            _rank_uncertain, checkpoint, images_dir, out, names=list(table.names), labelled=labelled
        )
        return self._start("Ranking images by uncertainty", job, self._on_uncertainty)

    def _start(self, title: str, job: JobWorker, on_result: Any) -> JobWorker | None:
        if self.job is not None:
            show_error(self.window, title, "A ranking is already running: wait for it or cancel it.")
            return None
        preload_torch_modules()  # jobs never import (PySide6's import hook in worker threads)
        dialog = job_progress_dialog(self.window, f"{title}…", title, job)
        self.progress_dialog = dialog
        job.succeeded.connect(on_result)
        job.failed.connect(lambda exc: show_error(self.window, title, exc))
        job.cancelled.connect(lambda: self.state.status_message.emit(f"{title}: cancelled"))
        job.done.connect(self._on_done)
        self.job, self._job_title = job, title
        dialog.show()
        job.start()
        return job

    def _on_done(self) -> None:
        self.job = None
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def busy_job(self) -> str | None:
        """What quitting would stop, for the quit question (None when no ranking runs)."""
        return self._job_title.lower() if self.job is not None else None

    # -- results
    def _on_issues(self, result: LabelIssues) -> None:
        self.show_issues(result, select=True)
        top = result.images[0] if result.images else None
        if top is not None:
            how = f", cross-fitted with {result.cross_fit} models" if result.cross_fit else ""
            self.state.status_message.emit(
                f"{len(result.images)} images ranked, most suspicious first{how}: {top.file} "
                f"(score {top.score:.3f})"
            )

    def _on_uncertainty(self, result: UncertaintyRanking) -> None:
        self.show_uncertainty(result, select=True)
        self.state.status_message.emit(f"{len(result.images)} images ranked, most uncertain first")

    def show_issues(self, result: LabelIssues | None, select: bool = False) -> None:
        self.issues = result
        self.browser.set_ranking(SortKey.SUSPICIOUS, result.scores() if result else None, select)
        self.outline_current()

    def show_uncertainty(self, result: UncertaintyRanking | None, select: bool = False) -> None:
        self.uncertainty = result
        self.browser.set_ranking(SortKey.UNCERTAIN, result.scores() if result else None, select)

    def reload(self) -> None:
        """The rankings saved in the newly opened mask folder (none: the sorts go away; a sort chosen
        stays chosen when the folder has its ranking)."""
        masks = self.state.masks_dir
        self.issues = None  # no outline on the new folder's images until its ranking is read
        self.outline_current()
        if masks is None:
            self.show_issues(None)
            self.show_uncertainty(None)
            return
        job = JobWorker(read_rankings, masks)
        job.succeeded.connect(lambda found: self._reloaded(masks, found))
        job.start()

    def _reloaded(self, masks: Path, found: Rankings) -> None:
        if self.state.masks_dir != masks:
            return  # another folder was opened meanwhile
        self.show_issues(found[0])
        self.show_uncertainty(found[1])

    def _on_show_outlines(self, on: bool) -> None:
        self.state.settings.setValue(OUTLINES_KEY, "true" if on else "false")
        self.outline_current()

    def outline_current(self) -> None:
        """Outline the shown image's suspicious regions; its score in the status bar."""
        shown = self._shown_image()
        entry = self.issues.by_file().get(shown.file_name) if self.issues and shown else None
        if shown is None or entry is None or not entry.regions or not self.act_show_outlines.isChecked():
            self.outline.hide()
            self.outline.regions = ()
            return
        w, h = shown.size
        names = self.issues.class_names if self.issues else []
        self.outline.show(entry.regions, names, w / entry.width, h / entry.height)
        top = entry.regions[0]
        self.state.status_message.emit(
            f"{shown.file_name}: likely label error score {entry.score:.3f} · {len(entry.regions)} regions"
            f" outlined · largest: {names[top.given]} where the model says {names[top.predicted]}"
        )
