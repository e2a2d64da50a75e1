"""Workspaces as units (issue 9 item 5): every tab implements the Workspace protocol, says which long job
it runs (busy_job) and ends it (stop); the window and the screenshot driver use nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.project.workbench import LoadedDataset
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets import existing_run_dialog as existing_run
from cocoseg_gui.gui.workspaces.evaluate_panel import EvaluatePanel
from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel
from cocoseg_gui.gui.workspaces.predict_panel import PredictPanel
from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo, Workspace
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.test_train_panel import fill_tiny
from tests.gui.training_panel_fixtures import *  # noqa: F403
from tests.gui.window_helpers import WAIT_MS, make_window, open_and_wait

GUI = Path(__file__).resolve().parents[2] / "cocoseg_gui" / "gui"
LONG_MS = 120000


def make(qtbot, cls, settings, masks: Path | None = None):
    state = AppState(settings=settings)
    if masks is not None:
        state.set_masks_dir(masks)
    workspace = cls(state)
    qtbot.addWidget(workspace)
    return workspace


def open_demo(state: AppState, annotations: Path, images: Path, cache: Path) -> None:
    index = CocoIndex.load(annotations, cache_dir=cache)
    state.workbench.set_loaded(LoadedDataset(index, annotations, images), state.masks_dir)


@pytest.mark.parametrize("cls", [MasksPanel, TrainPanel, PredictPanel, EvaluatePanel])
def test_every_workspace_implements_the_protocol(qtbot, temp_settings, cls) -> None:
    workspace = make(qtbot, cls, temp_settings)
    assert isinstance(workspace, Workspace)
    assert workspace.busy_job() is None
    workspace.stop()  # nothing running: nothing happens
    workspace.shutdown()
    assert workspace.busy_job() is None


def test_masks_busy_while_generating_and_stop_cancels(
    qtbot, temp_settings, tmp_path, val_annotations, val_images
) -> None:
    panel = make(qtbot, MasksPanel, temp_settings)
    open_demo(panel.state, val_annotations, val_images, tmp_path / "cache")
    panel.set_output_dir(tmp_path / "masks")
    with qtbot.waitSignal(panel.generation_finished, timeout=LONG_MS) as finished:
        panel.generate()
        assert panel.busy_job() == "mask generation"
        panel.stop()
    assert finished.args == ["cancelled"]
    assert panel.busy_job() is None and panel.generate_button.isEnabled()


def test_train_busy_while_training_stop_ends_it_and_the_run_folder_stays(
    qtbot, temp_settings, tiny_masks, tmp_path, monkeypatch
) -> None:
    """Issue 9: after Stop the Run folder silently became a fresh folder; it now keeps the stopped run,
    and Start on it again asks (new folder, resume, overwrite) instead of changing it unseen."""
    panel = make(qtbot, TrainPanel, temp_settings, tiny_masks)
    run = tmp_path / "run"
    fill_tiny(panel, run, epochs=50)
    assert panel.start(), panel.last_error
    assert panel.busy_job() == "training"
    qtbot.waitUntil(lambda: panel.plots.series["step_loss"].size >= 1, timeout=LONG_MS)
    with qtbot.waitSignal(panel.run_finished, timeout=LONG_MS):
        panel.stop()
    assert panel.busy_job() is None and panel.status.end_status == "cancelled"
    assert (run / "last.pt").is_file()
    assert panel.form.out.text() == str(run)

    asked: list[Path] = []
    monkeypatch.setattr(
        existing_run, "ask_existing_run", lambda parent, out, *a: asked.append(out) or "cancel"
    )
    assert panel.start() is False  # Cancel in the question: nothing starts, the field is unchanged
    assert asked == [run] and panel.form.out.text() == str(run)
    monkeypatch.setattr(existing_run, "ask_existing_run", lambda *a: existing_run.NEW_FOLDER)
    with qtbot.waitSignal(panel.run_finished, timeout=LONG_MS):
        assert panel.start(), panel.last_error
        assert panel.form.out.text() == str(tmp_path / "run-2")  # the chosen new folder, shown at Start
        panel.stop()
    assert panel.form.out.text() == str(tmp_path / "run-2")


def test_evaluate_busy_while_evaluating_and_stop_cancels(qtbot, temp_settings, tiny_run, tiny_masks) -> None:
    panel = make(qtbot, EvaluatePanel, temp_settings)
    panel.checkpoint.setCurrentText(str(tiny_run / "best.pt"))
    panel.data.setText(str(tiny_masks))
    assert panel.start(), panel.last_error
    assert panel.busy_job() == "evaluation"
    panel.stop()
    qtbot.waitUntil(lambda: panel.busy_job() is None, timeout=LONG_MS)
    assert panel.summary.text() == "evaluation cancelled" and panel.result is None
    assert panel.run_button.isEnabled()


def test_predict_busy_while_exporting_and_stop_cancels(
    qtbot, temp_settings, tiny_run, val_images, tmp_path
) -> None:
    panel = make(qtbot, PredictPanel, temp_settings)
    panel.load_checkpoint(tiny_run / "best.pt")
    qtbot.waitUntil(lambda: panel.predictor is not None, timeout=LONG_MS)
    assert panel.busy_job() is None  # loading a model is not a job worth asking about at quit
    job = panel.export(val_images, tmp_path / "out")
    assert job is not None and panel.busy_job() == "prediction export"
    with qtbot.waitSignal(job.cancelled, timeout=LONG_MS):
        panel.stop()
    qtbot.waitUntil(lambda: panel.busy_job() is None, timeout=LONG_MS)
    assert "export cancelled" in panel.status.text()


def test_the_window_asks_busy_job_before_closing_and_shuts_every_workspace_down(
    qtbot, tmp_path, val_annotations, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations)
    masks = window.panels["masks"]
    masks.set_output_dir(tmp_path / "masks")
    asked: list[str] = []

    def answer_yes(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    masks.generate()
    assert window.running_jobs() == ["mask generation"]
    window.close()
    assert asked and asked[0].startswith("Mask generation still running")
    assert not window.isVisible() and not masks.worker.is_running()  # shutdown() waited for the thread
    qtbot.waitUntil(lambda: window.running_jobs() == [], timeout=WAIT_MS)  # its outcome arrives queued


def test_the_screenshot_driver_makes_demo_masks_when_none_are_open(
    qtbot, temp_settings, tmp_path, monkeypatch
) -> None:
    """The driver generates the demo masks into a temporary folder and opens them (it looked for the demo
    one folder above the checkout after the gui/ move, and Train, Predict and Evaluate showed nothing)."""
    from cocoseg_gui.gui import screenshots

    monkeypatch.setattr(screenshots, "temp_root", tmp_path)
    state = AppState(settings=temp_settings)
    demos: list[ScreenshotDemo] = []
    failed: list[str] = []
    state.status_message.connect(failed.append)
    screenshots.make_demo(screenshots.NEEDS["train"], state, demos.append, lambda: None)
    qtbot.waitUntil(lambda: bool(demos or failed), timeout=LONG_MS)
    assert not failed and len(demos) == 1
    demo = demos[0]
    assert demo.masks_dir is not None and demo.masks_dir.parent == tmp_path
    assert (demo.masks_dir / "category_mapping.json").is_file() and state.masks_dir == demo.masks_dir
    assert demo.checkpoint is None  # Train needs no checkpoint: none is trained
    assert demo.new_folder("x").parent == tmp_path


def private_uses_outside(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls``: a module reaching into another object's privates."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_gui_module_touches_another_objects_private_members() -> None:
    """Every module of gui/ (the window, its controllers, workspaces, widgets, services) talks to other
    objects through public methods: issue 20 found the controllers calling ``window._fail`` and
    ``window._dialog_dir`` (this test covered only app.py, main_window.py and screenshots.py)."""
    modules = sorted(GUI.rglob("*.py"))
    assert len(modules) > 50 and GUI / "project_actions.py" in modules
    found = [u for path in modules for u in private_uses_outside(path)]
    assert found == []


def test_the_private_member_check_finds_a_reach_into_another_object(tmp_path) -> None:
    module = tmp_path / "reach.py"
    module.write_text("def f(window):\n    window._fail('x')\n    self._ok = window.model._rows\n")
    assert sorted(private_uses_outside(module)) == [
        "reach.py:2: window._fail",
        "reach.py:3: window.model._rows",
    ]


def protocol_members(*classes: str) -> set[str]:
    """The names the protocol classes of workspaces/protocol.py declare (methods, properties, attributes)."""
    tree = ast.parse((GUI / "workspaces" / "protocol.py").read_text(encoding="utf-8"))
    members = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in classes:
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
    return members


def images_uses(path: Path) -> set[str]:
    """What ``path`` uses of the Images workspace: ``self.images.X``, ``window.images.X``, ``images.X``."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if (isinstance(owner, ast.Name) and owner.id == "images") or (
            isinstance(owner, ast.Attribute) and owner.attr == "images"
        ):
            used.add(node.attr)
    return used


def test_the_window_uses_the_images_workspace_only_through_its_protocol(qtbot) -> None:
    """Issue 20: MainWindow used about 25 members of the Images workspace beyond its protocol (its browser's
    model, the editor's notes, the proposals controller, the docks); ImagesApi now lists all the app layer
    (the window, the screenshot driver) may use."""
    from PySide6.QtWidgets import QWidget

    from cocoseg_gui.gui.workspaces.images_workspace import ImagesWorkspace

    allowed = protocol_members("Workspace", "ImagesApi")
    used = set().union(*(images_uses(GUI / name) for name in ("main_window.py", "app.py", "screenshots.py")))
    assert {"set_dataset", "select_image", "notices", "busy_job"} <= allowed
    assert len(used) > 30 and used <= allowed, sorted(used - allowed)
    workspace = ImagesWorkspace(QWidget())
    qtbot.addWidget(workspace)
    assert [name for name in sorted(allowed) if not hasattr(workspace, name)] == []
