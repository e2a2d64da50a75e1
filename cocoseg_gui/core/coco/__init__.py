"""COCO instances files in: finding them, indexing them fast (columnar arrays, cached), checking their image
entries, and drawing an image's annotations into a class map exactly as pycocotools would."""
