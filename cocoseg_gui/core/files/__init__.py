"""Files on disk, safely: atomic writes, the one output guard every writer runs, inter-process folder
locks, dataset-relative paths that stay inside their folder, and image headers read without decoding."""
