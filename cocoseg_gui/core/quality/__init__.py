"""Label quality: likely label errors and model uncertainty per image (confident learning, ADR 0020),
and a prediction compared with its ground truth (Predict's views).

``pixel_quality``: per-pixel label quality from softmax probabilities; ``regions``: flagged pixels ->
connected regions and an image score; ``issues_file``: the typed result and issues.json; ``job``: the
jobs over a mask folder (``find_label_issues``) or an image folder (``rank_uncertain``);
``truth_compare``: ground-truth lookup, one image predicted and compared, the error map (IoU per image
and class: ``training.scores``).
"""
