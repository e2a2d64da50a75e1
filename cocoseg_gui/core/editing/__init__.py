"""The Qt-free mask editing core: tools, overwrite rules, undo history and safe saving (ADR 0014).

Everything works on an (H, W) uint8 label array at mask resolution (0 background, 1..K classes, 255
ignore) and touches only a bounding box, so a brush event on a 4096x4096 map costs what the brush
covers, never a full-frame copy. The GUI editor calls these; nothing here imports Qt.

Modules: ``box`` (Area; its Box is ``core.masks.box``), ``footprint`` (brush tips), ``rules`` (overwrite
modes, painting a region), ``stroke`` (brush/eraser segments), ``fill`` (flood fill), ``polygon``
(polygon/lasso), ``history`` (undo/redo of bounding-box patches), ``save`` (palette PNG + report.json +
image_mask_map.json + edited.json, atomically).
"""
