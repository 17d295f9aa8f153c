"""Scores against gold: macro-F1 per attribute and its average, reports of vote and prediction
tables (F1, coverage, ECE, Brier, precision and recall), reliability and threshold curves, the
cost curve of samples per teacher, and F1 by checkpoint and by clue strength.

Every function takes the gold table ``gold_labels.read_gold`` reads (``user_id, attribute, gold``,
and ``clue`` where the file has clues) and scores only the pairs it holds.

>>> import pandas as pd
>>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
>>> pred = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "label": ["x", "x"]})
>>> with_gold(pred, gold)["correct"].tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from confprofile import metrics, voting
from confprofile.taxonomy import Taxonomy


THRESHOLDS = [round(0.05 * i, 2) for i in range(20)]
"""The confidence thresholds of the precision/recall curves."""


def _mean_scored(f1: Mapping[str, float]) -> float:
    """Mean over the attributes that have a score (an attribute gold never labels has NaN)."""
    v = [x for x in f1.values() if np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def score(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy) -> dict:
    """Per-attribute macro-F1 and their average, for a ``user_id, attribute, label`` table.

    Only the pairs in ``gold`` are scored (gold with gaps: ``gold_labels.read_gold``); users missing from
    ``pred`` count as abstentions. Returns ``{"f1": {attribute: f1}, "avg_f1": mean,
    "n_users": n}`` (F1 on a 0-100 scale, as the paper reports it; an attribute with no gold
    pair has NaN and is left out of the mean).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {a: {"labels": {"x": {"description": "x"}, "y": {"description": "y"}}}
    ...                                      for a in ("g", "h")}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v", "u"], "attribute": ["g", "g", "h"], "gold": ["x", "y", "x"]})
    >>> pred = pd.DataFrame({"user_id": ["u", "v", "u", "v"], "attribute": ["g", "g", "h", "h"],
    ...                      "label": ["x", "x", "x", "y"]})  # (v, h) has no gold: not scored
    >>> score(pred, gold, tax)  # g: F1(x) 2/3, F1(y) 0; h: 1
    {'f1': {'g': 33.33333333333333, 'h': 100.0}, 'avg_f1': 66.66666666666666, 'n_users': 2}
    """
    merged = gold.merge(pred[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    f1 = {}
    for attr in taxonomy:
        m = merged[merged["attribute"] == attr.name]
        labels = m["label"].where(m["label"].notna(), None).tolist()
        f1[attr.name] = 100.0 * metrics.macro_f1(m["gold"].tolist(), labels, attr.labels)
    return {"f1": f1, "avg_f1": _mean_scored(f1), "n_users": int(gold["user_id"].nunique())}


def with_gold(table: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """Join gold onto an annotation or vote table; adds ``gold`` and ``correct`` (0/1)."""
    out = table.merge(gold[["user_id", "attribute", "gold"]], on=["user_id", "attribute"], how="inner")
    out["correct"] = (out["label"] == out["gold"]).astype(float)
    return out


def teacher_scores(ann: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, sample: int = 0) -> dict:
    """Macro-F1 per teacher from one sample each (the single-sample baseline).

    Returns ``{teacher: {"f1": {attribute: f1}, "avg_f1": mean}}``.
    """
    out = {}
    for teacher, t in ann[ann["sample"] == sample].groupby("teacher", sort=True):
        users = gold[gold["user_id"].isin(t["user_id"])]
        out[teacher] = score(t, users, taxonomy)
    return out


def confidence_report(ann: pd.DataFrame, gold: pd.DataFrame, n_bins: int = 5) -> dict:
    """Per teacher: reliability bins, ECE, and accuracy in the bottom and top confidence bins.

    Only parsed, non-abstaining votes count.
    """
    votes = with_gold(ann[ann["ok"] & (ann["label"] != "unknown")], gold)
    out = {}
    for teacher, t in votes.groupby("teacher", sort=True):
        bins = metrics.reliability_bins(t["confidence"], t["correct"], n_bins)
        filled = [i for i, c in enumerate(bins["count"]) if c >= 20]
        out[teacher] = {
            "bins": bins,
            "ece": metrics.ece(t["confidence"], t["correct"], n_bins),
            "accuracy": float(t["correct"].mean()),
            "accuracy_lowest_bin": bins["accuracy"][filled[0]] if filled else float("nan"),
            "accuracy_highest_bin": bins["accuracy"][filled[-1]] if filled else float("nan"),
        }
    return out


def vote_report(votes: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, n_bins: int = 10) -> dict:
    """How good a vote table is: F1 over all pairs (dropped = abstained), F1 over kept pairs,
    coverage (share kept), and ECE and Brier score of ``confidence`` over kept pairs with a label.

    A table without ``kept`` keeps every pair with a label.
    """
    v = votes.copy()
    kept = v["kept"].astype(bool) if "kept" in v.columns else v["label"].notna()
    v["kept"] = kept & v["label"].notna()
    on_all = score(v.assign(label=v["label"].where(v["kept"], None)), gold, taxonomy)
    kept_keys = v.loc[v["kept"], ["user_id", "attribute"]]
    on_kept = score(v[v["kept"]], gold.merge(kept_keys, on=["user_id", "attribute"]), taxonomy)
    j = with_gold(v[v["kept"]], gold)
    return {"avg_f1": on_all["avg_f1"], "f1": on_all["f1"], "avg_f1_kept": on_kept["avg_f1"],
            "coverage": float(len(j) / max(len(gold), 1)),
            "ece": metrics.ece(j["confidence"], j["correct"], n_bins) if len(j) else float("nan"),
            "brier": metrics.brier(j["confidence"], j["correct"]) if len(j) else float("nan")}


def prediction_report(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, n_bins: int = 10) -> dict:
    """How good a model's parsed predictions are (``confprofile.student.prediction_table``):
    ``vote_report``'s F1 (per attribute, average), ECE and Brier of the stated confidence over
    answered pairs, plus macro precision and recall per attribute (averaged), and the shares of
    pairs that failed to parse and that the model abstained on (``unknown`` or left out).
    Users missing from ``pred`` count as parse failures. A vote table (``kept``, no ``ok``) is
    read as a model that abstains where ``kept`` is false.
    """
    if "ok" not in pred.columns:
        answered = pred["kept"].astype(bool) & pred["label"].notna()
        pred = pred.assign(label=pred["label"].where(answered, None), ok=answered, abstained=~answered)
    p = gold[["user_id", "attribute"]].merge(pred, on=["user_id", "attribute"], how="left")
    ok = p["ok"].fillna(False).astype(bool)
    abstained = p["abstained"].fillna(False).astype(bool) if "abstained" in p else pd.Series(False, index=p.index)
    rep = vote_report(p.assign(kept=ok & p["label"].notna()), gold, taxonomy, n_bins)
    prec, rec = {}, {}
    j = gold.merge(p[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    for attr in taxonomy:
        m = j[j["attribute"] == attr.name]
        present = [lab for lab in attr.labels if lab in set(m["gold"])]  # none: gold never labels it (gaps)
        pc = metrics.per_class(m["gold"].tolist(), m["label"].where(m["label"].notna(), None).tolist(),
                               present) if present else {}
        prec[attr.name] = 100.0 * float(np.mean([c["precision"] for c in pc.values()])) if pc else float("nan")
        rec[attr.name] = 100.0 * float(np.mean([c["recall"] for c in pc.values()])) if pc else float("nan")
    return {**rep, "precision": prec, "recall": rec, "avg_precision": float(np.nanmean(list(prec.values()))),
            "avg_recall": float(np.nanmean(list(rec.values()))),
            "parse_failure_rate": float((~ok & ~abstained).mean()), "abstention_rate": float(abstained.mean()),
            "n_users": int(gold["user_id"].nunique())}


def threshold_curve(votes: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy,
                    thresholds: list[float]) -> dict[str, list[float]]:
    """Macro precision, recall and F1 (mean over attributes) and coverage when only pairs with
    ``confidence >= t`` are kept, for each threshold ``t`` (the rest count as abstentions).

    Precision averages the classes that are predicted at least once (NaN when none is)."""
    j = gold.merge(votes[["user_id", "attribute", "label", "confidence"]], on=["user_id", "attribute"], how="left")
    out: dict[str, list[float]] = {"threshold": list(thresholds), "precision": [], "recall": [], "f1": [],
                                   "coverage": []}
    scored = [attr for attr in taxonomy if (j["attribute"] == attr.name).any()]  # gold with gaps: some may have none
    for t in thresholds:
        pred = j["label"].where(j["confidence"] >= t, None)
        p, r, f = [], [], []
        for attr in scored:
            m = (j["attribute"] == attr.name).to_numpy()
            g, y = j.loc[m, "gold"].tolist(), pred[m].tolist()
            present = [lab for lab in attr.labels if lab in set(g)]
            pc = metrics.per_class(g, y, present)
            predicted = [lab for lab in present if lab in set(y)]  # precision of an unused class is undefined
            p.append(np.mean([pc[lab]["precision"] for lab in predicted]) if predicted else np.nan)
            r.append(np.mean([c["recall"] for c in pc.values()]))
            f.append(100.0 * metrics.macro_f1(g, y, attr.labels))
        out["precision"].append(float(np.mean(p)) if scored else float("nan"))
        out["recall"].append(float(np.mean(r)) if scored else float("nan"))
        out["f1"].append(float(np.mean(f)) if scored else float("nan"))
        out["coverage"].append(float(pred.notna().mean()))
    return out


def reliability(votes: pd.DataFrame, gold: pd.DataFrame, n_bins: int) -> dict[str, list]:
    """Reliability bins (``metrics.reliability_bins``) of a vote table's pairs with a label."""
    j = with_gold(votes[votes["label"].notna()], gold)
    return metrics.reliability_bins(j["confidence"], j["correct"], n_bins)


