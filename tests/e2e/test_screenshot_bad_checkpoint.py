"""A project whose checkpoint is garbage or a pickle: `cocoseg-gui --panel predict|evaluate --screenshot`
shows the problem and goes on (it waited 300 s for a prediction that could not come, and evaluate's
role question waited for nobody); the pickle never runs (issue 18 item 14)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from cocoseg_gui.cli import main as cli_main
from tests.e2e.test_gui_screenshot import NO_WAITING_S, REPO, run_gui


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's train and val with their masks, in a project folder."""
    folder = tmp_path_factory.mktemp("project")
    assert cli_main(["project", "init", str(folder), "--coco", str(REPO / "resources" / "sample_coco")]) == 0
    for split in ("val2017", "train2017"):
        assert cli_main(["masks", "--project", str(folder), "--dataset", split, "--workers", "1"]) == 0
    return folder / "cocoseg-project.json"


@pytest.mark.parametrize(("panel", "kind"), [("predict", "pickle"), ("evaluate", "garbage")])
def test_a_bad_project_checkpoint_is_shown_and_the_screenshot_goes_on(
    project: Path, tmp_path: Path, panel: str, kind: str
) -> None:
    marker = tmp_path / "marker"
    bad = tmp_path / f"{kind}.pt"
    if kind == "pickle":
        buf = io.BytesIO()
        torch.save({"format": "cocoseg-checkpoint", "model": _Evil(marker)}, buf)
        bad.write_bytes(buf.getvalue())
    else:
        bad.write_bytes(b"\x00garbage, not a checkpoint" * 40)
    data = json.loads(project.read_text())
    data["checkpoint"] = str(bad)
    project.write_text(json.dumps(data))
    shot = tmp_path / "shot.png"
    result = run_gui(
        tmp_path,
        "--annotations",
        str(project),
        "--panel",
        panel,
        "--screenshot",
        str(shot),
        timeout=NO_WAITING_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "saved" in result.stdout and shot.is_file() and "timed out" not in result.stderr
    reason = "refused for safety" if kind == "pickle" else "not a file written by torch.save"
    assert f"cocoseg-gui: warning: the {panel} panel: {bad}: not a cocoseg checkpoint" in result.stderr
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
