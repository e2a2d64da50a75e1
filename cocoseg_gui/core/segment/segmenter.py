"""Image -> embedding (slow, once per image, cached) and prompt -> masks (fast, every click).

Prediction runs only the prompt encoder and mask decoder (decoder.py: ONNX Runtime when installed),
and upsamples the chosen low-res logits once, straight to the size asked for (the view's), instead
of to 1024x1024 and then to the image's size as the packages' predictor does; one mask is upsampled
when ``multimask`` is off (dragging). ``benchmarks/bench_segment.py`` measures it against
``SamPredictor``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.segment.decoder import make_decoder
from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
from cocoseg_gui.core.segment.model import LoadedSam
from cocoseg_gui.core.segment.prompt import INPUT_SIZE, LOW_RES, Candidates, ImageEmbedding, Prompt


def input_size_for(height: int, width: int) -> tuple[int, int]:
    """The resized size (segment_anything's ResizeLongestSide.get_preprocess_shape)."""
    scale = INPUT_SIZE / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


class Segmenter:
    """One loaded model; ``embed`` runs the image encoder, ``predict`` the decoder only."""

    def __init__(self, sam: LoadedSam, cache: EmbeddingCache | None = None, decoder: str = "auto") -> None:
        self.sam = sam
        self.cache = cache
        self.embeddings_computed = 0  # how often the encoder actually ran (the cache's tests count it)
        graphs = cache.folder / "decoders" if cache is not None else None
        self.decoder = make_decoder(sam, decoder, graphs)

    def embed(self, image: np.ndarray) -> ImageEmbedding:
        """``image`` (H, W, 3 uint8 RGB) -> its embedding, from the cache when it was seen before."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise OptionsError(f"an RGB uint8 image (H, W, 3) is needed, got {image.dtype} {image.shape}")
        key = self.cache.key(self.sam.identity, self.sam.kind.name, image) if self.cache else None
        if key is not None and self.cache is not None:
            cached = self.cache.load(key)
            if cached is not None:
                return cached
        embedding = self._encode(image)
        if key is not None and self.cache is not None:
            self.cache.store(key, embedding)
        return embedding

    def _encode(self, image: np.ndarray) -> ImageEmbedding:
        import torch

        height, width = image.shape[:2]
        new_h, new_w = input_size_for(height, width)
        resized = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR))
        tensor = torch.from_numpy(np.array(resized)).permute(2, 0, 1)[None].float()
        model = self.sam.model
        with torch.inference_mode():
            features = model.image_encoder(model.preprocess(tensor))
        self.embeddings_computed += 1
        features_np = features.numpy().astype(np.float32, copy=False)
        return ImageEmbedding(features_np, (height, width), (new_h, new_w))

    def predict(
        self,
        embedding: ImageEmbedding,
        prompt: Prompt,
        multimask: bool = True,
        out_size: tuple[int, int] | None = None,
    ) -> Candidates:
        """Masks for ``prompt`` at ``out_size`` (h, w; default the image's): 3 candidates or 1."""
        import torch
        import torch.nn.functional as F

        low_res, iou = self.decoder.run(decoder_feed(embedding, prompt))
        picks = np.arange(1, len(iou)) if multimask else np.array([0])
        picks = picks[np.argsort(-iou[picks], kind="stable")]
        low_res = np.ascontiguousarray(low_res[picks])
        with torch.inference_mode():
            masks = _upsample(
                torch.from_numpy(low_res), embedding.input_size, out_size or embedding.original_size, F
            )
        return Candidates(masks.numpy(), iou[picks], low_res)


def decoder_feed(embedding: ImageEmbedding, prompt: Prompt) -> dict[str, np.ndarray]:
    """``prompt`` in the decoder's input convention, mapped onto the resized image's coordinates."""
    height, width = embedding.original_size
    scale = np.array([embedding.input_size[1] / width, embedding.input_size[0] / height], dtype=np.float32)
    coords = [np.asarray(prompt.points, dtype=np.float32).reshape(-1, 2) * scale]
    labels = [np.asarray(prompt.labels, dtype=np.float32)]
    if prompt.box is not None:
        coords.append(np.asarray(prompt.box, dtype=np.float32).reshape(2, 2) * scale)
        labels.append(np.array([2.0, 3.0], np.float32))  # top-left, bottom-right corners
    else:
        coords.append(np.zeros((1, 2), np.float32))
        labels.append(np.array([-1.0], np.float32))  # padding point, as the prompt encoder adds
    has_mask = prompt.mask_logits is not None
    mask = prompt.mask_logits if has_mask else np.zeros((LOW_RES, LOW_RES), np.float32)
    return {
        "image_embeddings": embedding.features,
        "point_coords": np.concatenate(coords)[None],
        "point_labels": np.concatenate(labels)[None],
        "mask_input": np.ascontiguousarray(mask, dtype=np.float32)[None, None],
        "has_mask_input": np.array([1.0 if has_mask else 0.0], np.float32),
    }


def _upsample(low_res: Any, input_size: tuple[int, int], out_size: tuple[int, int], F: Any) -> Any:
    """(N, 256, 256) logits -> (N, h, w) bool in one bilinear resize of the unpadded part.

    The scale maps the resized image's quarter grid (input/4) onto ``out_size`` exactly (pixel
    centres, as SAM's resize to 1024 then to the image does); the padding falls off the crop.
    """
    scale_y = out_size[0] * INPUT_SIZE / (input_size[0] * LOW_RES)
    scale_x = out_size[1] * INPUT_SIZE / (input_size[1] * LOW_RES)
    rows = min(LOW_RES, int(np.ceil((out_size[0] + 1) / scale_y)) + 1)
    cols = min(LOW_RES, int(np.ceil((out_size[1] + 1) / scale_x)) + 1)
    up = F.interpolate(
        low_res[None, :, :rows, :cols], scale_factor=(scale_y, scale_x), mode="bilinear",
        align_corners=False, recompute_scale_factor=False,
    )[0]  # fmt: skip
    return up[:, : out_size[0], : out_size[1]] > 0.0


def region_prompt(region: np.ndarray, embedding: ImageEmbedding, strength: float = 10.0) -> np.ndarray:
    """A class's current region (bool, the image's size) as a 256x256 mask prompt ("Refine").

    The region goes through the encoder's geometry (resize, pad to 1024, 1/4 grid) and becomes logits
    of +-``strength`` (partial cells in between), the scale the decoder's own low-res logits have.
    """
    if region.shape != embedding.original_size:
        raise OptionsError(f"the region is {region.shape}, the image {embedding.original_size}")
    new_h, new_w = embedding.input_size
    small = (new_h * LOW_RES + INPUT_SIZE - 1) // INPUT_SIZE, (new_w * LOW_RES + INPUT_SIZE - 1) // INPUT_SIZE
    pil = Image.fromarray(region.astype(np.uint8) * 255).resize((small[1], small[0]), Image.Resampling.BOX)
    grid = np.zeros((LOW_RES, LOW_RES), dtype=np.float32)
    grid[: small[0], : small[1]] = np.asarray(pil, dtype=np.float32) / 255.0
    logits = (grid * 2.0 - 1.0) * strength
    logits[small[0] :, :] = -strength
    logits[:, small[1] :] = -strength
    return logits
