"""Calibration on synthetic pools with known answers.

Gold labels appear here only as the known answer of a synthetic case; every fit sees the
annotation / score / vote tables alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confprofile import calibration, metrics, voting
from confprofile.calibration import (apply_thresholds, fit_class_thresholds,
                                     fit_confidence_calibrator, fit_prior_correction, prior_correction)


def make_ann(rows):
    df = pd.DataFrame(rows, columns=["user_id", "attribute", "teacher", "sample", "label", "confidence"])
    return df.assign(rationale="", ok=True, error=None)


def swallowed_pool(n=1000, seed=0):
    """Two classes, 20% minority. Teachers say "min" for a minority user only 45% of the time
    and with lower confidence (0.4-0.7 against 0.6-1.0): the majority class swallows it."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for i in range(n):
        u = f"u{i:04d}"
        truth[u] = "min" if rng.random() < 0.2 else "maj"
        for t in ("t1", "t2"):
            for s in range(3):
                p_min = 0.1 if truth[u] == "maj" else 0.45
                lab = "min" if rng.random() < p_min else "maj"
                conf = rng.uniform(0.4, 0.7) if lab == "min" else rng.uniform(0.6, 1.0)
                rows.append((u, "a", t, s, lab, float(conf)))
    return make_ann(rows), truth


def min_share(votes):
    k = votes.loc[votes["kept"]]
    return float((k["label"] == "min").mean())


@pytest.fixture(scope="module")
def pool():
    ann, truth = swallowed_pool()
    return ann, truth, voting.weighted_vote(ann)


# --------------------------------------------------------------------------------------------
# class thresholds


def test_class_thresholds_rebalance_a_swallowed_minority(pool):
    ann, truth, votes = pool
    before = min_share(votes)
    n_min = int((votes["label"] == "min").sum())
    assert before == pytest.approx(n_min / len(votes)) and before < 0.08  # truth is 0.2
    # one global threshold at the same coverage drops the low-confidence minority first
    glob = votes.assign(kept=votes["confidence"] >= votes["confidence"].quantile(0.4))
    assert min_share(glob) < before / 4
    thr = fit_class_thresholds(votes, coverage=0.6)
    after = apply_thresholds(votes, thr)
    # k = 600 kept; the minority has fewer than 300 candidates, so all of them are kept and
    # the majority fills the rest: as balanced as the data allows
    assert after["kept"].sum() == 600
    assert min_share(after) == pytest.approx(n_min / 600)
    assert thr.set_index("label").loc["min", "n_keep"] == n_min
    # known answer: macro-F1 on the kept pairs rises
    gold = after["user_id"].map(truth)
    k = after["kept"]
    f1_after = metrics.macro_f1(gold[k], after.loc[k, "label"], ["maj", "min"])
    f1_before = metrics.macro_f1(gold, votes["label"], ["maj", "min"])
    assert f1_after > f1_before + 0.1


def test_class_thresholds_equalise_when_the_data_allows():
    rng = np.random.default_rng(1)
    labels = ["maj"] * 700 + ["min"] * 300
    conf = np.where(np.array(labels) == "maj", rng.uniform(0.5, 1.0, 1000), rng.uniform(0.2, 0.6, 1000))
    votes = pd.DataFrame({"user_id": [f"u{i}" for i in range(1000)], "attribute": "a", "label": labels,
                          "confidence": conf, "margin": 0.0, "n_votes": 3, "kept": True})
    out = apply_thresholds(votes, fit_class_thresholds(votes, coverage=0.5))
    kept = out[out["kept"]]
    assert kept["label"].value_counts().to_dict() == {"maj": 250, "min": 250}
    # within a class the most confident pairs are the ones kept
    for lab, g in out.groupby("label"):
        assert g.loc[g["kept"], "confidence"].min() > g.loc[~g["kept"], "confidence"].max()
    # three classes, coverage 0.6 of 100: sizes 70/25/5 -> 5 + 25 + 30
    votes3 = pd.DataFrame({"user_id": [f"u{i}" for i in range(100)], "attribute": "b",
                           "label": ["x"] * 70 + ["y"] * 25 + ["z"] * 5,
                           "confidence": np.linspace(1.0, 0.01, 100), "kept": True})
    thr3 = fit_class_thresholds(votes3, coverage=0.6).set_index("label")["n_keep"].to_dict()
    assert thr3 == {"x": 30, "y": 25, "z": 5}


