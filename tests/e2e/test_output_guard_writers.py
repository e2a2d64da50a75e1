"""Every writer goes through the output guard (issue 18 items 3, 4, 5).

``WRITERS`` lists every `cocoseg` sub-command that writes, each with a real case that points its output at
something it must never replace (an input, a source image, an annotations file, a mask folder): the
command must exit 2 naming the file, and leave every file as it was. A new sub-command fails
``test_every_command_is_listed`` until it is listed here as a writer (with its case) or as read-only.
``test_every_module_that_writes_is_guarded`` scans the package for file writes outside the modules
known to run the guard (or to write only inside a folder their caller guarded).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cocoseg_gui.cli import build_parser, main
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions

REPO = Path(__file__).resolve().parents[2]
Case = Callable[[dict[str, Path]], list[str]]


@pytest.fixture
def data(tmp_path: Path, val_annotations: Path, val_images: Path) -> dict[str, Path]:
    """Real files a user has: images, their annotations, a mask folder, a checkpoint-named file."""
    images = tmp_path / "val2017"
    images.mkdir()
    for path in sorted(val_images.iterdir())[:3]:
        shutil.copyfile(path, images / path.name)
    annotations = tmp_path / "instances_val2017.json"
    shutil.copyfile(val_annotations, annotations)
    masks = tmp_path / "masks"
    generate_masks(annotations, images, masks, MaskOptions(workers=1, max_images=3))
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights")  # the guard runs before anything is loaded
    image = sorted(images.iterdir())[0]
    return {"images": images, "annotations": annotations, "masks": masks, "ckpt": checkpoint, "image": image}


# sub-command -> argv whose output must be refused (the guard names the file, nothing is written)
WRITERS: dict[str, Case] = {
    "masks": lambda d: ["masks", "--annotations", d["annotations"], "--images", d["images"],
                        "--out", d["masks"] / "masks" / "again", "--workers", "1"],
    "train": lambda d: ["train", "--data", d["masks"], "--model", "unet", "--out", d["masks"] / "run"],
    "predict": lambda d: ["predict", "--checkpoint", d["ckpt"], d["images"], "--out", d["images"]],
    "export-onnx": lambda d: ["export-onnx", "--checkpoint", d["ckpt"], "--onnx", d["ckpt"], "--overwrite"],
    "export": lambda d: ["export", d["masks"], "--format", "voc", "--out", d["images"], "--overwrite"],
    "import": lambda d: ["import", "--format", "class_pngs", d["masks"] / "masks", "--images", d["images"],
                         "--out", d["images"] / "labels"],
    "export-coco": lambda d: ["export-coco", "--masks", d["masks"], "--out", d["image"], "--overwrite"],
    "new-dataset": lambda d: ["new-dataset", "--images", d["images"], "--classes", "cat",
                              "--out", d["masks"] / "labels"],
    "project init": lambda d: ["project", "init", d["image"]],
    "find-label-issues": lambda d: ["find-label-issues", "--checkpoint", d["ckpt"], "--data", d["masks"],
                                    "--out", d["annotations"], "--overwrite"],
    "rank-uncertain": lambda d: ["rank-uncertain", "--checkpoint", d["ckpt"], "--images", d["images"],
                                 "--out", d["image"], "--overwrite"],
    "propose": lambda d: ["propose", "--checkpoint", d["ckpt"], "--masks", d["masks"], "--out", d["images"]],
    "project save-as": lambda d: ["project", "save-as", _project(d), d["image"]],
    "segment": lambda d: ["segment", "--sam-weights", d["ckpt"], "--image", d["image"], "--point", "10,10",
                          "--out", d["image"], "--overwrite"],
}  # fmt: skip
READ_ONLY = {"evaluate", "project show"}
# sub-commands that rewrite only the file they were given, once it loaded as what they edit
OWN_FILE = {
    "project set": "the project file it loaded (a cocoseg project, checked by Project.load)",
    "project add-masks": "the project file it loaded",
    "project remove": "the project file it loaded",
    "download-weights": "torch's hub cache: a file named by its sha256 prefix, written only when absent or "
    "failing that hash",
}


def _project(d: dict[str, Path]) -> Path:
    """A project file beside the data (made before the files are hashed: the case's own input)."""
    folder = d["images"].parent / "project"
    assert main(["project", "init", str(folder)]) == 0
    return folder


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """Every leaf sub-command of the parser (``project init``, ``project show``, ...)."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= commands(sub, f"{prefix}{name} ") or {f"{prefix}{name}"}
    return found


def test_every_command_is_listed() -> None:
    found = commands(build_parser())
    listed = set(WRITERS) | READ_ONLY | set(OWN_FILE)
    assert found == listed, (
        "a sub-command that writes must call core/files/output_guard.py and get a case in WRITERS; "
        f"one that only reads goes in READ_ONLY: {sorted(found ^ listed)}"
    )


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "cache" not in p.parts
    }


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_writer_refuses_what_it_must_not_replace(
    command: str, data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(a) for a in WRITERS[command](data)]
    before = _digest(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    refused = r"error: .*(never|must lie apart|is the |is in|is inside|belongs to|cannot be made|is a COCO)"
    assert "Traceback" not in err and re.search(refused, err), err
    assert _digest(tmp_path) == before  # nothing written, nothing replaced


def test_export_coco_report_and_out_never_replace_an_input(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Items 3 and 4: --report and --out over the annotations, category_mapping.json, a mask, an image."""
    masks = data["masks"]
    mask = next((masks / "masks").iterdir())
    base = ["export-coco", "--masks", str(masks), "--annotations", str(data["annotations"])]
    before = _digest(tmp_path)
    for target in (data["annotations"], masks / "category_mapping.json", mask, data["image"]):
        for option in ("--report", "--out"):
            extra = ["--out", str(tmp_path / "new.json")] if option == "--report" else []
            assert main([*base, *extra, option, str(target), "--overwrite"]) == 2
            assert str(target) in capsys.readouterr().err
    assert _digest(tmp_path) == before
    # a plain existing file is replaced only with --overwrite; an earlier export is ours to replace
    out, report = tmp_path / "new.json", tmp_path / "report.json"
    report.write_text("notes\n")
    assert main([*base, "--out", str(out), "--report", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"--report {report}: the file already exists; pass --overwrite" in err
    assert report.read_text() == "notes\n" and not out.exists()  # checked before the export
    assert main([*base, "--out", str(out)]) == 0
    assert main([*base, "--out", str(out)]) == 2
    assert "the file already exists" in capsys.readouterr().err
    assert main([*base, "--out", str(out), "--report", str(report), "--overwrite"]) == 0
    assert out.is_file() and report.read_text() != "notes\n"
    # a JPEG of the very dataset, copied elsewhere, is still an image: never turned into JSON
    jpeg = tmp_path / "photo.jpg"
    shutil.copyfile(data["image"], jpeg)
    assert main([*base, "--out", str(jpeg), "--overwrite"]) == 2
    assert "is an image file" in capsys.readouterr().err
    assert jpeg.read_bytes() == data["image"].read_bytes()


# modules that write files -> why they are safe: they call the guard ("guard"), or they write only
# inside a folder their job's entry point guarded (named), or they write the app's own state.
WRITING_MODULES = {
    "core/files/atomic.py": "the primitive itself",
    "cli/export_coco_cmd.py": "guard",
    "cli/export_cmd.py": "guard",  # --report, through export_coco_cmd's check
    "core/formats/coco_export.py": "guard",
    "core/formats/export_job.py": "guard",
    "core/formats/import_job.py": "guard",
    # the codecs write only under the dest their export job (core/formats/export_job.py) guarded
    "core/formats/voc.py": "core/formats/export_job.py",
    "core/formats/class_pngs.py": "core/formats/export_job.py",
    "core/formats/cvat.py": "core/formats/export_job.py",
    "core/formats/yolo_seg.py": "core/formats/export_job.py",
    "core/formats/labelme.py": "core/formats/export_job.py",
    "core/training/export.py": "guard",
    "core/quality/issues_file.py": "guard",
    "core/masks/new_dataset.py": "guard",
    "core/masks/folder.py": "guard",
    "core/masks/job.py": "core/masks/folder.py",
    "core/masks/png.py": "core/masks/folder.py",
    "core/masks/class_map.py": "core/masks/folder.py",
    "core/training/predict_output.py": "guard",
    "core/training/predict.py": "core/training/predict_output.py",
    "core/proposals/batch.py": "guard",
    "core/training/run_folder.py": "guard",
    "core/training/trainer.py": "core/training/run_folder.py",
    "core/training/checkpoint.py": "core/training/run_folder.py",
    "core/training/run_inputs.py": "core/training/run_folder.py",
    "core/training/events.py": "core/training/run_folder.py",
    "core/editing/save.py": "the mask editor: the owner of the mask folder's files",
    "core/editing/save_journal.py": "the mask editor: the owner of the mask folder's files",
    "core/project/project.py": "its own project file (project init and the New project dialog check it)",
    "core/coco/index_cache.py": "the app's cache folder",
    "core/training/pretrained.py": "torch's hub cache: a file named by its sha256 prefix, written only when "
    "absent or failing that hash",
    "core/quality/cross_fit.py": "the folds' mask folders, in a temporary folder of its own",
    "core/files/folder_lock.py": "its own lock files, in a folder a guarded job or the mask editor writes",
    "core/editing/edited_records.py": "the mask editor: the owner of the mask folder's files",
    "gui/app.py": "--screenshot PATH, a developer's option",
    "core/segment/embedding_cache.py": "the app's cache folder",
    "core/segment/decoder.py": "the app's cache folder (the exported decoder graph)",
    "core/segment/mask_file.py": "cli/segment_cmd.py runs the guard first (is_segment_mask: owned)",
}
_WRITE = re.compile(
    r"atomic_write_\w+\(|atomic_open\(|torch\.save\(|\.write_(text|bytes)\(|shutil\.copy\w*\(|"
    r"open\([^)]*[\"'](w|a|wb|ab|x)[\"']|\.save\(\s*(str\(|fh|self\.path)"
)


def test_every_module_that_writes_is_guarded() -> None:
    package = REPO / "cocoseg_gui"
    writing = {
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if _WRITE.search(p.read_text(encoding="utf-8"))
    }
    unknown = writing - set(WRITING_MODULES)
    assert not unknown, (
        f"these modules write files without being listed (call core/files/output_guard.py): {unknown}"
    )
    for module, why in WRITING_MODULES.items():
        text = (package / module).read_text(encoding="utf-8")
        if why == "guard":
            assert "output_guard" in text, f"{module} is listed as calling the output guard but does not"
        elif why.startswith("core/"):
            assert "output_guard" in (package / why).read_text(encoding="utf-8"), (module, why)


# the window's write paths: module -> the core entry points it writes through (each runs the guard first;
# the cases above exercise the same functions through the CLI, the GUI tests through the dialogs)
GUI_WRITERS = {
    "gui/workspaces/masks_panel.py": ("generate_masks",),
    "gui/workspaces/train_panel.py": ("trainer import train",),
    "gui/workspaces/predict_panel.py": ("predict_files",),
    "gui/workspaces/proposals_controller.py": ("propose_folder",),
    "gui/widgets/export_dialog.py": ("export_labels",),
    "gui/widgets/import_dialog.py": ("import_labels",),
    "gui/widgets/new_dataset_dialog.py": ("create_new_dataset",),
    "gui/label_issue_actions.py": ("find_label_issues", "rank_uncertain"),
    "gui/widgets/edit_saving.py": ("save_elsewhere",),  # ImageEditor.save_copy -> save_mask_copy
    "gui/screenshots.py": ("generate_masks", "trainer import train"),  # the demo data, in a temporary folder
}
CORE_ENTRY = {
    "generate_masks": "core/masks/folder.py",  # prepare_out
    "trainer import train": "core/training/run_folder.py",  # check_run_out
    "predict_files": "core/training/predict_output.py",
    "propose_folder": "core/proposals/batch.py",
    "export_coco": "core/formats/coco_export.py",
    "export_labels": "core/formats/export_job.py",
    "import_labels": "core/formats/import_job.py",
    "create_new_dataset": "core/masks/new_dataset.py",
    "find_label_issues": "core/quality/issues_file.py",  # check_ranking_out
    "rank_uncertain": "core/quality/issues_file.py",
    "save_elsewhere": "core/editing/save.py",  # save_mask_copy
}
_CORE_CALL = re.compile(r"\b(" + "|".join(CORE_ENTRY) + r")\b")


def test_every_gui_write_path_goes_through_a_guarded_core_function() -> None:
    package = REPO / "cocoseg_gui"
    calling = {
        p.relative_to(package).as_posix(): set(_CORE_CALL.findall(p.read_text(encoding="utf-8")))
        for p in (package / "gui").rglob("*.py")
    }
    calling = {module: names for module, names in calling.items() if names}
    unlisted = {m: n for m, n in calling.items() if not n <= set(GUI_WRITERS.get(m, ()))}
    assert not unlisted, f"GUI modules calling core writers without being listed in GUI_WRITERS: {unlisted}"
    for module, names in GUI_WRITERS.items():
        assert set(names) <= calling.get(module, set()), (module, names)
        for name in names:
            assert "output_guard" in (package / CORE_ENTRY[name]).read_text(encoding="utf-8"), (name, module)
