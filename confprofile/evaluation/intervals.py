"""Differences with their intervals: the paired bootstrap over users of an average-F1
difference, the ``results.claims`` entries built from it (``delta_claims``, over training seeds
``seed_claims``), per-attribute tables of differences, and how a difference is written and read.

A difference is a claim only with its interval (docs/DESIGN.md, principle 7): every comparison
here scores both tables on the same resampled users.

>>> verdict([0.4, 2.1]), verdict([-1.0, 0.5]), verdict([-3.0, -0.2])
('ahead of', 'not distinguishable from', 'behind')
>>> with_interval(1.234, [0.5, 2.0])
'+1.23 [+0.50, +2.00]'
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from confprofile.provenance import derive_seed
from confprofile.taxonomy import Taxonomy


def _f1_parts(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, users: list[str]):
    """Per attribute, one-hot gold and prediction matrices (users x labels); abstentions and
    labels outside the taxonomy are all-zero prediction rows, users missing from ``pred`` abstain,
    and so do pairs a vote table did not keep (``kept`` false), as in ``scores.vote_report``."""
    if "kept" in pred.columns:
        pred = pred.assign(label=pred["label"].where(pred["kept"].astype(bool), None))
    merged = gold.merge(pred[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    row = {u: i for i, u in enumerate(users)}
    out = []
    for attr in taxonomy:
        m = merged[merged["attribute"] == attr.name]
        if m.empty:  # gold with gaps: an attribute gold never labels is not scored (as in ``scores.score``)
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
    and so is an attribute none of whose gold pairs was drawn (gold with gaps), as in ``scores.score``."""
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
    """Paired bootstrap over users of ``avg_f1(a) - avg_f1(b)`` (average macro-F1 as in ``scores.score``).

    Both prediction tables (``user_id, attribute, label``) are scored on the same resampled
    users (drawn with replacement from gold's users, ``n_boot`` times, with a generator seeded
    by ``provenance.derive_seed(seed, "paired_bootstrap")``). Returns ``{"delta": the difference on
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


def verdict(ci: Sequence[float]) -> str:
    """Which way a paired interval of ``a - b`` went, to read "a is ... b": ``ahead of`` (above
    0), ``behind`` (below 0), else ``not distinguishable from``."""
    lo, hi = ci
    return "ahead of" if lo > 0 else "behind" if hi < 0 else "not distinguishable from"


def with_interval(delta: float, ci: Sequence[float]) -> str:
    """A delta and its interval as one table cell."""
    return f"{delta:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]"


def delta_lines(claims: Mapping, comparisons: Mapping[str, tuple[str, str]]) -> str:
    """One printed line per comparison ``key: (a, b)`` of ``claims`` (``delta_claims``):
    the delta, its interval and which way it went.

    >>> print(delta_lines({"a_minus_b_f1": 2.0, "a_minus_b_f1_ci": [0.5, 3.5]}, {"a_minus_b_f1": ("a", "b")}))
    a - b: +2.00 [+0.50, +3.50] F1: a is ahead of b.
    """
    return "\n".join(f"{a} - {b}: {with_interval(claims[k], claims[f'{k}_ci'])} F1: "
                     f"{a} is {verdict(claims[f'{k}_ci'])} {b}." for k, (a, b) in comparisons.items())


def delta_table(pred: Mapping[str, pd.DataFrame], comparisons: Mapping[str, tuple[str, str]], gold: pd.DataFrame,
                taxonomy: Taxonomy, *, n_boot: int, seed: int) -> dict[str, dict[str, dict]]:
    """Paired bootstrap (``paired_bootstrap``) of every comparison ``key: (a, b)``, on
    the average and on each attribute alone: ``{key: {"average": boot, attribute: boot}}``.
    Every interval of one comparison uses the same resampled users."""
    out = {}
    for key, (a, b) in comparisons.items():
        boots = {"average": paired_bootstrap(pred[a], pred[b], gold, taxonomy, n_boot=n_boot, seed=seed)}
        for attr in taxonomy:
            one = dataclasses.replace(taxonomy, attributes=(attr,))
            boots[attr.name] = paired_bootstrap(pred[a], pred[b], gold, one, n_boot=n_boot, seed=seed)
        out[key] = boots
    return out


def read_delta(claims: Mapping, key: str, report_a: Mapping, report_b: Mapping) -> dict[str, dict]:
    """A comparison another notebook bootstrapped, in ``delta_table``'s shape and not bootstrapped
    again: the average and its interval read from that notebook's ``claims[key]`` and
    ``claims[key + "_ci"]``; each attribute's difference from the two ``scores.prediction_report``
    results, with no interval (``ci`` None: the owner bootstrapped the average only).

    >>> d = read_delta({"a_minus_b_f1": 1.5, "a_minus_b_f1_ci": [0.5, 2.5]}, "a_minus_b_f1",
    ...                {"f1": {"age": 40.0}}, {"f1": {"age": 38.0}})
    >>> d["average"], d["age"]
    ({'delta': 1.5, 'ci': [0.5, 2.5]}, {'delta': 2.0, 'ci': None})
    """
    out = {"average": {"delta": float(claims[key]), "ci": [float(x) for x in claims[key + "_ci"]]}}
    for attr, f1 in report_a["f1"].items():
        out[attr] = {"delta": float(f1 - report_b["f1"][attr]), "ci": None}
    return out


def delta_frame(deltas: Mapping[str, Mapping[str, Mapping]], labels: Mapping[str, str] | None = None,
                owners: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``delta_table`` (or ``read_delta``) results as a frame of ``"+d [lo, hi]"`` cells (``"+d"``
    where no interval was computed): rows comparisons, columns the attributes and the average;
    ``owners``: each comparison's ``interval from`` column (the notebook that bootstrapped it).

    >>> delta_frame({"k": {"average": {"delta": 1.0, "ci": [0.0, 2.0]}, "age": {"delta": 2.0, "ci": None}}},
    ...             {"k": "a - b"}, {"k": "04"}).loc["a - b"].tolist()
    ['+1.00 [+0.00, +2.00]', '+2.00', '04']
    """
    def cell(b: Mapping) -> str:
        return with_interval(b["delta"], b["ci"]) if b["ci"] is not None else f"{b['delta']:+.2f}"

    return pd.DataFrame.from_dict({(labels or {}).get(k, k): {**{col: cell(b) for col, b in d.items()},
                                                            **({"interval from": owners[k]} if owners else {})}
                                   for k, d in deltas.items()}, orient="index")


def claims_from(deltas: Mapping[str, Mapping[str, Mapping]]) -> dict:
    """Average deltas as ``results.claims`` entries: ``key`` and ``key_ci``."""
    return {**{k: d["average"]["delta"] for k, d in deltas.items()},
            **{f"{k}_ci": d["average"]["ci"] for k, d in deltas.items()}}
