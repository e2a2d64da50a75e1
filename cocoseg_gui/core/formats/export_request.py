"""ExportRequest: the Export to COCO dialog's fields as a typed, Qt-free value, checked before the job.

The dialog (gui/widgets/export_coco_dialog.py) builds one from its widgets and shows the OptionsError of
``checked()``; the job then runs ``core.formats.coco_export.export_coco`` on what it returns. The output
guard (ADR 0024) still runs first inside the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import OptionsError


@dataclass(frozen=True)
class ExportRequest:
    """The output file and the original annotations as typed (text); ``use_original``: the box ticked."""

    out: str
    use_original: bool
    original: str
    format: str = "rle"

    def checked(self) -> tuple[Path, Path | None]:
        """(output file, original annotations or None); OptionsError saying which field to fill."""
        out, original = self.out.strip(), self.original.strip() if self.use_original else ""
        if not out:
            raise OptionsError("Choose the output file (a new .json file).")
        if self.use_original and not original:
            raise OptionsError(
                "Choose the original annotations file, or untick the box to write every image from its mask."
            )
        return Path(out).expanduser(), Path(original).expanduser() if original else None
