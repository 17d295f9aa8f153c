"""Voting pinned on hand-computed examples, tie-breaks, limits, no-vote rows and determinism."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from confprofile import calibration, voting
from confprofile.voting import VOTE_COLUMNS, majority_vote, vote_scores, weighted_vote

ANN_COLUMNS = ["user_id", "attribute", "teacher", "sample", "label", "confidence", "rationale", "ok", "error"]
ROOT = Path(voting.__file__).parent


def ann_of(rows):
    """rows: (user, attribute, teacher, sample, label, confidence); parse failures get ok=False."""
    out = []
    for u, a, t, s, lab, c in rows:
        failed = lab is None
        out.append({"user_id": u, "attribute": a, "teacher": t, "sample": s, "label": lab,
                    "confidence": float("nan") if failed else c, "rationale": f"{t}{s} says {lab}",
                    "ok": not failed, "error": "unparsable" if failed else None})
    return pd.DataFrame(out, columns=ANN_COLUMNS)


def one(votes):
    assert len(votes) == 1
    return votes.iloc[0]


# One (user, attribute) with four samples: A 0.9 | B 0.6, B 0.5 | C 0.2
FOUR = ann_of([("u", "age", "t1", 0, "A", 0.9), ("u", "age", "t2", 0, "B", 0.6),
               ("u", "age", "t3", 0, "B", 0.5), ("u", "age", "t4", 0, "C", 0.2)])


def test_majority_hand_computed():
    v = one(majority_vote(FOUR))
    # counts A 1, B 2, C 1 of 4 -> B, confidence 2/4, margin (2 - 1)/4
    assert v["label"] == "B" and v["confidence"] == pytest.approx(0.5)
    assert v["margin"] == pytest.approx(0.25) and v["n_votes"] == 4 and v["kept"]


@pytest.mark.parametrize("norm", ["none", "linear"])
def test_weighted_none_and_linear_hand_computed(norm):
    v = one(weighted_vote(FOUR, norm=norm))
    # scores A 0.9, B 0.6 + 0.5 = 1.1, C 0.2; total 2.2 -> B, 1.1/2.2 = 0.5, (1.1 - 0.9)/2.2
    assert v["label"] == "B"
    assert v["confidence"] == pytest.approx(0.5)
    assert v["margin"] == pytest.approx(0.2 / 2.2)


def test_scores_none_vs_linear_scale():
    raw = vote_scores(FOUR, norm="none").set_index("label")
    lin = vote_scores(FOUR, norm="linear").set_index("label")
    assert raw.loc["B", "score"] == pytest.approx(1.1)  # raw confidences summed
    assert lin.loc["B", "score"] == pytest.approx(1.1 / 2.2)  # normalised to sum 1
    assert lin["score"].sum() == pytest.approx(1.0)
    assert (raw["share"] - lin["share"]).abs().max() < 1e-12
    assert raw.loc["B", "conf_sum"] == pytest.approx(1.1) and raw.loc["B", "count"] == 2


def test_softmax_hand_computed():
    v = one(weighted_vote(FOUR, norm="softmax", softmax_temperature=1.0))
    e = math.exp
    tot = e(0.9) + e(0.6) + e(0.5) + e(0.2)  # = 7.1518...
    # B: (e^.6 + e^.5)/tot = 0.4853 beats A: e^.9/tot = 0.3439
    assert v["label"] == "B"
    assert v["confidence"] == pytest.approx((e(0.6) + e(0.5)) / tot)
    assert v["margin"] == pytest.approx((e(0.6) + e(0.5) - e(0.9)) / tot)

    v = one(weighted_vote(FOUR, norm="softmax", softmax_temperature=0.1))
    tot = e(9) + e(6) + e(5) + e(2)  # A: e^9 = 8103 dwarfs B: e^6 + e^5 = 552
    assert v["label"] == "A"
    assert v["confidence"] == pytest.approx(e(9) / tot)


def test_softmax_temperature_limits():
    ann = random_ann(seed=3, n_users=60, grid=True)
    maj = majority_vote(ann)
    for temp in (np.inf, 1e12):
        sm = weighted_vote(ann, norm="softmax", softmax_temperature=temp)
        # T -> inf: every weight equal, i.e. counts, ties broken the same way (summed confidence)
        assert sm["label"].tolist() == maj["label"].tolist()
        assert np.allclose(sm["confidence"], maj["confidence"], equal_nan=True)
    # T -> 0: the single most confident sample decides (ties there again by label name)
    cold = weighted_vote(ann, norm="softmax", softmax_temperature=1e-4)
    v = voting.valid_votes(ann).sort_values(["user_id", "attribute", "confidence", "label"],
                                             ascending=[True, True, False, True], kind="mergesort")
    top = v.groupby(["user_id", "attribute"])["confidence"].transform("max")
    winners = v.loc[v["confidence"] == top]
    # only where the top confidence is held by one label is the limit unambiguous
    uniq = winners.groupby(["user_id", "attribute"])["label"].nunique() == 1
    best = winners.groupby(["user_id", "attribute"])["label"].first()[uniq]
    got = cold.set_index(["user_id", "attribute"])["label"].reindex(best.index)
    assert len(best) > 20 and (got == best).all()


def test_softmax_rejects_bad_temperature():
    with pytest.raises(ValueError):
        weighted_vote(FOUR, norm="softmax", softmax_temperature=0.0)
    with pytest.raises(ValueError):
        weighted_vote(FOUR, norm="cubic")


def test_tie_breaks():
    # majority 2 v 2: summed confidence A 0.9 + 0.1 = 1.0 < B 0.6 + 0.5 = 1.1 -> B
    ann = ann_of([("u", "g", "t", 0, "A", 0.9), ("u", "g", "t", 1, "A", 0.1),
                  ("u", "g", "t", 2, "B", 0.6), ("u", "g", "t", 3, "B", 0.5)])
    assert one(majority_vote(ann))["label"] == "B"
    # majority 1 v 1 with equal confidence: label name, "A" < "B", whatever the row order
    ann = ann_of([("u", "g", "t", 0, "B", 0.5), ("u", "g", "t", 1, "A", 0.5)])
    assert one(majority_vote(ann))["label"] == "A"
    assert one(weighted_vote(ann))["label"] == "A"
    assert one(majority_vote(ann))["margin"] == 0.0
    # weighted score tie 0.1 + 0.2 vs 0.3 (unequal in floating point): still a tie, and the
    # summed confidences tie too, so more votes wins -> Z despite "Y" < "Z"
    ann = ann_of([("u", "g", "t", 0, "Z", 0.1), ("u", "g", "t", 1, "Z", 0.2), ("u", "g", "t", 2, "Y", 0.3)])
    assert one(weighted_vote(ann))["label"] == "Z"
    # weighted score tie broken by raw confidence: A from teacher w=2 at 0.3 -> 0.6;
    # B from teacher w=1 at 0.6 -> 0.6; summed confidence 0.3 < 0.6 -> B
    ann = ann_of([("u", "g", "heavy", 0, "A", 0.3), ("u", "g", "light", 0, "B", 0.6)])
    assert one(weighted_vote(ann, teacher_weights={"heavy": 2.0, "light": 1.0}))["label"] == "B"


def test_teacher_weights_change_a_decision():
    # none: A 1.0 (noisy) vs B 0.45 + 0.45 = 0.9 (good1, good2) -> A
    # weights noisy 0.3, good 0.9: A 0.3 vs B 0.405 + 0.405 = 0.81 -> B, share 0.81/1.11
    ann = ann_of([("u", "g", "noisy", 0, "A", 1.0), ("u", "g", "good1", 0, "B", 0.45),
                  ("u", "g", "good2", 0, "B", 0.45)])
    assert one(weighted_vote(ann))["label"] == "A"
    v = one(weighted_vote(ann, teacher_weights={"noisy": 0.3, "good1": 0.9, "good2": 0.9}))
    assert v["label"] == "B" and v["confidence"] == pytest.approx(0.81 / 1.11)
    with pytest.raises(KeyError):
        weighted_vote(ann, teacher_weights={"noisy": 1.0})


def test_teacher_reliability_finds_the_noisy_teacher_without_labels():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(200):
        truth = rng.choice(["a", "b", "c", "d"])
        for t, acc in (("good1", 0.9), ("good2", 0.85), ("good3", 0.9), ("noisy", 0.3)):
            lab = truth if rng.random() < acc else rng.choice(["a", "b", "c", "d"])
            rows.append((f"u{i}", "g", t, 0, str(lab), float(rng.uniform(0.5, 1.0))))
    ann = ann_of(rows)
    r = voting.teacher_reliability(ann)
    assert list(r.index) == ["good1", "good2", "good3", "noisy"]
    assert r["noisy"] < 0.55 < min(r["good1"], r["good2"], r["good3"])
    lo = voting.teacher_reliability(ann, kind="log_odds")
    assert lo["noisy"] < lo["good1"] and (lo > 0).all()
    # the estimate is usable as teacher_weights and flips the constructed case above
    ann2 = pd.concat([ann, ann_of([("x", "g", "noisy", 0, "A", 1.0), ("x", "g", "good1", 0, "B", 0.45),
                                   ("x", "g", "good2", 0, "B", 0.45)])])
    v = weighted_vote(ann2, teacher_weights=r).set_index("user_id").loc["x"]
    assert v["label"] == "B"
    # one teacher alone: nothing to compare with, weight 1/2
    assert voting.teacher_reliability(ann.loc[ann["teacher"] == "noisy"]).to_dict() == {"noisy": 0.5}


def test_no_vote_rows_are_explicit():
    empty = pd.DataFrame(columns=ANN_COLUMNS)
    for f in (majority_vote, weighted_vote):
        out = f(empty)
        assert list(out.columns) == VOTE_COLUMNS and out.empty
    ann = ann_of([
        ("failed", "g", "t", 0, None, 0.0), ("failed", "g", "t", 1, None, 0.0),  # all parse failures
        ("abstain", "g", "t", 0, "unknown", 0.9), ("abstain", "g", "t", 1, "unknown", 0.8),
        ("mixed", "g", "t", 0, None, 0.0), ("mixed", "g", "t", 1, "unknown", 0.9),
        ("mixed", "g", "t", 2, "A", 0.4),
        ("zero", "g", "t", 0, "A", 0.0), ("zero", "g", "t", 1, "B", 0.0), ("zero", "g", "t", 2, "B", 0.0),
    ])
    # a label that says ok=False is a failure even with a label; NaN confidence on a vote is 0
    ann.loc[len(ann)] = ["badok", "g", "t", 0, "A", 0.9, "", False, "schema"]
    ann.loc[len(ann)] = ["nanconf", "g", "t", 0, "A", float("nan"), "", True, None]
    for norm in ("none", "linear", "softmax"):
        out = weighted_vote(ann, norm=norm).set_index("user_id")
        for u in ("failed", "abstain", "badok"):
            row = out.loc[u]
            assert row["label"] is None and np.isnan(row["confidence"]) and np.isnan(row["margin"])
            assert row["n_votes"] == 0 and not row["kept"]
        assert out.loc["mixed", "label"] == "A" and out.loc["mixed", "n_votes"] == 1
        assert out.loc["mixed", "confidence"] == 1.0
        # all-zero weights fall back to counts: B 2 of 3 (softmax: equal weights anyway)
        assert out.loc["zero", "label"] == "B" and out.loc["zero", "confidence"] == pytest.approx(2 / 3)
        assert out.loc["nanconf", "label"] == "A" and out.loc["nanconf", "confidence"] == 1.0
    assert list(weighted_vote(ann).columns) == VOTE_COLUMNS
    assert majority_vote(ann).set_index("user_id").loc["failed", "label"] is None
    # parquet round trips turn None into NaN in a str column: same result
    ann2 = ann.copy()
    ann2["label"] = ann2["label"].astype("str")
    pd.testing.assert_frame_equal(weighted_vote(ann2), weighted_vote(ann))


def random_ann(seed, n_users=40, grid=False):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_users):
        for attr in ("age", "gender"):
            for t in ("lex", "llm", "kw"):
                for s in range(3):
                    r = rng.random()
                    lab = None if r < 0.05 else "unknown" if r < 0.1 else str(rng.choice(["a", "b", "c"]))
                    conf = round(rng.choice([0.25, 0.5, 0.75]), 2) if grid else float(rng.random())
                    rows.append((f"u{i:03d}", attr, t, s, lab, conf))
    return ann_of(rows)


@pytest.mark.parametrize("kwargs", [{}, {"norm": "linear"}, {"norm": "softmax", "softmax_temperature": 0.3},
                                    {"teacher_weights": {"lex": 0.5, "llm": 1.0, "kw": 0.25}}])
def test_deterministic_under_row_shuffling(kwargs):
    ann = random_ann(seed=1, grid=True)  # coarse confidences: many exact ties
    ref = weighted_vote(ann, **kwargs)
    ref_m = majority_vote(ann)
    for seed in range(4):
        shuffled = ann.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(weighted_vote(shuffled, **kwargs), ref)
        pd.testing.assert_frame_equal(majority_vote(shuffled), ref_m)
    assert len(ref) == ann[["user_id", "attribute"]].drop_duplicates().shape[0]


def test_scores_round_trip_and_shares():
    ann = random_ann(seed=2)
    s = vote_scores(ann, norm="softmax", softmax_temperature=0.5)
    has = s.loc[s["label"].notna()]
    assert np.allclose(has.groupby(["user_id", "attribute"])["share"].sum(), 1.0)
    direct = weighted_vote(ann, norm="softmax", softmax_temperature=0.5)
    pd.testing.assert_frame_equal(voting.votes_from_scores(s), direct)


def test_subsample():
    ann = random_ann(seed=4, n_users=5)
    sub = voting.subsample(ann, 2)
    assert sorted(sub["sample"].unique()) == [0, 1]
    assert len(sub) == len(ann) * 2 // 3
    sub = voting.subsample(ann, {"lex": 1, "llm": 3}, teachers=["lex", "llm"])
    assert sub.groupby("teacher")["sample"].max().to_dict() == {"lex": 0, "llm": 2}
    with pytest.raises(KeyError):
        voting.subsample(ann, 1, teachers=["lexx"])


def test_agreeing_rationales_and_records():
    ann = ann_of([("u", "g", "t1", 0, "A", 0.4), ("u", "g", "t2", 0, "A", 0.9),
                  ("u", "g", "t3", 0, "A", 0.7), ("u", "g", "t4", 0, "B", 0.95),
                  ("v", "g", "t1", 0, None, 0.0)])
    ann.loc[2, "rationale"] = ann.loc[1, "rationale"] = "same words"  # a repeat is kept once
    out = voting.agreeing_rationales(ann, majority_vote(ann), max_n=2)
    r = out.set_index("user_id")["rationales"]
    # A wins 3 v 1; by confidence 0.9 ("same words"), 0.7 (repeat, dropped), 0.4 (t1)
    assert r["u"] == ["same words", "t10 says A"] and r["v"] == []
    recs = voting.pseudo_label_records(out)
    assert [x["user_id"] for x in recs] == ["u", "v"]
    assert recs[1]["attributes"]["g"] == {"label": None, "confidence": None, "kept": False, "rationales": []}
    assert recs[0]["attributes"]["g"]["confidence"] == 0.75


# --------------------------------------------------------------------------------------------
# vote rules


def test_vote_rule_matches_the_functions_it_names():
    ann = ann_of([(u, "age", t, s, lab, c) for u, rows in {
        "u1": [("a", "x", 0.9), ("b", "y", 0.4), ("c", "y", 0.5)],
        "u2": [("a", "x", 0.3), ("b", "x", 0.8), ("c", "z", 0.9)]}.items()
        for t, lab, c in rows for s in (0, 1)])
    rules = voting.standard_rules([0.3])
    pd.testing.assert_frame_equal(rules["majority vote"](ann), majority_vote(ann))
    pd.testing.assert_frame_equal(rules["weighted (softmax T=0.3)"](ann),
                                  weighted_vote(ann, norm="softmax", softmax_temperature=0.3))
    rel = rules["weighted (none) + teacher reliability"]
    fitted = voting.teacher_reliability(ann, norm="none")
    pd.testing.assert_series_equal(rel.fit_weights(ann), fitted)
    pd.testing.assert_frame_equal(rel(ann), weighted_vote(ann, teacher_weights=fitted))  # fitted when not given
    given = {"a": 5.0, "b": 1.0, "c": 1.0}
    pd.testing.assert_frame_equal(rel(ann, given), weighted_vote(ann, teacher_weights=given))
    assert rules["weighted (none)"].fit_weights(ann) is None
    pd.testing.assert_frame_equal(rules["weighted (none)"](ann, given), weighted_vote(ann))  # ignored: no reliability
    assert [r.name for r in rules.values() if r.is_majority] == ["majority vote"]


def test_vote_rule_rejects_an_unknown_norm():
    with pytest.raises(ValueError, match="norm must be one of"):
        voting.VoteRule("typo", "softmaxx")


def test_heldout_agreement_takes_a_rule():
    ann = ann_of([("u", "age", t, 0, lab, 0.5) for t, lab in zip("abc", "xxy")])
    rule = voting.VoteRule("majority vote", "count")
    assert voting.heldout_agreement(ann, rule) == voting.heldout_agreement(ann, majority_vote)


def test_first_sample_is_a_vote_table_without_abstentions_or_failures():
    ann = ann_of([("u", "age", "a", 0, "unknown", 0.5), ("v", "age", "a", 0, None, 0.5),
                  ("w", "age", "a", 0, "x", 0.7), ("w", "age", "a", 1, "y", 0.9)])
    one_sample = voting.first_sample(ann)
    assert one_sample["label"].tolist() == [None, None, "x"] and one_sample["confidence"].iloc[2] == 0.7
