"""crowd-kit aggregators as vote rules, on hand-made annotations."""

import numpy as np
import pandas as pd
import pytest

from confprofile import aggregation, calibration, voting
from confprofile.aggregation import Aggregator

TRUTH = ["x", "y", "z"] * 10
FAST = [m for m in aggregation.METHODS if m != "GLAD"]  # GLAD: seconds even on a toy (tested once below)


def _ann():
    """Teacher a is always right, b and c always say x, d is right two times in three."""
    rows = []
    for i, t in enumerate(TRUTH):
        u = f"u{i:02d}"
        for s in range(2):
            rows += [(u, "age", "a", s, t, 0.9), (u, "age", "b", s, "x", 0.9), (u, "age", "c", s, "x", 0.9),
                     (u, "age", "d", s, t if i % 3 != 2 else "y", 0.6)]
    rows += [("u00", "gender", "a", 0, "unknown", 0.1), ("u01", "gender", "a", 0, "female", 0.8),
             ("u01", "gender", "b", 0, "female", 0.7)]
    return pd.DataFrame(rows, columns=["user_id", "attribute", "teacher", "sample", "label", "confidence"])


def _accuracy(votes):
    age = votes.loc[votes["attribute"] == "age"].sort_values("user_id")
    return float(np.mean([a == b for a, b in zip(age["label"], TRUTH)]))


def test_dawid_skene_learns_that_constant_teachers_carry_no_evidence():
    ann = _ann()
    assert _accuracy(voting.majority_vote(ann)) == pytest.approx(1 / 3)  # b and c outvote a
    assert _accuracy(Aggregator("ds", "DawidSkene")(ann)) > 0.6


@pytest.mark.parametrize("method", FAST)
def test_every_pair_gets_one_row_and_abstentions_cast_no_vote(method):
    ann = _ann()
    votes = Aggregator(method, method)(ann)
    assert list(votes.columns) == voting.VOTE_COLUMNS
    assert len(votes) == len(voting.all_keys(ann)) == 32
    silent = votes.set_index(["user_id", "attribute"]).loc[("u00", "gender")]
    assert silent["label"] is None and not silent["kept"] and silent["n_votes"] == 0
    assert votes.set_index(["user_id", "attribute"]).loc[("u01", "gender"), "label"] == "female"


@pytest.mark.parametrize("method", FAST)
def test_scores_are_posteriors_and_rows_order_does_not_matter(method):
    ann = _ann()
    agg = Aggregator(method, method)
    s = agg.scores(ann)
    assert list(s.columns) == voting.SCORE_COLUMNS
    shares = s.loc[s["label"].notna()].groupby(["user_id", "attribute"])["share"].sum()
    assert np.allclose(shares, 1.0)
    assert ((s["score"] >= 0) & (s["score"] <= 1 + 1e-9)).all()
    shuffled = agg(ann.sample(frac=1.0, random_state=3))
    assert shuffled["label"].tolist() == agg(ann)["label"].tolist()


def test_glad_runs():
    ann = _ann()
    ann = ann.loc[ann["attribute"] == "gender"]
    assert Aggregator("glad", "GLAD", {"n_iter": 5})(ann)["kept"].sum() == 1


def test_an_aggregator_is_chosen_by_the_same_label_free_rule():
    ann = _ann()
    rules = {**voting.standard_rules([0.3]), **aggregation.aggregators({"DawidSkene": {}})}
    agreement = {name: voting.heldout_agreement(ann, rule) for name, rule in rules.items()}
    assert all(0.0 <= a <= 1.0 for a in agreement.values())
    assert "Dawid-Skene (crowd-kit)" in agreement


def test_calibration_candidates_of_an_aggregator_refit_per_held_out_unit():
    ann = _ann()
    agg = Aggregator("ds", "DawidSkene")
    tab = aggregation.agreement_table(ann, agg, "teacher")
    assert set(tab["unit"]) == {"a", "b", "c", "d"} and tab["agree"].between(0, 1).all()
    c = calibration.build_candidates(ann, {"pool": agg.scores(ann)}, coverage=0.5, prior_strength=0.5,
                                     **agg.score_kwargs(), agreement=agg.agreement)
    assert c["isotonic"].fitted.vote_params == {"agreement": "Aggregator.agreement"}
    assert set(c) == {"isotonic", "isotonic_teacher", "temperature", "thresholds", "prior", "prior_thresholds", "none"}


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'Wawa'"):
        Aggregator("w", "Wawa")
