"""Metrics as pure functions: macro-F1 per attribute, calibration error, reliability bins.

Predictions may be ``"unknown"`` or ``None`` (abstention / no vote): they count as misses for
the gold class and as a prediction of no class, so abstaining lowers recall, not precision.

>>> round(macro_f1(["a", "b", "a"], ["a", "b", "b"], labels=["a", "b"]), 4)
0.6667
>>> round(macro_f1(["a", "a"], ["a", None], labels=["a", "b"]), 4)  # "b" absent: not averaged
0.6667
>>> ece([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0], n_bins=2)
0.25
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support

NO_LABEL = "__none__"


def _clean(pred: Sequence) -> list[str]:
    return [NO_LABEL if p is None or (isinstance(p, float) and np.isnan(p)) else str(p) for p in pred]


def macro_f1(gold: Sequence[str], pred: Sequence, labels: Sequence[str], weights: Sequence[float] | None = None) -> float:
    """Macro-F1 over the taxonomy's labels present in gold or predictions (sklearn's
    ``zero_division=0``); a label nobody has and nobody predicted is left out of the mean.
    ``weights``: a count per pair (a bootstrap draw); a pair of weight 0 is left out."""
    gold, pred = list(gold), _clean(pred)
    if weights is not None:
        keep = [i for i, w in enumerate(weights) if w]
        gold, pred, weights = [gold[i] for i in keep], [pred[i] for i in keep], [weights[i] for i in keep]
    if not gold:
        return float("nan")
    present = [lab for lab in labels if lab in set(gold) | set(pred)]
    return float(f1_score(gold, pred, labels=present, average="macro", zero_division=0, sample_weight=weights))


def per_class(gold: Sequence[str], pred: Sequence, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per label."""
    p, r, f, s = precision_recall_fscore_support(list(gold), _clean(pred), labels=list(labels), zero_division=0)
    return {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)}


def reliability_bins(confidence: Sequence[float], correct: Sequence[float], n_bins: int = 10) -> dict[str, list]:
    """Equal-width confidence bins: per bin count, mean confidence and accuracy (NaN if empty)."""
    conf = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    corr = np.asarray(correct, dtype=float)
    keep = ~np.isnan(conf)
    conf, corr = conf[keep], corr[keep]
    idx = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=corr, minlength=n_bins) / count
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return {"lo": edges[:-1].tolist(), "hi": edges[1:].tolist(), "count": count.tolist(),
            "confidence": mean_conf.tolist(), "accuracy": acc.tolist()}


def ece(confidence: Sequence[float], correct: Sequence[float], n_bins: int = 10) -> float:
    """Expected calibration error: count-weighted mean |accuracy - confidence| over bins."""
    b = reliability_bins(confidence, correct, n_bins)
    count = np.asarray(b["count"], dtype=float)
    if count.sum() == 0:
        return float("nan")
    gap = np.abs(np.nan_to_num(np.asarray(b["accuracy"]) - np.asarray(b["confidence"])))
    return float((gap * count).sum() / count.sum())


def brier(confidence: Sequence[float], correct: Sequence[float]) -> float:
    """Mean squared gap between confidence and 0/1 correctness (NaN confidences skipped)."""
    conf = np.asarray(confidence, dtype=float)
    corr = np.asarray(correct, dtype=float)
    keep = ~np.isnan(conf)
    return float(np.mean((conf[keep] - corr[keep]) ** 2)) if keep.any() else float("nan")
