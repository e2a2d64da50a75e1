"""The mask dataset folder (docs/formats.md): its files, class mapping and palette, which masks exist
(the inventory), the palette PNG codec, an image's annotations drawn into a class map (``rasterize``), the
`cocoseg masks` job, new folders for unlabelled images, and LabelMap, one image's class map."""
