"""Choosing a vote rule among teachers of mixed quality, measured (issue 24): simulated
annotation tables with known true labels, many weak teachers and a few strong ones, and which
rule each label-free criterion picks, against the best rule by truth.

This is evaluation code: the simulator keeps the true labels and the study scores the rules
against them, so no label-free module may import it (tests/test_label_free.py, and its stage in
tests/test_architecture.py). The criteria it compares are label-free and live where the vote
does:

- ``heldout``: ``voting.heldout_agreement`` (each held-out teacher counts once; the chooser
  before issue 24);
- ``reliability``: ``aggregation.reliability_weighted_agreement``, held-out teachers counted by
  their Dawid-Skene accuracy above chance (``pseudo_labelling.label_free``'s chooser);
  ``reliability (one-coin)``: the same by one-coin Dawid-Skene's accuracy;
- ``likelihood``: ``aggregation.heldout_likelihood`` (one-coin likelihood of each held-out
  teacher's answers given the rule's vote of the others, cross-fitted over users);
- ``stability``: ``aggregation.resampling_stability`` (the rule's vote on half the teachers
  against its vote on all).

Notebook 03 runs a reduced study (its ``rule_study_*`` parameters); the full one, five scenarios
x five seeds x 200 users, takes about 20 CPU-minutes:

    python -m confprofile.evaluation.rule_study

>>> t = study({"equal teachers (control)": SCENARIOS["equal teachers (control)"]}, seeds=[0], n_users=30,
...           criteria_=("heldout",))
>>> t[["criterion", "hit"]].to_dict("records")
[{'criterion': 'heldout', 'hit': True}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from confprofile import aggregation, voting
from confprofile.evaluation.intervals import with_interval
from confprofile.provenance import rng
from confprofile.rules import registry


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


def simulate(teachers: Sequence[SimTeacher], n_users: int = 200, n_labels: Mapping[str, int] | None = None,
             seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An annotation table (docs/CONTRACTS.md) and the true labels (``user_id, attribute, label``,
    user by user, attributes in ``n_labels``' order)."""
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


