"""Turn a job's exception into a clear message and a hint for what to do next."""

from __future__ import annotations

import errno
from dataclasses import dataclass

from cocoseg_gui.core.errors import CocoSegError, DatasetError, OptionsError, describe_os_error


@dataclass(frozen=True)
class ErrorReport:
    title: str
    message: str
    hint: str

    def text(self) -> str:
        return f"{self.message}\n\nHint: {self.hint}" if self.hint else self.message


def describe_error(exc: BaseException) -> ErrorReport:
    """A title, the message and a hint for ``exc`` (CUDA OOM, bad options, missing files, ...)."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "out of memory" in low or type(exc).__name__ == "OutOfMemoryError":
        return ErrorReport(
            "Out of memory",
            "The device ran out of memory: " + text.splitlines()[0],
            "Lower the batch size or image size, turn on AMP (mixed precision) or use gradient accumulation.",
        )
    if isinstance(exc, DatasetError):
        hint = "Check the file named above."
        if "could be read" in low:
            hint = "Check that the images folder of the mask dataset's manifest exists and holds the images."
        elif "category_mapping" in low or "mask" in low or "manifest" in low:
            hint = "Generate a mask dataset first (Masks panel or `cocoseg masks`) and choose its folder."
        elif "image" in low:
            hint = "Check that the images folder of the mask dataset's manifest exists and holds the images."
        return ErrorReport("Dataset problem", text, hint)
    if isinstance(exc, OptionsError):
        return ErrorReport("Invalid option", text, "Correct the option in the form and start again.")
    if isinstance(exc, FileNotFoundError):
        return ErrorReport("File not found", text, "Choose an existing file or folder.")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ErrorReport(
            "Disk full",
            describe_os_error(exc),
            "Free some space, then Resume from the run folder: training continues from last.pt.",
        )
    if isinstance(exc, OSError) and (exc.filename or exc.strerror):
        return ErrorReport(
            "Cannot read or write a file", describe_os_error(exc), "Check the file named above."
        )
    if isinstance(exc, CocoSegError):
        return ErrorReport("Cannot run", text, "")
    if "cuda" in low and ("not available" in low or "no cuda" in low or "invalid device" in low):
        return ErrorReport("Device not available", text, "Choose another device (cpu) in the form.")
    return ErrorReport(type(exc).__name__, text, "See the log for details.")
