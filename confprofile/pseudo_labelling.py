"""Notebook 03's label-free path in one call and one command: vote, calibrate, health-check, write pseudo-labels.

``label_free`` is notebook 03's label-free path (the notebook calls it, then scores what it
chose against the labels); ``python -m confprofile.pseudo_labelling`` runs the same without a notebook:

    python -m confprofile.pseudo_labelling --profile examples/own_data/own_data.yaml

Reads ``runs/<p>/synthesis/{pool,test}.parquet`` (test where present) and the profile's taxonomy;
writes ``runs/<p>/pseudo_labels/pool.jsonl`` (the input of distillation), the chosen rule as
fitted on the pool (``runs/<p>/pseudo_labels/rule.json``, ``confprofile.rules``: distillation's
``weighted`` source and RL's quasi ground truth load it) and, where the test
split was annotated, ``runs/<p>/pseudo_labels/test.jsonl`` (the same rule, for
``python -m confprofile.evaluation``). It reads no labels: tests/test_label_free.py checks.

The choices, all without labels: the vote rule whose votes of the other teachers the held-out
teachers agree with most, each held-out teacher counted by how far above chance Dawid-Skene
estimates it to be (``aggregation.reliability_weighted_agreement``; ``CRITERION``). Beside it
each rule's agreement with every teacher counted once is printed (``voting.heldout_agreement``;
``ALTERNATIVE``, the chooser until issue 24): where many weak teachers lean to one label,
counting every teacher once chooses the rule that leans with them; notebook 03's study
(``confprofile.evaluation.rule_study``) measures both criteria on simulated mixes. Then the
calibration (``choose_calibration``): among every candidate, the one whose kept pool labels are
most balanced, but only if it keeps every kept label share within ``max_share_shift`` of the
uncalibrated vote's; candidates with identical kept labels are one choice (reported, and the
uncalibrated vote wins a tie). Health checks (``confprofile.monitor``) warn, naming the
attribute, where teachers agree near chance, agree less often than their stated confidences
require (``monitor.confidence_floor``), or a calibration would move a label share far from the
vote's; and, about the rule choice itself, where the chosen rule leads the next by less than the
standard error of that lead (``voting.rule_margin``: every rule's scores are printed, sorted) or
a teacher answered under half the teachers' median share of pairs (``monitor.answered_shares``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from confprofile import aggregation, calibration, monitor, paths, records, rules, voting
from confprofile.calibration import Candidate
from confprofile.errors import ConfProfileError, run_cli
from confprofile.params import load_params
from confprofile.taxonomy import Taxonomy, load_taxonomy


CRITERION = "reliability-weighted held-out agreement"  # the rule chooser's score, as printed
ALTERNATIVE = "held-out teacher agreement"  # every teacher once: printed beside it (the chooser before issue 24)


class NotEnoughTeachersError(ConfProfileError, ValueError):
    """A vote needs two or more teachers (one line through ``run_cli``)."""


@dataclass
class LabelFree:
    """Everything notebook 03 decides without labels. Rules are keyed by their stable id
    (``rules.registry``), calibration candidates' scores by the candidate's ``id``
    (``chosen_thresholds``); ``rules[i].name`` and ``candidates[k].name`` are for prints."""

    rules: dict[str, voting.VoteRule]  # rule id -> rule
    agreement: dict[str, float]  # held-out teacher agreement per rule, every teacher once (pool; ALTERNATIVE)
    chosen: str  # the id of the rule with the best score (the chooser: CRITERION)
    pool_weights: dict[str, object]
    candidates: dict[str, Candidate]
    balance: dict[str, float]  # balance of the kept pool labels per candidate id
    teacher_shares: dict[str, dict[str, float]]  # what the teachers said (pool)
    shifts: dict[str, dict[str, float]]  # per candidate id: attribute -> largest kept-share change from the vote's
    final: Candidate
    teacher_alpha: dict[str, float]  # Krippendorff's alpha between teachers per attribute (pool)
    warnings: list[str] = field(default_factory=list)
    vote_shares: dict[str, dict[str, float]] = field(default_factory=dict)  # the uncalibrated vote's kept shares (pool)
    shifts_from_teachers: dict[str, dict[str, float]] = field(default_factory=dict)  # as shifts, from teacher_shares
    identical: list[list[str]] = field(default_factory=list)  # groups of candidate ids with identical kept labels
    confidence_floor: dict[str, dict] = field(default_factory=dict)  # monitor.confidence_floor per attribute (pool)
    score: dict[str, float] = field(default_factory=dict)  # the chooser's score per rule (CRITERION, pool)
    score_se: dict[str, float] = field(default_factory=dict)  # its bootstrap standard error over pool users, per rule
    runner_up: str | None = None  # the best-scored rule (id) whose held-out votes differ from the chosen's (voting.rule_margin)
    score_gap: float = float("nan")  # chosen minus runner-up score
    score_gap_se: float = float("nan")  # standard error of that paired difference (bootstrap over users)
    teacher_weights: dict[str, dict[str, float]] = field(default_factory=dict)  # attribute -> teacher -> CRITERION's weight
    answered: dict[str, float] = field(default_factory=dict)  # monitor.answered_shares per teacher (pool)

    teachers: tuple[str, ...] = ()  # the pool's teachers that voted

    @property
    def fitted(self) -> rules.FittedRule:
        """The chosen rule as fitted on the pool, what notebook 03 saves for 04 and 05."""
        w = self.pool_weights[self.chosen]
        return rules.FittedRule(self.rules[self.chosen], None if w is None else {str(t): float(x) for t, x in w.items()},
                                tuple(self.teachers), self.final.id)

    @property
    def majority(self) -> str:
        """The id of the majority vote among ``rules`` (the baseline every rule is compared with)."""
        return next(i for i, rule in self.rules.items() if rule.is_majority)

    def name(self, key: str) -> str:
        """The display name of a rule id or a candidate id (for prints and plots)."""
        if key in self.rules:
            return self.rules[key].name
        return next(c.name for c in self.candidates.values() if c.id == key)


def choose_calibration(candidates: Mapping[str, Candidate], balance: Mapping[str, float],
                       shifts: Mapping[str, Mapping[str, float]], max_share_shift: float) -> Candidate:
    """The label-free choice of calibration: among all candidates, on equal terms (one that
    drops pairs and one that keeps every pair alike), the one with the most balanced kept pool
    labels among those that move no kept label share more than ``max_share_shift`` from the
    uncalibrated vote's (``shifts``); ``candidates["none"]`` (no calibration) on a tie with it
    (balance cannot see a confidence calibration) or if none qualifies; otherwise the first.

    >>> c = {k: Candidate(k, k, {}, None, k in ("thresholds", "prior_thresholds"))
    ...      for k in ("thresholds", "prior", "prior_thresholds", "none")}
    >>> shifts = {"thresholds": {"g": 0.02}, "prior": {"g": 0.1}, "prior_thresholds": {"g": 0.27}, "none": {"g": 0.0}}
    >>> balance = {"thresholds": 0.8, "prior": 0.85, "prior_thresholds": 0.95, "none": 0.7}
    >>> choose_calibration(c, balance, shifts, 0.15).id, choose_calibration(c, balance, shifts, 0.3).id
    ('prior', 'prior_thresholds')
    >>> choose_calibration(c, balance, shifts, 0.05).id
    'thresholds'
    >>> choose_calibration(c, {**balance, "thresholds": 0.7}, shifts, 0.05).id  # a tie with no calibration
    'none'
    """
    ok = [c for c in candidates.values() if max(shifts[c.id].values(), default=0.0) <= max_share_shift]
    if not ok:
        return candidates["none"]
    best = max(round(balance[c.id], 9) for c in ok)
    top = [c for c in ok if round(balance[c.id], 9) == best]
    none = candidates.get("none")
    return none if any(c is none for c in top) else top[0]


def kept_shares(votes: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, dict[str, float]]:
    """Label shares of the kept pairs of a vote table."""
    return monitor.label_shares(votes[votes["kept"].astype(bool)], taxonomy, "label")


def label_free(ann: Mapping[str, pd.DataFrame], taxonomy: Taxonomy, *, vote_temperatures: Sequence[float],
               aggregators: Mapping[str, Mapping | None], coverage: float, prior_strength: float,
               max_share_shift: float) -> LabelFree:
    """Choose a vote rule and a calibration on the pool (every split in ``ann`` gets the votes).
    The candidates are the vote rules (``voting.standard_rules``) and the crowd-kit
    ``aggregators`` (``aggregation.aggregators``: model name -> kwargs), chosen by one score,
    ``CRITERION`` (``choose_rule``). Fewer than two teachers in the pool is a
    ``NotEnoughTeachersError``."""
    teachers = sorted(map(str, ann["pool"]["teacher"].dropna().unique()))
    if len(teachers) < 2:
        raise NotEnoughTeachersError(
            f"the vote needs two or more teachers, the pool has {len(teachers)} ({', '.join(teachers) or 'none'}): "
            "no (user, attribute) has two voting units; annotate with more teachers "
            "(python -m confprofile.synthesis --teachers ...)")
    by_id = rules.registry(vote_temperatures, aggregators)
    heldout = {i: voting.heldout_table(ann["pool"], rule) for i, rule in by_id.items()}
    agreement = {name: voting.agreement_from_table(t) for name, t in heldout.items()}  # = voting.heldout_agreement
    weights = aggregation.teacher_weights_from_skills(aggregation.teacher_skills(ann["pool"]))
    score = {name: aggregation.reliability_weighted_agreement(t, weights) for name, t in heldout.items()}  # CRITERION
    chosen = choose_rule(score, agreement)
    margin = voting.rule_margin(score, voting.heldout_bootstrap(heldout, weights=weights), chosen)  # reported
    answered = monitor.answered_shares(ann["pool"])
    # teacher weights are fitted once on the pool and used unchanged on the other splits
    pool_weights = {i: rule.fit_weights(ann["pool"]) for i, rule in by_id.items()}
    chosen_kw = by_id[chosen].score_kwargs(pool_weights[chosen])
    scores = {split: by_id[chosen].scores(a, pool_weights[chosen]) for split, a in ann.items()}
    candidates = calibration.build_candidates(ann["pool"], scores, coverage=coverage, prior_strength=prior_strength,
                                              **chosen_kw, agreement=by_id[chosen].agreement)
    balance = {c.id: monitor.balance(c.votes["pool"], taxonomy) for c in candidates.values()}
    said = monitor.teacher_shares(ann["pool"], taxonomy)
    voted = kept_shares(candidates["none"].votes["pool"], taxonomy)
    kept = {c.id: kept_shares(c.votes["pool"], taxonomy) for c in candidates.values()}
    shifts = {i: monitor.share_shift(k, voted) for i, k in kept.items()}
    final = choose_calibration(candidates, balance, shifts, max_share_shift)
    alpha = monitor.teacher_agreement(ann["pool"], taxonomy)
    floor = monitor.confidence_floor(ann["pool"], taxonomy)
    warnings = monitor.health_warnings(alpha, floor=floor)
    runner_up = margin["runner_up"]
    warnings += monitor.near_tie_warning(by_id[chosen].name, by_id[runner_up].name if runner_up else None,
                                         margin["gap"], margin["gap_se"], score=CRITERION)
    warnings += monitor.teacher_share_warnings(answered)
    for c in candidates.values():
        what = f"'{c.name}'" + ("" if c is final else " (so not chosen)")
        warnings += monitor.health_warnings({}, shifts[c.id], max_share_shift, what=what,
                                            reference="the uncalibrated vote's kept shares")
    return LabelFree(by_id, agreement, chosen, pool_weights, dict(candidates), balance, said, shifts, final, alpha,
                     warnings, vote_shares=voted,
                     shifts_from_teachers={i: monitor.share_shift(k, said) for i, k in kept.items()},
                     identical=calibration.identical_candidates(candidates), confidence_floor=floor,
                     score=score, score_se=margin["se"], runner_up=margin["runner_up"], score_gap=margin["gap"],
                     score_gap_se=margin["gap_se"], answered=answered,
                     teacher_weights={a: dict(zip(g["teacher"].astype(str), g["weight"].round(4)))
                                      for a, g in weights.groupby("attribute", sort=True)},
                     teachers=tuple(teachers))


def choose_rule(score: Mapping[str, float], agreement: Mapping[str, float]) -> str:
    """The rule with the highest ``score`` (``CRITERION``); a tie, or no finite score, goes to
    the higher second score ``agreement`` (``ALTERNATIVE``), then to the rule listed first.

    >>> choose_rule({"a": 0.7, "b": 0.8, "c": 0.8}, {"a": 0.9, "b": 0.5, "c": 0.6})
    'c'
    >>> choose_rule({"a": float("nan"), "b": float("nan")}, {"a": 0.5, "b": 0.6})
    'b'
    """
    def key(n):
        s, a = score.get(n, float("nan")), agreement.get(n, float("nan"))
        return (s if s == s else float("-inf"), a if a == a else float("-inf"))
    best = key(max(score, key=key))
    return next(n for n in score if key(n) == best)


def rule_scores(lf: LabelFree) -> list[str]:
    """The vote rules' label-free scores as printed lines, best first, the chosen one marked:
    ``* 0.6123 ± 0.0081  0.5987  weighted (none)`` (the chooser's score, ``CRITERION``, ± its
    bootstrap standard error over users; then ``ALTERNATIVE``), so a near-tie, and where the
    other criterion would choose, is visible beside the choice."""
    def sort_key(n):
        s = lf.score[n]
        return (not s == s, -s if s == s else 0.0)
    return [f"{'*' if n == lf.chosen else ' '} {lf.score[n]:.4f} ± {lf.score_se.get(n, float('nan')):.4f}  "
            f"{lf.agreement.get(n, float('nan')):.4f}  {lf.name(n)}" for n in sorted(lf.score, key=sort_key)]


def calibration_table(lf: LabelFree) -> pd.DataFrame:
    """Per calibration candidate: the balance of its kept pool labels and the largest kept-label
    share shift from the uncalibrated vote's and from the teachers' (what ``choose_calibration``
    and the health checks read)."""
    table = pd.DataFrame({"balance of kept pool labels": lf.balance,
                          "largest kept-share shift from the vote's": {n: max(s.values()) for n, s in lf.shifts.items()},
                          "... from the teachers'": {n: max(s.values()) for n, s in lf.shifts_from_teachers.items()}})
    return table.rename(index=lf.name)


def results(lf: LabelFree) -> dict:
    """The label-free entries of notebook 03's results file: the rule chosen and its scores, the
    calibration chosen and its fitted priors, and the pool's health checks; keyed by rule and
    candidate ids, with ``names`` (id -> display name) for prints."""
    return {"chosen_rule": lf.chosen, "final_method": lf.final.id, "heldout_agreement_pool": lf.agreement,
            "names": {**{i: r.name for i, r in lf.rules.items()}, **{c.id: c.name for c in lf.candidates.values()}},
            "rule_score_pool": lf.score, "rule_criterion": CRITERION,
            "teacher_weights_pool": lf.teacher_weights,
            "priors": lf.candidates["prior"].fitted.priors.to_dict(orient="records"),
            "health": {"teacher_agreement_pool": lf.teacher_alpha, "teacher_shares_pool": lf.teacher_shares,
                       "vote_shares_pool": lf.vote_shares, "share_shift_pool": lf.shifts,
                       "share_shift_from_teachers_pool": lf.shifts_from_teachers, "identical_candidates": lf.identical,
                       "confidence_floor_pool": lf.confidence_floor, "warnings": lf.warnings}}


def as_records(ann: pd.DataFrame, votes: pd.DataFrame) -> list[dict]:
    """Pseudo-label records of a split: the final votes with up to three agreeing rationales."""
    return voting.pseudo_label_records(voting.agreeing_rationales(ann, votes, max_n=3))


_CLI = __doc__.split("\n\n")[2] + "\n\n" + __doc__.split("\n\n")[3]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m confprofile.pseudo_labelling", formatter_class=argparse.RawDescriptionHelpFormatter,
                                 description="Vote, calibrate and write pseudo-labels, choosing without labels.\n\n" + _CLI)
    ap.add_argument("--profile", required=True, metavar="NAME|PATH",
                    help="smoke, cpu, gpu or a profile file (vote_temperatures, aggregators, coverage, prior_strength, "
                         "max_share_shift, taxonomy_file)")
    args = ap.parse_args(argv)
    p = load_params(args.profile)
    profile, taxonomy = p["profile"], load_taxonomy(p.get("taxonomy_file"))
    splits = [s for s in ("pool", "test") if s == "pool" or paths.annotations_path(profile, s).is_file()]
    ann = {s: records.load_annotations(profile, s) for s in splits}
    full = monitor.complete_teachers(ann["pool"])
    if len(full) < 2:
        n = ann["pool"].groupby("teacher")["user_id"].nunique()
        said = ", ".join(f"{t} ({k} of {ann['pool']['user_id'].nunique()} users)" for t, k in n.items()) or "none"
        raise NotEnoughTeachersError(
            f"{paths.annotations_path(profile, 'pool')}: the vote needs two or more teachers that annotated every "
            f"pool user, found {len(full)} (teachers: {said}): no (user, attribute) has two voting units; "
            "annotate with more teachers (python -m confprofile.synthesis --teachers ...)")
    ann = {s: a[a["teacher"].isin(full)] for s, a in ann.items()}
    lf = label_free(ann, taxonomy, vote_temperatures=p["vote_temperatures"], aggregators=p["aggregators"],
                    coverage=p["coverage"],
                    prior_strength=p["prior_strength"], max_share_shift=p["max_share_shift"])
    print(f"teachers: {', '.join(full)}; rule: {lf.name(lf.chosen)}; calibration: {lf.final.name}")
    print(f"vote rules by {CRITERION} (pool; ± bootstrap standard error over users; then {ALTERNATIVE}; "
          "* chosen):")
    print("\n".join(f"  {line}" for line in rule_scores(lf)))
    if lf.runner_up is not None:
        print(f"lead over the runner-up '{lf.name(lf.runner_up)}': {lf.score_gap:.4f} (standard error {lf.score_gap_se:.4f})")
    print("answered share of (user, attribute) pairs per teacher (pool): "
          + ", ".join(f"{t} {v:.0%}" for t, v in lf.answered.items()))
    print("teacher agreement (Krippendorff alpha, pool): "
          + ", ".join(f"{a} {v['alpha']:.2f}" for a, v in lf.teacher_alpha.items()))
    print("teacher agreement against the floor their stated confidences require (pool): "
          + ", ".join(f"{a} {v['agreement']:.2f}/{v['floor']:.2f}" for a, v in lf.confidence_floor.items()))
    for group in lf.identical:
        print(f"identical kept labels (one choice): {' = '.join(map(lf.name, group))}")
    for w in lf.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {lf.fitted.save(profile)} (the rule, as fitted on the pool, that distillation and RL load)")
    for s in splits:
        out = records.write_jsonl(paths.pseudo_labels_path(profile, s), as_records(ann[s], lf.final.votes[s]))
        print(f"wrote {out} ({ann[s]['user_id'].nunique()} users, "
              f"{float(lf.final.votes[s]['kept'].mean()):.1%} of pairs kept)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
