# ruff: noqa: F811  (pytest fixtures imported from tests.unit.segment_fixtures)
"""Prompt -> masks with the real MobileSAM architecture (random weights): at the image's size, the
packages' own predictor's logits, both decoder backends, the Refine mask prompt, and the disk cache."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
from cocoseg_gui.core.segment.model import LoadedSam, load_sam
from cocoseg_gui.core.segment.prompt import ImageEmbedding, Prompt
from cocoseg_gui.core.segment.segmenter import Segmenter, region_prompt
from tests.unit.segment_fixtures import (  # noqa: F401
    loaded_mobile_sam,
    mobile_sam_file,
    mobile_state,
    sample_embedding,
    sample_image,
    torch_segmenter,
)

CLICKS = Prompt(points=((200.0, 150.0), (100.0, 400.0)), labels=(1, 0))
BOX = Prompt(box=(50.0, 60.0, 300.0, 500.0))


@pytest.fixture(scope="module")
def package_predictor(loaded_mobile_sam: LoadedSam, sample_image: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mobile_sam import SamPredictor
    predictor = SamPredictor(loaded_mobile_sam.model)
    predictor.set_image(sample_image)
    return predictor


def test_the_embedding_is_the_package_predictors(package_predictor, sample_embedding: ImageEmbedding) -> None:
    assert sample_embedding.original_size == (640, 427)
    assert sample_embedding.input_size == (1024, 683)
    np.testing.assert_allclose(sample_embedding.features, package_predictor.features.numpy(), atol=1e-5)


def test_three_candidates_at_the_images_size_best_first(torch_segmenter: Segmenter, sample_embedding) -> None:
    result = torch_segmenter.predict(sample_embedding, CLICKS, multimask=True)
    assert result.masks.shape == (3, 640, 427) and result.masks.dtype == bool
    assert list(result.scores) == sorted(result.scores, reverse=True)
    assert result.low_res_logits.shape == (3, 256, 256)
    single = torch_segmenter.predict(sample_embedding, CLICKS, multimask=False)
    assert single.masks.shape == (1, 640, 427)


def test_masks_come_at_the_size_asked_for(torch_segmenter: Segmenter, sample_embedding) -> None:
    full = torch_segmenter.predict(sample_embedding, CLICKS, multimask=False).masks[0]
    half = torch_segmenter.predict(sample_embedding, CLICKS, multimask=False, out_size=(320, 214)).masks[0]
    assert half.shape == (320, 214)
    # the view-sized mask covers about the same share of the image (random weights: a ragged boundary)
    assert abs(half.mean() - full.mean()) < 0.03


@pytest.mark.parametrize("out_size", [(640, 427), (320, 214), (1280, 854)])
def test_the_upsampling_maps_the_unpadded_grid_onto_the_image(out_size: tuple[int, int]) -> None:
    """A logit ramp across the resized image's quarter grid (683 / 4 = 170.75 columns, the rest is
    padding) whose zero is at its middle puts the mask's edge at the middle of the image, at any size."""
    import torch
    import torch.nn.functional as F

    from cocoseg_gui.core.segment.segmenter import _upsample

    columns = torch.arange(256, dtype=torch.float32) + 0.5  # pixel centres of the 1/4 grid
    ramp = (columns - 170.75 / 2).expand(1, 256, 256).contiguous()
    mask = _upsample(ramp, (1024, 683), out_size, F)[0].numpy()
    assert mask.shape == out_size
    edge = np.flatnonzero(mask[0])[0]  # the first column inside
    assert abs(edge - out_size[1] / 2) <= 1.0
    assert (mask == mask[:1]).all()  # the same in every row


@pytest.mark.parametrize(
    ("prompt", "kwargs"),
    [
        (CLICKS, {"point_coords": np.array([[200, 150], [100, 400]]), "point_labels": np.array([1, 0])}),
        (BOX, {"box": np.array([50, 60, 300, 500])}),
    ],
    ids=["points", "box"],
)
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_logits_and_masks_match_the_package_predictor(
    backend: str, prompt: Prompt, kwargs: dict, loaded_mobile_sam: LoadedSam, package_predictor,
    sample_embedding: ImageEmbedding, tmp_path: Path,
) -> None:  # fmt: skip
    segmenter = Segmenter(loaded_mobile_sam, EmbeddingCache(tmp_path), decoder=backend)
    assert segmenter.decoder.name == backend
    for multimask in (True, False):
        masks, scores, low = package_predictor.predict(
            multimask_output=multimask, return_logits=True, **kwargs
        )
        order = np.argsort(-scores, kind="stable")
        ours = segmenter.predict(sample_embedding, prompt, multimask=multimask)
        np.testing.assert_allclose(ours.low_res_logits, low[order], atol=1e-4)
        np.testing.assert_allclose(ours.scores, scores[order], atol=1e-4)
        # one bilinear resize instead of two: random weights' noisy logits differ on boundary pixels only
        assert min((ours.masks[i] == (masks[order[i]] > 0)).mean() for i in range(len(ours))) > 0.98


