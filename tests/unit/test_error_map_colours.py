"""The error map's colours stay apart for colour-blind users (issue 9: green/red was not)."""

from __future__ import annotations

import numpy as np
import pytest

from cocoseg_gui.core.quality.truth_compare import ERROR_CORRECT, ERROR_IGNORED, ERROR_WRONG, error_colors

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied in linear RGB
SIMULATIONS = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}  # fmt: skip


def _seen(rgb: np.ndarray, matrix: list[list[float]]) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = np.clip(np.asarray(matrix) @ linear, 0, 1)
    return 255 * np.where(out <= 0.0031308, out * 12.92, 1.055 * out ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("deficiency", sorted(SIMULATIONS))
def test_correct_wrong_and_ignored_stay_apart(deficiency: str) -> None:
    colors = error_colors()
    seen = {v: _seen(colors[v], SIMULATIONS[deficiency]) for v in (ERROR_CORRECT, ERROR_WRONG, ERROR_IGNORED)}
    assert np.linalg.norm(seen[ERROR_CORRECT] - seen[ERROR_WRONG]) > 150  # green/red gave 59 (deuteranopia)
    assert np.linalg.norm(seen[ERROR_WRONG] - seen[ERROR_IGNORED]) > 60
    assert np.linalg.norm(seen[ERROR_CORRECT] - seen[ERROR_IGNORED]) > 60
