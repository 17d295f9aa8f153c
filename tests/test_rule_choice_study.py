"""Choosing a vote rule among teachers of mixed quality, measured (issue 24 item 1; a study, not
a switch): simulated annotation tables with known true labels, many weak teachers and a few
strong ones, and which rule each label-free criterion picks, against the best rule by truth.

The simulator and the study live here, on the evaluation side: they read the true labels, which
no label-free module may (tests/test_label_free.py). The criteria they compare are label-free:

- ``heldout``: ``voting.heldout_agreement``, today's chooser (each held-out teacher counts once);
- ``reliability``: ``aggregation.reliability_weighted_agreement``, criterion (a) (held-out
  teachers counted by their Dawid-Skene accuracy above chance; ``reliability (one-coin)``: by
  one-coin Dawid-Skene's);
- ``likelihood``: ``aggregation.heldout_likelihood``, criterion (b) (one-coin likelihood of
  each held-out teacher's answers given the rule's vote of the others, cross-fitted over users);
- ``stability``: ``aggregation.resampling_stability``, criterion (b') (agreement of the rule's
  vote on half the teachers with its vote on all).

Run the full study (minutes; prints the table the report quotes):

    python -m tests.test_rule_choice_study
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from confprofile import aggregation, voting
from confprofile.repro import rng


@dataclass(frozen=True)
class SimTeacher:
    """A simulated teacher: per sample, ``unknown`` with probability ``abstain``; else, with
    probability ``bias``, the attribute's first label whatever the user (a class it
    over-predicts, as teachers trained on the same data do together); else right ``accuracy`` of
    the time, its errors spread evenly over the other labels or, with probability ``shared``,
    the user's one shared wrong label that every teacher with ``shared`` > 0 falls for (a blind
    spot on that user). Its confidence ``style``:
    ``calibrated`` (around its accuracy, higher when right), ``overconfident`` (0.85-1.0
    whatever it says), ``cautious`` (0.3-0.6)."""

    name: str
    accuracy: float
    style: str = "calibrated"
    shared: float = 0.0
    abstain: float = 0.0
    bias: float = 0.0
    n_samples: int = 1


def simulate(teachers: list[SimTeacher], n_users: int = 200, n_labels: dict[str, int] | None = None,
             seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An annotation table (docs/CONTRACTS.md) and the true labels (``user_id, attribute, label``)."""
    n_labels = n_labels or {"g": 3, "h": 5}
    gen = rng(seed, "simulate")
    rows, truth = [], []
    for i in range(n_users):
        u = f"u{i:04d}"
        for attr, k in n_labels.items():
            labels = [f"{attr}{j}" for j in range(k)]
            y = labels[int(gen.integers(k))]
            wrong = [lab for lab in labels if lab != y]
            blind = wrong[int(gen.integers(len(wrong)))]  # the shared wrong label of this pair
            truth.append({"user_id": u, "attribute": attr, "label": y})
            for t in teachers:
                for s in range(t.n_samples):
                    if gen.random() < t.abstain:
                        lab, right = "unknown", False
                    elif gen.random() < t.bias:
                        lab, right = labels[0], labels[0] == y
                    elif gen.random() < t.accuracy:
                        lab, right = y, True
                    elif gen.random() < t.shared:
                        lab, right = blind, False
                    else:
                        lab, right = wrong[int(gen.integers(len(wrong)))], False
                    if t.style == "overconfident":
                        conf = gen.uniform(0.85, 1.0)
                    elif t.style == "cautious":
                        conf = gen.uniform(0.3, 0.6)
                    else:
                        conf = np.clip(gen.normal(t.accuracy + (0.1 if right else -0.1), 0.08), 0.05, 1.0)
                    rows.append({"user_id": u, "attribute": attr, "teacher": t.name, "sample": s, "label": lab,
                                 "confidence": float(conf), "rationale": "", "ok": True, "error": None})
    return pd.DataFrame(rows), pd.DataFrame(truth)


