"""`cocoseg segment`: one image, points and/or a box -> one mask PNG, with SAM or MobileSAM weights."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


def point(text: str) -> tuple[float, float, int]:
    """``X,Y`` or ``X,Y,1`` (object) / ``X,Y,0`` (background), image pixels."""
    parts = text.split(",")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
        label = int(parts[2]) if len(parts) == 3 else 1
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y or X,Y,0|1, got {text!r}") from None
    if label not in (0, 1):
        raise argparse.ArgumentTypeError(f"a point's label is 1 (object) or 0 (background), got {text!r}")
    return x, y, label


def box(text: str) -> tuple[float, float, float, float]:
    """``X,Y,W,H`` (COCO's box convention), positive width and height."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"the box's width and height must be positive, got {text!r}")
    return x, y, w, h


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "segment",
        help="segment one object of an image from clicks and/or a box (SAM / MobileSAM weights file)",
        description="Runs Segment Anything (ViT-B/L/H) or MobileSAM from a weights file you have (recognised "
        "by its contents, read with weights_only; `cocoseg download-weights sam_vit_b` etc. fetch the "
        "official ones) and writes the mask as a grey PNG (255 = object). The image's embedding is "
        "cached ($COCOSEG_CACHE_DIR/segment), so more clicks on the same image are fast. Needs the "
        "optional extra: pip install 'cocoseg-gui[sam]'.",
    )
    p.add_argument("--sam-weights", required=True, metavar="W",
                   help="weights file, or a name downloaded before (mobile_sam, sam_vit_b...)")  # fmt: skip
    p.add_argument("--image", type=Path, required=True, metavar="IMG")
    p.add_argument("--point", type=point, action="append", default=[], metavar="X,Y[,0|1]",
                   help="a click (repeatable): 1 = on the object (default), 0 = background")  # fmt: skip
    p.add_argument("--box", type=box, metavar="X,Y,W,H", help="a box around the object (pixels)")
    p.add_argument("--out", type=Path, required=True, metavar="MASK.png")
    p.add_argument("--single", action="store_true",
                   help="decode one mask (a lone point gets 3 candidates, the best kept)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an earlier output of this command")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.files.output_guard import check_output_file
    from cocoseg_gui.core.segment.downloads import resolve_sam_weights
    from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
    from cocoseg_gui.core.segment.mask_file import is_segment_mask, write_mask
    from cocoseg_gui.core.segment.model import load_sam
    from cocoseg_gui.core.segment.prompt import Prompt
    from cocoseg_gui.core.segment.segmenter import Segmenter
    from cocoseg_gui.core.training.transforms import load_rgb

    weights = resolve_sam_weights(args.sam_weights)
    if not args.point and args.box is None:
        raise OptionsError("give at least one --point X,Y[,0|1] or a --box X,Y,W,H")
    check_output_file(
        args.out, reads={"the image": args.image, "the weights file": weights},
        overwrite=args.overwrite, owned=is_segment_mask, option="--out",
    )  # fmt: skip
    image = np.asarray(load_rgb(args.image))
    sam = load_sam(weights)
    segmenter = Segmenter(sam, None if args.no_cache else EmbeddingCache())
    embedding = segmenter.embed(image)
    x, y, w, h = args.box if args.box is not None else (0.0, 0.0, 0.0, 0.0)
    prompt = Prompt(
        points=tuple((px, py) for px, py, _ in args.point),
        labels=tuple(label for _, _, label in args.point),
        box=(x, y, x + w, y + h) if args.box is not None else None,
    )
    multimask = not args.single and len(args.point) == 1 and args.box is None  # SAM's advice for a lone click
    result = segmenter.predict(embedding, prompt, multimask=multimask)
    write_mask(args.out, result.masks[0])
    cached = "embedding from the cache" if segmenter.embeddings_computed == 0 else "image embedded"
    scores = ", ".join(f"{s:.3f}" for s in result.scores)
    best = ", the best written" if len(result) > 1 else ""
    print(
        f"{args.out}: {int(result.masks[0].sum())} of {result.masks[0].size} pixels "
        f"({sam.kind.label}, {cached}; predicted IoU {scores}{best})"
    )
    return 0