@pytest.mark.parametrize("coverage", [0.0, 0.3, 0.55, 0.8, 1.0])
def test_thresholds_respect_coverage(coverage):
    rng = np.random.default_rng(2)
    n = 400
    votes = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)] * 2, "attribute": ["a"] * n + ["b"] * n,
        "label": list(rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1])) + list(rng.choice(["s", "t"], n)),
        "confidence": rng.random(2 * n), "kept": True})
    votes.loc[rng.choice(2 * n, 40, replace=False), ["label", "confidence"]] = [None, np.nan]  # no-vote rows
    votes.loc[votes["label"].isna(), "kept"] = False
    out = apply_thresholds(votes, fit_class_thresholds(votes, coverage=coverage))
    for attr, g in out.groupby("attribute"):
        n_lab = int(g["label"].notna().sum())
        assert g["kept"].sum() == round(coverage * n_lab)  # continuous confidences: no ties
        assert not g.loc[g["label"].isna(), "kept"].any()
    # a confidence floor: nothing below it is kept, coverage may fall short, never exceed
    floor = apply_thresholds(votes, fit_class_thresholds(votes, coverage=coverage, min_confidence=0.5))
    assert (floor.loc[floor["kept"], "confidence"] >= 0.5).all()
    assert floor["kept"].sum() <= out["kept"].sum() + 1
    with pytest.raises(ValueError):
        fit_class_thresholds(votes, coverage=1.5)


def test_thresholds_on_unseen_labels_and_dropped_rows():
    votes = pd.DataFrame({"user_id": ["a", "b", "c"], "attribute": "g", "label": ["x", "new", "x"],
                          "confidence": [0.9, 0.1, 0.95], "kept": [True, True, False]})
    thr = pd.DataFrame({"attribute": ["g"], "label": ["x"], "threshold": [0.5], "n": [2], "n_keep": [1]})
    out = apply_thresholds(votes, thr)
    assert out["kept"].tolist() == [True, True, False]  # unseen label kept; dropped stays dropped
    assert apply_thresholds(votes, thr, unseen_threshold=0.5)["kept"].tolist() == [True, False, False]
    # a class with no pair above the confidence floor is dropped, not treated as unseen
    fitted = fit_class_thresholds(votes, coverage=1.0, min_confidence=0.5).set_index("label")
    assert fitted.loc["new", "threshold"] == np.inf and fitted.loc["new", "n_keep"] == 0
    assert apply_thresholds(votes, fitted.reset_index())["kept"].tolist() == [True, False, False]


# --------------------------------------------------------------------------------------------
# prior correction


def test_prior_correction_rebalances_and_helps_the_minority(pool):
    ann, truth, votes = pool
    gold = votes["user_id"].map(truth)
    before = min_share(votes)
    f1_before = metrics.macro_f1(gold, votes["label"], ["maj", "min"])
    rec_before = float(((votes["label"] == "min") & (gold == "min")).sum() / (gold == "min").sum())
    half = prior_correction(ann, strength=0.5)
    full = prior_correction(ann, strength=1.0)
    one_step = prior_correction(ann, strength=1.0, n_iter=1)
    assert before < 0.08
    assert 0.15 < min_share(half) < 0.35  # truth is 0.2
    assert min_share(half) < min_share(one_step) < min_share(full)  # stronger flattening, more "min"
    rec_half = float(((half["label"] == "min") & (gold == "min")).sum() / (gold == "min").sum())
    assert rec_half > rec_before + 0.3
    assert metrics.macro_f1(gold, half["label"], ["maj", "min"]) > f1_before + 0.1
    # unanimous votes are never overturned: pairs whose samples all say "maj" keep "maj"
    unanimous = ann.groupby("user_id")["label"].agg(lambda s: set(s) == {"maj"})
    assert (full.set_index("user_id").loc[unanimous[unanimous].index, "label"] == "maj").all()


def test_prior_correction_fixed_point_and_strength_zero(pool):
    ann, _, votes = pool
    scores = voting.vote_scores(ann)
    pd.testing.assert_frame_equal(prior_correction(scores, strength=0.0), votes)
    pc = fit_prior_correction(scores, strength=1.0)
    assert pc.converged
    pri = pc.priors.set_index("label")
    assert pri["target"].to_dict() == pytest.approx({"maj": 0.5, "min": 0.5})
    assert pri.loc["min", "estimated"] < 0.2 and pri.loc["min", "weight"] > pri.loc["maj", "weight"]
    # at the fixed point the mean corrected share equals the target prior
    s = pc.transform_scores(scores)
    s = s.loc[s["label"].notna()]
    mean_share = s.groupby("label")["share"].sum() / s["user_id"].nunique()
    assert mean_share.to_dict() == pytest.approx({"maj": 0.5, "min": 0.5}, abs=1e-4)
    # the same fit from the annotation table
    pc2 = fit_prior_correction(ann, strength=1.0)
    pd.testing.assert_frame_equal(pc.priors, pc2.priors)


