"""Run folder reading moved to ``core.training.run_reader`` (Qt-free); kept as an alias for old imports."""

from cocoseg_gui.core.training.run_reader import METRICS_FILE, latest_checkpoint, read_config, read_events

__all__ = ["METRICS_FILE", "latest_checkpoint", "read_config", "read_events"]
