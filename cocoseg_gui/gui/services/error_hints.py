"""Turn a job's exception into a clear message and a hint for what to do next, in the GUI's words.

core/ speaks the CLI's language ("raise it with --max-image-pixels"); :func:`gui_wording` rewrites those
phrases to name the field or button of the GUI (or what the user can do here when the GUI has no such
option), so no command-line flag reaches a dialog, the status bar or the training log.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass

from cocoseg_gui.core.errors import CocoSegError, DatasetError, OptionsError, describe_os_error


@dataclass(frozen=True)
class ErrorReport:
    title: str
    message: str
    hint: str

    def text(self) -> str:
        return f"{self.message}\n\nHint: {self.hint}" if self.hint else self.message


# Whole phrases first (they need other words around the field), then any flag left by its form label.
_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r" ?\(raise it with --max-image-pixels if the image really is that large\)",
        " (the GUI skips images this large; if the annotations file gives a wrong width or height, "
        "correct it there)",
    ),
    (
        r" ?\(allowed only with --follow-symlinks\)",
        " (the GUI does not follow such links: copy the file into the folder instead)",
    ),
    (
        r"pass --overwrite to replace them, or choose another --out",
        "choose another output folder, or start again and answer Replace when asked",
    ),
    (
        r"--overlap priority needs --priority with a class order(?: \(e\.g\. [^)]*\))?",
        'Overlap "priority" needs a class order: drag the classes into the Priority list',
    ),
    (r"\(Masks panel, `cocoseg masks --classes`\)", "(the Classes list of the Masks panel)"),
    (r"--classes of `cocoseg masks`", "the Classes chosen in the Masks panel"),
    (r"\(cocoseg train --out\)", "(the Run folder of a training run)"),
    (r"^--out (?=.* is (?:the|inside the) (?:input annotations|mask folder))", "The output file "),
    (r"\(--crowd skip\)", "(Crowd: skip)"),
    (r"\(--val-on-train\)", "(Validation: the training data)"),
    (
        r"start a new run with --pretrained on this checkpoint",
        "start a new run with this checkpoint as Pretrained",
    ),
    (r"^invalid duration\b", "Time budget: invalid duration"),  # the Train form's name of the field
    (  # core/training/pretrained.py's how_to_fetch
        r"`cocoseg download-weights (\w+)` \(in the window: (Tools › Download pretrained weights…)\)",
        r"\2 (\1)",
    ),
    (r"\bmodel options?:? (?=\S)", "Model options: "),
)
_FLAG_LABELS = {
    "amp": "AMP",
    "batch-size": "Batch size",
    "classes": "Classes (Masks panel)",
    "crowd": "Crowd",
    "device": "Device",
    "epochs": "Epochs",
    "img-size": "Image size",
    "init-from": "Start from checkpoint",
    "lr": "Learning rate",
    "max-image-pixels": "the image pixel limit",
    "max-images": "Max images",
    "min-area": "Min area",
    "opset": "ONNX opset",
    "out": "output folder",
    "overlap": "Overlap",
    "overwrite": "Replace (when asked)",
    "pretrained": "Pretrained",
    "priority": "Priority",
    "resume": "Resume...",
    "tensorboard": "TensorBoard logging",
    "time-budget": "Time budget",
    "val-on-train": "Validation: the training data",
    "workers": "Workers",
}
_FLAG = re.compile(r"`?--([a-z][a-z0-9-]*)`?")


def gui_wording(text: str) -> str:
    """``text`` with command-line flags replaced by the GUI's field and button names."""
    for pattern, words in _PHRASES:
        text = re.sub(pattern, words, text)
    return _FLAG.sub(lambda m: _FLAG_LABELS.get(m.group(1), m.group(1).replace("-", " ").capitalize()), text)


def describe_error(exc: BaseException) -> ErrorReport:
    """A title, the message and a hint for ``exc`` (CUDA OOM, bad options, missing files, ...), GUI words."""
    report = _describe(exc)
    return ErrorReport(report.title, gui_wording(report.message), gui_wording(report.hint))


def _describe(exc: BaseException) -> ErrorReport:
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
            hint = (
                "Generate a mask dataset first (Masks panel, Generate masks) and choose it as Mask dataset."
            )
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
