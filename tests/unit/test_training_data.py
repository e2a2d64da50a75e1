"""MaskDataset, transforms, image loading, split and class balancing on the sample COCO data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.masks.palette import voc_palette
from cocoseg_gui.core.training.data import (
    MaskDataset,
    class_pixel_counts,
    class_weights,
    collate_skip_none,
    describe_split_leakage,
    sample_weights,
    split_files,
)
from cocoseg_gui.core.training.names import IMAGENET_MEAN, IMAGENET_STD
from cocoseg_gui.core.training.transforms import SegTransform, build_transforms, letterbox_size, load_rgb
from tests.training_fixtures import SAMPLE, build_mask_folder, sample_mask_folder_fixture  # noqa: F401

IMAGE = SAMPLE / "val2017" / "000000006818.jpg"


def _source_mask(folder: Path, ds: MaskDataset, i: int) -> np.ndarray:
    return np.array(Image.open(folder / "masks" / ds.mask_map[ds.files[i]]))


def test_dataset_reads_the_folder(sample_mask_folder: Path) -> None:
    ds = MaskDataset(sample_mask_folder)
    assert len(ds) == 50 and ds.files == sorted(ds.files)
    assert ds.num_classes == 81 and ds.ignore_index == 255
    assert ds.classes[0] == {"index": 0, "name": "background", "color": [0, 0, 0]}
    assert ds.classes[1]["name"] == "person"
    image, mask = ds[0]
    src = _source_mask(sample_mask_folder, ds, 0)
    assert image.dtype == torch.float32 and image.shape == (3, *src.shape)
    assert mask.dtype == torch.int64 and np.array_equal(mask.numpy(), src)
    rgb = np.array(Image.open(ds.image_path(0)).convert("RGB"), dtype=np.float32) / 255
    expected = (rgb - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(image.permute(1, 2, 0).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("train,resize", [(True, "letterbox"), (False, "letterbox"), (False, "resize")])
def test_transforms_shapes_and_labels_preserved(sample_mask_folder: Path, train: bool, resize: str) -> None:
    torch.manual_seed(0)
    ds = MaskDataset(sample_mask_folder, transform=build_transforms(96, train=train, resize=resize))
    raw = MaskDataset(sample_mask_folder)
    sources = [_source_mask(sample_mask_folder, raw, i) for i in range(len(raw))]
    crowd = [i for i, m in enumerate(sources) if (m == 255).any()]
    assert crowd
    for i in sorted(set(range(0, len(ds), 4)) | set(crowd)):
        image, mask = ds[i]
        assert image.shape == (3, 96, 96) and image.dtype == torch.float32
        assert mask.shape == (96, 96) and mask.dtype == torch.int64
        values = set(mask.unique().tolist())
        assert values <= set(np.unique(sources[i]).tolist()) | {255}, f"interpolated labels in {ds.files[i]}"
        if i in crowd and not train:  # crowd regions (255) survive the resize inside the picture
            h, w = sources[i].shape
            nh, nw = (96, 96) if resize == "resize" else letterbox_size(h, w, 96)
            assert (mask[:nh, :nw] == 255).any()


def test_letterbox_geometry_and_padding(sample_mask_folder: Path) -> None:
    ds = MaskDataset(sample_mask_folder, transform=build_transforms(128, train=False))
    image, mask = ds[0]
    w, h = Image.open(ds.image_path(0)).size
    nh, nw = letterbox_size(h, w, 128)
    assert max(nh, nw) == 128 and abs(nh / nw - h / w) < 0.02
    pad_value = (torch.zeros(3) - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    if nh < 128:
        assert torch.all(mask[nh:] == 255)
        assert torch.allclose(image[:, nh:], pad_value.view(3, 1, 1).expand(3, 128 - nh, 128))
    if nw < 128:
        assert torch.all(mask[:, nw:] == 255)
    assert (mask[:nh, :nw] != 255).any()


def test_train_transform_keeps_image_and_mask_aligned() -> None:
    """Paint the image with the palette colour of its label: after scale/crop/flip they must still agree."""
    rng = np.random.default_rng(0)
    labels = np.zeros((120, 160), dtype=np.uint8)
    for k in range(1, 6):
        y, x = rng.integers(0, 90), rng.integers(0, 130)
        labels[y : y + 30, x : x + 30] = k
    colors = voc_palette()[:6].astype(np.float32) / 255
    image = Image.fromarray(voc_palette()[labels])
    transform = SegTransform(64, train=True, color_jitter=0.0)
    torch.manual_seed(0)
    for _ in range(10):
        x, y = transform(image, Image.fromarray(labels))
        rgb = (
            x * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        ).numpy()
        valid = y.numpy() != 255
        expected = colors[np.where(valid, y.numpy(), 0)].transpose(2, 0, 1)
        close = np.abs(rgb - expected).max(0) < 0.1
        assert close[valid].mean() > 0.9


def _save_variant(tmp_path: Path, mode: str) -> Path:
    src = Image.open(IMAGE).convert("RGB")
    if mode == "exif":
        path = tmp_path / "rotated.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to display
        src.save(path, exif=exif)
    elif mode == "I;16":
        path = tmp_path / "gray16.png"
        Image.fromarray(np.array(src.convert("L"), dtype=np.uint16) * 257).save(path)
    else:
        path = tmp_path / f"{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        src.convert(mode).save(path)
    return path


@pytest.mark.parametrize("mode", ["exif", "L", "RGBA", "CMYK", "P", "I;16"])
def test_load_rgb_converts_any_input(tmp_path: Path, mode: str) -> None:
    w, h = Image.open(IMAGE).size
    img = load_rgb(_save_variant(tmp_path, mode))
    assert img.mode == "RGB"
    assert img.size == ((h, w) if mode == "exif" else (w, h))
    arr = np.asarray(img, dtype=np.float32)
    ref = np.asarray(Image.open(IMAGE).convert("L"), dtype=np.float32)
    gray = arr.mean(2) if mode != "exif" else np.rot90(arr.mean(2), k=1)
    assert np.corrcoef(gray.ravel(), ref.ravel())[0, 1] > 0.9
    x, _ = build_transforms(64, train=False)(img, None)
    assert x.shape == (3, 64, 64)


def test_load_rgb_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"missing\.jpg: image file not found"):
        load_rgb(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(DatasetError, match=r"bad\.jpg: cannot read image"):
        load_rgb(bad)


def test_dataset_uses_mask_orientation_for_exif_images(tmp_path: Path) -> None:
    folder = build_mask_folder(tmp_path / "ds", max_images=2, copy_images=True)
    name = sorted(json.loads((folder / "image_mask_map.json").read_text()))[0]
    src = Image.open(folder / "images" / name)
    exif = Image.Exif()
    exif[0x0112] = 6
    src.save(folder / "images" / name, exif=exif, quality=95)  # COCO annotates stored pixels
    ds = MaskDataset(folder)
    image, mask = ds[0]
    assert image.shape[1:] == mask.shape and not ds.skipped


@pytest.fixture()
def damaged_folder(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = build_mask_folder(tmp_path / "ds", max_images=4, copy_images=True)
    names = sorted(json.loads((folder / "image_mask_map.json").read_text()))
    data = (folder / "images" / names[1]).read_bytes()
    (folder / "images" / names[1]).write_bytes(data[: len(data) // 3])  # truncated JPEG
    (folder / "images" / names[2]).write_bytes(b"\x00garbage")
    return folder, names


def test_corrupt_images_are_skipped_and_counted(damaged_folder) -> None:
    folder, names = damaged_folder
    ds = MaskDataset(folder, transform=build_transforms(64, train=False))
    items = [ds[i] for i in range(len(ds))]
    assert [item is None for item in items] == [False, True, True, False]
    assert [f for f, _ in ds.skipped] == names[1:3]
    assert all(names[1] in reason or names[2] in reason for _, reason in ds.skipped)
    images, masks = collate_skip_none(items)
    assert images.shape == (2, 3, 64, 64) and masks.shape == (2, 64, 64)
    assert collate_skip_none([items[1], items[2]]) is None
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_skip_none, num_workers=0)
    assert [b[0].shape[0] for b in loader] == [1, 1]


def test_dataset_folder_errors(sample_mask_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="mask dataset folder not found"):
        MaskDataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="have no mask"):
        MaskDataset(sample_mask_folder, files=["not_there.jpg"])
    partial = tmp_path / "partial"
    shutil.copytree(sample_mask_folder, partial)
    (partial / "category_mapping.json").unlink()
    with pytest.raises(DatasetError, match=r"category_mapping\.json: file not found"):
        MaskDataset(partial)


def test_split_is_seeded_disjoint_and_order_independent() -> None:
    files = [f"{i:04d}.jpg" for i in range(50)]
    train, val = split_files(files, 0.2, seed=3)
    assert len(val) == 10 and len(train) == 40
    assert not set(train) & set(val) and set(train) | set(val) == set(files)
    assert split_files(list(reversed(files)), 0.2, seed=3) == (train, val)
    assert split_files(files, 0.2, seed=4)[1] != val
    assert split_files(files[:2], 0.01, seed=0)[1] != []  # at least one val image
    with pytest.raises(OptionsError, match="val fraction"):
        split_files(files, 1.0, seed=0)
    assert describe_split_leakage(train, val) is None
    message = describe_split_leakage(train, [*val, train[0]])
    assert message is not None and "1 of 11" in message and train[0] in message


def test_class_counts_and_weights(sample_mask_folder: Path) -> None:
    ds = MaskDataset(sample_mask_folder)
    counts = class_pixel_counts(sample_mask_folder)
    ref = np.zeros(256, dtype=np.int64)
    for i in range(len(ds)):
        ref += np.bincount(_source_mask(sample_mask_folder, ds, i).ravel(), minlength=256)
    np.testing.assert_array_equal(counts, ref[:81])
    w = class_weights(counts, method="inverse_sqrt")
    present = counts > 0
    assert w.shape == (81,) and w.dtype == torch.float32
    assert float(w[torch.from_numpy(present)].mean()) == pytest.approx(1.0, rel=1e-5)
    assert torch.all(w[torch.from_numpy(~present)] == 1.0)
    order = np.argsort(counts[present])
    assert np.all(np.diff(w.numpy()[present][order]) <= 1e-6)  # rarer -> heavier
    freq = counts[present] / counts[present].sum()
    median = class_weights(counts, method="median_freq").numpy()[present]
    np.testing.assert_allclose(
        median / median.mean(), (np.median(freq) / freq) / (np.median(freq) / freq).mean(), rtol=1e-5
    )
    assert class_weights(np.append(ref, 0)[:256], method="inverse").shape == (255,)
    with pytest.raises(OptionsError, match="class weighting"):
        class_weights(counts, method="magic")


def test_sample_weights_favour_rare_classes(sample_mask_folder: Path) -> None:
    ds = MaskDataset(sample_mask_folder)
    weights = sample_weights(sample_mask_folder, ds.files)
    assert len(weights) == len(ds) and np.mean(weights) == pytest.approx(1.0)
    classes_of = [
        set(np.unique(_source_mask(sample_mask_folder, ds, i)).tolist()) - {0, 255} for i in range(len(ds))
    ]
    images_with = {c: sum(c in s for s in classes_of) for s in classes_of for c in s}
    rarest = [i for i, s in enumerate(classes_of) if any(images_with[c] == 1 for c in s)]
    only_person = [i for i, s in enumerate(classes_of) if s == {1}]
    assert rarest and only_person
    assert min(weights[i] for i in rarest) > max(weights[i] for i in only_person)
    assert max(weights) == pytest.approx(weights[rarest[0]])


def test_loader_with_workers_skips_bad_images(damaged_folder) -> None:
    folder, _ = damaged_folder
    ds = MaskDataset(folder, transform=build_transforms(64, train=True))
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_skip_none, num_workers=2)
    batches = [b for b in loader if b is not None]
    assert sum(b[0].shape[0] for b in batches) == 2
    assert all(b[1].dtype == torch.int64 and b[0].shape[1:] == (3, 64, 64) for b in batches)


def test_colour_jitter_varies_the_image_within_range() -> None:
    image = load_rgb(IMAGE)
    transform = SegTransform(64, train=True, scale_range=(1.0, 1.0), hflip=False, color_jitter=0.3)
    plain = SegTransform(64, train=True, scale_range=(1.0, 1.0), hflip=False, color_jitter=0.0)
    std, mean = torch.tensor(IMAGENET_STD).view(3, 1, 1), torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    torch.manual_seed(5)
    a, _ = plain(image, None)
    torch.manual_seed(5)  # same crop, different colours
    b, _ = transform(image, None)
    rgb = b * std + mean
    assert rgb.min() >= -1e-5 and rgb.max() <= 1 + 1e-5
    assert not torch.allclose(a, b, atol=1e-3)


def test_reads_the_mask_generator_output(tmp_path: Path) -> None:
    from cocoseg_gui.core.masks.job import generate_masks
    from cocoseg_gui.core.masks.options import MaskOptions

    out = tmp_path / "generated"
    annotations = SAMPLE / "annotations" / "instances_val2017.json"
    generate_masks(annotations, SAMPLE / "val2017", out, MaskOptions(max_images=6, workers=1))
    ds = MaskDataset(out, transform=build_transforms(64, train=False))
    assert len(ds) == 6 and ds.num_classes == 81
    counts = np.zeros(256, dtype=np.int64)
    for i in range(len(ds)):
        image, mask = ds[i]
        assert image.shape == (3, 64, 64) and mask.shape == (64, 64)
        counts += np.bincount(np.array(Image.open(ds.mask_path(i))).ravel(), minlength=256)
    np.testing.assert_array_equal(class_pixel_counts(out), counts[:81])
    assert len(sample_weights(out, ds.files)) == 6 and not ds.skipped
