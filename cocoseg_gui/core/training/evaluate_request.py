"""EvaluateRequest: the Evaluate panel's fields as a typed, Qt-free value, checked before a job starts.

Torch-free (``evaluate.py`` imports torch): the panel builds one from its widgets and shows the error of
``checked()``; the job then runs ``core.training.evaluate.evaluate`` on what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.masks.folder import check_mask_folder


@dataclass(frozen=True)
class EvaluateRequest:
    """A checkpoint and a mask folder as typed in the form (text), the device and the batch size."""

    checkpoint: str
    data: str
    device: str = "auto"
    batch_size: int = 4

    def checked(self) -> tuple[Path, Path]:
        """(checkpoint file, mask folder); CocoSegError naming what is missing: no checkpoint file, or a
        folder that is not a mask folder (DatasetError from ``check_mask_folder``)."""
        text = self.checkpoint.strip()
        checkpoint = Path(text) if text else None
        if checkpoint is None or not checkpoint.is_file():
            raise CocoSegError(
                f"{checkpoint or 'no checkpoint'}: checkpoint file not found; "
                "train one (Train panel) or choose a .pt file"
            )
        data = self.data.strip()
        return checkpoint, check_mask_folder(Path(data) if data else None)
