"""Evaluation against gold labels: the only module that opens gold-label files.

Gold files (``runs/<profile>/data/gold/<split>.jsonl``) hold one line per user:
``{"user_id": ..., "labels": {attribute: label}, "clues": {attribute: clue strength}}``.
``clues`` is the generator's record of how strong the evidence it rendered was (explicit,
strong, weak, none, misleading); it is for analysis only, like the labels.

Teacher, voting, calibration, SFT and RL code must not import this module (a test checks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import metrics
from confprofile.errors import RecordError
from confprofile.records import read_jsonl
from confprofile.taxonomy import Taxonomy


def read_gold(path: str | Path, taxonomy: Taxonomy) -> pd.DataFrame:
    """Gold labels as a long table: ``user_id, attribute, gold, clue``. Validates every label."""
    rows = []
    for n, obj in read_jsonl(path):
        if not isinstance(obj, dict) or not isinstance(obj.get("user_id"), str):
            raise RecordError(path, n, "user_id", "expected an object with a string user_id")
        labels = obj.get("labels")
        if not isinstance(labels, dict):
            raise RecordError(path, n, "labels", "expected an object mapping attribute to label")
        clues = obj.get("clues") or {}
        for attr in taxonomy:
            lab = labels.get(attr.name)
            if lab not in attr.labels:
                raise RecordError(path, n, f"labels.{attr.name}",
                                  f"{lab!r} is not a label of '{attr.name}' ({', '.join(attr.labels)})")
            rows.append({"user_id": obj["user_id"], "attribute": attr.name, "gold": lab,
                         "clue": clues.get(attr.name)})
    return pd.DataFrame(rows, columns=["user_id", "attribute", "gold", "clue"])


def score(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy) -> dict:
    """Per-attribute macro-F1 and their average, for a ``user_id, attribute, label`` table.

    Users missing from ``pred`` count as abstentions. Returns
    ``{"f1": {attribute: f1}, "avg_f1": mean, "n_users": n}`` (F1 on a 0-100 scale, as the
    paper reports it).
    """
    merged = gold.merge(pred[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    f1 = {}
    for attr in taxonomy:
        m = merged[merged["attribute"] == attr.name]
        labels = m["label"].where(m["label"].notna(), None).tolist()
        f1[attr.name] = 100.0 * metrics.macro_f1(m["gold"].tolist(), labels, attr.labels)
    return {"f1": f1, "avg_f1": float(np.mean(list(f1.values()))), "n_users": int(gold["user_id"].nunique())}


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


def baselines(gold: pd.DataFrame, taxonomy: Taxonomy, seed: int = 0) -> dict:
    """Reference points: a uniform random labeller and an always-the-majority-class labeller.

    "Above chance" in the notebooks means above both. The majority baseline peeks at gold (it is
    a reference for evaluation, never a method).
    """
    from confprofile.repro import rng

    r = rng(seed, "uniform_baseline")
    uniform = gold.assign(label=[taxonomy[a].labels[r.integers(len(taxonomy[a].labels))] for a in gold["attribute"]])
    majority_label = gold.groupby("attribute")["gold"].agg(lambda s: s.value_counts().index[0])
    majority = gold.assign(label=gold["attribute"].map(majority_label))
    return {"uniform_random": score(uniform, gold, taxonomy), "majority_class": score(majority, gold, taxonomy)}


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


def threshold_curve(votes: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy,
                    thresholds: list[float]) -> dict[str, list[float]]:
    """Macro precision, recall and F1 (mean over attributes) and coverage when only pairs with
    ``confidence >= t`` are kept, for each threshold ``t`` (the rest count as abstentions).

    Precision averages the classes that are predicted at least once (NaN when none is)."""
    j = gold.merge(votes[["user_id", "attribute", "label", "confidence"]], on=["user_id", "attribute"], how="left")
    out: dict[str, list[float]] = {"threshold": list(thresholds), "precision": [], "recall": [], "f1": [],
                                   "coverage": []}
    for t in thresholds:
        pred = j["label"].where(j["confidence"] >= t, None)
        p = r = f = 0.0
        for attr in taxonomy:
            m = (j["attribute"] == attr.name).to_numpy()
            g, y = j.loc[m, "gold"].tolist(), pred[m].tolist()
            present = [lab for lab in attr.labels if lab in set(g)]
            pc = metrics.per_class(g, y, present)
            predicted = [lab for lab in present if lab in set(y)]  # precision of an unused class is undefined
            p += np.mean([pc[lab]["precision"] for lab in predicted]) if predicted else np.nan
            r += np.mean([c["recall"] for c in pc.values()])
            f += 100.0 * metrics.macro_f1(g, y, attr.labels)
        out["precision"].append(p / len(taxonomy))
        out["recall"].append(r / len(taxonomy))
        out["f1"].append(f / len(taxonomy))
        out["coverage"].append(float(pred.notna().mean()))
    return out


# --------------------------------------------------------------------------------------------
# model predictions (the evaluation harness of notebooks 04-06) and paired intervals


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
        present = [lab for lab in attr.labels if lab in set(m["gold"])]
        pc = metrics.per_class(m["gold"].tolist(), m["label"].where(m["label"].notna(), None).tolist(), present)
        prec[attr.name] = 100.0 * float(np.mean([c["precision"] for c in pc.values()])) if pc else float("nan")
        rec[attr.name] = 100.0 * float(np.mean([c["recall"] for c in pc.values()])) if pc else float("nan")
    return {**rep, "precision": prec, "recall": rec, "avg_precision": float(np.nanmean(list(prec.values()))),
            "avg_recall": float(np.nanmean(list(rec.values()))),
            "parse_failure_rate": float((~ok & ~abstained).mean()), "abstention_rate": float(abstained.mean()),
            "n_users": int(gold["user_id"].nunique())}


def _codes(table: pd.DataFrame, users: pd.Index, attr) -> np.ndarray:
    """Label index per user (-1: no label), for one attribute of a vote-shaped table."""
    t = table[table["attribute"] == attr.name]
    if "kept" in t.columns:
        t = t.assign(label=t["label"].where(t["kept"].astype(bool), None))
    lab = t.drop_duplicates("user_id").set_index("user_id")["label"].reindex(users)
    index = {name: i for i, name in enumerate(attr.labels)}
    return np.array([index.get(x, -1) if isinstance(x, str) else -1 for x in lab], dtype=int)


def _boot_avg_f1(table: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, weights: np.ndarray,
                 users: pd.Index) -> np.ndarray:
    """Average macro-F1 (0-100) for each row of ``weights`` (bootstrap counts per user), with
    ``metrics.macro_f1``'s rule: a label nobody has and nobody predicted is left out."""
    total = np.zeros(weights.shape[0])
    for attr in taxonomy:
        g = gold[gold["attribute"] == attr.name].drop_duplicates("user_id").set_index("user_id")["gold"]
        gc = np.array([attr.labels.index(x) for x in g.reindex(users)])
        pc = _codes(table, users, attr)
        f1s, present = [], []
        for c in range(len(attr.labels)):
            tp = weights @ ((gc == c) & (pc == c)).astype(float)
            fp = weights @ ((gc != c) & (pc == c)).astype(float)
            fn = weights @ ((gc == c) & (pc != c)).astype(float)
            denom = 2 * tp + fp + fn
            with np.errstate(invalid="ignore", divide="ignore"):
                f1s.append(np.where(denom > 0, 2 * tp / denom, 0.0))
            present.append(denom > 0)
        f1s, present = np.array(f1s), np.array(present)
        total += 100.0 * (f1s * present).sum(0) / np.maximum(present.sum(0), 1)
    return total / len(taxonomy)


