"""Issue 12 (1, 11, 14, 17): predict never overwrites inputs, ground truth or files it did not write;
evaluate refuses masks it cannot score; export and the CLI reject bad options with a message (exit 2).

All on real files: a tiny (untrained) U-Net checkpoint with the classes of the person4 mask folder.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cocoseg_gui.cli import main
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
from cocoseg_gui.core.training.evaluate import evaluate
from cocoseg_gui.core.training.export import export_onnx
from cocoseg_gui.core.training.models import build_model
from cocoseg_gui.core.training.predict import predict_files
from cocoseg_gui.core.training.predict_output import PREDICT_MANIFEST, ForeignFilesError, PredictRecord
from tests.trainer_fixtures import person4  # noqa: F401

SAMPLE_VAL = Path(__file__).resolve().parents[2] / "resources" / "sample_coco" / "val2017"


@pytest.fixture(scope="module")
def ckpt(person4: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    classes = json.loads((person4 / "category_mapping.json").read_text(encoding="utf-8"))["classes"]
    torch.manual_seed(0)
    model = build_model("unet", len(classes), width=4, depth=2)
    ckpt = build_checkpoint(
        model_name="unet", model_kwargs=model.model_kwargs, state_dict=model.state_dict(), classes=classes,
        ignore_index=255, img_size=32, resize="letterbox", metrics={}, config={},
    )  # fmt: skip
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    save_checkpoint(path, ckpt)
    return path


@pytest.fixture
def masks(person4: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A writable copy of person4 (images_dir in its manifest made absolute)."""
    out = tmp_path / "masks"
    shutil.copytree(person4, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["images_dir"] = str((person4 / manifest["images_dir"]).resolve())
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def png_folder(folder: Path, n: int = 2) -> list[Path]:
    """``n`` sample images saved as PNG in ``folder`` (so ``<stem>.png`` is the input itself)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in sorted(SAMPLE_VAL.glob("*.jpg"))[:n]:
        dst = folder / f"{src.stem}.png"
        Image.open(src).convert("RGB").resize((48, 32)).save(dst)
        paths.append(dst)
    return paths


def snapshot(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


# -- item 1: nothing predict did not write is replaced ---------------------------------------------


def test_predict_refuses_out_equal_to_or_inside_the_input_folder(ckpt: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    png_folder(images)
    before = snapshot(images)
    with pytest.raises(OptionsError, match="is the input folder"):
        predict_files(ckpt, [images], images, device="cpu")
    with pytest.raises(OptionsError, match="is inside the input folder"):
        predict_files(ckpt, [images], images / "pred", device="cpu")
    assert snapshot(images) == before


def test_predict_refuses_an_input_image_at_an_output_name(ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (image,) = png_folder(out, 1)
    before = image.read_bytes()
    with pytest.raises(OptionsError, match="is an input image"):
        predict_files(ckpt, [image], out, device="cpu")
    assert image.read_bytes() == before


def test_predict_refuses_a_mask_dataset_folder_and_its_masks(ckpt: Path, masks: Path) -> None:
    mapping = json.loads((masks / "image_mask_map.json").read_text(encoding="utf-8"))
    image = SAMPLE_VAL / next(iter(mapping))  # its stem is a ground-truth mask's name
    before = snapshot(masks)
    for out in (masks / "masks", masks, masks / "masks" / "sub"):
        with pytest.raises(OptionsError, match="inside the mask dataset folder"):
            predict_files(ckpt, [image], out, device="cpu")
    assert snapshot(masks) == before


def test_predict_refuses_a_ground_truth_folder(ckpt: Path, tmp_path: Path) -> None:
    gt = tmp_path / "gt"
    gt.mkdir()
    with pytest.raises(OptionsError, match="ground-truth folder"):
        predict_files(ckpt, [SAMPLE_VAL / "000000037777.jpg"], gt, device="cpu", ground_truth=[gt])
    assert list(gt.iterdir()) == []


def test_predict_replaces_only_its_own_files_unless_overwrite(ckpt: Path, tmp_path: Path) -> None:
    src = png_folder(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    mine = out / src[0].name
    mine.write_bytes(b"the user's own file")
    (out / "notes.txt").write_text("unrelated")
    with pytest.raises(ForeignFilesError, match=rf"1 file that .* did not write \({mine.name}\)"):
        predict_files(ckpt, src, out, device="cpu")
    assert mine.read_bytes() == b"the user's own file" and sorted(p.name for p in out.iterdir()) == [
        mine.name,
        "notes.txt",
    ]

    result = predict_files(ckpt, src, out, device="cpu", overwrite=True, overlay=True)
    assert len(result.masks) == 2 and Image.open(mine).mode == "P"
    record = PredictRecord(out)
    assert sorted(record.entries) == sorted([p.name for p in src] + [f"overlays/{p.stem}.jpg" for p in src])

    predict_files(ckpt, src, out, device="cpu", overlay=True)  # a rerun replaces its own outputs
    mine.write_bytes(b"edited by the user")  # no longer predict's file
    with pytest.raises(ForeignFilesError):
        predict_files(ckpt, src, out, device="cpu")
    assert mine.read_bytes() == b"edited by the user" and (out / "notes.txt").read_text() == "unrelated"


def test_a_cancelled_or_killed_predict_still_owns_what_it_wrote(ckpt: Path, tmp_path: Path) -> None:
    src = png_folder(tmp_path / "in", 2)
    out = tmp_path / "out"
    token = CancelToken()
    stop = lambda _: token.cancel()  # noqa: E731 (the first progress report always comes: RateMeter)
    with pytest.raises(Cancelled):
        predict_files(ckpt, src, out, device="cpu", batch_size=1, cancel=token, progress=stop)
    assert (out / src[0].name).is_file() and not (out / src[1].name).exists()
    predict_files(ckpt, src, out, device="cpu", batch_size=1)  # resumes over its own file, no --overwrite
    # killed between the record's "pending" line and the write: the file is still predict's own
    (out / src[1].name).unlink()
    with open(out / PREDICT_MANIFEST, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"file": src[1].name, "pending": True}) + "\n" + '{"file": "torn')
    (out / src[1].name).write_bytes(b"half")
    predict_files(ckpt, src, out, device="cpu")
    assert Image.open(out / src[1].name).mode == "P"


# -- item 17: bad options are bad input (exit 2 with a message) -------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_cli_out_that_is_a_file_exits_2(
    ckpt: Path, masks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    image = str(SAMPLE_VAL / "000000037777.jpg")
    ann = str(SAMPLE_VAL.parent / "annotations" / "instances_val2017.json")
    cases = [
        (["predict", "--checkpoint", str(ckpt), image, "--out", str(afile)], "--out: .*afile is a file"),
        (["masks", "--annotations", ann, "--images", ".", "--out", str(afile)], "afile is a file"),
        (["train", "--data", str(masks), "--model", "unet", "--out", str(afile / "run")], "afile is a file"),
        (["export-onnx", "--checkpoint", str(ckpt), "--onnx", str(afile / "m.onnx")], "afile is a file"),
        (["export-onnx", "--checkpoint", str(ckpt), "--onnx", str(tmp_path)], "is a folder"),
    ]
    for argv, message in cases:
        code, err = cli(capsys, *argv)
        assert code == 2 and f"cocoseg {argv[0]}: error:" in err, (argv, err)
        assert re.search(message, err), err
    assert afile.read_text() == "keep me"


def test_cli_counts_must_be_positive(ckpt: Path, masks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = str(SAMPLE_VAL / "000000037777.jpg")
    cases = [
        ["predict", "--checkpoint", str(ckpt), image, "--out", "x", "--batch-size", "0"],
        ["evaluate", "--checkpoint", str(ckpt), "--data", str(masks), "--batch-size", "-1"],
        ["train", "--data", str(masks), "--model", "unet", "--out", "x", "--epochs", "0"],
        ["train", "--data", str(masks), "--model", "unet", "--out", "x", "--workers", "-1"],
        ["masks", "--annotations", "a.json", "--images", ".", "--out", "x", "--workers", "0"],
    ]
    for argv in cases:
        code, err = cli(capsys, *argv)
        option = argv[-2]
        assert code == 2 and f"argument {option}:" in err and argv[-1] in err, (argv, err)


def test_cli_predict_into_its_input_folder_exits_2(
    ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images"
    png_folder(images, 1)
    before = snapshot(images)
    code, err = cli(capsys, "predict", "--checkpoint", str(ckpt), str(images), "--out", str(images))
    assert code == 2 and "is the input folder" in err and "Traceback" not in err
    assert snapshot(images) == before


# -- item 11 (evaluate): mask values it cannot score, masks that are all missing ---------------------


def test_evaluate_refuses_a_mask_value_above_k(ckpt: Path, masks: Path, capsys) -> None:
    name = sorted((masks / "masks").glob("*.png"))[1]
    with Image.open(name) as im:
        arr = np.array(im)
        arr[0, :3] = 7
        bad = Image.fromarray(arr, mode="P")
        bad.putpalette(im.getpalette())
    bad.save(name)
    expected = rf"{name.name}: mask value 7 \(3 pixels\) is neither a class index 0\.\.1"
    with pytest.raises(DatasetError, match=expected):
        evaluate(ckpt, masks, device="cpu")
    code, err = cli(capsys, "evaluate", "--checkpoint", str(ckpt), "--data", str(masks), "--device", "cpu")
    assert code == 2 and "mask value 7" in err and name.name in err


def test_evaluate_refuses_a_folder_whose_masks_are_all_missing(ckpt: Path, masks: Path, capsys) -> None:
    for p in (masks / "masks").glob("*.png"):
        p.unlink()
    with pytest.raises(DatasetError, match=r"none of the 4 masks named in image_mask_map\.json exists"):
        evaluate(ckpt, masks, device="cpu")
    code, err = cli(capsys, "evaluate", "--checkpoint", str(ckpt), "--data", str(masks), "--device", "cpu")
    assert code == 2 and str(masks) in err and "masks/0000" in err


# -- item 14 (export): an opset outside what the exporter can write ---------------------------------


def test_export_refuses_an_opset_out_of_range(ckpt: Path, tmp_path: Path, capsys) -> None:
    for opset in (1, 9, 21):
        with pytest.raises(OptionsError, match=r"--opset must be between 10 and \d+"):
            export_onnx(ckpt, tmp_path / "m.onnx", opset=opset)
    onnx = str(tmp_path / "m.onnx")
    code, err = cli(capsys, "export-onnx", "--checkpoint", str(ckpt), "--onnx", onnx, "--opset", "1")
    assert code == 2 and "--opset must be between" in err and "Traceback" not in err
    assert not (tmp_path / "m.onnx").exists()
    pytest.importorskip("onnx")
    assert export_onnx(ckpt, tmp_path / "m.onnx", opset=10).is_file()  # the lowest accepted one works