def test_prior_correction_min_confidence_drops_not_forces(pool):
    ann, _, _ = pool
    out = prior_correction(ann, strength=0.5, min_confidence=0.7)
    assert (out.loc[out["kept"], "confidence"] >= 0.7).all() and (~out["kept"]).sum() > 100
    assert out["label"].notna().all()  # dropped pairs keep their label, flagged kept=False


def test_prior_correction_keeps_no_vote_rows():
    ann = make_ann([("a", "g", "t", 0, "x", 0.9), ("a", "g", "t", 1, "y", 0.8),
                    ("b", "g", "t", 0, "x", 0.9), ("c", "g", "t", 0, None, np.nan)])
    out = prior_correction(ann, strength=1.0).set_index("user_id")
    assert out.loc["c", "label"] is None and not out.loc["c", "kept"]
    # y's estimated prior (0.8/1.7)/2 = 0.235 < x's 0.765: pair a tips from x to y
    assert out.loc["a", "label"] == "y" and out.loc["b", "label"] == "x"


# --------------------------------------------------------------------------------------------
# confidence calibration


def clear_or_ambiguous_pool(n=1200, seed=0):
    """Half the users are clear (every sample right), half ambiguous (every sample a uniform
    guess among 5 labels). Verbalised confidences are uninformative (0.6-1.0). On such data a
    held-out sample agrees with the vote about as often as the vote is right (clear: both 1;
    ambiguous: both 1/5), so agreement is a valid proxy, while the raw vote share of an
    ambiguous pair (~0.4) overstates its accuracy (0.2)."""
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(5)]
    rows, truth = [], {}
    for i in range(n):
        u = f"u{i:04d}"
        truth[u] = labels[rng.integers(5)]
        clear = rng.random() < 0.5
        for t in ("t1", "t2"):
            for s in range(3):
                lab = truth[u] if clear else labels[rng.integers(5)]
                rows.append((u, "a", t, s, lab, float(rng.uniform(0.6, 1.0))))
    return make_ann(rows), truth


def test_isotonic_calibration_reduces_ece():
    ann, truth = clear_or_ambiguous_pool()
    votes = voting.weighted_vote(ann)
    correct = (votes["label"] == votes["user_id"].map(truth)).astype(float)
    raw = metrics.ece(votes["confidence"], correct)
    for holdout in ("sample", "teacher"):
        cal = fit_confidence_calibrator(ann, method="isotonic", holdout=holdout)
        out = cal.transform(votes)
        assert (out["confidence_raw"] == votes["confidence"]).all()
        assert metrics.ece(out["confidence"], correct) < 0.5 * raw, holdout
        # monotone: calibration reorders nothing
        order = np.argsort(votes["confidence"].to_numpy(), kind="mergesort")
        assert (np.diff(out["confidence"].to_numpy()[order]) >= -1e-12).all()
    assert raw > 0.08


