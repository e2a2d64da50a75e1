"""Names leading outside the dataset (issue 12 items 4, 6, 7, 8; docs/adr/0003-paths-outside-the-dataset.md):
the core.safe_paths helper, `cocoseg masks` (refused entries, --out vs the image folder, --overwrite) and
MaskDatasetFolder, on real files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.safe_paths import SafeRoot, UnsafePathError, check_relative_name
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions


@pytest.fixture(autouse=True)
def index_cache(tmp_path_factory, monkeypatch) -> None:
    """Keep CocoIndex's cache out of the home folder."""
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "index_cache"))


def symlink(link: Path, target: Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError) as exc:  # e.g. Windows without the privilege
        pytest.skip(f"cannot make symbolic links here ({exc})")


# ------------------------------------------------------------------------------------------- the helper
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a\0b.jpg", "nul_byte"),
        ("/etc/passwd", "absolute"),
        ("C:\\Windows\\x.jpg", "absolute"),
        ("C:x.jpg", "absolute"),
        ("\\\\server\\share\\x.jpg", "absolute"),
        ("../x.jpg", "parent_dir"),
        ("..", "parent_dir"),
        ("sub/../../x.jpg", "parent_dir"),
        ("a\\..\\..\\x.jpg", "parent_dir"),
        ("./../x.jpg", "parent_dir"),
    ],
)
def test_names_leaving_the_folder_are_refused(name: str, reason: str, tmp_path: Path) -> None:
    assert check_relative_name(name) == reason
    with pytest.raises(UnsafePathError) as info:
        SafeRoot(tmp_path).resolve(name)
    assert info.value.reason == reason and str(tmp_path) in str(info.value) and "refused" in str(info.value)
    assert isinstance(info.value, DatasetError)


@pytest.mark.parametrize("name", ["x.jpg", "sub/x.jpg", "sub/../x.jpg", "./x.jpg", "a..b.jpg", "..x.jpg"])
def test_names_inside_the_folder_are_kept(name: str, tmp_path: Path) -> None:
    assert check_relative_name(name) is None
    assert SafeRoot(tmp_path).resolve(name) == tmp_path.joinpath(*Path(name).parts)


def test_symlinks_leaving_the_folder_are_refused_unless_allowed(tmp_path: Path) -> None:
    root, outside = tmp_path / "images", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.jpg").write_bytes(b"x")
    (root / "inside.jpg").write_bytes(b"x")
    symlink(root / "link.jpg", outside / "secret.jpg")
    symlink(root / "ok.jpg", root / "inside.jpg")  # stays inside: fine
    symlink(root / "dir", outside / "deep")  # a linked folder: dir/../secret.jpg is outside/secret.jpg
    safe = SafeRoot(root)
    assert safe.resolve("ok.jpg") == root / "ok.jpg"
    for name in ("link.jpg", "dir/x.jpg", "dir/../secret.jpg"):
        with pytest.raises(UnsafePathError, match="symbolic link") as info:
            safe.resolve(name)
        assert info.value.reason == "symlink_outside"
    assert SafeRoot(root, follow_symlinks=True).resolve("link.jpg").read_bytes() == b"x"
    # the folder itself being a link is fine
    symlink(tmp_path / "images_link", root)
    assert SafeRoot(tmp_path / "images_link").resolve("inside.jpg").is_file()
    assert SafeRoot(tmp_path / "images_link").refusal("link.jpg") == "symlink_outside"


# ---------------------------------------------------------------------------------------- the masks job
def _bad_dataset(tmp_path: Path, val_annotations: Path, val_images: Path) -> tuple[Path, Path, Path]:
    """An annotations file of 8 sample images, four of whose file names lead outside the image folder
    (to real images there); returns (annotations, images_dir, outside folder)."""
    data = json.loads(val_annotations.read_text())
    images = data["images"][:8]
    root, outside = tmp_path / "ds" / "images", tmp_path / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    for img in images:
        shutil.copy(val_images / img["file_name"], root / img["file_name"])
    for i, img in enumerate(images[:4]):
        shutil.copy(val_images / img["file_name"], outside / f"secret{i}.jpg")
        (root / img["file_name"]).unlink()
    images[0]["file_name"] = "../../outside/secret0.jpg"
    images[1]["file_name"] = "sub/../../../outside/secret1.jpg"
    images[2]["file_name"] = str(outside / "secret2.jpg")
    symlink(root / "link.jpg", outside / "secret3.jpg")
    images[3]["file_name"] = "link.jpg"
    ids = {img["id"] for img in images}
    data["images"] = images
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    ann = tmp_path / "ds" / "bad.json"
    ann.write_text(json.dumps(data))
    return ann, root, outside