def accuracy(votes: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of true (user, attribute) labels the vote says (a no-vote is a miss)."""
    m = truth.merge(votes[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left",
                    suffixes=("", "_vote"))
    return float((m["label"] == m["label_vote"]).mean())


def rules(temperatures=(0.1, 0.3, 1.0), aggregators=None) -> dict:
    """The candidates notebook 03 compares (``vote.label_free``'s): the vote rules and crowd-kit's models."""
    return {**voting.standard_rules(list(temperatures)), **aggregation.aggregators(aggregators or {})}


CRITERIA = ("heldout", "reliability", "reliability (one-coin)", "likelihood", "stability")


def criteria(ann: pd.DataFrame, candidates: dict, n_draws: int = 6) -> dict[str, dict[str, float]]:
    """Every label-free criterion's score of every rule: ``{criterion: {rule: score}}``."""
    skills = aggregation.teacher_skills(ann)
    one_coin = aggregation.teacher_skills(ann, method="OneCoinDawidSkene")
    k = voting.valid_votes(ann).groupby("attribute")["label"].nunique().to_dict()
    out: dict[str, dict[str, float]] = {c: {} for c in CRITERIA}
    for name, rule in candidates.items():
        table = voting.heldout_table(ann, rule)
        out["heldout"][name] = voting.agreement_from_table(table)
        out["reliability"][name] = aggregation.reliability_weighted_agreement(table, skills)
        out["reliability (one-coin)"][name] = aggregation.reliability_weighted_agreement(table, one_coin)
        out["likelihood"][name] = aggregation.heldout_likelihood(table, k)
        out["stability"][name] = aggregation.resampling_stability(ann, rule, n_draws=n_draws)
    return out


SCENARIOS = {  # name -> teachers
    "many weak, few strong": [SimTeacher("s1", 0.85), SimTeacher("s2", 0.8, "cautious")]
    + [SimTeacher(f"w{i}", 0.4, "overconfident") for i in range(8)],
    "weak over-predict one class": [SimTeacher("s1", 0.85), SimTeacher("s2", 0.8, "cautious")]
    + [SimTeacher(f"w{i}", 0.6, "overconfident", bias=0.5) for i in range(8)],
    "weak share a blind spot": [SimTeacher("s1", 0.85), SimTeacher("s2", 0.8, "cautious")]
    + [SimTeacher(f"w{i}", 0.4, "overconfident", shared=0.6) for i in range(8)],
    "one strong, weak abstain": [SimTeacher("s1", 0.9, "cautious")]
    + [SimTeacher(f"w{i}", 0.45, "overconfident", abstain=0.3) for i in range(6)],
    "equal teachers (control)": [SimTeacher(f"e{i}", 0.6) for i in range(5)],
}


def study(scenarios: dict[str, list[SimTeacher]] = SCENARIOS, seeds=range(5), n_users: int = 200,
          aggregators=None, n_draws: int = 6) -> pd.DataFrame:
    """One row per (scenario, seed, criterion): the rule it picks, that rule's accuracy against
    the truth, the best rule by truth and its accuracy, ``regret`` (the difference) and ``hit``
    (picked a rule as accurate as the best)."""
    rows = []
    for scen, teachers in scenarios.items():
        for seed in seeds:
            ann, truth = simulate(teachers, n_users=n_users, seed=seed)
            cands = rules(aggregators=aggregators)
            acc = {name: accuracy(rule(ann), truth) for name, rule in cands.items()}
            best = max(acc, key=acc.get)
            for crit, scores in criteria(ann, cands, n_draws=n_draws).items():
                pick = max(scores, key=lambda n: scores[n] if scores[n] == scores[n] else -np.inf)
                rows.append({"scenario": scen, "seed": seed, "criterion": crit, "picked": pick,
                             "picked_acc": acc[pick], "best": best, "best_acc": acc[best],
                             "regret": acc[best] - acc[pick], "hit": acc[pick] >= acc[best] - 1e-12})
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and criterion: how often it picked a best rule, and its mean and worst regret
    (accuracy points lost against the best rule by truth)."""
    g = table.groupby(["scenario", "criterion"], sort=False)
    return pd.DataFrame({"hits": g["hit"].sum().astype(int), "runs": g["hit"].size(),
                         "mean_regret_pts": (100 * g["regret"].mean()).round(2),
                         "max_regret_pts": (100 * g["regret"].max()).round(2)})


# -- tests --------------------------------------------------------------------------------------


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
    assert set(summary(t).columns) == {"hits", "runs", "mean_regret_pts", "max_regret_pts"}


def test_most_reliable_teacher_finds_the_strong_teacher_the_crowd_disagrees_with():
    """One strong teacher (right 90%) and eight weak ones that over-predict one class together:
    each says the first label 60% of the time whatever the user. The weak agree with each other,
    and with the crowd's vote, more than the strong one does, so closeness to the crowd
    (``sft.best_teacher``'s score today) picks a weak teacher; Dawid-Skene's confusion matrices
    learn the shared lean and find the strong one. (One-coin Dawid-Skene, which assumes errors
    spread evenly, does not: measured below.)"""
    teachers = [SimTeacher("strong", 0.9)] + [SimTeacher(f"weak{i}", 0.7, "overconfident", bias=0.6) for i in range(8)]
    for seed in range(3):
        ann, truth = simulate(teachers, n_users=300, n_labels={"g": 3}, seed=seed)
        said = ann.merge(truth, on=["user_id", "attribute"], suffixes=("", "_true"))
        right = (said["label"] == said["label_true"]).groupby(said["teacher"]).mean()
        assert right.idxmax() == "strong" and right["strong"] > right.drop("strong").max() + 0.3
        # closeness to the crowd: agreement with the others' weighted vote (sft.best_teacher's score, x answered share 1)
        crowd = voting.teacher_reliability(ann, norm="none")
        assert crowd["strong"] < crowd.drop("strong").min()
        assert voting.most_reliable_teacher(ann) == "strong"
        one_coin = aggregation.teacher_skills(ann, method="OneCoinDawidSkene").set_index("teacher")["skill"]
        assert one_coin.idxmax() != "strong"


if __name__ == "__main__":
    full = study(aggregators={"DawidSkene": {"n_iter": 50}, "OneCoinDawidSkene": {"n_iter": 50}})
    pd.set_option("display.width", 200)
    print(summary(full).to_string())
    print(full.groupby(["scenario", "criterion"])["picked"].agg(lambda s: s.value_counts().to_dict()).to_string())
