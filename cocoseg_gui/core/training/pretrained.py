"""Torchvision's pretrained weights, fetched and read by us rather than by torchvision's builders.

torchvision's builders unpickle the hub cache without ``weights_only``: a file planted there under the
expected name would run its code, and a wrong file gives a traceback. So every pretrained file is
checked against the sha256 prefix its name carries (``-<hex>.pth``, torchvision's published hash) and
read with ``torch.load(weights_only=True)``; a wrong or missing file is named with how to fetch the
right one. ``download_weights`` is the one explicit download (CLI ``cocoseg download-weights``, GUI
Tools menu): streamed, cancellable, hash-checked, renamed atomically into ``torch.hub.get_dir()``.
The table is plain data (no torch import), so the CLI's help and the GUI's dialog stay fast; a test
checks it against torchvision's own ``WeightsEnum``s. (ADR 0025)
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cocoseg_gui.core.errors import CocoSegError, DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_open
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback, RateMeter, report
from cocoseg_gui.core.training.model_registry import model_spec

URL_BASE = "https://download.pytorch.org/models"
URL_BASE_ENV = "COCOSEG_WEIGHTS_URL"  # another base URL (a mirror, or a local server in tests)
OFFLINE_ENV = "COCOSEG_OFFLINE"  # set to 1 to never try a download
DOWNLOAD_TIMEOUT_S = 20.0
_CHUNK = 1 << 20
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth?$")


class PretrainedWeightsUnavailable(CocoSegError):
    """Pretrained weights are neither in the torch cache nor downloadable."""


@dataclass(frozen=True)
class WeightsFile:
    """One torchvision weights file: ``name`` is what the user types (the model it belongs to)."""

    name: str
    kind: str  # "coco" (COCO_WITH_VOC_LABELS, whole model) or "imagenet" (a backbone)
    file_name: str
    size_mb: float
    label: str  # torchvision's WeightsEnum name, as its documentation writes it

    @property
    def hash_prefix(self) -> str:
        prefix = hash_prefix(self.file_name)
        assert prefix is not None
        return prefix

    def url(self) -> str:
        """Where to download it: torchvision's server, or the base URL in $COCOSEG_WEIGHTS_URL."""
        base = os.environ.get(URL_BASE_ENV, "").strip() or URL_BASE
        return f"{base.rstrip('/')}/{self.file_name}"

    def cache_path(self) -> Path:
        """Where torchvision (and we) keep it: ``torch.hub.get_dir()/checkpoints/<file>``."""
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints" / self.file_name

    def how_to_fetch(self) -> str:
        return (
            f"fetch it with `cocoseg download-weights {self.name}` (in the window: Tools › Download "
            f"pretrained weights…), or download {URL_BASE}/{self.file_name} on a machine with network and "
            f"copy it to {self.cache_path()}"
        )


WEIGHTS: dict[str, WeightsFile] = {
    w.name: w
    for w in (
        WeightsFile("lraspp_mobilenet_v3_large", "coco", "lraspp_mobilenet_v3_large-d234d4ea.pth", 12.5,
                    "LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1"),
        WeightsFile("deeplabv3_mobilenet_v3_large", "coco", "deeplabv3_mobilenet_v3_large-fc3c493d.pth", 42.3,
                    "DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1"),
        WeightsFile("deeplabv3_resnet50", "coco", "deeplabv3_resnet50_coco-cd0a2569.pth", 160.5,
                    "DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1"),
        WeightsFile("fcn_resnet50", "coco", "fcn_resnet50_coco-1167a1af.pth", 135.0,
                    "FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1"),
        WeightsFile("mobilenet_v3_large", "imagenet", "mobilenet_v3_large-8738ca79.pth", 21.1,
                    "MobileNet_V3_Large_Weights.IMAGENET1K_V1"),
        WeightsFile("resnet50", "imagenet", "resnet50-0676ba61.pth", 97.8, "ResNet50_Weights.IMAGENET1K_V1"),
    )
}  # fmt: skip


def weights_for(model: str, pretrained: str) -> WeightsFile:
    """The file ``build_model(model, pretrained=coco|imagenet)`` needs (named by the model registry)."""
    name = model_spec(model).weights.get(pretrained) if pretrained in ("coco", "imagenet") else None
    entry = WEIGHTS.get(name) if name is not None else None
    if entry is None or entry.kind != pretrained:
        raise OptionsError(f"model {model!r} has no {pretrained} weights")
    return entry


def hash_prefix(file_name: str) -> str | None:
    """The sha256 prefix a torchvision-style name carries (``resnet50-0676ba61.pth``), else None."""
    match = _HASH_IN_NAME.search(file_name)
    return match.group(1) if match else None


def sha256_of(path: Path, cancel: CancelToken | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if cancel is not None:
                cancel.raise_if_cancelled()
    return digest.hexdigest()


def check_hash(path: Path, how_to_fetch: str = "") -> None:
    """Refuse a file whose name carries a sha256 prefix that its content does not have."""
    prefix = hash_prefix(path.name)
    if prefix is None:
        return
    actual = sha256_of(path)
    if not actual.startswith(prefix):
        hint = f"; {how_to_fetch}" if how_to_fetch else ""
        raise DatasetError(
            path,
            f"not the published file: its name promises a sha256 starting {prefix}, its content's is "
            f"{actual[: len(prefix)]} (damaged, truncated or replaced){hint}",
        )


def read_state_dict(path: Path, how_to_fetch: str = "") -> dict[str, Any]:
    """A weights file's state_dict: hash checked, read with ``weights_only=True``; DatasetError if not."""
    import torch

    from cocoseg_gui.core.training.checkpoint import load_failure_reason

    if not path.is_file():
        raise DatasetError(path, f"weights file not found; {how_to_fetch}" if how_to_fetch else "not found")
    check_hash(path, how_to_fetch)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise DatasetError(path, f"cannot load weights: {load_failure_reason(path, exc)}") from None
    if (
        not isinstance(state, dict)
        or not state
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items())
    ):
        hint = f"; {how_to_fetch}" if how_to_fetch else ""
        raise DatasetError(path, f"not a state_dict (tensors named by strings){hint}")
    return state


