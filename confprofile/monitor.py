"""Label-free monitoring of an annotation table: failures, abstentions, agreement, confidence.

Nothing here reads labels, so these numbers can be watched on the unlabeled pool too.

>>> import pandas as pd
>>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3, "teacher": ["t"] * 3,
...     "sample": [0, 1, 2], "label": ["a", "a", None], "confidence": [0.9, 0.7, float("nan")],
...     "ok": [True, True, False], "error": [None, None, "not JSON"]})
>>> round(failure_rates(ann)["t"], 4)
0.3333
>>> sample_agreement(ann)["t"]
1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from confprofile.taxonomy import UNKNOWN


def failure_rates(ann: pd.DataFrame) -> dict[str, float]:
    """Share of (user, attribute, sample) outputs per teacher that failed to parse."""
    return {t: float(1 - g["ok"].mean()) for t, g in ann.groupby("teacher", sort=True)}


def failure_reasons(ann: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts of each parse-failure reason per teacher (the reason's first clause)."""
    bad = ann[~ann["ok"]].assign(reason=lambda d: d["error"].fillna("?").str.split(":").str[0])
    return {t: g["reason"].value_counts().sort_index().to_dict() for t, g in bad.groupby("teacher", sort=True)}


def abstention_rates(ann: pd.DataFrame) -> dict[str, float]:
    """Share of parsed outputs per teacher that answered ``unknown``."""
    ok = ann[ann["ok"]]
    return {t: float((g["label"] == UNKNOWN).mean()) for t, g in ok.groupby("teacher", sort=True)}


def sample_agreement(ann: pd.DataFrame) -> dict[str, float]:
    """Mean share of a teacher's parsed samples that agree with their own modal label.

    1.0 means every sample of every (user, attribute) said the same; low values mean the
    teacher's samples disagree, which is what voting can exploit.
    """
    ok = ann[ann["ok"]]
    out = {}
    for t, g in ok.groupby("teacher", sort=True):
        counts = g.groupby(["user_id", "attribute", "label"]).size()
        per_pair = counts.groupby(level=[0, 1]).agg(lambda c: c.max() / c.sum())
        out[t] = float(per_pair.mean()) if len(per_pair) else float("nan")
    return out


def confidence_histogram(ann: pd.DataFrame, n_bins: int = 10) -> dict[str, list[int]]:
    """Counts of parsed confidences per teacher in ``n_bins`` equal bins over [0, 1]."""
    edges = np.linspace(0, 1, n_bins + 1)
    return {t: np.histogram(g["confidence"].dropna().clip(0, 1), bins=edges)[0].tolist()
            for t, g in ann[ann["ok"]].groupby("teacher", sort=True)}


def label_shares(table: pd.DataFrame, taxonomy, column: str = "label") -> dict[str, dict[str, float]]:
    """Share of each taxonomy label per attribute in ``table[column]``; abstentions, failures
    and off-taxonomy values are left out.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> v = pd.DataFrame({"attribute": ["gender"] * 3, "label": ["male", "male", "unknown"]})
    >>> label_shares(v, [load_taxonomy()["gender"]])
    {'gender': {'female': 0.0, 'male': 1.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for attr in taxonomy:
        col = table.loc[table["attribute"] == attr.name, column]
        counts = col[col.isin(attr.labels)].value_counts()
        n = max(int(counts.sum()), 1)
        out[attr.name] = {lab: int(counts.get(lab, 0)) / n for lab in attr.labels}
    return out


def balance(votes: pd.DataFrame, taxonomy) -> float:
    """Mean over attributes of the normalised entropy of the kept label distribution.

    1.0 = every label of every attribute equally frequent; 0.0 = one label only. Label-free:
    the distribution-calibration target of stage 1.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> v = pd.DataFrame({"attribute": ["gender"] * 4, "label": ["male", "male", "female", "female"]})
    >>> balance(v, [load_taxonomy()["gender"]])
    1.0
    """
    kept = votes[votes["kept"].astype(bool)] if "kept" in votes.columns else votes
    out = []
    for attr in taxonomy:
        p = np.array([x for x in label_shares(kept, [attr])[attr.name].values() if x > 0])
        out.append(float(-(p * np.log(p)).sum() / np.log(len(attr.labels))) if len(p) else 0.0)
    return float(np.mean(out))


def complete_teachers(ann: pd.DataFrame) -> list[str]:
    """The teachers that annotated every user of the table, sorted (a teacher capped by
    ``max_users`` is left out, so every vote compares the same teachers on every user).

    >>> ann = pd.DataFrame({"user_id": ["u", "v", "u"], "teacher": ["a", "a", "b"]})
    >>> complete_teachers(ann)
    ['a']
    """
    n_users = ann["user_id"].nunique()
    per_teacher = ann.groupby("teacher")["user_id"].nunique()
    return sorted(str(t) for t, n in per_teacher.items() if n == n_users)
