"""Issue 19 item 5 in a real window: Find likely label errors names a weak model's score before it runs
(Cancel runs nothing), runs a model that scores well without a question, and records the score it ran with
in label_issues.json."""

from __future__ import annotations

from pathlib import Path

from cocoseg_gui.core.quality.issues_file import LABEL_ISSUES_FILE, read_label_issues
from cocoseg_gui.core.training.model_score import WEAK_MIOU, score_of_run_checkpoint, weakness
from tests.gui.test_train_model_earns import run_scored
from tests.gui.training_panel_fixtures import *  # noqa: F403
from tests.gui.window_helpers import (  # noqa: F401
    WAIT_MS,
    answer_question,
    make_window,
    no_blocking_dialogs,
    open_and_wait,
)
from tests.label_corruption import copy_mask_folder


def test_a_weak_model_is_named_before_it_runs_and_a_good_one_runs_with_its_score_recorded(
    qtbot, tmp_path: Path, val_annotations, val_images, tiny_masks: Path, tiny_run: Path
) -> None:
    weak = tiny_run / "best.pt"
    score = score_of_run_checkpoint(weak)
    assert score.scored and weakness(score) is not None  # 3 tiny epochs on 8 images: a weak model
    masks = copy_mask_folder(tiny_masks, tmp_path / "masks")
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.open_masks(masks)
    actions = window.label_issues

    asked = answer_question(qtbot, "weak_model_question", "Cancel")
    assert actions.find_issues(weak) is None
    assert asked, "no question before running a weak model"
    text, details = asked
    assert "the model is weak" in text and f"val mIoU {score.miou:.3f} on 8 val images at 64 px" in text
    assert f"below {WEAK_MIOU:.2f}" in text and str(weak) in details
    assert actions.job is None and not (masks / LABEL_ISSUES_FILE).exists()  # Cancel ran nothing
    assert "not run" in window.statusBar().currentMessage()

    good = run_scored(tiny_run, tmp_path / "good", 0.9)
    job = actions.find_issues(good)  # no question (the autouse guard fails the test on any)
    assert job is not None
    qtbot.waitUntil(lambda: actions.job is None, timeout=WAIT_MS * 3)
    recorded = read_label_issues(masks / LABEL_ISSUES_FILE).model_score
    assert recorded is not None and recorded["miou"] == 0.9 and recorded["weak"] is False
    assert recorded["checkpoint"] == str(good)
