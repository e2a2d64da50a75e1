"""Label quality: likely label errors and model uncertainty per image (confident learning, ADR 0020),
and per-image scores of a prediction against its ground truth.

``pixel_quality``: per-pixel label quality from softmax probabilities; ``regions``: flagged pixels ->
connected regions and an image score; ``issues_file``: the typed result and issues.json; ``job``: the
jobs over a mask folder (``find_label_issues``) or an image folder (``rank_uncertain``);
``scores``: IoU per image and class; ``truth_compare``: ground-truth lookup and the error map.
"""
