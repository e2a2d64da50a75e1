"""Which architecture a state_dict belongs to, from its key names and tensor shapes alone.

Shapes, not file names: a user's file may be renamed, fine-tuned (MedSAM is a ViT-B) or something else
entirely. Recognition works on ``{key: shape}`` so it is cheap to test without building models; the
strict ``load_state_dict`` afterwards (model.py) checks every other tensor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cocoseg_gui.core.segment.kinds import MOBILE_SAM, SAM2, VIT_B, VIT_H, VIT_L, SamKind

Shapes = Mapping[str, Sequence[int]]

# SAM's ViT encoders: (embedding width, number of blocks) -> kind
_VIT = {(768, 12): VIT_B, (1024, 24): VIT_L, (1280, 32): VIT_H}
_DECODER_KEY = "mask_decoder.iou_token.weight"
_PROMPT_KEY = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"


class NotSamWeights(ValueError):
    """The state_dict is not one we can use; the message says what it looks like instead."""


def recognise(shapes: Shapes) -> SamKind:
    """The kind whose state_dict ``shapes`` is; NotSamWeights (with the reason) otherwise.

    SAM 2 is recognised (``sam_mask_decoder``/``memory_attention`` keys) and returned as ``SAM2`` so
    the caller can refuse it with its own message.
    """
    keys = shapes.keys()
    if any(k.startswith(("memory_attention.", "sam_mask_decoder.")) for k in keys):
        return SAM2
    if _DECODER_KEY not in keys or _PROMPT_KEY not in keys:
        raise NotSamWeights(_what_it_looks_like(shapes))
    tiny_vit_stem = "image_encoder.patch_embed.seq.0.c.weight" in keys
    if tiny_vit_stem and any(k.startswith("image_encoder.layers.") for k in keys):
        return MOBILE_SAM
    patch = shapes.get("image_encoder.patch_embed.proj.weight")
    if patch is None or len(patch) != 4:
        raise NotSamWeights("SAM's prompt encoder and mask decoder, but an image encoder we do not know")
    width = int(patch[0])
    blocks = {k.split(".")[2] for k in keys if k.startswith("image_encoder.blocks.")}
    kind = _VIT.get((width, len(blocks)))
    if kind is None:
        raise NotSamWeights(
            f"a SAM ViT encoder of width {width} with {len(blocks)} blocks: not ViT-B (768, 12), "
            "ViT-L (1024, 24) or ViT-H (1280, 32)"
        )
    return kind


def _what_it_looks_like(shapes: Shapes) -> str:
    prefixes = sorted({k.split(".")[0] for k in shapes})[:6]
    return (
        "not SAM, MobileSAM or SAM 2 weights (no mask_decoder/prompt_encoder tensors; its tensors are "
        f"named {', '.join(prefixes)}{', …' if len(prefixes) == 6 else ''})"
    )
