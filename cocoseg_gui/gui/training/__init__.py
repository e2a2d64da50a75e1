"""GUI helpers for training: workers, plots, run history."""