def answer_reliability(table: pd.DataFrame, gold: pd.DataFrame, n_bins: int) -> dict[str, list]:
    """``reliability`` of a model's stated confidence over the pairs it answered: every pair of a
    prediction table with a label, only the kept ones of a vote table (``kept``)."""
    return reliability(table[table["kept"].astype(bool)] if "kept" in table else table, gold, n_bins)


def f1_by_step(pred_by_step: Mapping[int, pd.DataFrame], gold: pd.DataFrame, taxonomy: Taxonomy) -> dict[int, float]:
    """Average macro-F1 (``score``) of each checkpoint's predictions (``choices.checkpoint_predictions``):
    ``step -> F1``, reported beside the label-free curve, never choosing anything."""
    return {step: score(t, gold, taxonomy)["avg_f1"] for step, t in pred_by_step.items()}


def cost_curve(ann: pd.DataFrame, rules: Mapping[str, voting.VoteRule],
               teacher_weights: Mapping[str, Mapping[str, float] | pd.Series | None], gold: pd.DataFrame,
               taxonomy: Taxonomy, sample_counts: Sequence[int]) -> dict[str, list[float]]:
    """Average macro-F1 of each rule's vote using the first k samples of every teacher, for each
    k in ``sample_counts`` (``teacher_weights[name]``: the rule's weights, or None)."""
    return {name: [score(rule(voting.subsample(ann, k), teacher_weights.get(name)), gold, taxonomy)["avg_f1"]
                   for k in sample_counts]
            for name, rule in rules.items()}