def correct(votes: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """1.0 where the vote says the true label, in ``truth``'s row order (a no-vote is a miss).

    >>> truth = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "label": ["x", "y"]})
    >>> correct(pd.DataFrame({"user_id": ["v"], "attribute": ["g"], "label": ["y"]}), truth).tolist()
    [0.0, 1.0]
    """
    m = truth.merge(votes[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left",
                    suffixes=("", "_vote"))
    return (m["label"] == m["label_vote"]).to_numpy(dtype=float)


def accuracy(votes: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of true (user, attribute) labels the vote says (a no-vote is a miss)."""
    return float(correct(votes, truth).mean())


def rules(temperatures: Sequence[float] = (0.1, 0.3, 1.0), aggregators: Mapping | None = None) -> dict:
    """The candidates notebook 03 compares (``pseudo_labelling.label_free``'s): the vote rules and crowd-kit's models."""
    return {r.name: r for r in registry(list(temperatures), aggregators or {}).values()}


CRITERIA = ("heldout", "reliability", "reliability (one-coin)", "likelihood", "stability")


def criteria(ann: pd.DataFrame, candidates: Mapping, n_draws: int = 6,
             which: Iterable[str] = CRITERIA) -> dict[str, dict[str, float]]:
    """Label-free criteria (``which``) scoring every rule: ``{criterion: {rule: score}}``."""
    which = list(which)
    unknown = sorted(set(which) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria {unknown}; known: {', '.join(CRITERIA)}")
    skills = aggregation.teacher_skills(ann) if "reliability" in which else None
    one_coin = aggregation.teacher_skills(ann, method="OneCoinDawidSkene") if "reliability (one-coin)" in which else None
    k = voting.valid_votes(ann).groupby("attribute")["label"].nunique().to_dict()
    out: dict[str, dict[str, float]] = {c: {} for c in which}
    for name, rule in candidates.items():
        table = voting.heldout_table(ann, rule)
        score = {"heldout": lambda: voting.agreement_from_table(table),
                 "reliability": lambda: aggregation.reliability_weighted_agreement(table, skills),
                 "reliability (one-coin)": lambda: aggregation.reliability_weighted_agreement(table, one_coin),
                 "likelihood": lambda: aggregation.heldout_likelihood(table, k),
                 "stability": lambda: aggregation.resampling_stability(ann, rule, n_draws=n_draws)}
        for c in which:
            out[c][name] = score[c]()
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


def _pick(scores: Mapping[str, float]) -> str:
    """The rule a criterion picks: its highest score (NaN never; ties to the first rule listed)."""
    return max(scores, key=lambda n: scores[n] if scores[n] == scores[n] else -np.inf)


def study(scenarios: Mapping[str, Sequence[SimTeacher]] = SCENARIOS, seeds: Iterable[int] = range(5),
          n_users: int = 200, aggregators: Mapping | None = None, n_draws: int = 6,
          criteria_: Iterable[str] = CRITERIA, temperatures: Sequence[float] = (0.1, 0.3, 1.0)) -> pd.DataFrame:
    """One row per (scenario, seed, criterion): the rule it picks, that rule's accuracy against
    the truth, the best rule by truth and its accuracy, ``regret`` (the difference), ``hit``
    (picked a rule as accurate as the best) and ``user_diff`` (per simulated user, the picked
    rule's right answers minus the best rule's, summed over attributes: what ``summary``
    resamples) with ``n_attributes``."""
    rows = []
    for scen, teachers in scenarios.items():
        for seed in seeds:
            ann, truth = simulate(teachers, n_users=n_users, seed=seed)
            n_attr = int(truth.groupby("user_id").size().iloc[0])
            cands = rules(temperatures, aggregators)
            right = {name: correct(rule(ann), truth) for name, rule in cands.items()}
            acc = {name: float(r.mean()) for name, r in right.items()}
            best = max(acc, key=acc.get)
            for crit, scores in criteria(ann, cands, n_draws=n_draws, which=criteria_).items():
                pick = _pick(scores)
                diff = (right[pick] - right[best]).reshape(n_users, n_attr).sum(axis=1)
                rows.append({"scenario": scen, "seed": seed, "criterion": crit, "picked": pick,
                             "picked_acc": acc[pick], "best": best, "best_acc": acc[best],
                             "regret": acc[best] - acc[pick], "hit": acc[pick] >= acc[best] - 1e-12,
                             "user_diff": diff, "n_attributes": n_attr})
    return pd.DataFrame(rows)


def _most_common(s: pd.Series) -> str:
    counts = s.value_counts(sort=False)
    return str(counts.index[int(np.argmax(counts.to_numpy()))])


def summary(table: pd.DataFrame, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Per scenario and criterion: ``picked`` and ``best`` (the rule it picked and the best rule
    by truth, the most frequent over seeds), ``hits``/``runs`` (seeds where it picked a best
    rule), ``picked_minus_best_pts`` (the picked rule's accuracy minus the best rule's, in
    points, mean over seeds) with ``_ci``: a paired bootstrap over simulated users (resampled
    within each seed, the same resamples for every criterion; the best rule stays the one best
    on all users, so the interval says how far the pick is from it given this many users),
    ``within`` (the interval reaches 0: the pick is as good as the best rule within the noise)
    and ``max_regret_pts`` (the worst seed).

    >>> t = pd.DataFrame({"scenario": ["s"] * 2, "seed": [0, 0], "criterion": ["a", "b"], "picked": ["r", "q"],
    ...                   "best": ["r", "r"], "hit": [True, False], "regret": [0.0, 0.5],
    ...                   "user_diff": [np.zeros(8), np.array([-1.0] * 4 + [0.0] * 4)], "n_attributes": [1, 1]})
    >>> s = summary(t, n_boot=200)  # b lost 4 of 8 users' answers: -50 points, an interval below 0
    >>> s.loc[("s", "b")].to_dict() | {"picked_minus_best_pts_ci": "..."}
    {'picked': 'q', 'best': 'r', 'hits': 0, 'runs': 1, 'picked_minus_best_pts': -50.0, 'picked_minus_best_pts_ci': '...', 'within': False, 'max_regret_pts': 50.0}
    """
    rows = []
    for (scen, crit), g in table.groupby(["scenario", "criterion"], sort=False):
        boots, points = [], []
        for _, r in g.iterrows():
            d = np.asarray(r["user_diff"], dtype=float)
            n = len(d)
            w = rng(seed, "rule_study.summary", scen, int(r["seed"])).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
            boots.append(100 * (w @ d) / (n * r["n_attributes"]))
            points.append(100 * d.sum() / (n * r["n_attributes"]))
        boot = np.mean(boots, axis=0)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        rows.append({"scenario": scen, "criterion": crit, "picked": _most_common(g["picked"]),
                     "best": _most_common(g["best"]), "hits": int(g["hit"].sum()), "runs": len(g),
                     "picked_minus_best_pts": round(float(np.mean(points)), 2),
                     "picked_minus_best_pts_ci": [round(float(lo), 2), round(float(hi), 2)],
                     "within": bool(hi >= -1e-9), "max_regret_pts": round(float(100 * g["regret"].max()), 2)})
    return pd.DataFrame(rows).set_index(["scenario", "criterion"])


def choice_study(scenarios: Sequence[str], *, seeds: Iterable[int], n_users: int, n_boot: int, seed: int,
                 **kwargs) -> dict[str, dict]:
    """Notebook 03's reduced study: ``study`` of the named ``SCENARIOS`` (keyword arguments
    ``kwargs``: ``aggregators``, ``criteria_``, ``temperatures``) and its ``summary``, one row per
    ``"<scenario> | <criterion>"``; empty where ``n_users`` is 0 (the study skipped).

    >>> rows = choice_study(["equal teachers (control)"], seeds=[0], n_users=30, n_boot=50, seed=0, criteria_=("heldout",))
    >>> list(rows), rows["equal teachers (control) | heldout"]["within"]
    (['equal teachers (control) | heldout'], True)
    >>> choice_study(["equal teachers (control)"], seeds=[0], n_users=0, n_boot=50, seed=0)
    {}
    """
    if not n_users:
        return {}
    table = study({name: SCENARIOS[name] for name in scenarios}, seeds=seeds, n_users=n_users, **kwargs)
    rows = summary(table, n_boot=n_boot, seed=seed).to_dict(orient="index")
    return {f"{scen} | {crit}": r for (scen, crit), r in rows.items()}


def said(rows: Mapping[str, Mapping]) -> str:
    """``choice_study``'s rows as notebook 03 prints them, one line a row.

    >>> print(said({"s | heldout": {"picked": "a", "best": "b", "hits": 0, "runs": 1, "within": False,
    ...                             "picked_minus_best_pts": -4.0, "picked_minus_best_pts_ci": [-6.0, -2.0]}}))
    s | heldout: picked a (best by truth: b; best on 0 of 1 tables); accuracy minus the best rule's -4.00 [-6.00, -2.00] points (interval below 0)
    """
    return "\n".join(f"{key}: picked {r['picked']} (best by truth: {r['best']}; best on {r['hits']} of {r['runs']} "
                     f"tables); accuracy minus the best rule's "
                     f"{with_interval(r['picked_minus_best_pts'], r['picked_minus_best_pts_ci'])} "
                     f"points{'' if r['within'] else ' (interval below 0)'}" for key, r in rows.items())


if __name__ == "__main__":
    full = study(aggregators={"DawidSkene": {"n_iter": 50}, "OneCoinDawidSkene": {"n_iter": 50}})
    pd.set_option("display.width", 200)
    print(summary(full).to_string())
    print(full.groupby(["scenario", "criterion"])["picked"].agg(lambda s: s.value_counts().to_dict()).to_string())
