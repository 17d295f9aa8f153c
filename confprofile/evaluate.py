"""Evaluation against gold labels: the only module that opens gold-label files.

Gold files (``runs/<profile>/data/gold/<split>.jsonl``) hold one line per user:
``{"user_id": ..., "labels": {attribute: label}, "clues": {attribute: clue strength}}``.
``clues`` is optional: the generator's record of how strong the evidence it rendered was
(explicit, strong, weak, none, misleading); it is for analysis only, like the labels. A gold
file of your own needs only ``user_id`` and ``labels``.

Gold may have gaps: a user without a label for an attribute (missing or null) leaves that pair
unscored everywhere here (``read_gold``).

Command line (``--help`` says what is read): score every pseudo-label file and saved prediction
table of a profile against its test gold, e.g. after ``python -m confprofile.vote``:

    python -m confprofile.evaluate --profile examples/own_data/own_data.yaml

Teacher, voting, calibration, SFT and RL code must not import this module (a test checks).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import metrics, paths, voting
from confprofile.errors import RecordError, run_cli
from confprofile.records import read_jsonl
from confprofile.repro import derive_seed, rng
from confprofile.taxonomy import Taxonomy


def read_gold(path: str | Path, taxonomy: Taxonomy) -> pd.DataFrame:
    """Gold labels as a long table: ``user_id, attribute, gold, clue``, one row per scored pair.

    Gold may have gaps: an attribute missing from a user's ``labels``, or null there, is a pair
    that is simply not scored (no row; every function here scores only the pairs gold has).
    ``gold.attrs`` holds ``n_users`` (users in the file) and ``unscored_pairs`` (the gaps). A
    label that is present but not in the taxonomy is an error naming the file, line and field.
    """
    rows, n_users, gaps = [], 0, 0
    for n, obj in read_jsonl(path):
        if not isinstance(obj, dict) or not isinstance(obj.get("user_id"), str):
            raise RecordError(path, n, "user_id", "expected an object with a string user_id")
        labels = obj.get("labels")
        if not isinstance(labels, dict):
            raise RecordError(path, n, "labels", "expected an object mapping attribute to label")
        clues = obj.get("clues") or {}
        n_users += 1
        for attr in taxonomy:
            lab = labels.get(attr.name)
            if lab is None:
                gaps += 1
                continue
            if lab not in attr.labels:
                raise RecordError(path, n, f"labels.{attr.name}",
                                  f"{lab!r} is not a label of '{attr.name}' ({', '.join(attr.labels)})")
            rows.append({"user_id": obj["user_id"], "attribute": attr.name, "gold": lab,
                         "clue": clues.get(attr.name)})
    out = pd.DataFrame(rows, columns=["user_id", "attribute", "gold", "clue"])
    out.attrs.update(n_users=n_users, unscored_pairs=gaps)
    return out


def split_gold(profile: str, split: str, taxonomy: Taxonomy) -> pd.DataFrame | None:
    """A split's gold labels (``read_gold``), or None where the profile has none: the scoring
    functions of ``confprofile.analysis`` then return empty reports."""
    path = paths.gold_path(profile, split)
    return read_gold(path, taxonomy) if path.is_file() else None


def _mean_scored(f1: Mapping[str, float]) -> float:
    """Mean over the attributes that have a score (an attribute gold never labels has NaN)."""
    v = [x for x in f1.values() if np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def score(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy) -> dict:
    """Per-attribute macro-F1 and their average, for a ``user_id, attribute, label`` table.

    Only the pairs in ``gold`` are scored (gold with gaps: ``read_gold``); users missing from
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


