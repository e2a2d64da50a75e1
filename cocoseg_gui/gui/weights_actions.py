"""Tools › Download pretrained weights…: torchvision's published weights and the official SAM / MobileSAM
files into torch's cache, on request.

Pretrained training (COCO / ImageNet) and torchvision proposals read these files, click to segment the
SAM ones; the window never downloads them behind the user's back. This dialog lists them
(``core.training.pretrained.WEIGHTS``, ``core.segment.downloads.SAM_WEIGHTS``) and runs the download in a
``JobWorker`` with a progress dialog and Cancel; what the publisher gives (the sha256 or MD5 prefix in the
name, the length) is checked before the file is renamed into the cache, so a cancel or a bad server
leaves nothing; a SAM file's SHA-256 is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.segment.downloads import SAM_WEIGHTS, SamWeightsFile, download_sam_weights
from cocoseg_gui.core.training.pretrained import WEIGHTS, Downloaded, WeightsFile, download_weights
from cocoseg_gui.gui.services.device_probe import preload_torch_modules
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import job_progress_dialog, show_error

TITLE = "Download pretrained weights"


class WeightsDialog(QDialog):
    """The list of torchvision's files; Download starts the chosen one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weights_dialog")
        self.setWindowTitle(TITLE)
        intro = QLabel(
            "torchvision's published weights, for training with pretrained COCO or ImageNet weights and "
            "for proposals from a torchvision model, and SAM / MobileSAM for click to segment. The file "
            "goes into torch's cache after what its publisher gives (checksum, size) is checked."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        for entry in WEIGHTS.values():
            what = "COCO (VOC classes)" if entry.kind == "coco" else "ImageNet backbone"
            item = QListWidgetItem(f"{entry.name} — {what}, {entry.size_mb:.1f} MB")
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            item.setToolTip(f"{entry.label}: {entry.file_name}")
            self.list.addItem(item)
        for sam in SAM_WEIGHTS.values():
            item = QListWidgetItem(
                f"{sam.name} — {sam.label}, click to segment, {sam.size_bytes / 1e6:.1f} MB"
            )
            item.setData(Qt.ItemDataRole.UserRole, sam.name)
            item.setToolTip(sam.official_url())
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.status = QLabel("")
        self.status.setObjectName("weights_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.download_button = buttons.addButton("Download", QDialogButtonBox.ButtonRole.ActionRole)
        self.download_button.setDefault(True)  # Enter downloads the chosen file
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (intro, self.list, self.status, buttons):
            layout.addWidget(w)
        self.resize(560, 320)

    def chosen(self) -> WeightsFile | SamWeightsFile | None:
        item = self.list.currentItem()
        if item is None:
            return None
        name = item.data(Qt.ItemDataRole.UserRole)
        return WEIGHTS.get(name) or SAM_WEIGHTS.get(name)


class WeightsActions(QObject):
    """The Tools menu action, its dialog and the one download job."""

    def __init__(self, parent: QWidget, say: Callable[[str], None]) -> None:
        """``parent``: its dialogs' window; ``say``: a line for the status bar."""
        super().__init__(parent)
        self.window = parent
        self._status = say
        self.job: JobWorker | None = None
        self.dialog: WeightsDialog | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.act_download = QAction("Download pretrained &weights…", parent)
        self.act_download.setToolTip("Fetch torchvision's published weights into torch's cache")
        self.act_download.triggered.connect(lambda _c=False: self.open_dialog())

    def install(self, menu: QMenu) -> None:
        menu.addAction(self.act_download)

    def open_dialog(self) -> WeightsDialog:
        if self.dialog is None:
            self.dialog = WeightsDialog(self.window)
            self.dialog.download_button.clicked.connect(lambda _c=False: self._download_chosen())
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _download_chosen(self) -> None:
        entry = self.dialog.chosen() if self.dialog is not None else None
        if entry is not None:
            self.download(entry)

    def download(self, entry: WeightsFile | SamWeightsFile) -> JobWorker | None:
        """Download ``entry`` in a worker, a progress dialog with Cancel in front."""
        if self.job is not None:
            show_error(self.window, TITLE, "A download is already running: wait for it or cancel it.")
            return None
        preload_torch_modules()  # the job reads torch.hub's folder; jobs never import
        sam = isinstance(entry, SamWeightsFile)
        job = JobWorker(download_sam_weights, entry) if sam else JobWorker(download_weights, entry)
        dialog = job_progress_dialog(self.window, f"Downloading {entry.file_name}…", TITLE, job, "KiB")
        dialog.setObjectName("weights_progress")
        self.progress_dialog = dialog
        job.succeeded.connect(lambda got: self._say(_landed(entry, got)))
        job.failed.connect(lambda exc: self._failed(entry, exc))
        job.cancelled.connect(
            lambda: self._say(f"Download of {entry.file_name} cancelled; nothing was kept.")
        )
        job.done.connect(self._on_done)
        self.job = job
        self._say(f"Downloading {entry.file_name}…")
        dialog.show()
        job.start()
        return job

    def _failed(self, entry: WeightsFile | SamWeightsFile, exc: BaseException) -> None:
        self._say(f"{entry.file_name} was not downloaded.")
        show_error(self.window, TITLE, exc)

    def _say(self, text: str) -> None:
        if self.dialog is not None:
            self.dialog.status.setText(text)
        self._status(text)

    def _on_done(self) -> None:
        self.job = None
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None

    def busy_job(self) -> str | None:
        """What quitting would stop (the quit question)."""
        return "the weights download" if self.job is not None else None


def _landed(entry: WeightsFile | SamWeightsFile, got: object) -> str:
    if isinstance(got, Downloaded):
        return f"{entry.label} is in torch's cache: {got.path} (SHA-256 {got.sha256})"
    return f"{entry.label} is in torch's cache: {got}"
