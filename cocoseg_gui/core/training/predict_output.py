"""Where predictions may be written: never over inputs, ground truth, or files predict did not write.

`cocoseg predict` and the GUI's batch export write ``OUT/<stem>.png`` (and ``OUT/overlays/...``).
Before a run, :func:`check_predict_out` refuses an OUT that is (or is inside) an input folder or a
mask dataset folder, and any existing target that an earlier predict run did not write, unless
``overwrite``. :class:`PredictRecord` keeps ``OUT/predict_manifest.jsonl``: one line per file predict
wrote (its size and mtime), so a rerun may replace its own outputs but not a file the user put or
edited there. See docs/adr/0005-predict-output-safety.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_text
from cocoseg_gui.core.files.output_guard import is_mask_folder
from cocoseg_gui.core.files.safe_paths import is_within

PREDICT_MANIFEST = "predict_manifest.jsonl"
OVERWRITE_HINT = "pass --overwrite to replace them, or choose another --out"


class ForeignFilesError(OptionsError):
    """OUT holds files at the target names that predict did not write (``files``: their paths)."""

    def __init__(self, out: Path, files: Sequence[Path], hint: str) -> None:
        self.out = out
        self.files = list(files)
        shown = ", ".join(p.relative_to(out).as_posix() for p in self.files[:3])
        more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
        n = len(self.files)
        super().__init__(
            f"{out} already holds {n} file{'s' if n != 1 else ''} that cocoseg predict did not write "
            f"({shown}{more}); {hint}"
        )


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class PredictRecord:
    """``OUT/predict_manifest.jsonl``: the files predict wrote into OUT (append-only, last line wins).

    A line is written before a batch (``pending``: the file may be half-way, it is ours) and after
    it (size and mtime), so a killed run still owns what it wrote. A torn last line is ignored.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / PREDICT_MANIFEST
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
                self.entries[str(entry["file"])] = entry
            except (ValueError, KeyError, TypeError):
                continue

    def owns(self, rel: str) -> bool:
        """True when predict wrote ``OUT/rel`` and nobody changed it since."""
        entry = self.entries.get(rel)
        if entry is None:
            return False
        if entry.get("pending"):
            return True
        return _stat_key(self.out / rel) == (entry.get("size"), entry.get("mtime_ns"))

    def _append(self, entries: Sequence[dict[str, Any]]) -> None:
        lines = [json.dumps(e) for e in entries]
        for e in entries:
            self.entries[e["file"]] = e
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))

    def pending(self, rels: Sequence[str]) -> None:
        self._append([{"file": r, "pending": True} for r in rels])

    def written(self, rels: Sequence[str]) -> None:
        entries = []
        for r in rels:
            key = _stat_key(self.out / r)
            if key is not None:
                entries.append({"file": r, "size": key[0], "mtime_ns": key[1]})
        self._append(entries)

    def compact(self) -> None:
        """Rewrite the record with one line per file still present (atomically)."""
        keep = [e for r, e in sorted(self.entries.items()) if (self.out / r).exists()]
        atomic_write_text(self.path, "".join(json.dumps(e) + "\n" for e in keep), fsync=False)


def check_predict_out(
    out: str | Path,
    inputs: Sequence[str | Path],
    targets: Sequence[str] = (),
    *,
    ground_truth: Sequence[str | Path] = (),
    overwrite: bool = False,
    overwrite_hint: str = OVERWRITE_HINT,
) -> PredictRecord | None:
    """Refuse an OUT where predictions would destroy data; return its record (None if OUT is new).

    ``inputs``: the image files and folders given; ``targets``: the files to write, relative to OUT
    (posix); ``ground_truth``: folders of ground truth to protect besides mask dataset folders.
    Raises OptionsError (ForeignFilesError for existing files predict did not write).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OptionsError(f"{out} is a file, not a folder: choose a folder for the predicted masks")
    real = Path(os.path.realpath(out))
    for item in inputs:
        p = Path(item)
        folder = Path(os.path.realpath(p))
        if p.is_dir() and is_within(real, folder):
            where = "is the input folder" if real == folder else "is inside the input folder"
            raise OptionsError(
                f"{out} {where} {p}: the masks would replace input images or be read as images by the "
                "next run; choose another output folder"
            )
    for folder in [real, *real.parents]:
        if is_mask_folder(folder):
            raise OptionsError(
                f"{out} is inside the mask dataset folder {folder}: predictions there would replace its "
                "ground-truth masks; choose another output folder"
            )
    for gt in ground_truth:
        if is_within(real, Path(os.path.realpath(gt))):
            raise OptionsError(
                f"{out} is (or is inside) the ground-truth folder {gt}: predictions there would replace "
                "ground truth; choose another output folder"
            )
    input_files = {os.path.realpath(p) for p in inputs if Path(p).is_file()}
    clash = [t for t in targets if os.path.realpath(out / t) in input_files]
    if clash:
        raise OptionsError(
            f"{out / clash[0]} is an input image: predicting into {out} would replace it; "
            "choose another output folder"
        )
    if not out.is_dir():
        return None
    record = PredictRecord(out)
    foreign = [out / t for t in targets if os.path.lexists(out / t) and not record.owns(t)]
    if foreign and not overwrite:
        raise ForeignFilesError(out, foreign, overwrite_hint)
    return record