def supervised_reference(pool: Sequence[Mapping], test: Sequence[Mapping], pool_gold: pd.DataFrame, taxonomy,
                         *, max_chars: int, max_items: int, system_prompt: bool, c: float, seed: int) -> pd.DataFrame:
    """A supervised reference (a ceiling for this data, never a method or a choice): notebook
    04's classical student (TF-IDF + logistic regression on the student's prompt text,
    ``classical.fit_predict`` with its ``c``) trained on the pool's *gold* labels instead of
    pseudo-labels, answering the test users. Pairs gold leaves out are not trained on."""
    from confprofile import classical, sft

    def texts(recs):
        return [sft.student_messages(r, taxonomy, max_chars, max_items, system_prompt)[-1]["content"] for r in recs]

    votes = pool_gold.rename(columns={"gold": "label"}).assign(kept=True)
    return classical.fit_predict(texts(pool), [r["user_id"] for r in pool], votes, texts(test),
                                 [r["user_id"] for r in test], taxonomy, c=c, seed=seed)


def chance_predictions(gold: pd.DataFrame, taxonomy: Taxonomy, *, seed: int) -> dict[str, pd.DataFrame]:
    """The chance floor as prediction tables (so a model's lead over it gets a paired interval):
    ``uniform_random`` (a label drawn uniformly per pair, seeded) and ``majority_class`` (every
    pair the attribute's commonest gold label: it peeks at gold, a reference, never a method)."""
    r = rng(seed, "uniform_baseline")
    uniform = gold.assign(label=[taxonomy[a].labels[r.integers(len(taxonomy[a].labels))] for a in gold["attribute"]])
    majority_label = gold.groupby("attribute")["gold"].agg(lambda s: s.value_counts().index[0])
    majority = gold.assign(label=gold["attribute"].map(majority_label))
    cols = ["user_id", "attribute", "label", "confidence", "kept"]  # a vote table keeping every pair, no confidence
    return {name: t.assign(confidence=np.nan, kept=True)[cols].reset_index(drop=True)
            for name, t in (("uniform_random", uniform), ("majority_class", majority))}


def baselines(gold: pd.DataFrame, taxonomy: Taxonomy, *, seed: int) -> dict:
    """Reference points: a uniform random labeller and an always-the-majority-class labeller
    (``chance_predictions``). "Above chance" in the notebooks means above both."""
    return {name: score(t, gold, taxonomy) for name, t in chance_predictions(gold, taxonomy, seed=seed).items()}


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


