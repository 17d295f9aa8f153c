"""Calibration of votes, fitted on the unlabeled pool only (notebook 03; part of the paper's stage 1).

Two different things are called calibration here:

1. **Confidence calibration** (``fit_confidence_calibrator``): remap a vote's aggregate
   confidence so it reads as a probability. No labels exist, so the target is a label-free
   proxy: hold out one sample (or one teacher), vote with the rest, and ask whether the
   held-out vote agrees with that vote. The calibrated confidence is therefore *the
   probability that a further teacher sample agrees with the vote*, not the probability that
   the vote is right. The two coincide when a held-out sample is right about as often as it
   agrees; in general ``P(agree) ~ P(vote right) * P(sample right) + P(both wrong alike)``,
   so agreement understates correctness when a single sample is often wrong and errors
   scatter, and overstates it when teachers err together (misleading evidence fools all of
   them). ``agreement_table`` returns the fitting data so its reliability can be inspected.
2. **Distribution calibration** toward a balanced label distribution, so majority classes
   stop swallowing minority ones:
   - ``fit_class_thresholds`` / ``apply_thresholds``: per-class confidence thresholds chosen
     so the kept pairs per class are as equal as the data allows at a target coverage;
     pairs below their class's threshold are marked ``kept=False``, never relabelled.
   - ``fit_prior_correction`` / ``prior_correction``: estimate each class's prior from the
     soft vote shares, re-weight the shares by ``target_prior / estimated_prior`` (an
     EM-style fixed point, after Saerens, Latinne & Decaestecker 2002), and re-decide.
     ``strength`` flattens the target between the estimated prior (0) and uniform (1).

Nothing here reads labels; every fit takes annotation, score or vote tables of the pool.

>>> votes = pd.DataFrame({"user_id": ["u1", "u2", "u3", "u4"], "attribute": ["gender"] * 4,
...                       "label": ["male", "male", "male", "female"],
...                       "confidence": [0.9, 0.8, 0.7, 0.6], "kept": [True] * 4})
>>> # keep half: one pair per class, not the two most confident (both "male")
>>> apply_thresholds(votes, fit_class_thresholds(votes, coverage=0.5))["kept"].tolist()
[True, False, False, True]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression

from confprofile import voting
from confprofile.errors import ConfProfileError
from confprofile.voting import KEYS

_EPS = 1e-4


class CalibrationError(ConfProfileError, ValueError):
    """The annotations cannot support a calibration (one line through ``run_cli``)."""


# --------------------------------------------------------------------------------------------
# confidence calibration against a label-free agreement target


def agreement_table(ann: pd.DataFrame, holdout: str = "sample", norm: str = "none",
                    softmax_temperature: float = 1.0,
                    teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """Leave-one-out fitting data: per (user, attribute, held-out unit), the vote of the rest
    and whether the held-out samples agree with it.

    ``holdout="sample"``: each valid sample in turn; ``"teacher"``: all samples of one teacher.
    Columns ``user_id, attribute, unit, label, confidence, agree, weight``: ``label`` and
    ``confidence`` are the rest's vote (same rule as ``voting.weighted_vote``, or majority with
    ``norm="count"``), ``agree`` the fraction of the unit's valid samples that say ``label``,
    ``weight`` their number. Units whose rest has no vote are left out.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3,
    ...                     "teacher": ["a", "b", "c"], "sample": [0, 0, 0],
    ...                     "label": ["x", "x", "y"], "confidence": [0.5, 0.5, 0.5]})
    >>> agreement_table(ann)[["unit", "label", "confidence", "agree"]].to_dict("records")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'unit': 'a/0', 'label': 'x', 'confidence': 0.5, 'agree': 1.0},
     {'unit': 'b/0', 'label': 'x', 'confidence': 0.5, 'agree': 1.0},
     {'unit': 'c/0', 'label': 'x', 'confidence': 1.0, 'agree': 0.0}]
    """
    if holdout not in ("sample", "teacher"):
        raise ValueError(f"holdout must be 'sample' or 'teacher', got {holdout!r}")
    v = voting.valid_votes(ann)
    cols = ["user_id", "attribute", "unit", "label", "confidence", "agree", "weight"]
    if v.empty:
        return pd.DataFrame(columns=cols)
    v["_w"] = voting.vote_weights(v, norm, softmax_temperature, teacher_weights).to_numpy()
    if holdout == "teacher":
        voting.require_columns(v, ["teacher"], "annotation table (holdout='teacher')")
        v["unit"] = v["teacher"].astype(str)
    else:
        t = v["teacher"].astype(str) if "teacher" in v.columns else pd.Series("", index=v.index)
        s = v["sample"].astype(str) if "sample" in v.columns else v.groupby(KEYS).cumcount().astype(str)
        v["unit"] = t + "/" + s
        # duplicated (teacher, sample) rows are still separate held-out units
        dup = v.groupby(KEYS + ["unit"]).cumcount()
        v.loc[dup > 0, "unit"] = v.loc[dup > 0, "unit"] + "#" + dup[dup > 0].astype(str)
    full = (v.groupby(KEYS + ["label"]).agg(score=("_w", "sum"), count=("_w", "size"),
                                            conf_sum=("confidence", "sum")).reset_index())
    unit = (v.groupby(KEYS + ["unit", "label"]).agg(u_score=("_w", "sum"), u_count=("_w", "size"),
                                                    u_conf=("confidence", "sum")).reset_index())
    units = unit[KEYS + ["unit"]].drop_duplicates()
    rest = units.merge(full, on=KEYS).merge(unit, on=KEYS + ["unit", "label"], how="left")
    for a, b in (("score", "u_score"), ("count", "u_count"), ("conf_sum", "u_conf")):
        rest[a] = rest[a] - rest[b].fillna(0)
    rest = rest.loc[rest["count"] > 0, KEYS + ["unit", "label", "score", "count", "conf_sum"]]
    rest["score"] = rest["score"].clip(lower=0.0)  # float residue of the subtraction
    dec = voting.decide(rest, KEYS + ["unit"])
    n_unit = unit.groupby(KEYS + ["unit"])["u_count"].sum().rename("weight").reset_index()
    out = dec.merge(n_unit, on=KEYS + ["unit"]).merge(
        unit[KEYS + ["unit", "label", "u_count"]], on=KEYS + ["unit", "label"], how="left")
    out["agree"] = out["u_count"].fillna(0) / out["weight"]
    out = out.sort_values(KEYS + ["unit"], kind="mergesort").reset_index(drop=True)
    out["weight"] = out["weight"].astype(int)
    return out[cols]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """A fitted map from aggregate vote confidence to P(held-out sample agrees with the vote).

    ``transform(votes)`` returns a copy with ``confidence`` replaced and the input's kept in
    ``confidence_raw``; NaN (no vote) stays NaN. Apply it to votes made with the same rule
    (``vote_params``) it was fitted for.
    """

    method: str
    holdout: str
    vote_params: dict
    n_fit: int
    fitted_temperature: float = 1.0
    isotonic: IsotonicRegression | None = field(default=None, repr=False)
    target: str = "agreement of a held-out teacher sample with the vote of the rest (a proxy for correctness)"

    def predict(self, confidence) -> np.ndarray:
        c = np.asarray(confidence, dtype=float)
        out = np.full(c.shape, np.nan)
        ok = np.isfinite(c)
        if self.method == "isotonic":
            out[ok] = self.isotonic.predict(c[ok])
        else:
            out[ok] = 1.0 / (1.0 + np.exp(-_logit(c[ok]) / self.fitted_temperature))
        return out

    def transform(self, votes: pd.DataFrame) -> pd.DataFrame:
        out = votes.copy()
        out["confidence_raw"] = out["confidence"].astype(float)
        out["confidence"] = self.predict(out["confidence_raw"].to_numpy())
        return out


def fit_confidence_calibrator(ann: pd.DataFrame, method: str = "isotonic", holdout: str = "sample",
                              norm: str = "none", softmax_temperature: float = 1.0,
                              teacher_weights: Mapping[str, float] | pd.Series | None = None,
                              agreement: Callable[[pd.DataFrame, str], pd.DataFrame] | None = None) -> Calibrator:
    """Fit a confidence calibrator on the unlabeled pool's annotations.

    Target: ``agreement_table(ann, holdout, norm, ...)`` (see the module docstring for what
    agreement does and does not measure). ``method="isotonic"``: sklearn's monotone
    ``IsotonicRegression`` of agreement on the rest-vote confidence, weighted by the held-out
    sample count; ``"temperature"``: one parameter ``T`` (``Calibrator.fitted_temperature``) in
    ``sigmoid(logit(conf) / T)`` minimising the weighted cross-entropy. The fit uses votes with one unit fewer than the
    votes it is applied to, a small shift that matters only when there are few samples.
    ``agreement(ann, holdout)`` replaces ``agreement_table`` for votes that must be refitted per
    held-out unit (a model such as ``aggregation.Aggregator``); ``norm`` and the rest are unused then.

    >>> ann = pd.DataFrame({"user_id": [u for u in "abcd" for _ in range(3)],
    ...                     "attribute": ["age"] * 12, "sample": [0, 1, 2] * 4,
    ...                     "label": list("xxx" "xxy" "xyz" "xxx"), "confidence": [0.9] * 12})
    >>> cal = fit_confidence_calibrator(ann)
    >>> # held out: rest confidence 1.0 -> agrees 6 of 7 times; 0.5 -> 2 of 5 (a tie; see c)
    >>> cal.transform(voting.weighted_vote(ann))["confidence"].round(3).tolist()
    [0.857, 0.552, 0.4, 0.857]
    """
    if method not in ("isotonic", "temperature"):
        raise ValueError(f"method must be 'isotonic' or 'temperature', got {method!r}")
    if agreement is None:
        tab = agreement_table(ann, holdout, norm, softmax_temperature, teacher_weights)
        params = {"norm": norm, "softmax_temperature": softmax_temperature,
                  "teacher_weights": dict(teacher_weights) if teacher_weights is not None else None}
    else:
        tab, params = agreement(ann, holdout), {"agreement": getattr(agreement, "__qualname__", repr(agreement))}
    if tab.empty:
        raise CalibrationError(f"no (user, attribute) has two voting units (held out by {holdout}): nothing to "
                               "calibrate against; annotate with two or more teachers or samples")
    x = tab["confidence"].to_numpy(dtype=float)
    y = tab["agree"].to_numpy(dtype=float)
    w = tab["weight"].to_numpy(dtype=float)
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(x, y, sample_weight=w)
        return Calibrator("isotonic", holdout, params, len(tab), isotonic=iso)
    z = _logit(x)

    def nll(log_t: float) -> float:
        p = np.clip(1.0 / (1.0 + np.exp(-z / np.exp(log_t))), _EPS, 1 - _EPS)
        return float(-(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum())

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(50.0)), method="bounded")
    return Calibrator("temperature", holdout, params, len(tab), fitted_temperature=float(np.exp(res.x)))


# --------------------------------------------------------------------------------------------
# distribution calibration 1: per-class confidence thresholds


def _water_fill(conf_by_class: dict[str, np.ndarray], k: int) -> dict[str, int]:
    """Kept counts per class summing to ``k``, as equal as the class sizes allow; the classes
    that get one extra are those whose next candidate is most confident."""
    n = {c: len(x) for c, x in conf_by_class.items()}
    k = min(k, sum(n.values()))
    cap = 0
    while sum(min(v, cap + 1) for v in n.values()) <= k and cap < max(n.values(), default=0):
        cap += 1
    keep = {c: min(v, cap) for c, v in n.items()}
    extra = k - sum(keep.values())
    if extra > 0:
        nxt = sorted((c for c in n if n[c] > cap), key=lambda c: (-conf_by_class[c][cap], c))
        for c in nxt[:extra]:
            keep[c] += 1
    return keep


def fit_class_thresholds(votes: pd.DataFrame, *, coverage: float,
                         min_confidence: float = 0.0) -> pd.DataFrame:
    """Per-(attribute, label) confidence thresholds for a balanced kept distribution.

    Per attribute, ``round(coverage * pairs with a label)`` pairs are to be kept; the kept
    count per class is water-filled (every class gets the same number, a class with fewer
    candidates keeps all of them and the rest is shared among the others), and each class
    keeps its most confident pairs. A pair is a candidate if it has a label, ``kept`` is true
    and its confidence is at least ``min_confidence`` (so coverage may fall short of the
    target). Returns ``attribute, label, threshold, n, n_keep``; ``threshold`` is the
    confidence of the class's last kept pair (inf if none kept). Ties at a threshold are all
    kept by ``apply_thresholds``, so coverage can slightly exceed the target.

    >>> votes = pd.DataFrame({"user_id": list("abcdef"), "attribute": ["g"] * 6,
    ...                       "label": ["m"] * 4 + ["f"] * 2,
    ...                       "confidence": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "kept": [True] * 6})
    >>> fit_class_thresholds(votes, coverage=4 / 6)[["label", "threshold", "n_keep"]].to_dict("records")
    [{'label': 'f', 'threshold': 0.4, 'n_keep': 2}, {'label': 'm', 'threshold': 0.8, 'n_keep': 2}]
    """
    if not 0.0 <= coverage <= 1.0:
        raise ValueError(f"coverage must be in [0, 1], got {coverage}")
    lab = votes["label"].notna()
    kept = votes["kept"].astype(bool) if "kept" in votes.columns else pd.Series(True, index=votes.index)
    conf = votes["confidence"].astype(float)
    cand = lab & kept & conf.notna() & (conf >= min_confidence)
    rows = []
    for attr in sorted(votes.loc[lab, "attribute"].unique(), key=str):
        in_attr = votes["attribute"] == attr
        k = int(round(coverage * int((lab & in_attr).sum())))
        sub = votes.loc[cand & in_attr]
        # every class labelled in the attribute gets a threshold (inf if it has no candidate),
        # so apply_thresholds never mistakes it for an unseen one
        confs = {str(c): np.array([]) for c in votes.loc[lab & in_attr, "label"].unique()}
        confs.update({str(c): np.sort(g["confidence"].to_numpy(dtype=float))[::-1]
                      for c, g in sub.groupby("label")})
        keep = _water_fill(confs, k)
        for c in sorted(confs):
            thr = float(confs[c][keep[c] - 1]) if keep[c] > 0 else float("inf")
            rows.append({"attribute": attr, "label": c, "threshold": thr,
                         "n": len(confs[c]), "n_keep": keep[c]})
    return pd.DataFrame(rows, columns=["attribute", "label", "threshold", "n", "n_keep"])


def apply_thresholds(votes: pd.DataFrame, thresholds: pd.DataFrame,
                     unseen_threshold: float = 0.0) -> pd.DataFrame:
    """``votes`` with ``kept`` false where confidence is below the class's threshold.

    Labels are never changed. A label without a threshold (not seen when fitting) uses
    ``unseen_threshold`` (default 0: kept, since an unseen class is a rare one). Rows already
    dropped and no-vote rows stay ``kept=False``.
    """
    out = votes.copy()
    thr = thresholds.set_index(["attribute", "label"])["threshold"]
    idx = pd.MultiIndex.from_arrays([out["attribute"], out["label"]])
    t = pd.Series(thr.reindex(idx).to_numpy(dtype=float), index=out.index).fillna(unseen_threshold)
    base = out["kept"].astype(bool) if "kept" in out.columns else pd.Series(True, index=out.index)
    conf = out["confidence"].astype(float)
    out["kept"] = (base & out["label"].notna() & conf.notna() & (conf >= t)).astype(bool)
    return out


# --------------------------------------------------------------------------------------------
# distribution calibration 2: prior correction of the soft scores


@dataclass
class PriorCorrection:
    """Per-(attribute, label) multipliers on vote shares, fitted by ``fit_prior_correction``.

    ``priors`` has ``attribute, label, estimated, target, weight``: the pool's mean vote share,
    the target prior and the multiplier. ``transform_scores`` rescales a score table (shares
    times weight, renormalised); ``transform`` re-decides and returns a vote table.
    """

    strength: float
    priors: pd.DataFrame
    n_iter: int
    converged: bool

    def transform_scores(self, scores: pd.DataFrame) -> pd.DataFrame:
        s = scores.copy()
        share = s["score"] / s.groupby(KEYS)["score"].transform("sum")
        w = self.priors.set_index(["attribute", "label"])["weight"]
        idx = pd.MultiIndex.from_arrays([s["attribute"], s["label"]])
        mult = pd.Series(w.reindex(idx).to_numpy(dtype=float), index=s.index).fillna(1.0)
        s["score"] = (share * mult).fillna(0.0)
        tot = s.groupby(KEYS)["score"].transform("sum")
        s["share"] = s["score"] / tot.where(tot > 0)
        return s

    def transform(self, scores: pd.DataFrame, min_confidence: float = 0.0) -> pd.DataFrame:
        votes = voting.votes_from_scores(self.transform_scores(scores))
        votes["kept"] = (votes["kept"] & (votes["confidence"] >= min_confidence)).astype(bool)
        return votes


def _as_scores(table: pd.DataFrame, vote_kwargs: dict) -> pd.DataFrame:
    if "score" in table.columns and "count" in table.columns:
        return table
    return voting.vote_scores(table, **vote_kwargs)


def fit_prior_correction(scores: pd.DataFrame, *, strength: float, n_iter: int = 100,
                         tol: float = 1e-6, max_weight: float = 1e3, **vote_kwargs) -> PriorCorrection:
    """Fit class multipliers so the pool's mean corrected vote share matches a target prior.

    ``scores``: a score table (``voting.vote_scores``) or an annotation table (scored with
    ``vote_kwargs``). Per attribute, over pairs with a vote and the labels voted for:
    estimated prior ``pi = mean share``; target ``t ~ pi ** (1 - strength)`` (strength 0: no
    change; 1: uniform). Starting from ``w = 1``, repeat ``w *= t / mean(normalise(share * w))``
    (with ``n_iter=1`` this is the one-step correction ``w = t / pi``; iterated, it is the
    EM-style fixed point of Saerens et al. 2002, run towards a chosen prior). Weights are kept
    within ``[1/max_weight, max_weight]``: a class with too few split votes cannot reach its
    target, because a unanimous vote is never overturned (a zero share stays zero).

    >>> scores = pd.DataFrame({"user_id": ["a", "a", "b", "c", "d"], "attribute": ["g"] * 5,
    ...                        "label": ["m", "f", "m", "m", "m"], "score": [0.6, 0.4, 1, 1, 1],
    ...                        "count": [3, 2, 5, 5, 5], "conf_sum": [2, 1, 4, 4, 4]})
    >>> pc = fit_prior_correction(scores, strength=1.0, n_iter=1)
    >>> pc.priors.round(2).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'attribute': 'g', 'label': 'f', 'estimated': 0.1, 'target': 0.5, 'weight': 5.0},
     {'attribute': 'g', 'label': 'm', 'estimated': 0.9, 'target': 0.5, 'weight': 0.56}]
    >>> pc.transform(scores)["label"].tolist()  # a: 0.4 * 5 > 0.6 * 0.56
    ['f', 'm', 'm', 'm']
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    s = _as_scores(scores, vote_kwargs)
    s = s.loc[s["label"].notna()].copy()
    s["_share"] = s["score"] / s.groupby(KEYS)["score"].transform("sum")
    s["_share"] = s["_share"].fillna(0.0)
    rows, iters, converged = [], 0, True
    for attr in sorted(s["attribute"].unique(), key=str):
        p = s.loc[s["attribute"] == attr].pivot_table(index="user_id", columns="label", values="_share",
                                                      aggfunc="sum", fill_value=0.0)
        p = p.loc[:, p.sum(axis=0) > 0]
        labels = [str(c) for c in p.columns]
        P = p.to_numpy(dtype=float)
        P = P / P.sum(axis=1, keepdims=True)
        pi = P.mean(axis=0)
        target = pi ** (1.0 - strength)
        target = target / target.sum()
        w = np.ones(len(labels))
        ok = False
        for it in range(1, n_iter + 1):
            q = P * w
            q = q / q.sum(axis=1, keepdims=True)
            m = q.mean(axis=0)
            if np.abs(m - target).max() < tol:
                ok = True
                break
            w = np.clip(w * target / m, 1.0 / max_weight, max_weight)
        else:
            q = P * w
            m = (q / q.sum(axis=1, keepdims=True)).mean(axis=0)
            ok = n_iter == 1 or np.abs(m - target).max() < tol
        iters = max(iters, it)
        converged &= ok
        for lab, e, t, ww in zip(labels, pi, target, w):
            rows.append({"attribute": attr, "label": lab, "estimated": float(e),
                         "target": float(t), "weight": float(ww)})
    priors = pd.DataFrame(rows, columns=["attribute", "label", "estimated", "target", "weight"])
    return PriorCorrection(strength, priors, iters, bool(converged))