def cached_state_dict(entry: WeightsFile, download: bool = True) -> dict[str, Any]:
    """``entry``'s state_dict from the torch cache; with ``download`` a missing file is fetched first
    (short timeout, refused under $COCOSEG_OFFLINE). Raises PretrainedWeightsUnavailable or DatasetError."""
    path = entry.cache_path()
    if not path.is_file():
        if not download:
            raise PretrainedWeightsUnavailable(
                f"pretrained weights {entry.label} are not on this computer (looked for {path}): "
                f"{entry.how_to_fetch()}"
            )
        try:
            download_weights(entry)
        except PretrainedWeightsUnavailable as exc:
            raise PretrainedWeightsUnavailable(f"{exc}; or start without pretrained weights (none)") from None
    return read_state_dict(path, entry.how_to_fetch())


def download_weights(
    entry: WeightsFile,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """Download ``entry`` into the torch cache and return its path (a present, intact file is kept).

    Streamed in 1 MiB chunks with progress in KiB; cancel stops at the next chunk (or when a stalled
    read times out); the sha256 prefix
    of the name is checked before the file is renamed into place, so the cache never holds a partial
    or wrong file under the real name.
    """
    path = entry.cache_path()
    if path.is_file():
        try:
            check_hash(path)
            return path
        except DatasetError:
            pass  # a damaged copy: replace it
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise PretrainedWeightsUnavailable(
            f"pretrained weights {entry.label} are not cached at {path} and {OFFLINE_ENV} is set: "
            f"download {URL_BASE}/{entry.file_name} on a machine with network and copy it to {path}"
        )
    return download_file(entry.url(), path, entry.label, progress, cancel, timeout_s)


def download_file(
    url: str,
    path: Path,
    label: str = "",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """``url`` -> ``path`` through a temporary file; the sha256 prefix in ``path``'s name must match."""
    return download_checked(url, path, label, progress, cancel, timeout_s).path


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str  # of what was received: shown to the user, who may compare it with a published one
    size: int


def download_checked(
    url: str,
    path: Path,
    label: str = "",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
    md5_prefix: str | None = None,
) -> Downloaded:
    """``download_file``, also checking ``md5_prefix`` (SAM's file names carry their MD5's start) and
    the length the server announced; the file is renamed into place only when all of them match."""
    if urlparse(url).scheme not in ("http", "https"):
        raise OptionsError(f"{URL_BASE_ENV} must be an http(s) URL, got {url!r}")
    prefix = hash_prefix(path.name)
    what = label or path.name
    try:
        response = urllib.request.urlopen(url, timeout=timeout_s)  # the scheme was checked above
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PretrainedWeightsUnavailable(
            f"could not download {what} from {url} ({reason}); without network, download it on another "
            f"machine and copy it to {path}"
        ) from None
    with response:
        total = int(response.headers.get("Content-Length") or 0)
        meter = RateMeter(-(-total // 1024))  # progress in KiB: readable rates, ints a dialog takes
        digest = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False) if md5_prefix else None
        done = 0
        with atomic_open(path, "wb") as fh:
            while True:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                try:
                    chunk = response.read(_CHUNK)
                except OSError as exc:  # a stall past the timeout, a reset connection
                    if cancel is not None:
                        cancel.raise_if_cancelled()  # cancelled while the read waited: that is the news
                    raise PretrainedWeightsUnavailable(
                        f"the download of {what} from {url} broke off after {done} bytes ({exc}); try again"
                    ) from None
                if not chunk:
                    break
                fh.write(chunk)
                digest.update(chunk)
                if md5 is not None:
                    md5.update(chunk)
                done += len(chunk)
                if meter.due(done // 1024):
                    report(progress, meter.progress(done // 1024, _megabytes(done, total)))
            actual = digest.hexdigest()
            if total and done != total:
                raise PretrainedWeightsUnavailable(
                    f"the download of {what} from {url} stopped at {done} of {total} bytes; try again"
                )
            if prefix is not None and not actual.startswith(prefix):
                raise PretrainedWeightsUnavailable(
                    f"{url} did not send the published {path.name}: its sha256 starts "
                    f"{actual[: len(prefix)]}, the name promises {prefix}; nothing was kept in {path.parent}"
                )
            if md5 is not None and md5_prefix is not None and not md5.hexdigest().startswith(md5_prefix):
                raise PretrainedWeightsUnavailable(
                    f"{url} did not send the published {path.name}: its MD5 starts {md5.hexdigest()[:6]}, "
                    f"the name promises {md5_prefix}; nothing was kept in {path.parent}"
                )
    report(progress, meter.progress(-(-done // 1024), _megabytes(done, total)))
    return Downloaded(path, actual, done)


def _megabytes(done: int, total: int) -> str:
    return f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
