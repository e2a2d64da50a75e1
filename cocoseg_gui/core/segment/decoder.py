"""The fast half of SAM: prompt encoder + mask decoder, as torch or as an ONNX Runtime session.

Both run the same module (``LowResDecoder``: segment_anything's ``SamOnnxModel`` minus its mask
upsampling, with the positional encoding computed once): points in the ONNX convention (a box is two
points labelled 2 and 3, a padding point -1), the four low-res masks and their predicted IoU out.
ONNX Runtime with one thread ran it about twice as fast as torch on this project's CPUs (ADR 0038),
so it is used when installed; the exported graph is kept in the cache folder per weights file.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.files.atomic import atomic_write_bytes
from cocoseg_gui.core.segment.model import LoadedSam

OPSET = 17
_INPUTS = ("image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input")


def _low_res_module(sam: LoadedSam) -> Any:
    import torch
    from segment_anything.utils.onnx import SamOnnxModel

    class LowResDecoder(SamOnnxModel):  # type: ignore[misc]  # segment_anything has no types: its class is Any
        def __init__(self, model: Any) -> None:
            super().__init__(model, return_single_mask=False)
            with torch.inference_mode():
                self.register_buffer(
                    "dense_pe", model.prompt_encoder.get_dense_pe().clone(), persistent=False
                )

        def forward(self, image_embeddings: Any, point_coords: Any, point_labels: Any, mask_input: Any,
                    has_mask_input: Any) -> Any:  # fmt: skip
            sparse = self._embed_points(point_coords, point_labels)
            dense = self._embed_masks(mask_input, has_mask_input)
            return self.model.mask_decoder.predict_masks(
                image_embeddings=image_embeddings,
                image_pe=self.dense_pe,
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
            )

    return LowResDecoder(sam.model).eval()


class TorchDecoder:
    name = "torch"

    def __init__(self, sam: LoadedSam) -> None:
        self.module = _low_res_module(sam)

    def run(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            masks, iou = self.module(*(torch.from_numpy(feed[name]) for name in _INPUTS))
        return masks[0].numpy(), iou[0].numpy()


# Two threads for the decoder: on an idle 2-core machine a MobileSAM click (3 masks) took p95 38 ms with two,
# 58 ms with one (the 50 ms target, ADR 0038). A click waits for nothing else: the next image's embedding is
# started only after 2 s without a click, so the two threads are not shared with it.
DECODER_THREADS = max(1, min(2, os.cpu_count() or 1))


class OnnxDecoder:
    name = "onnxruntime"

    def __init__(self, sam: LoadedSam, graph_folder: Path | None, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads if threads is not None else DECODER_THREADS
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        cpu = ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(_exported_graph(sam, graph_folder), options, providers=cpu)
        except Exception:  # a damaged cached graph (onnxruntime raises its own types): export it again
            graph = _exported_graph(sam, graph_folder, fresh=True)
            self.session = ort.InferenceSession(graph, options, providers=cpu)

    def run(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        masks, iou = self.session.run(None, feed)
        return masks[0], iou[0]


def _exported_graph(sam: LoadedSam, folder: Path | None, fresh: bool = False) -> bytes:
    """The decoder as ONNX bytes, from ``folder`` when exported before for these weights."""
    path = folder / f"decoder-{sam.kind.name}-{sam.identity}-op{OPSET}.onnx" if folder else None
    if path is not None and path.is_file() and not fresh:
        return path.read_bytes()
    data = export_decoder(sam)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data, fsync=False)
        except OSError:
            pass  # an unwritable cache only costs the export next time
    return data


def export_decoder(sam: LoadedSam) -> bytes:
    import torch

    module = _low_res_module(sam)
    example = sample_feed()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints in the graph
        torch.onnx.export(
            module,
            tuple(torch.from_numpy(example[name]) for name in _INPUTS),
            buf,  # type: ignore[arg-type]  # torch's stub lists paths only; this exporter takes a file too
            dynamo=False,
            opset_version=OPSET,
            input_names=list(_INPUTS),
            output_names=["low_res_masks", "iou_predictions"],
            dynamic_axes={"point_coords": {1: "points"}, "point_labels": {1: "points"}},
        )
    return buf.getvalue()


def sample_feed() -> dict[str, np.ndarray]:
    return {
        "image_embeddings": np.zeros((1, 256, 64, 64), np.float32),
        "point_coords": np.zeros((1, 2, 2), np.float32),
        "point_labels": np.array([[1.0, -1.0]], np.float32),
        "mask_input": np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.zeros(1, np.float32),
    }


def make_decoder(sam: LoadedSam, backend: str = "auto", graph_folder: Path | None = None) -> Any:
    """``backend``: "onnxruntime", "torch", or "auto" (onnxruntime when installed)."""
    if backend in ("auto", "onnxruntime"):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            if backend == "onnxruntime":
                raise
        else:
            return OnnxDecoder(sam, graph_folder)
    return TorchDecoder(sam)
