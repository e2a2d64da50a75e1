"""COCO instances files in: finding them, indexing them fast (columnar arrays, cached), checking their image
entries, and one annotation's pixels as pycocotools computes them (``segmentation``); drawing an image's
annotations into a class map is ``masks.rasterize`` (it needs the mask folder's classes and options)."""