def test_an_earlier_result_is_a_mask_prompt(
    torch_segmenter: Segmenter, package_predictor, sample_embedding
) -> None:
    first = torch_segmenter.predict(
        sample_embedding, Prompt(points=((200.0, 150.0),), labels=(1,)), multimask=False
    )
    again = Prompt(points=((200.0, 150.0),), labels=(1,), mask_logits=first.low_res_logits[0])
    ours = torch_segmenter.predict(sample_embedding, again, multimask=False)
    _, _, low = package_predictor.predict(
        np.array([[200, 150]]), np.array([1]), mask_input=first.low_res_logits[:1], multimask_output=False
    )
    np.testing.assert_allclose(ours.low_res_logits, low, atol=1e-4)


def test_a_region_becomes_a_mask_prompt_in_the_encoders_geometry(sample_embedding: ImageEmbedding) -> None:
    region = np.zeros((640, 427), bool)
    region[100:300, 50:250] = True
    logits = region_prompt(region, sample_embedding)
    assert logits.shape == (256, 256)
    # 640 -> 1024 -> 256: a scale of 0.4; rows 100..300 -> 40..120, columns 50..250 -> 20..100
    assert logits[80, 60] == pytest.approx(10.0) and logits[20, 60] == pytest.approx(-10.0)
    assert logits[80, 200] == pytest.approx(-10.0)  # in the padding beside the portrait image
    Prompt(mask_logits=logits)  # accepted as a prompt on its own
    with pytest.raises(OptionsError, match="the region is"):
        region_prompt(region[:10], sample_embedding)


def test_bad_prompts_are_refused() -> None:
    with pytest.raises(OptionsError, match="2 points but 1 labels"):
        Prompt(points=((1.0, 2.0), (3.0, 4.0)), labels=(1,))
    with pytest.raises(OptionsError, match="needs a point, a box or a mask"):
        Prompt()
    with pytest.raises(OptionsError, match="is empty"):
        Prompt(box=(10.0, 10.0, 5.0, 20.0))
    with pytest.raises(OptionsError, match="label is 1"):
        Prompt(points=((1.0, 2.0),), labels=(2,))


def test_a_second_open_costs_no_embedding(
    mobile_sam_file: Path, sample_image: np.ndarray, tmp_path: Path, sample_embedding: ImageEmbedding
) -> None:
    cache = EmbeddingCache(tmp_path / "cache")
    first = Segmenter(load_sam(mobile_sam_file), cache, decoder="torch")
    first.embed(sample_image)
    assert first.embeddings_computed == 1
    files = list(cache.folder.glob("*.npz"))
    assert len(files) == 1

    reopened = Segmenter(load_sam(mobile_sam_file), EmbeddingCache(tmp_path / "cache"), decoder="torch")
    again = reopened.embed(sample_image.copy())
    assert reopened.embeddings_computed == 0
    np.testing.assert_array_equal(again.features, sample_embedding.features)
    assert again.input_size == sample_embedding.input_size

    files[0].write_bytes(b"damaged")  # a cache file that does not read back is recomputed, not trusted
    assert reopened.embed(sample_image).original_size == (640, 427)
    assert reopened.embeddings_computed == 1


def test_the_key_follows_weights_and_pixels(tmp_path: Path, sample_image: np.ndarray) -> None:
    cache = EmbeddingCache(tmp_path)
    key = cache.key("weights-a", "vit_t", sample_image)
    assert cache.key("weights-a", "vit_t", sample_image.copy()) == key
    assert cache.key("weights-b", "vit_t", sample_image) != key
    flipped = sample_image.copy()
    flipped[0, 0, 0] ^= 1
    assert cache.key("weights-a", "vit_t", flipped) != key


def test_the_cache_folder_is_bounded_least_recently_used_first(tmp_path: Path, sample_embedding) -> None:
    import os

    cache = EmbeddingCache(tmp_path, max_bytes=10 << 20)  # room for two 4 MiB embeddings
    for i, key in enumerate(("a", "b")):
        cache.store(key, sample_embedding)
        os.utime(cache.path(key), ns=(i * 10**9, i * 10**9))
    assert cache.load("a") is not None  # used now: "b" is the oldest
    cache.store("c", sample_embedding)
    assert sorted(p.stem for p in tmp_path.glob("*.npz")) == ["a", "c"]


def test_a_damaged_cached_decoder_graph_is_exported_again(
    loaded_mobile_sam: LoadedSam, tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path)
    Segmenter(loaded_mobile_sam, cache, decoder="onnxruntime")
    (graph,) = (tmp_path / "decoders").glob("*.onnx")
    graph.write_bytes(b"damaged")
    again = Segmenter(loaded_mobile_sam, cache, decoder="onnxruntime")
    assert again.decoder.name == "onnxruntime" and graph.stat().st_size > 1_000_000
