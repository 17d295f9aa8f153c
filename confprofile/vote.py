"""Stage 1b-c in one call and one command: vote, calibrate, health-check, write pseudo-labels.

``label_free`` is notebook 03's label-free path (the notebook calls it, then scores what it
chose against the labels); ``python -m confprofile.vote`` runs the same without a notebook:

    python -m confprofile.vote --profile examples/own_data/own_data.yaml

Reads ``runs/<p>/synthesis/{pool,test}.parquet`` (test where present) and the profile's taxonomy;
writes ``runs/<p>/pseudo_labels/pool.jsonl`` (the input of distillation) and, where the test
split was annotated, ``runs/<p>/pseudo_labels/test.jsonl`` (the same rule, for
``python -m confprofile.evaluate``). It reads no labels: tests/test_label_free.py checks.

The choices, all without labels: the vote rule that a held-out teacher agrees with most; then the
calibration (``choose_calibration``): among those that drop low-confidence pairs, the one whose
kept pool labels are most balanced, but only if it keeps every label share within
``max_share_shift`` of what the teachers themselves said; if none does, no calibration. Health
checks (``confprofile.monitor``) warn, naming the attribute, where teachers agree near chance
or a calibration would move a label share far from the teachers'.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from confprofile import aggregation, calibration, monitor, paths, records, voting
from confprofile.calibration import Candidate
from confprofile.errors import run_cli
from confprofile.params import load_params
from confprofile.taxonomy import Taxonomy, load_taxonomy


@dataclass
class LabelFree:
    """Everything notebook 03 decides without labels (names as in the notebook)."""

    rules: dict[str, voting.VoteRule]
    agreement: dict[str, float]  # held-out teacher agreement per rule (pool)
    chosen: str
    pool_weights: dict[str, object]
    candidates: dict[str, Candidate]
    balance: dict[str, float]  # balance of the kept pool labels per candidate name
    teacher_shares: dict[str, dict[str, float]]  # what the teachers said (pool)
    shifts: dict[str, dict[str, float]]  # per candidate name: attribute -> largest share change
    final: Candidate
    teacher_alpha: dict[str, float]  # Krippendorff's alpha between teachers per attribute (pool)
    warnings: list[str] = field(default_factory=list)


def choose_calibration(candidates: Mapping[str, Candidate], balance: Mapping[str, float],
                       shifts: Mapping[str, Mapping[str, float]], max_share_shift: float) -> Candidate:
    """The label-free choice of calibration: the pair-dropping candidate with the most balanced
    kept pool labels among those that move no label share more than ``max_share_shift`` from
    the teachers' own; ``candidates["none"]`` (no calibration) if none qualifies.

    >>> c = {k: Candidate(k, {}, None, k != "none") for k in ("thresholds", "prior_thresholds", "none")}
    >>> shifts = {"thresholds": {"g": 0.02}, "prior_thresholds": {"g": 0.27}, "none": {"g": 0.0}}
    >>> balance = {"thresholds": 0.8, "prior_thresholds": 0.95, "none": 0.7}
    >>> choose_calibration(c, balance, shifts, 0.15).name, choose_calibration(c, balance, shifts, 0.3).name
    ('thresholds', 'prior_thresholds')
    >>> choose_calibration(c, balance, {**shifts, "thresholds": {"g": 0.2}}, 0.15).name
    'none'
    """
    ok = [c for c in candidates.values() if c.drops_pairs and max(shifts[c.name].values(), default=0.0) <= max_share_shift]
    return max(ok, key=lambda c: balance[c.name]) if ok else candidates["none"]


def kept_shares(votes: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, dict[str, float]]:
    """Label shares of the kept pairs of a vote table."""
    return monitor.label_shares(votes[votes["kept"].astype(bool)], taxonomy, "label")


def label_free(ann: Mapping[str, pd.DataFrame], taxonomy: Taxonomy, *, vote_temperatures: Sequence[float],
               aggregators: Mapping[str, Mapping | None], coverage: float, prior_strength: float,
               max_share_shift: float) -> LabelFree:
    """Choose a vote rule and a calibration on the pool (every split in ``ann`` gets the votes).
    The candidates are the vote rules (``voting.standard_rules``) and the crowd-kit
    ``aggregators`` (``aggregation.aggregators``: model name -> kwargs), chosen by one rule."""
    rules = {**voting.standard_rules(vote_temperatures), **aggregation.aggregators(aggregators)}
    agreement = {name: voting.heldout_agreement(ann["pool"], rule) for name, rule in rules.items()}
    chosen = max(agreement, key=agreement.get)
    # teacher weights are fitted once on the pool and used unchanged on the other splits
    pool_weights = {name: rule.fit_weights(ann["pool"]) for name, rule in rules.items()}
    chosen_kw = rules[chosen].score_kwargs(pool_weights[chosen])
    scores = {split: rules[chosen].scores(a, pool_weights[chosen]) for split, a in ann.items()}
    candidates = calibration.build_candidates(ann["pool"], scores, coverage=coverage, prior_strength=prior_strength,
                                              **chosen_kw, agreement=rules[chosen].agreement)
    balance = {c.name: monitor.balance(c.votes["pool"], taxonomy) for c in candidates.values()}
    said = monitor.teacher_shares(ann["pool"], taxonomy)
    shifts = {c.name: monitor.share_shift(kept_shares(c.votes["pool"], taxonomy), said) for c in candidates.values()}
    final = choose_calibration(candidates, balance, shifts, max_share_shift)
    alpha = monitor.teacher_agreement(ann["pool"], taxonomy)
    warnings = monitor.health_warnings(alpha)
    for c in candidates.values():
        if c.drops_pairs or c is final:
            what = f"'{c.name}'" + ("" if c is final else " (so not chosen)")
            warnings += monitor.health_warnings({}, shifts[c.name], max_share_shift, what=what)
    return LabelFree(rules, agreement, chosen, pool_weights, dict(candidates), balance, said, shifts, final, alpha,
                     warnings)


def pseudo_labels(ann: pd.DataFrame, votes: pd.DataFrame) -> list[dict]:
    """Pseudo-label records of a split: the final votes with up to three agreeing rationales."""
    return voting.pseudo_label_records(voting.agreeing_rationales(ann, votes, max_n=3))


_CLI = __doc__.split("\n\n")[2] + "\n\n" + __doc__.split("\n\n")[3]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m confprofile.vote", formatter_class=argparse.RawDescriptionHelpFormatter,
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
    ann = {s: a[a["teacher"].isin(full)] for s, a in ann.items()}
    lf = label_free(ann, taxonomy, vote_temperatures=p["vote_temperatures"], aggregators=p["aggregators"],
                    coverage=p["coverage"],
                    prior_strength=p["prior_strength"], max_share_shift=p["max_share_shift"])
    print(f"teachers: {', '.join(full)}; rule: {lf.chosen}; calibration: {lf.final.name}")
    print("teacher agreement (Krippendorff alpha, pool): "
          + ", ".join(f"{a} {v['alpha']:.2f}" for a, v in lf.teacher_alpha.items()))
    for w in lf.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for s in splits:
        out = records.write_jsonl(paths.pseudo_labels_path(profile, s), pseudo_labels(ann[s], lf.final.votes[s]))
        print(f"wrote {out} ({ann[s]['user_id'].nunique()} users, "
              f"{float(lf.final.votes[s]['kept'].mean()):.1%} of pairs kept)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