def _f1_parts(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, users: list[str]):
    """Per attribute, one-hot gold and prediction matrices (users x labels); abstentions and
    labels outside the taxonomy are all-zero prediction rows, users missing from ``pred`` abstain,
    and so do pairs a vote table did not keep (``kept`` false), as in ``vote_report``."""
    if "kept" in pred.columns:
        pred = pred.assign(label=pred["label"].where(pred["kept"].astype(bool), None))
    merged = gold.merge(pred[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    row = {u: i for i, u in enumerate(users)}
    out = []
    for attr in taxonomy:
        m = merged[merged["attribute"] == attr.name]
        if m.empty:  # gold with gaps: an attribute gold never labels is not scored (as in ``score``)
            continue
        col = {lab: j for j, lab in enumerate(attr.labels)}
        g = np.zeros((len(users), len(col)))
        p = np.zeros((len(users), len(col)))
        ui = m["user_id"].map(row).to_numpy()
        g[ui, m["gold"].map(col).to_numpy()] = 1.0
        pj = m["label"].map(lambda x: col.get(x, -1) if isinstance(x, str) else -1).to_numpy()
        p[ui[pj >= 0], pj[pj >= 0]] = 1.0
        out.append((g, p))
    return out


def _avg_macro_f1(parts, weights: np.ndarray) -> np.ndarray:
    """Average macro-F1 (0-100) per row of ``weights`` (bootstrap counts per user), computed as
    ``metrics.macro_f1`` does: classes neither in gold nor predicted are left out of the mean,
    and so is an attribute none of whose gold pairs was drawn (gold with gaps), as in ``score``."""
    f1s = []
    for g, p in parts:
        tp, ng, npred = weights @ (g * p), weights @ g, weights @ p
        denom = ng + npred
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(denom > 0, 2 * tp / denom, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a draw with no gold pair of this attribute
            f1s.append(np.nanmean(f, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a draw with no gold pair at all
        return 100.0 * np.nanmean(f1s, axis=0)


def paired_bootstrap(pred_a: pd.DataFrame, pred_b: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy,
                     *, n_boot: int, seed: int, level: float = 0.95) -> dict:
    """Paired bootstrap over users of ``avg_f1(a) - avg_f1(b)`` (average macro-F1 as in ``score``).

    Both prediction tables (``user_id, attribute, label``) are scored on the same resampled
    users (drawn with replacement from gold's users, ``n_boot`` times, with a generator seeded
    by ``repro.derive_seed(seed, "paired_bootstrap")``). Returns ``{"delta": the difference on
    all users, "ci": [lo, hi] percentile interval at ``level``, "n_users", "n_boot"}``.

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> right, wrong = gold.assign(label=gold["gold"]), gold.assign(label=["y", "x"])
    >>> paired_bootstrap(right, wrong, gold, tax, n_boot=50, seed=0)  # 100 - 0 on any resample
    {'delta': 100.0, 'ci': [100.0, 100.0], 'n_users': 2, 'n_boot': 50}
    """
    users = sorted(gold["user_id"].unique().tolist())
    n = len(users)
    if n == 0:
        raise ValueError("paired_bootstrap: gold has no users")
    a, b = _f1_parts(pred_a, gold, taxonomy, users), _f1_parts(pred_b, gold, taxonomy, users)
    full = np.ones((1, n))
    delta = float((_avg_macro_f1(a, full) - _avg_macro_f1(b, full))[0])
    draws = np.random.default_rng(derive_seed(seed, "paired_bootstrap")).multinomial(n, np.full(n, 1.0 / n),
                                                                                     size=n_boot)
    d = _avg_macro_f1(a, draws.astype(float)) - _avg_macro_f1(b, draws.astype(float))
    lo, hi = np.percentile(d, [50 * (1 - level), 50 * (1 + level)])
    return {"delta": delta, "ci": [float(lo), float(hi)], "n_users": n, "n_boot": int(n_boot)}


def delta_claims(pred: Mapping[str, pd.DataFrame], comparisons: Mapping[str, tuple[str, str]], gold: pd.DataFrame,
                 taxonomy: Taxonomy, *, n_boot: int, seed: int) -> dict:
    """``results.claims`` entries for comparisons ``key: (a, b)`` of prediction tables in ``pred``:
    ``key``, average F1 of ``a`` minus ``b`` on all test users, and ``key_ci``, its paired
    bootstrap 95% interval (``paired_bootstrap``, seeded by ``seed`` and the key).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> pred = {"right": gold.assign(label=gold["gold"]), "wrong": gold.assign(label=["y", "x"])}
    >>> delta_claims(pred, {"right_minus_wrong_f1": ("right", "wrong")}, gold, tax, n_boot=20, seed=0)
    {'right_minus_wrong_f1': 100.0, 'right_minus_wrong_f1_ci': [100.0, 100.0]}
    """
    out = {}
    for key, (a, b) in comparisons.items():
        d = paired_bootstrap(pred[a], pred[b], gold, taxonomy, n_boot=n_boot, seed=derive_seed(seed, "boot", key))
        out.update({key: d["delta"], f"{key}_ci": d["ci"]})
    return out


def quasi_label_accuracy(quasi: pd.DataFrame, gold: pd.DataFrame) -> dict:
    """TTRL's *label accuracy* (monitoring only, never fed to training): the share of voted
    quasi labels (``label`` not None) that equal gold, overall and per attribute, and the share
    of pairs that got a quasi label at all.

    >>> q = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["a", "b", "a"], "label": ["x", None, "y"]})
    >>> g = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["a", "b", "a"], "gold": ["x", "z", "x"]})
    >>> quasi_label_accuracy(q, g)
    {'accuracy': 0.5, 'coverage': 0.6666666666666666, 'by_attribute': {'a': 0.5}}
    """
    j = gold.merge(quasi[["user_id", "attribute", "label"]], on=["user_id", "attribute"])
    voted = j[j["label"].notna()]
    hit = voted["label"] == voted["gold"]
    return {"accuracy": float(hit.mean()) if len(voted) else float("nan"),
            "coverage": float(len(voted) / max(len(j), 1)),
            "by_attribute": {a: float(h.mean()) for a, h in hit.groupby(voted["attribute"], sort=True)}}


def reward_accuracy(rollouts: pd.DataFrame, quasi: pd.DataFrame, gold: pd.DataFrame) -> float:
    """TTRL's *reward accuracy*: over rollout answers (valid ones, per attribute), the share
    whose match reward against the quasi label equals the reward they would get against gold.

    >>> r = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["a"] * 3, "label": ["x", "y", None], "ok": [True, True, False]})
    >>> q = pd.DataFrame({"user_id": ["u"], "attribute": ["a"], "label": ["y"]})
    >>> g = pd.DataFrame({"user_id": ["u"], "attribute": ["a"], "gold": ["x"]})
    >>> reward_accuracy(r, q, g)   # x: 0 vs 1 (wrong); y: 1 vs 0 (wrong)
    0.0
    """
    keys = ["user_id", "attribute"]
    j = (rollouts[rollouts["ok"].astype(bool)][keys + ["label"]]
         .merge(quasi[keys + ["label"]].rename(columns={"label": "quasi"}), on=keys)
         .merge(gold[keys + ["gold"]], on=keys))
    if not len(j):
        return float("nan")
    return float(((j["label"] == j["quasi"]) == (j["label"] == j["gold"])).mean())


def accuracy_by_consensus(quasi: pd.DataFrame, band: pd.DataFrame, gold: pd.DataFrame, n_bins: int) -> dict:
    """Label accuracy of voted quasi labels by the user's consensus (``rl.difficulty_band``), in
    ``n_bins`` equal bins over [0, 1]: bin centres, accuracy (NaN for an empty bin), pair counts.

    >>> q = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["a", "a"], "label": ["x", "x"]})
    >>> b = pd.DataFrame({"user_id": ["u", "v"], "consensus": [0.9, 0.2]})
    >>> g = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["a", "a"], "gold": ["x", "y"]})
    >>> accuracy_by_consensus(q, b, g, n_bins=2)
    {'consensus': [0.25, 0.75], 'accuracy': [0.0, 1.0], 'n': [1, 1]}
    """
    j = gold.merge(quasi[["user_id", "attribute", "label"]], on=["user_id", "attribute"]).merge(
        band[["user_id", "consensus"]], on="user_id")
    j = j[j["label"].notna()]
    idx = np.minimum((j["consensus"].to_numpy() * n_bins).astype(int), n_bins - 1)
    hit = (j["label"] == j["gold"]).to_numpy()
    acc = [float(hit[idx == b].mean()) if (idx == b).any() else float("nan") for b in range(n_bins)]
    return {"consensus": [(b + 0.5) / n_bins for b in range(n_bins)], "accuracy": acc,
            "n": [int((idx == b).sum()) for b in range(n_bins)]}


def rl_monitor(profile: str, taxonomy: Taxonomy, rollouts: pd.DataFrame, quasi: Mapping[str, pd.DataFrame],
               band: Mapping[str, pd.DataFrame], stage1: Sequence[Mapping], users: Sequence[str], full: str,
               n_bins: int = 5) -> dict:
    """Notebook 05's monitoring against the pool's gold (never fed to training): per variant the
    quasi labels' accuracy (all RL users and inside the band) and the reward accuracy; the
    stage-1 pseudo-labels' accuracy on the same users; the full recipe's accuracy by consensus.
    Returns ``{}`` when the profile has no pool gold: RL itself runs without it.
    """
    gold = split_gold(profile, "pool", taxonomy)
    if gold is None:
        return {}
    out = {}
    for name, q in quasi.items():
        kept = set(band[name].loc[band[name]["status"] == "kept", "user_id"])
        out[name] = {**quasi_label_accuracy(q, gold),
                     "accuracy_in_band": quasi_label_accuracy(q[q["user_id"].isin(kept)], gold)["accuracy"],
                     "reward_accuracy": reward_accuracy(rollouts, q, gold)}
    ids = set(users)
    s1 = voting.records_as_votes([x for x in stage1 if x["user_id"] in ids], kept_only=True)[["user_id", "attribute", "label"]]
    out["stage1_pseudo_labels"] = quasi_label_accuracy(s1, gold)
    return {"by_variant": out, "accuracy_by_consensus": accuracy_by_consensus(quasi[full], band[full], gold, n_bins)}


def seed_claims(key: str, preds: Sequence[pd.DataFrame], base: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy,
                *, n_boot: int, seed: int) -> dict:
    """A delta over training seeds: ``<key>_seeds``, one average-F1 difference per prediction
    table in ``preds`` (one per seed) against ``base``, with ``<key>_seeds_ci``, each seed's paired
    bootstrap 95% interval (``delta_claims`` with the same ``seed``); with two seeds or more also ``<key>_seed_mean`` and
    ``<key>_seed_sd`` (the sample standard deviation over seeds), with their 95% intervals over
    seeds (t for the mean, chi-square for the sd: wide with three seeds, as they should be).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> right, wrong = gold.assign(label=gold["gold"]), gold.assign(label=["y", "x"])
    >>> c = seed_claims("a_minus_b_f1", [right, wrong, right], wrong, gold, tax, n_boot=20, seed=0)
    >>> c["a_minus_b_f1_seeds"], c["a_minus_b_f1_seeds_ci"][1], round(c["a_minus_b_f1_seed_sd"], 2)
    ([100.0, 0.0, 100.0], [0.0, 0.0], 57.74)
    """
    from scipy import stats

    per = [delta_claims({"a": p, "b": base}, {key: ("a", "b")}, gold, taxonomy, n_boot=n_boot, seed=seed)
           for p in preds]  # the same resamples for every seed: the first seed's interval is delta_claims' own
    vals = [c[key] for c in per]
    out = {f"{key}_seeds": vals, f"{key}_seeds_ci": [c[f"{key}_ci"] for c in per]}
    k = len(vals)
    if k >= 2:
        mean, sd = float(np.mean(vals)), float(np.std(vals, ddof=1))
        half = float(stats.t.ppf(0.975, k - 1)) * sd / np.sqrt(k)
        lo, hi = (float(np.sqrt((k - 1) * sd**2 / stats.chi2.ppf(q, k - 1))) for q in (0.975, 0.025))
        out.update({f"{key}_seed_mean": mean, f"{key}_seed_mean_ci": [mean - half, mean + half],
                    f"{key}_seed_sd": sd, f"{key}_seed_sd_ci": [lo, hi]})
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
        present = [lab for lab in attr.labels if lab in set(m["gold"])]  # none: gold never labels it (gaps)
        pc = metrics.per_class(m["gold"].tolist(), m["label"].where(m["label"].notna(), None).tolist(),
                               present) if present else {}
        prec[attr.name] = 100.0 * float(np.mean([c["precision"] for c in pc.values()])) if pc else float("nan")
        rec[attr.name] = 100.0 * float(np.mean([c["recall"] for c in pc.values()])) if pc else float("nan")
    return {**rep, "precision": prec, "recall": rec, "avg_precision": float(np.nanmean(list(prec.values()))),
            "avg_recall": float(np.nanmean(list(rec.values()))),
            "parse_failure_rate": float((~ok & ~abstained).mean()), "abstention_rate": float(abstained.mean()),
            "n_users": int(gold["user_id"].nunique())}


def voting_sweep(records: Sequence[dict], gold: pd.DataFrame, taxonomy: Taxonomy, *, views: Sequence[int],
                 gaps: Sequence[float], coverage: float, n_samples: int, temperature: float, seed: int,
                 cache_dir: str | Path, n_teachers: int = 3) -> list[dict]:
    """Where voting pays: ``n_teachers`` simulated LLM teachers (``teachers/persona.py``) annotate
    ``records`` in every cell of a grid, and the weighted vote is scored against majority and
    against the best single teacher sample.

    Grid: ``views`` is the number of distinct seeded views of the world among the teachers (1:
    all read the same associations, so their errors coincide; ``n_teachers``: each its own,
    the most diverse); ``gaps`` is the coverage gap between one strong teacher and the others
    (strong ``coverage + gap/2``, the rest ``coverage - gap/2``, capped to [0, 1]). Returns one
    row per cell: ``views, gap, majority, weighted, best_single`` (average macro-F1) and the
    deltas ``weighted_minus_majority``, ``weighted_minus_best_single``.
    """
    from confprofile.synthesis import build_teachers, synthesize

    out = []
    for n_views in views:
        for gap in gaps:
            specs = {f"sweep_v{n_views}_g{gap}_{i}": {
                "backend": "persona", "seed": derive_seed(seed, "sweep view", i % n_views),
                "coverage": float(np.clip(coverage + (gap / 2 if i == 0 else -gap / 2), 0.0, 1.0))}
                for i in range(n_teachers)}
            ann = synthesize(records, taxonomy, build_teachers(specs, taxonomy), n_samples=n_samples,
                             temperature=temperature, seed=seed, cache_dir=cache_dir, progress=False)
            single = max(score(voting.first_sample(a), gold, taxonomy)["avg_f1"] for _, a in ann.groupby("teacher"))
            maj = score(voting.majority_vote(ann), gold, taxonomy)["avg_f1"]
            wv = score(voting.weighted_vote(ann), gold, taxonomy)["avg_f1"]
            out.append({"views": int(n_views), "gap": float(gap), "majority": maj, "weighted": wv,
                        "best_single": single, "weighted_minus_majority": wv - maj,
                        "weighted_minus_best_single": wv - single})
    return out


# --------------------------------------------------------------------------------------------
# command line


PREDICTION_PREFIX = "predictions/"
"""``saved_outputs`` names a prediction table ``predictions/<model>`` (its file under ``runs/<p>/``),
so 04's ``predictions/pseudo_labels`` and the vote command's ``pseudo_labels`` stay two names."""


def saved_output_files(profile: str, split: str = "test") -> dict[str, Path]:
    """The files ``saved_outputs`` reads, by the same names."""
    out = {}
    pl = paths.pseudo_labels_path(profile, split)
    if pl.is_file():
        out["pseudo_labels"] = pl
    if split == "test":
        for f in sorted(paths.predictions_path(profile, "x").parent.glob("*.parquet")):
            out[PREDICTION_PREFIX + f.stem] = f
    return out


def read_output(path: str | Path) -> pd.DataFrame:
    """One scoreable output: pseudo-label records (``.jsonl``, as a vote table) or a prediction or
    vote table (``.parquet``), checked to have rows and the columns scoring needs; a
    ``RecordError`` naming the file otherwise."""
    from confprofile.voting import records_as_votes

    path = Path(path)
    if path.suffix == ".jsonl":
        recs = []
        for n, obj in read_jsonl(path):
            if not isinstance(obj, dict) or not isinstance(obj.get("user_id"), str):
                raise RecordError(path, n, "user_id", "expected an object with a string user_id")
            attrs = obj.get("attributes")
            if not isinstance(attrs, dict) or not all(isinstance(v, dict) for v in attrs.values()):
                raise RecordError(path, n, "attributes",
                                  "expected an object mapping attribute to {label, confidence, kept}")
            recs.append(obj)
        table = records_as_votes(recs)
    else:
        table = pd.read_parquet(path)
    need = ["user_id", "attribute", "label", "confidence"]
    lacks = [c for c in need if c not in table.columns]
    lacks += [] if {"ok", "kept"} & set(table.columns) else ["ok or kept"]
    if lacks:
        has = ", ".join(map(str, table.columns)) or "none"
        raise RecordError(path, None, None, f"not a prediction table: lacks column(s) {', '.join(lacks)} (has {has})")
    if table.empty:
        raise RecordError(path, None, None, "no predictions (the table has no rows)")
    return table


def saved_outputs(profile: str, split: str = "test") -> dict[str, pd.DataFrame]:
    """A profile's scoreable outputs on a split, by name: ``pseudo_labels`` (``confprofile.vote``'s
    file ``runs/<p>/pseudo_labels/<split>.jsonl``, as votes) and ``predictions/<model>``, each
    ``runs/<p>/predictions/<model>.parquet`` (test split only; 04 writes one named
    ``pseudo_labels`` too, a different table). Each is checked by ``read_output``."""
    return {name: read_output(f) for name, f in saved_output_files(profile, split).items()}


def user_overlap(pred: pd.DataFrame, gold: pd.DataFrame) -> dict[str, int]:
    """How a prediction table's users meet gold's: ``matched``; ``missing``, gold users without a
    prediction (scored as misses); ``extra``, predicted users without gold (not scored).

    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> user_overlap(pd.DataFrame({"user_id": ["u", "w", "w"]}), gold)
    {'matched': 1, 'missing': 1, 'extra': 1}
    """
    p, g = set(pred["user_id"]), set(gold["user_id"])
    return {"matched": len(p & g), "missing": len(g - p), "extra": len(p - g)}


def main(argv: Sequence[str] | None = None) -> int:
    from confprofile.params import load_params
    from confprofile.taxonomy import load_taxonomy

    ap = argparse.ArgumentParser(
        prog="python -m confprofile.evaluate", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score a profile's outputs against its gold labels.\n\n"
                    "Reads:  runs/<profile>/data/gold/<split>.jsonl (gold; without it, says so and exits 0; a user\n"
                    "        may lack a label for some attributes: those pairs are not scored),\n"
                    "        runs/<profile>/pseudo_labels/<split>.jsonl (python -m confprofile.vote; named pseudo_labels)\n"
                    "        and, for the test split, runs/<profile>/predictions/<model>.parquet (notebooks 04 and 05;\n"
                    "        named predictions/<model>).\n"
                    "Writes: nothing, unless --json PATH (the reports as JSON), and only when every table scores.")
    ap.add_argument("--profile", required=True, metavar="NAME|PATH", help="smoke, cpu, gpu or a profile file")
    ap.add_argument("--split", default="test")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the reports here")
    args = ap.parse_args(argv)
    p = load_params(args.profile)
    profile, taxonomy = p["profile"], load_taxonomy(p.get("taxonomy_file"))
    gold_file = paths.gold_path(profile, args.split)
    if not gold_file.is_file():
        print(f"no gold labels at {gold_file}: nothing to evaluate (every label-free output is written without them)")
        return 0
    gold = read_gold(gold_file, taxonomy)
    if gold.empty:
        raise RecordError(gold_file, None, "labels", "no user has a label: nothing to score")
    files = saved_output_files(profile, args.split)
    if not files:
        print(f"nothing to score for {profile}/{args.split}: run python -m confprofile.vote (or notebooks 03-05) first")
        return 1
    outputs = {name: read_output(f) for name, f in files.items()}  # every check before anything is written
    overlap = {name: user_overlap(pred, gold) for name, pred in outputs.items()}
    for name, o in overlap.items():
        if not o["matched"]:
            raise RecordError(files[name], None, "user_id", f"none of its {o['extra']} users has a gold label in "
                              f"{gold_file} (another split or dataset?)")
    n_pairs = gold.attrs.get("n_users", gold["user_id"].nunique()) * len(taxonomy)
    if gold.attrs.get("unscored_pairs"):
        print(f"gold: {gold.attrs['unscored_pairs']} of {n_pairs} (user, attribute) pairs have no label "
              "and are not scored")
    for name, o in overlap.items():
        if o["missing"] or o["extra"]:
            print(f"{name}: {o['missing']} of {o['matched'] + o['missing']} gold users have no prediction (scored as "
                  f"misses); {o['extra']} predicted users have no gold label (not scored)")
    reports = {name: {**prediction_report(pred, gold, taxonomy), "users_missing": overlap[name]["missing"],
                      "users_extra": overlap[name]["extra"]} for name, pred in outputs.items()}
    table = pd.DataFrame({n: {"avg F1": r["avg_f1"], **r["f1"], "coverage": r["coverage"], "users": r["n_users"]}
                          for n, r in reports.items()}).T
    print(table.round(2).to_string())
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(reports, indent=1, sort_keys=True, default=float), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