def test_temperature_calibration_fits_and_softens_overconfidence():
    ann, _ = clear_or_ambiguous_pool(n=600, seed=1)
    # a cold softmax vote: the single most confident sample takes nearly all the weight,
    # so the aggregate confidence is near 1 even where the samples disagree
    votes = voting.weighted_vote(ann, norm="softmax", softmax_temperature=0.02)
    cal = fit_confidence_calibrator(ann, method="temperature", norm="softmax", softmax_temperature=0.02)
    assert cal.fitted_temperature > 1.0 and cal.vote_params["norm"] == "softmax"
    tab = calibration.agreement_table(ann, norm="softmax", softmax_temperature=0.02)
    out = cal.transform(votes)
    assert out["confidence"].mean() < votes["confidence"].mean()
    # the fitted T beats T = 1 on its own label-free objective (weighted cross-entropy)
    p1 = np.clip(tab["confidence"].to_numpy(), 1e-4, 1 - 1e-4)
    pt = np.clip(cal.predict(tab["confidence"]), 1e-4, 1 - 1e-4)
    y, w = tab["agree"].to_numpy(), tab["weight"].to_numpy()

    def ce(p):
        return -(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum()

    assert ce(pt) < ce(p1)


def test_agreement_table_teacher_holdout_and_no_vote_passthrough():
    ann = make_ann([("u", "g", "a", 0, "x", 0.5), ("u", "g", "a", 1, "y", 0.5),
                    ("u", "g", "b", 0, "x", 0.5), ("u", "g", "c", 0, "x", 0.5),
                    ("v", "g", "a", 0, None, np.nan), ("w", "g", "a", 0, "x", 0.9)])
    tab = calibration.agreement_table(ann, holdout="teacher").set_index("unit")
    # hold out a: rest b x, c x -> x at 1.0; a's samples x, y -> agree 1/2, weight 2
    assert tab.loc["a", "label"] == "x" and tab.loc["a", "confidence"] == 1.0
    assert tab.loc["a", "agree"] == 0.5 and tab.loc["a", "weight"] == 2
    # hold out b: rest x, y, x -> x at 2/3, agrees
    assert tab.loc["b", "confidence"] == pytest.approx(2 / 3) and tab.loc["b", "agree"] == 1.0
    assert set(tab["user_id"]) == {"u"}  # v has no vote, w has no rest to compare with
    cal = fit_confidence_calibrator(ann, method="isotonic", holdout="teacher")
    out = cal.transform(voting.weighted_vote(ann)).set_index("user_id")
    assert np.isnan(out.loc["v", "confidence"]) and out.loc["v", "label"] is None
    with pytest.raises(ValueError):
        fit_confidence_calibrator(ann.loc[ann["user_id"] == "w"])
    with pytest.raises(ValueError):
        fit_confidence_calibrator(ann, method="platt")


def test_build_candidates_fits_each_candidate_on_the_pool():
    ann = make_ann([(u, "age", t, s, lab, c) for u, labs in {
        "u1": "xxy", "u2": "xyy", "u3": "xxx", "u4": "yyz", "u5": "xzz", "u6": "xxz"}.items()
        for (t, lab), c in zip(zip("abc", labs), (0.9, 0.6, 0.4)) for s in (0, 1)])
    kw = {"norm": "none", "softmax_temperature": 1.0, "teacher_weights": None}
    scores = {"pool": voting.vote_scores(ann, **kw), "test": voting.vote_scores(ann.iloc[:12], **kw)}
    c = calibration.build_candidates(ann, scores, coverage=0.5, prior_strength=0.5, **kw)
    assert list(c) == ["isotonic", "isotonic_teacher", "temperature", "thresholds", "prior", "prior_thresholds", "none"]
    assert all(set(x.votes) == {"pool", "test"} for x in c.values())
    raw = voting.votes_from_scores(scores["test"])
    iso = fit_confidence_calibrator(ann, method="isotonic", **kw)
    pd.testing.assert_frame_equal(c["isotonic"].votes["test"], iso.transform(raw))
    prior = fit_prior_correction(scores["pool"], strength=0.5)
    pd.testing.assert_frame_equal(c["prior"].votes["test"], prior.transform(scores["test"]))
    pd.testing.assert_frame_equal(c["prior"].fitted.priors, prior.priors)
    thr = fit_class_thresholds(voting.votes_from_scores(scores["pool"]), coverage=0.5)
    pd.testing.assert_frame_equal(c["thresholds"].votes["test"], apply_thresholds(raw, thr))
    pd.testing.assert_frame_equal(c["none"].votes["test"], raw)
    assert [k for k, x in c.items() if x.drops_pairs] == ["thresholds", "prior_thresholds"]
    assert c["thresholds"].votes["pool"]["kept"].mean() == pytest.approx(0.5, abs=0.2)


def test_a_refitted_rule_computes_each_held_out_table_once_with_the_same_candidates():
    """A crowd-kit model refits once per held-out unit: the isotonic and temperature
    calibrations share the held-out-sample table instead of refitting twice, and get what a
    fresh table gives them."""
    ann = make_ann([(u, "age", t, s, lab, c) for u, labs in {
        "u1": "xxy", "u2": "xyy", "u3": "xxx", "u4": "yyz", "u5": "xzz", "u6": "xxz"}.items()
        for (t, lab), c in zip(zip("abc", labs), (0.9, 0.6, 0.4)) for s in (0, 1)])
    kw = {"norm": "none", "softmax_temperature": 1.0, "teacher_weights": None}
    scores = {"pool": voting.vote_scores(ann, **kw)}
    calls = []

    def agreement(a, holdout):
        calls.append(holdout)
        return calibration.agreement_table(a, holdout, **kw)

    c = calibration.build_candidates(ann, scores, coverage=0.5, prior_strength=0.5, **kw, agreement=agreement)
    assert sorted(calls) == ["sample", "teacher"]
    fresh = calibration.build_candidates(ann, scores, coverage=0.5, prior_strength=0.5, **kw)
    for key in ("isotonic", "isotonic_teacher", "temperature"):
        pd.testing.assert_frame_equal(c[key].votes["pool"], fresh[key].votes["pool"])