def prior_correction(ann_or_scores: pd.DataFrame, *, strength: float, min_confidence: float = 0.0,
                     n_iter: int = 100, **vote_kwargs) -> pd.DataFrame:
    """Fit ``fit_prior_correction`` on the pool and return its re-decided vote table.

    ``min_confidence``: pairs whose corrected confidence falls below it are ``kept=False``
    (dropped rather than forced to a label).
    """
    s = _as_scores(ann_or_scores, vote_kwargs)
    return fit_prior_correction(s, strength=strength, n_iter=n_iter).transform(s, min_confidence)


# --------------------------------------------------------------------------------------------
# the calibration candidates a recipe compares


@dataclass
class Candidate:
    """One calibrated version of a vote: a stable ``id`` (``chosen_thresholds``: what results are
    keyed by), a display ``name``, its vote table per split, the fitted object (``Calibrator``,
    ``PriorCorrection`` or a thresholds table; fitted on the pool) and whether it drops pairs
    (``kept=False``) rather than only rescoring or relabelling them."""

    id: str
    name: str
    votes: dict[str, pd.DataFrame]
    fitted: object = field(repr=False)
    drops_pairs: bool


def build_candidates(ann_pool: pd.DataFrame, scores: Mapping[str, pd.DataFrame], *, coverage: float,
                     prior_strength: float, norm: str = "none", softmax_temperature: float = 1.0,
                     teacher_weights: Mapping[str, float] | pd.Series | None = None,
                     agreement: Callable[[pd.DataFrame, str], pd.DataFrame] | None = None) -> dict[str, Candidate]:
    """Every calibration of one vote rule, each fitted on the pool and applied to every split.

    ``scores``: ``{split: voting.vote_scores(...)}`` of the rule (``norm``, ``softmax_temperature``,
    ``teacher_weights``), with a ``"pool"`` split. Keys of the result: ``isotonic`` (held-out
    sample), ``isotonic_teacher`` (held-out teacher), ``temperature`` (confidence calibration),
    ``thresholds`` (class thresholds at ``coverage``), ``prior`` (prior correction at
    ``prior_strength``, the pull toward a balanced distribution), ``prior_thresholds`` (both),
    ``none`` (the vote as it is: a label-free choice may prefer no calibration). ``agreement``: as in
    ``fit_confidence_calibrator`` (a rule's ``agreement`` attribute: None for a ``voting.VoteRule``).

    >>> ann = pd.DataFrame({"user_id": [u for u in "abcd" for _ in range(3)],
    ...                     "attribute": ["age"] * 12, "teacher": list("tuv") * 4, "sample": [0] * 12,
    ...                     "label": list("xxx" "xxy" "xyz" "xxx"), "confidence": [0.9] * 12})
    >>> kw = {"norm": "none", "softmax_temperature": 1.0, "teacher_weights": None}
    >>> c = build_candidates(ann, {"pool": voting.vote_scores(ann, **kw)}, coverage=0.5,
    ...                      prior_strength=0.0, **kw)
    >>> [k for k, v in c.items() if v.drops_pairs], c["thresholds"].votes["pool"]["kept"].tolist()
    (['thresholds', 'prior_thresholds'], [True, False, False, True])
    """
    kw = {"norm": norm, "softmax_temperature": softmax_temperature, "teacher_weights": teacher_weights,
          "agreement": None if agreement is None else once_per_holdout(agreement)}
    raw = {split: voting.votes_from_scores(s) for split, s in scores.items()}
    cals = {"isotonic": ("chosen + confidence calibration (isotonic)", {"method": "isotonic"}),
            "isotonic_teacher": ("chosen + confidence calibration (isotonic, held-out teacher)",
                                 {"method": "isotonic", "holdout": "teacher"}),
            "temperature": ("chosen + confidence calibration (temperature)", {"method": "temperature"})}
    out = {}
    for key, (name, how) in cals.items():
        cal = fit_confidence_calibrator(ann_pool, **how, **kw)
        out[key] = Candidate(f"chosen_{key}", name, {s: cal.transform(v) for s, v in raw.items()}, cal, False)
    thresholds_raw = fit_class_thresholds(raw["pool"], coverage=coverage)
    out["thresholds"] = Candidate("chosen_thresholds", "chosen + class thresholds",
                                  {s: apply_thresholds(v, thresholds_raw) for s, v in raw.items()},
                                  thresholds_raw, True)
    prior = fit_prior_correction(scores["pool"], strength=prior_strength)
    corrected = {split: prior.transform(s) for split, s in scores.items()}
    out["prior"] = Candidate("chosen_prior", "chosen + prior correction", corrected, prior, False)
    thresholds = fit_class_thresholds(corrected["pool"], coverage=coverage)
    out["prior_thresholds"] = Candidate("chosen_prior_thresholds", "chosen + prior correction + class thresholds",
                                        {s: apply_thresholds(v, thresholds) for s, v in corrected.items()},
                                        thresholds, True)
    out["none"] = Candidate("chosen_none", "chosen, no calibration", raw, None, False)
    return out


