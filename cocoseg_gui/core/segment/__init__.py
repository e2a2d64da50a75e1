"""Click to segment (issue 21, ADR 0038): SAM ViT-B/L/H and MobileSAM from a weights file the user has.

Qt-free. ``weights`` reads and recognises a file (never unpickling code), ``model`` builds the
architecture from the optional ``sam`` extra and loads it strictly, ``segmenter`` turns an image into an
embedding once and prompts (points, a box, a previous mask) into masks fast, ``embedding_cache`` keeps
embeddings on disk so an image seen before costs nothing, ``from_boxes`` makes proposals from COCO boxes.
"""
