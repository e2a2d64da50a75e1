"""Offline assist tools of the mask editor (issue 11): magic wand, superpixel brush, GrabCut.

Qt-free maths on the shown image (RGB at mask resolution): each returns an ``editing.box.Area`` that
``ImageEdit.apply_area`` writes through the overwrite rule as one undo step (docs/adr, assists).
"""