def once_per_holdout(agreement: Callable[[pd.DataFrame, str], pd.DataFrame]) -> Callable[[pd.DataFrame, str], pd.DataFrame]:
    """``agreement`` computed once per ``holdout`` and reused (same name): the isotonic and the
    temperature calibrations read the same held-out-sample table, which for a refitted model
    (``aggregation.Aggregator.agreement``) costs one refit per held-out unit. For one
    annotation table only (``build_candidates`` fits every candidate on the pool).

    >>> calls = []
    >>> def table(ann, holdout):
    ...     calls.append(holdout)
    ...     return holdout
    >>> t = once_per_holdout(table)
    >>> [t(None, h) for h in ("sample", "teacher", "sample")], calls, t.__qualname__
    (['sample', 'teacher', 'sample'], ['sample', 'teacher'], 'table')
    """
    tables: dict[str, pd.DataFrame] = {}

    @functools.wraps(agreement)
    def once(ann: pd.DataFrame, holdout: str) -> pd.DataFrame:
        if holdout not in tables:
            tables[holdout] = agreement(ann, holdout)
        return tables[holdout]

    return once


def identical_candidates(candidates: Mapping[str, Candidate]) -> list[list[str]]:
    """Groups of candidate ids (two or more, in ``candidates``' order) whose kept labels are
    the same on every pair of every split: a pair's kept label is its label where ``kept``,
    else none. A confidence calibration only rescores, so it is always in ``none``'s group;
    prior correction joins it when it flips no label. Candidates in a group are one choice.

    >>> v = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "label": ["x", "y"],
    ...                   "confidence": [0.9, 0.6], "kept": [True, True]})
    >>> c = {"iso": Candidate("iso", "iso", {"pool": v.assign(confidence=[0.8, 0.7])}, None, False),
    ...      "thr": Candidate("thr", "thr", {"pool": v.assign(kept=[True, False])}, None, True),
    ...      "none": Candidate("none", "none", {"pool": v}, None, False)}
    >>> identical_candidates(c)
    [['iso', 'none']]
    """
    groups: dict[tuple, list[str]] = {}
    for c in candidates.values():
        sig = []
        for split in sorted(c.votes):
            v = c.votes[split].sort_values(KEYS, kind="mergesort")
            kept = v["kept"].astype(bool) & v["label"].notna()
            lab = v["label"].astype(object).where(kept, None)
            sig.append((split, tuple(v["user_id"]), tuple(v["attribute"]), tuple(lab)))
        groups.setdefault(tuple(sig), []).append(c.id)
    return [g for g in groups.values() if len(g) > 1]
