"""The official SAM and MobileSAM weights files: where they are published, what their names promise.

Plain data (no torch import) for the CLI's help and lists. ``download_sam_weights`` is the one explicit
download (``cocoseg download-weights sam_vit_b``): streamed, cancellable, checked against the length
the server announces and, for SAM, the MD5 prefix the publisher put in the file name
(``sam_vit_b_01ec64.pth``), then renamed into torch's cache beside torchvision's files. MobileSAM's
publisher gives no hash: only the length is checked, and the SHA-256 received is shown (ADR 0038).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback
from cocoseg_gui.core.training.pretrained import (
    OFFLINE_ENV,
    URL_BASE_ENV,
    Downloaded,
    PretrainedWeightsUnavailable,
    download_checked,
    sha256_of,
)

SAM_BASE = "https://dl.fbaipublicfiles.com/segment_anything"
MOBILE_SAM_BASE = "https://github.com/ChaoningZhang/MobileSAM/raw/master/weights"


@dataclass(frozen=True)
class SamWeightsFile:
    name: str  # what the user types
    label: str
    base_url: str
    file_name: str
    size_bytes: int  # as served when this table was written (shown; the server's announced length is checked)
    md5_prefix: str | None  # the publisher's hash in the name, if any

    def url(self) -> str:
        """The official address, or the same name under $COCOSEG_WEIGHTS_URL (a mirror, the tests' server)."""
        base = os.environ.get(URL_BASE_ENV, "").strip() or self.base_url
        return f"{base.rstrip('/')}/{self.file_name}"

    def official_url(self) -> str:
        return f"{self.base_url}/{self.file_name}"

    def cache_path(self) -> Path:
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints" / self.file_name


SAM_WEIGHTS: dict[str, SamWeightsFile] = {
    w.name: w
    for w in (
        SamWeightsFile("mobile_sam", "MobileSAM", MOBILE_SAM_BASE, "mobile_sam.pt", 40_728_226, None),
        SamWeightsFile("sam_vit_b", "SAM ViT-B", SAM_BASE, "sam_vit_b_01ec64.pth", 375_042_383, "01ec64"),
        SamWeightsFile("sam_vit_l", "SAM ViT-L", SAM_BASE, "sam_vit_l_0b3195.pth", 1_249_524_607, "0b3195"),
        SamWeightsFile("sam_vit_h", "SAM ViT-H", SAM_BASE, "sam_vit_h_4b8939.pth", 2_564_550_879, "4b8939"),
    )
}  # fmt: skip


def resolve_sam_weights(text: str | Path) -> Path:
    """``--sam-weights``: a file, or the name of an official file downloaded before (``mobile_sam``)."""
    path = Path(text)
    entry = SAM_WEIGHTS.get(str(text))
    if entry is None or path.exists():
        return path
    cached = entry.cache_path()
    if not cached.is_file():
        raise DatasetError(
            cached, f"{entry.label} weights are not downloaded: `cocoseg download-weights {entry.name}`, or "
            f"download {entry.official_url()} on a connected machine and give the file",
        )  # fmt: skip
    return cached


def download_sam_weights(
    entry: SamWeightsFile, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
) -> Downloaded:
    """Fetch ``entry`` into torch's cache (only when asked: the CLI command, a Download button); a file
    already there is kept and its SHA-256 shown."""
    path = entry.cache_path()
    if path.is_file() and (entry.md5_prefix is None or _md5_of(path, cancel).startswith(entry.md5_prefix)):
        return Downloaded(path, sha256_of(path, cancel), path.stat().st_size)  # (a damaged copy is replaced)
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise PretrainedWeightsUnavailable(
            f"{entry.label} weights are not at {path} and {OFFLINE_ENV} is set: download "
            f"{entry.official_url()} on a machine with network and copy it to {path}"
        )
    return download_checked(entry.url(), path, entry.label, progress, cancel, md5_prefix=entry.md5_prefix)


def _md5_of(path: Path, cancel: CancelToken | None) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            if cancel is not None:
                cancel.raise_if_cancelled()
    return digest.hexdigest()
