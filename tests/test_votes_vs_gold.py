"""Notebook 03's gold side (``confprofile.evaluation.votes_vs_gold``) on a hand-made pool and test split: every
teacher, rule and calibration is scored, the claims name the comparisons the notebook reports,
and without gold every report is empty (so the notebook calls them without branching)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confprofile import pseudo_labelling
from confprofile.evaluation import scores, votes_vs_gold
from confprofile.taxonomy import parse_taxonomy

TAX = parse_taxonomy({"attributes": {"g": {"labels": {k: {"description": k} for k in ("f", "m", "x")}}}})


def split(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three teachers right 75/60/50% of the time, two samples each, and the true labels as gold."""
    gen = np.random.default_rng(seed)
    rows, gold = [], []
    for i in range(n):
        truth = gen.choice(["f", "m", "x"])
        gold.append({"user_id": f"u{i:03d}", "attribute": "g", "gold": truth, "clue": None})
        for t, acc in (("a", 0.75), ("b", 0.6), ("c", 0.5)):
            for s in range(2):
                lab = truth if gen.random() < acc else gen.choice([k for k in "fmx" if k != truth])
                rows.append({"user_id": f"u{i:03d}", "attribute": "g", "teacher": t, "sample": s, "label": lab,
                             "confidence": float(gen.uniform(0.3, 1.0)), "ok": True, "rationale": "", "error": None})
    return pd.DataFrame(rows), pd.DataFrame(gold)


@pytest.fixture(scope="module")
def chosen():
    (pool, _), (test, gold) = split(60, 0), split(40, 1)
    ann = {"pool": pool, "test": test}
    lf = pseudo_labelling.label_free(ann, TAX, vote_temperatures=[0.3], aggregators={"DawidSkene": {"n_iter": 20}},
                         coverage=0.6, prior_strength=0.5, max_share_shift=0.15)
    return ann, lf, gold


def test_every_teacher_rule_and_calibration_is_scored_and_the_claims_hold_their_intervals(chosen):
    ann, lf, gold = chosen
    comparison = votes_vs_gold.compare(ann, lf, gold, TAX)
    assert comparison.singles == {t: f"single_sample_{t}" for t in "abc"}  # keyed by id, named for prints
    assert comparison.self_consistency == {t: f"self_consistency_{t}" for t in "abc"}
    assert set(comparison.table) == {*comparison.singles.values(), *comparison.self_consistency.values(), *lf.rules,
                                     *(c.id for c in lf.candidates.values())}
    assert comparison.table["single_sample_a"]["name"] == "single sample: a"
    assert comparison.table["crowdkit_DawidSkene"]["name"] == "Dawid-Skene (crowd-kit)"
    assert comparison.table[lf.chosen]["heldout_agreement_pool"] == lf.agreement[lf.chosen]
    assert "balance_pool" in comparison.table[lf.final.id] and "balance_pool" not in comparison.table["single_sample_a"]
    claims = votes_vs_gold.claims(comparison, lf, gold, TAX, n_boot=50, seed=0)
    assert claims["best_single_teacher_by_gold"] == max("abc", key=lambda t: comparison.table[f"single_sample_{t}"]["avg_f1"])
    assert {"chosen_minus_majority_f1", "vote_minus_best_single_f1", "vote_minus_best_teacher_sc_f1",
            "dawid_skene_minus_chosen_f1", "final_minus_chosen_f1"} <= set(claims)
    assert "one_coin_minus_chosen_f1" not in claims  # the profile's aggregators leave one-coin out
    for key in [k for k in claims if k + "_ci" in claims]:
        lo, hi = claims[key + "_ci"]
        assert lo - 1e-9 <= claims[key] <= hi + 1e-9, key
    said = votes_vs_gold.claims_said(claims, comparison.table, lf.final.id, 2).splitlines()
    assert len(said) == 5 and said[2].startswith("Dawid-Skene vs the label-free choice: ") and said[2].endswith(".")
    ks, cost, to_match = votes_vs_gold.cost_curve(ann["test"], lf, gold, TAX, 2)
    assert ks == [1, 2] and set(cost) == {lf.majority, lf.chosen} and to_match in (1, 2, None)
    assert set(votes_vs_gold.label_shares(comparison, lf, gold, TAX)) == {"gold", "vote", "calibrated (kept)"}
    bins, curves = votes_vs_gold.calibration_curves(comparison, lf, gold, TAX)
    assert set(bins) == set(curves) == {"vote", "vote + isotonic", "prior-corrected"}
    assert curves["vote"]["threshold"] == scores.THRESHOLDS


def test_without_gold_every_report_is_empty(chosen, tmp_root):
    from confprofile import paths, records
    from confprofile.evaluation import gold_labels

    ann, lf, _ = chosen
    assert gold_labels.split_gold("t", "test", TAX) is None  # the profile has no gold file
    comparison = votes_vs_gold.compare(ann, lf, None, TAX)
    assert comparison == votes_vs_gold.Comparison()
    claims = votes_vs_gold.claims(comparison, lf, None, TAX, n_boot=50, seed=0)
    assert claims == {} and votes_vs_gold.claims_said(claims, {}, lf.final.name, 2) == ""
    assert votes_vs_gold.cost_curve(ann["test"], lf, None, TAX, 2) == ([], {}, None)
    assert votes_vs_gold.label_shares(comparison, lf, None, TAX) == {}
    assert votes_vs_gold.calibration_curves(comparison, lf, None, TAX) == ({}, {})
    records.write_jsonl(paths.records_path("t", "test"), [{"user_id": f"u{i}"} for i in range(5)])
    assert votes_vs_gold.sweep("t", None, TAX, users=3, views=[1], gaps=[0.0]) == {"users": 3, "grid": []}
    assert votes_vs_gold.sweep_cells([]) == {k: {} for k in votes_vs_gold.SWEEP_PANELS}