def paired_bootstrap(a: pd.DataFrame, b: pd.DataFrame, gold: pd.DataFrame, taxonomy, n_boot: int,
                     seed: int) -> dict:
    """Average-F1 difference of two vote-shaped tables (``user_id, attribute, label[, kept]``)
    on the same gold users, ``avgF1(a) - avgF1(b)`` in F1 points as ``vote_report`` reports it,
    with a paired 95% bootstrap interval: users are resampled with replacement, both tables
    scored on the same resample. Rows with ``kept`` false and missing users are abstentions.

    >>> from dataclasses import replace
    >>> from confprofile.taxonomy import load_taxonomy
    >>> tax = replace(load_taxonomy(), attributes=(load_taxonomy()["gender"],))
    >>> gold = pd.DataFrame({"user_id": list("abcd"), "attribute": "gender",
    ...                      "gold": ["male", "male", "female", "female"]})
    >>> a = gold.assign(label=gold["gold"])                       # all right: F1 100
    >>> b = gold.assign(label=["male", "male", "male", "female"])  # F1 (0.8 + 0.667) / 2
    >>> r = paired_bootstrap(a, b, gold, tax, n_boot=200, seed=0)
    >>> round(r["delta"], 2), r["ci"][0] >= 0.0
    (26.67, True)
    """
    from confprofile.repro import rng

    users = pd.Index(sorted(gold["user_id"].unique()))
    r = rng(seed, "paired_bootstrap")
    idx = r.integers(0, len(users), size=(n_boot, len(users)))
    weights = np.stack([np.bincount(row, minlength=len(users)) for row in idx]).astype(float)
    ones = np.ones((1, len(users)))
    fa, fb = _boot_avg_f1(a, gold, taxonomy, np.vstack([ones, weights]), users), \
        _boot_avg_f1(b, gold, taxonomy, np.vstack([ones, weights]), users)
    d = fa - fb
    lo, hi = np.percentile(d[1:], [2.5, 97.5])
    return {"delta": float(d[0]), "ci": [float(lo), float(hi)]}