def answers(pred: pd.DataFrame) -> pd.DataFrame:
    """A prediction or vote table as answers: ``label`` None where a vote table did not keep the
    pair (``kept`` false), as the functions here score it.

    >>> v = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["a", "a"], "label": ["x", "y"],
    ...                   "confidence": [0.9, 0.2], "kept": [True, False]})
    >>> answers(v)["label"].tolist()
    ['x', None]
    """
    if "kept" not in pred.columns:
        return pred
    return pred.assign(label=pred["label"].astype(object).where(pred["kept"].astype(bool), None))


def f1_by_clue(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, strengths: Sequence[str]) -> dict:
    """Average macro-F1 (0-100) on the pairs whose gold ``clue`` is each strength: per attribute
    over its pairs of that strength, then averaged over the attributes that have any; ``n``
    counts the pairs. NaN where no pair has the strength.

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v", "w"], "attribute": ["g"] * 3, "gold": ["x", "y", "x"],
    ...                      "clue": ["explicit", "explicit", "weak"]})
    >>> pred = gold.assign(label=["x", "y", "y"])
    >>> f1_by_clue(pred, gold, tax, ["explicit", "weak", "none"])
    {'f1': {'explicit': 100.0, 'weak': 0.0, 'none': nan}, 'n': {'explicit': 2, 'weak': 1, 'none': 0}}
    """
    merged = gold.merge(answers(pred)[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    f1, n = {}, {}
    for s in strengths:
        m = merged[merged["clue"] == s]
        per_attr = [metrics.macro_f1(g["gold"].tolist(), g["label"].where(g["label"].notna(), None).tolist(),
                                     taxonomy[a].labels) for a, g in m.groupby("attribute", sort=True)]
        f1[s] = 100.0 * float(np.mean(per_attr)) if per_attr else float("nan")
        n[s] = int(len(m))
    return {"f1": f1, "n": n}
