"""cocoseg: a desktop workbench for COCO semantic segmentation."""

__version__ = "0.1.0"
