"""`cocoseg masks` on names leading outside the image folder and an --out in it (ADR 0003)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli_masks import cocoseg
from tests.unit.test_safe_paths import _bad_dataset


def test_masks_command_refuses_outside_names_and_out_in_images(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    ann, images, _ = _bad_dataset(tmp_path, val_annotations, val_images)
    args = ["--annotations", str(ann), "--images", str(images), "--workers", "1"]
    result = cocoseg(*args, "--out", str(tmp_path / "out"), cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 masks" in result.stdout and "4 image entries of" in result.stderr
    assert "'../../outside/secret0.jpg' climbs out of" in result.stderr and "Traceback" not in result.stderr
    followed = cocoseg(*args, "--out", str(tmp_path / "out2"), "--follow-symlinks", cache=tmp_path)
    assert (
        followed.returncode == 0 and "5 masks" in followed.stdout and "3 image entries of" in followed.stderr
    )
    refused = cocoseg(*args, "--out", str(images), "--overwrite", cache=tmp_path)
    assert refused.returncode == 2 and "cocoseg masks: error: the output folder" in refused.stderr
    assert "is the image folder" in refused.stderr and "Traceback" not in refused.stderr
