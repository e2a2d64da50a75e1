"""Label formats out of (and into) a mask folder: COCO export today (edited masks -> polygons/RLE that
redraw them exactly); other annotation tools' formats plug in here."""
