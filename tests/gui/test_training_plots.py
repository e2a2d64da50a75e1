"""Per-class IoU bars: as many class names as fit beside the axis, never overlapping (1024x700 too)."""

from __future__ import annotations

from cocoseg_gui.gui.widgets.training_plots import BAR_LABEL_PX, MAX_BARS, TrainingPlots


def _shown_names(plots: TrainingPlots) -> list[str]:
    ticks = plots.class_plot.getPlotItem().getAxis("left")._tickLevels  # what setTicks was given
    return [name for _pos, name in ticks[0]] if ticks else []


def test_bars_follow_the_plot_height(qtbot) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(620, 420)  # the Train workspace's plot area at 1024x700
    plots.show()
    qtbot.waitExposed(plots)
    iou = {f"class {i}": 1 - i / 50 for i in range(40)}
    plots.add_event({"type": "epoch", "epoch": 1, "per_class_iou": iou})
    plots.flush()
    short = _shown_names(plots)
    assert 3 <= len(short) < MAX_BARS
    assert len(short) * BAR_LABEL_PX <= plots.class_plot.height()  # one name per label's height
    assert short == [f"class {i}" for i in range(len(short))]  # the best ones
    title = plots.class_plot.getPlotItem().titleLabel.text
    assert f"best {len(short)} of 40" in title

    plots.resize(1600, 1400)
    qtbot.waitUntil(lambda: plots.class_plot.height() > 600)
    plots.flush()
    assert len(_shown_names(plots)) == MAX_BARS
