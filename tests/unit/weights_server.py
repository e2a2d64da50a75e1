"""A real HTTP server on 127.0.0.1 serving a folder, for the weights download tests (no network).

``gate``: when set on the server, each response sends its first MiB and then waits for the gate, so a
test can act (cancel) while a download is provably under way, without a timing assumption."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class _Handler(BaseHTTPRequestHandler):
    server: WeightsServer

    def do_GET(self) -> None:
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data[: 1 << 20])
            self.wfile.flush()
            self.server.requests += 1
            if self.server.gate is not None:
                self.server.gate.wait(60)
            self.wfile.write(data[1 << 20 :])

    def log_message(self, *args: object) -> None:
        pass


class WeightsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.gate: threading.Event | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def named_by_hash(folder: Path, stem: str, data: bytes) -> Path:
    """``data`` written as ``stem-<its sha256 prefix>.pth``, as torchvision names its files."""
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    path.write_bytes(data)
    return path


@pytest.fixture(name="weights_server")
def weights_server_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WeightsServer]:
    """A server for ``tmp_path/served``, set as $COCOSEG_WEIGHTS_URL, with an empty TORCH_HOME."""
    root = tmp_path / "served"
    root.mkdir()
    server = WeightsServer(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("COCOSEG_WEIGHTS_URL", server.url)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("COCOSEG_OFFLINE", raising=False)
    try:
        yield server
    finally:
        if server.gate is not None:
            server.gate.set()
        server.shutdown()
        server.server_close()