def test_masks_refuse_names_outside_the_image_folder(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    ann, images, _ = _bad_dataset(tmp_path, val_annotations, val_images)
    out = tmp_path / "masks"
    result = generate_masks(ann, images, out, MaskOptions(workers=1))
    refused = {r["file_name"]: r for r in result.report["refused_images"]}
    assert {k: r["reason"] for k, r in refused.items()} == {
        "../../outside/secret0.jpg": "parent_dir",
        "sub/../../../outside/secret1.jpg": "parent_dir",
        str(tmp_path / "outside" / "secret2.jpg"): "absolute",
        "link.jpg": "symlink_outside",
    }
    assert all(str(images) in r["error"] for r in refused.values())
    mask_map = json.loads((out / "image_mask_map.json").read_text())
    assert len(mask_map) == 4 and not set(mask_map) & set(refused)
    assert sorted(p.name for p in (out / "masks").iterdir()) == sorted(mask_map.values())
    assert json.loads((out / "report.json").read_text())["refused_images"] == result.report["refused_images"]
    assert result.written == 4 and not result.report["unreadable_images"]

    # --follow-symlinks: the link is read (and recorded in the manifest); '..' and absolute names are not
    out2 = tmp_path / "masks_links"
    result = generate_masks(ann, images, out2, MaskOptions(workers=1, follow_symlinks=True))
    assert "link.jpg" in json.loads((out2 / "image_mask_map.json").read_text())
    assert len(result.report["refused_images"]) == 3
    assert json.loads((out2 / "manifest.json").read_text())["options"]["follow_symlinks"] is True
    assert "follow_symlinks" not in json.loads((out / "manifest.json").read_text())["options"]


def _png_images(tmp_path: Path, val_annotations: Path, val_images: Path) -> tuple[Path, Path, dict[str, str]]:
    """An image folder whose masks/ sub-folder holds source images (PNG) and an unrelated PNG;
    returns (annotations, images_dir, {path relative to images_dir: md5-like bytes fingerprint})."""
    data = json.loads(val_annotations.read_text())
    images = data["images"][:4]
    root = tmp_path / "imgs"
    (root / "masks").mkdir(parents=True)
    for i, img in enumerate(images):
        src = val_images / img["file_name"]
        if i < 2:  # PNG sources under imgs/masks/, where `--out imgs` would put masks
            img["file_name"] = "masks/" + Path(img["file_name"]).with_suffix(".png").name
            Image.open(src).save(root / img["file_name"])
        else:
            shutil.copy(src, root / img["file_name"])
    Image.new("RGB", (4, 4), "red").save(root / "masks" / "unrelated.png")
    data["images"] = images
    ids = {img["id"] for img in images}
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(data))
    before = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return ann, root, before


def test_masks_out_in_the_image_folder_is_refused_and_nothing_is_touched(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    ann, root, before = _png_images(tmp_path, val_annotations, val_images)
    for out, words in [
        (root, "is the image folder"),
        (root / "sub", "inside the image folder"),
        (root.parent / "x" / ".." / "imgs", "is the image folder"),
    ]:
        with pytest.raises(OptionsError, match=words) as info:
            generate_masks(ann, root, out, MaskOptions(workers=1), overwrite=True)
        assert str(root) in str(info.value) and "choose a folder outside it" in str(info.value)
    symlink(tmp_path / "alias", root)  # the same folder through a link
    with pytest.raises(OptionsError, match="is the image folder"):
        generate_masks(ann, root, tmp_path / "alias", MaskOptions(workers=1), overwrite=True)
    # OUT/masks is the image folder, or holds it
    with pytest.raises(OptionsError, match="has its masks/ folder in the image folder"):
        generate_masks(ann, root / "masks", root, MaskOptions(workers=1), overwrite=True)
    (root / "masks" / "sub").mkdir()
    with pytest.raises(OptionsError, match="holds the image folder"):
        generate_masks(ann, root / "masks" / "sub", root, MaskOptions(workers=1), overwrite=True)
    (root / "masks" / "sub").rmdir()
    after = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


def test_overwrite_deletes_only_the_masks_cocoseg_made(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    out = tmp_path / "out"
    first = generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=6))
    made = set(json.loads((out / "image_mask_map.json").read_text()).values())
    assert first.written == 6 and len(made) == 6
    mine = out / "masks" / "my_notes.png"
    Image.new("RGB", (4, 4), "red").save(mine)
    (out / "masks" / "keep.tmp").write_text("not ours either")
    second = generate_masks(
        val_annotations, val_images, out, MaskOptions(workers=1, max_images=3, min_area=5), overwrite=True
    )
    now = set(json.loads((out / "image_mask_map.json").read_text()).values())
    assert second.written == 3 and now < made
    assert {p.name for p in (out / "masks").iterdir()} == now | {"my_notes.png", "keep.tmp"}
    assert Image.open(mine).getpixel((0, 0)) == (255, 0, 0)


# ------------------------------------------------------------------------------------- mask folder reader
def test_mask_folder_refuses_map_entries_outside(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    out = tmp_path / "out"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=3))
    (tmp_path / "evil.png").write_bytes((out / "masks" / next(iter(os.listdir(out / "masks")))).read_bytes())
    mask_map = json.loads((out / "image_mask_map.json").read_text())
    victim = sorted(mask_map)[0]
    mask_map[victim] = "../../evil.png"
    mask_map["../x.jpg"] = sorted(mask_map.values())[-1]
    (out / "image_mask_map.json").write_text(json.dumps(mask_map))
    folder = MaskDatasetFolder(out)
    samples = folder.samples()
    assert {s.file_name for s in samples} == set(mask_map) - {victim, "../x.jpg"}
    assert {f for f, _ in folder.refused} == {victim, "../x.jpg"}
    with pytest.raises(UnsafePathError) as info:
        folder.read_mask(victim)
    message = str(info.value)
    assert "image_mask_map.json" in message and repr(victim) in message and "'../../evil.png'" in message
