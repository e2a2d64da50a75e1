"""ExportRequest: File › Export labels' fields as a typed, Qt-free value, checked before the job.

The dialog (gui/widgets/export_dialog.py) builds one from its widgets and shows the OptionsError of
``checked()``; the job then runs ``core.formats.export_job.export_labels`` on what it returns. The output
guard (ADR 0024) still runs first inside the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.formats.registry import COCO


@dataclass(frozen=True)
class ExportRequest:
    """The output (a JSON file for COCO, a folder otherwise) and the original annotations as typed (text);
    ``use_original``: the box ticked (COCO only); ``segmentation``: COCO's rle or polygon."""

    out: str
    use_original: bool
    original: str
    segmentation: str = "rle"
    label_format: str = COCO

    @property
    def coco(self) -> bool:
        return self.label_format == COCO

    def checked(self) -> tuple[Path, Path | None]:
        """(output, original annotations or None); OptionsError saying which field to fill."""
        use_original = self.coco and self.use_original
        out, original = self.out.strip(), self.original.strip() if use_original else ""
        if not out:
            raise OptionsError(
                "Choose the output file (a new .json file)." if self.coco else "Choose the output folder."
            )
        if use_original and not original:
            raise OptionsError(
                "Choose the original annotations file, or untick the box to write every image from its mask."
            )
        return Path(out).expanduser(), Path(original).expanduser() if original else None
