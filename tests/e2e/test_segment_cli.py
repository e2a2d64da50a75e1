# ruff: noqa: F811  (pytest fixtures imported from tests.unit.segment_fixtures)
"""`cocoseg segment` end to end with real MobileSAM (random weights): the mask at the image's size, the
embedding cached between runs, an earlier output replaced only with --overwrite, bad input named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.cli import main
from tests.unit.segment_fixtures import SAMPLE_IMAGE, mobile_sam_file, mobile_state  # noqa: F401


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "segment"


def test_segment_writes_the_mask_and_caches_the_embedding(
    mobile_sam_file: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mask.png"
    argv = ["segment", "--sam-weights", str(mobile_sam_file), "--image", str(SAMPLE_IMAGE), "--point",
            "200,150", "--point", "100,400,0", "--box", "50,60,250,440", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    first = capsys.readouterr().out
    assert "MobileSAM (TinyViT), image embedded" in first
    mask = np.asarray(Image.open(out))
    assert mask.shape == (640, 427) and set(np.unique(mask)) <= {0, 255}
    assert len(list(cache_dir.glob("*.npz"))) == 1

    assert main(argv) == 2  # the earlier output is kept unless asked
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert "embedding from the cache" in capsys.readouterr().out
    np.testing.assert_array_equal(np.asarray(Image.open(out)), mask)  # same prompt, same mask


def test_bad_weights_and_prompts_are_named_without_a_traceback(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "sam_vit_b_01ec64.pth"
    weights.write_bytes(b"PK\x03\x04 cut short")
    out = tmp_path / "mask.png"
    base = ["segment", "--sam-weights", str(weights), "--image", str(SAMPLE_IMAGE), "--out", str(out)]
    assert main([*base, "--point", "10,10"]) == 2
    err = capsys.readouterr().err
    assert f"{weights}: cannot read it as weights: truncated" in err and "Traceback" not in err
    assert main(base) == 2
    assert "give at least one --point" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--point", "10,10,7"])
    assert "label is 1 (object) or 0" in capsys.readouterr().err
    for bad in (["--point", "nan,4"], ["--box", "1,2,inf,4"], ["--box", "1,2,0,4"]):
        with pytest.raises(SystemExit):
            main([*base, *bad])
        err = capsys.readouterr().err
        assert "expected X,Y" in err or "must be positive" in err, err
    # an image someone else wrote is never replaced, --overwrite or not
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(photo)
    base[-1] = str(photo)
    assert main([*base, "--point", "10,10", "--overwrite"]) == 2
    assert "an image file" in capsys.readouterr().err
    assert not out.exists()
