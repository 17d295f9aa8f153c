"""The rule-choice study (``confprofile.evaluation.rule_study``, issue 24): the simulator gives teachers the
accuracy asked, the study and its summary have the shape notebook 03 records, and Dawid-Skene's
teacher accuracies find a strong teacher the crowd disagrees with (``voting.most_reliable_teacher``,
the best single teacher of ``sft.source_votes`` and notebook 04).

The full study (minutes): ``python -m confprofile.evaluation.rule_study``.
"""

from __future__ import annotations

import pytest

from confprofile import aggregation, voting
from confprofile.evaluation.rule_study import CRITERIA, SCENARIOS, SimTeacher, simulate, study, summary


def test_the_simulator_gives_teachers_the_accuracy_asked():
    ann, truth = simulate([SimTeacher("a", 0.9), SimTeacher("b", 0.5, "overconfident", abstain=0.2)], n_users=400)
    m = ann.merge(truth, on=["user_id", "attribute"], suffixes=("", "_true"))
    said = m[m["label"] != "unknown"]
    right = (said["label"] == said["label_true"]).groupby(said["teacher"]).mean()
    assert right["a"] == pytest.approx(0.9, abs=0.03) and right["b"] == pytest.approx(0.5, abs=0.04)
    assert (m[m["teacher"] == "b"]["label"] == "unknown").mean() == pytest.approx(0.2, abs=0.03)
    assert m[m["teacher"] == "b"]["confidence"].min() >= 0.85


def test_the_study_returns_one_row_per_scenario_seed_and_criterion():
    one = {"many weak, few strong": SCENARIOS["many weak, few strong"]}
    t = study(one, seeds=[0], n_users=60, n_draws=2)
    assert len(t) == len(CRITERIA) and set(t["criterion"]) == set(CRITERIA)
    assert (t["regret"] >= 0).all() and (t["hit"] == (t["regret"] <= 1e-12)).all()
    assert all(len(d) == 60 for d in t["user_diff"]) and (t["n_attributes"] == 2).all()
    s = summary(t, n_boot=100)
    assert set(s.columns) == {"picked", "best", "hits", "runs", "picked_minus_best_pts", "picked_minus_best_pts_ci",
                              "within", "max_regret_pts"}
    for _, r in s.iterrows():  # the interval holds its estimate; a hit is 0 with the interval [0, 0]
        lo, hi = r["picked_minus_best_pts_ci"]
        assert lo - 1e-9 <= r["picked_minus_best_pts"] <= hi + 1e-9 and r["picked_minus_best_pts"] == -r["max_regret_pts"]
        assert (r["hits"] == 1) <= (lo == hi == 0.0) and r["within"] == (hi >= 0)


def test_most_reliable_teacher_finds_the_strong_teacher_the_crowd_disagrees_with():
    """One strong teacher (right 90%) and eight weak ones that over-predict one class together:
    each says the first label 60% of the time whatever the user. The weak agree with each other,
    and with the crowd's vote, more than the strong one does, so closeness to the crowd
    (the best single teacher's score before issue 24) picks a weak teacher; Dawid-Skene's confusion matrices
    learn the shared lean and find the strong one. (One-coin Dawid-Skene, which assumes errors
    spread evenly, does not: measured below.)"""
    teachers = [SimTeacher("strong", 0.9)] + [SimTeacher(f"weak{i}", 0.7, "overconfident", bias=0.6) for i in range(8)]
    for seed in range(3):
        ann, truth = simulate(teachers, n_users=300, n_labels={"g": 3}, seed=seed)
        said = ann.merge(truth, on=["user_id", "attribute"], suffixes=("", "_true"))
        right = (said["label"] == said["label_true"]).groupby(said["teacher"]).mean()
        assert right.idxmax() == "strong" and right["strong"] > right.drop("strong").max() + 0.3
        # closeness to the crowd: agreement with the others' weighted vote (the old best_teacher's score)
        crowd = voting.teacher_reliability(ann, norm="none")
        assert crowd["strong"] < crowd.drop("strong").min()
        assert voting.most_reliable_teacher(ann) == "strong"
        one_coin = aggregation.teacher_skills(ann, method="OneCoinDawidSkene").set_index("teacher")["skill"]
        assert one_coin.idxmax() != "strong"
