"""scripts/gpu-check stops at once, saying why, where there is no CUDA GPU (it is run by hand on one)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from tests.e2e.test_ddp import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: run scripts/gpu-check itself")
def test_gpu_check_fails_clearly_without_a_gpu() -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        [str(REPO / "scripts" / "gpu-check")], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("gpu-check: no CUDA GPU: torch ") and "Traceback" not in proc.stderr
    assert proc.stdout == ""
