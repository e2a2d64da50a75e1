"""Per-pixel label quality from one image's softmax probabilities and its given mask.

Confident learning (Northcutt et al., 2021) applied per pixel: the *self-confidence* of a pixel is
p[given label]; its *normalised margin* is p[label] - max_{k != label} p[k] (in [-1, 1], negative when the
model prefers another class). A class's threshold is the mean self-confidence of the pixels given that
class over the whole dataset; a pixel is *flagged* when the model's top class k differs from its label
and p[k] reaches k's threshold (the model confidently says k, by k's own standard). Pixels labelled
ignore (255) are never flagged and count nowhere.

Only the compact ``PixelQuality`` of the candidate pixels (top class != label) is kept per image: the
[C, H, W] probabilities are reduced as soon as they arrive, so memory does not grow with C x images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PixelQuality:
    """One image's candidate pixels (valid, top class != label) and the sums the thresholds need."""

    shape: tuple[int, int]
    flat_index: np.ndarray  # int64 positions (row-major) of the candidate pixels
    label: np.ndarray  # uint8 given class of each candidate
    predicted: np.ndarray  # uint8 the model's top class
    p_predicted: np.ndarray  # float32 p[predicted]
    margin: np.ndarray  # float32 normalised margin p[label] - max_{k != label} p[k] (< 0 here)
    class_confidence_sum: np.ndarray  # float64 [C]: sum of self-confidence over pixels given class c
    class_pixels: np.ndarray  # int64 [C]: pixels given class c (ignore excluded)
    valid_pixels: int  # pixels not ignore
    uncertainty: float  # mean 1 - max p over all pixels (least confidence)
    top2_margin: float  # mean p[top1] - p[top2] over all pixels (small: unsure)
    # per given class c: sum of s * exp(-s / T) and of exp(-s / T), s = self-confidence (softmin_quality)
    softmin_num: np.ndarray | None = None
    softmin_den: np.ndarray | None = None


SOFTMIN_TEMPERATURE = 0.1  # Lad & Mueller (2023): low enough that the worst pixels decide


def softmin_sums(
    p_label: np.ndarray, label: np.ndarray, num_classes: int, temperature: float = SOFTMIN_TEMPERATURE
) -> tuple[np.ndarray, np.ndarray]:
    """Per given class, sum of s * exp(-s / T) and of exp(-s / T) over the pixels (s = p[label]):
    the parts of a soft minimum that add up over images, folds and classes."""
    weight = np.exp(-p_label.astype(np.float64) / temperature)
    num = np.bincount(label, weights=p_label * weight, minlength=num_classes)[:num_classes]
    den = np.bincount(label, weights=weight, minlength=num_classes)[:num_classes]
    return num, den


def softmin_quality(num: np.ndarray, den: np.ndarray) -> float:
    """The soft minimum of the self-confidence over the pixels summed in ``num``/``den`` (1.0: none):
    a label-quality score in [0, 1] that a few badly labelled pixels pull down (the mean would not)."""
    total = float(np.sum(den))
    return float(np.sum(num)) / total if total > 0 else 1.0


def uncertainty_of(probs: np.ndarray) -> tuple[float, float]:
    """(mean 1 - max p, mean top-1 minus top-2 probability) over all pixels of ``probs`` [C, H, W].

    Changes nothing in ``probs``."""
    if probs.shape[0] < 2:
        return 0.0, 1.0
    top2 = np.partition(probs.reshape(probs.shape[0], -1), -2, axis=0)[-2:]
    return uncertainty_of_top2(top2[::-1])


def uncertainty_of_top2(top2: np.ndarray) -> tuple[float, float]:
    """``uncertainty_of`` from the two largest probabilities per pixel ([2, ...], largest first:
    ``Predictor.top2_batch``'s values)."""
    return float(1.0 - top2[0].mean()), float((top2[0] - top2[1]).mean())


def pixel_quality(probs: np.ndarray, labels: np.ndarray, ignore_index: int = 255) -> PixelQuality:
    """Reduce ``probs`` (float32 [C, H, W], softmax) against ``labels`` ([H, W] class indices).

    Labels outside 0..C-1 other than ``ignore_index`` raise ValueError. ``probs`` is modified in place
    (the given class's probability is masked to find the best other class): pass a copy to keep it."""
    c = probs.shape[0]
    labels = np.asarray(labels)
    if labels.shape != probs.shape[1:]:
        raise ValueError(f"labels {labels.shape} and probabilities {probs.shape[1:]} differ in size")
    valid = labels != ignore_index
    if np.any(labels[valid] >= c):
        raise ValueError(f"a label is outside the model's {c} classes (values up to {labels[valid].max()})")
    uncertainty, top2 = uncertainty_of(probs)
    lab = np.where(valid, labels, 0).astype(np.intp)
    flat = probs.reshape(c, -1)
    lab_flat = lab.ravel()
    cols = np.arange(lab_flat.size)
    p_label = flat[lab_flat, cols].copy()
    predicted = flat.argmax(0)
    p_pred = flat[predicted, cols]
    flat[lab_flat, cols] = -1.0  # in place: the best class other than the label
    other = flat.max(0)
    valid_flat = valid.ravel()
    cand = np.flatnonzero(valid_flat & (predicted != lab_flat))
    conf_sum = np.bincount(lab_flat[valid_flat], weights=p_label[valid_flat], minlength=c)[:c]
    counts = np.bincount(lab_flat[valid_flat], minlength=c)[:c]
    soft_num, soft_den = softmin_sums(p_label[valid_flat], lab_flat[valid_flat], c)
    return PixelQuality(
        shape=(int(labels.shape[0]), int(labels.shape[1])),
        flat_index=cand.astype(np.int64),
        label=lab_flat[cand].astype(np.uint8),
        predicted=predicted[cand].astype(np.uint8),
        p_predicted=p_pred[cand].astype(np.float32),
        margin=(p_label[cand] - other[cand]).astype(np.float32),
        class_confidence_sum=conf_sum.astype(np.float64),
        class_pixels=counts.astype(np.int64),
        valid_pixels=int(valid_flat.sum()),
        uncertainty=uncertainty,
        top2_margin=top2,
        softmin_num=soft_num,
        softmin_den=soft_den,
    )


def class_thresholds(confidence_sum: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Per-class threshold: the mean self-confidence of the pixels given each class (NaN: no pixel).

    A class never given anywhere has no threshold; pixels predicted as it are never flagged."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pixels > 0, confidence_sum / np.maximum(pixels, 1), np.nan)


def flagged(quality: PixelQuality, thresholds: np.ndarray) -> np.ndarray:
    """Boolean per candidate: the model's top class reaches its class threshold."""
    t = thresholds[quality.predicted.astype(np.intp)]
    with np.errstate(invalid="ignore"):
        return quality.p_predicted >= t  # NaN threshold: False
