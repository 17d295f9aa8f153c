"""Notebook 03's gold side: the label-free vote and calibration (``pseudo_labelling.LabelFree``) scored
against the test split's gold labels, after every label-free output is written.

``pseudo_labelling.label_free`` chooses a rule and a calibration without labels; the functions here score
what it chose, beside every teacher alone, every rule and every calibration: the comparison
table (``compare``), the paired-bootstrap claims (``claims``), the cost curve,
label shares, reliability and threshold curves, and the sweep over simulated teachers. Each
takes the gold table ``gold_labels.split_gold`` reads and returns an empty report where a profile
has none, so the notebook calls them without branching:

    gold = gold_labels.split_gold(profile, "test", taxonomy)  # None without gold
    comparison = votes_vs_gold.compare(ann, lf, gold, taxonomy)
    claims = votes_vs_gold.claims(comparison, lf, gold, taxonomy, n_boot=1000, seed=0)
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import monitor, paths, records, voting
from confprofile.evaluation import intervals, scores
from confprofile.evaluation.intervals import with_interval
from confprofile.evaluation.scores import THRESHOLDS, score
from confprofile.provenance import derive_seed
from confprofile.taxonomy import Taxonomy


@dataclasses.dataclass
class Comparison:
    """Notebook 03's comparison on the test split, every method on the same users and budget:
    ``singles`` and ``self_consistency`` name each teacher's two methods (its first sample with
    its own stated confidence; the majority of its samples), ``methods`` holds every method's
    test vote table and ``table`` its ``scores.vote_report`` with its display ``name``, and
    ``balance_pool`` and ``heldout_agreement_pool`` for the vote rules and calibrations. Methods
    are keyed by stable ids: a rule's id (``majority``, ``crowdkit_DawidSkene``), a calibration's
    (``chosen_thresholds``), ``single_sample_<teacher>``, ``self_consistency_<teacher>``. Empty
    without gold."""

    singles: dict[str, str] = dataclasses.field(default_factory=dict)  # teacher -> method id
    self_consistency: dict[str, str] = dataclasses.field(default_factory=dict)  # teacher -> method id
    methods: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    table: dict[str, dict] = dataclasses.field(default_factory=dict)


def compare(ann: Mapping[str, pd.DataFrame], lf, gold: pd.DataFrame | None,
            taxonomy: Taxonomy) -> Comparison:
    """Every teacher alone, every vote rule (with the pool's teacher weights) and every
    calibration of ``lf`` (a ``pseudo_labelling.LabelFree``) on ``ann["test"]``, scored against ``gold``;
    each rule and calibration also on ``ann["pool"]``, for the balance of its labels there."""
    if gold is None:
        return Comparison()
    by_teacher = ann["test"].groupby("teacher")
    singles = {t: f"single_sample_{t}" for t, _ in by_teacher}
    self_consistency = {t: f"self_consistency_{t}" for t, _ in by_teacher}
    names = {**{singles[t]: f"single sample: {t}" for t in singles},
             **{self_consistency[t]: f"self-consistency: {t}" for t in self_consistency},
             **{i: r.name for i, r in lf.rules.items()}, **{c.id: c.name for c in lf.candidates.values()}}
    first = {singles[t]: voting.first_sample(a) for t, a in by_teacher}  # its own stated confidence
    votes = {split: {i: rule(a, lf.pool_weights[i]) for i, rule in lf.rules.items()} for split, a in ann.items()}
    methods = {**first, **{self_consistency[t]: voting.majority_vote(a) for t, a in by_teacher},
               **votes["test"], **{c.id: c.votes["test"] for c in lf.candidates.values()}}
    table = {i: {"name": names[i], **scores.vote_report(v, gold, taxonomy)} for i, v in methods.items()}
    for i, v in {**votes["pool"], **{c.id: c.votes["pool"] for c in lf.candidates.values()}}.items():
        table[i].update(balance_pool=monitor.balance(v, taxonomy), heldout_agreement_pool=lf.agreement.get(i))
    return Comparison(singles, self_consistency, methods, table)


def claims(comparison: Comparison, lf, gold: pd.DataFrame | None, taxonomy: Taxonomy, *,
           n_boot: int, seed: int) -> dict:
    """Notebook 03's ``results.claims``: the label-free choice against the majority vote, the
    best single teacher (by gold: a reference bar) alone and with its own samples, the
    crowd-kit peers, and calibration against the uncalibrated vote, each a paired bootstrap
    difference with its interval (``intervals.delta_claims``), then levels (F1 on kept pairs,
    ECE). Empty without gold."""
    table = comparison.table
    if not table:
        return {}
    chosen, majority, final = lf.chosen, lf.majority, lf.final.id
    best = max(comparison.singles, key=lambda t: table[comparison.singles[t]]["avg_f1"])  # chosen by gold
    best_weighted = max((i for i, r in lf.rules.items() if isinstance(r, voting.VoteRule) and i != majority),
                        key=lambda i: table[i]["avg_f1"])
    dawid_skene, one_coin = (i if i in lf.rules else None for i in ("crowdkit_DawidSkene", "crowdkit_OneCoinDawidSkene"))
    comparisons = {"chosen_minus_majority_f1": (chosen, majority),
                   "vote_minus_best_single_f1": (chosen, comparison.singles[best]),
                   "best_weighted_minus_majority_f1": (best_weighted, majority),
                   "vote_minus_best_teacher_sc_f1": (chosen, comparison.self_consistency[best]),  # the same budget
                   "final_minus_chosen_f1": (final, chosen)}  # dropped pairs count as abstentions
    if dawid_skene:
        comparisons.update(dawid_skene_minus_chosen_f1=(dawid_skene, chosen),
                           dawid_skene_minus_majority_f1=(dawid_skene, majority))
    if one_coin:
        comparisons["one_coin_minus_chosen_f1"] = (one_coin, chosen)
    return {"chosen_rule": chosen, "best_weighted_rule_by_gold": best_weighted, "best_single_teacher_by_gold": best,
            **intervals.delta_claims(comparison.methods, comparisons, gold, taxonomy, n_boot=n_boot, seed=seed),
            # levels, not differences: F1 on the pairs a method keeps is over different pairs per method
            "final_avg_f1_kept": table[final]["avg_f1_kept"], "chosen_avg_f1": table[chosen]["avg_f1"],
            "isotonic_ece": table[lf.candidates["isotonic"].id]["ece"], "chosen_ece": table[chosen]["ece"]}


def claims_said(claims: Mapping, table: Mapping[str, Mapping], final: str, n_samples: int) -> str:
    """``claims`` as notebook 03 prints them, one sentence a line (``""`` without claims); methods
    by their display names (``table[id]["name"]``).

    >>> ci = {k: 1.0 for k in ("chosen_minus_majority_f1", "best_weighted_minus_majority_f1",
    ...       "vote_minus_best_single_f1", "vote_minus_best_teacher_sc_f1", "final_minus_chosen_f1")}
    >>> claims = {"chosen_rule": "r", "best_weighted_rule_by_gold": "w", "best_single_teacher_by_gold": "t",
    ...           **ci, **{k + "_ci": [0.0, 2.0] for k in ci}, "final_avg_f1_kept": 60.0, "chosen_avg_f1": 50.0,
    ...           "chosen_ece": 0.1, "isotonic_ece": 0.05}
    >>> table = {"c": {"name": "chosen + c", "coverage": 0.8}, "r": {"name": "rule r"}, "w": {"name": "rule w"}}
    >>> print(claims_said(claims, table, "c", 3).splitlines()[0])
    The label-free choice, rule r, against the majority vote: +1.00 [+0.00, +2.00] F1; the best weighted rule by gold (rule w): +1.00 [+0.00, +2.00] F1.
    """
    if not claims:
        return ""

    def said(key):  # a claimed difference and its 95% interval
        return f"{with_interval(claims[key], claims[key + '_ci'])} F1"

    lines = [f"The label-free choice, {table[claims['chosen_rule']]['name']}, against the majority vote: "
             f"{said('chosen_minus_majority_f1')}; the best weighted rule by gold "
             f"({table[claims['best_weighted_rule_by_gold']]['name']}): {said('best_weighted_minus_majority_f1')}.",
             f"Voting vs the best single teacher (by gold: {claims['best_single_teacher_by_gold']}): one sample "
             f"{said('vote_minus_best_single_f1')}; its own {n_samples}-sample self-consistency "
             f"{said('vote_minus_best_teacher_sc_f1')}."]
    if "dawid_skene_minus_chosen_f1" in claims:
        lines.append(f"Dawid-Skene vs the label-free choice: {said('dawid_skene_minus_chosen_f1')}; "
                     f"vs majority: {said('dawid_skene_minus_majority_f1')}"
                     + (f"; one-coin Dawid-Skene vs the label-free choice: {said('one_coin_minus_chosen_f1')}."
                        if "one_coin_minus_chosen_f1" in claims else "."))
    lines += [f"Calibration ({table[final]['name']}) vs the uncalibrated vote, dropped pairs counted as abstentions: "
              f"{said('final_minus_chosen_f1')}; on the {table[final]['coverage']:.0%} of pairs it keeps "
              f"its F1 is {claims['final_avg_f1_kept']:.2f} (the vote's on all pairs: {claims['chosen_avg_f1']:.2f}).",
              f"ECE: the vote {claims['chosen_ece']:.3f}, with isotonic calibration {claims['isotonic_ece']:.3f}."]
    return "\n".join(lines)


def cost_curve(test_ann: pd.DataFrame, lf, gold: pd.DataFrame | None, taxonomy: Taxonomy,
               n_samples: int) -> tuple[list[int], dict[str, list[float]], int | None]:
    """The cost curve of notebook 03 (by rule id): average F1 of the majority vote and of the chosen rule on
    the first k samples of every teacher, k = 1..``n_samples`` (``scores.cost_curve``, with
    the pool's teacher weights), and the fewest samples at which the chosen rule reaches the
    majority vote's F1 at the full budget (None: it does not). ``[], {}, None`` without gold."""
    if gold is None:
        return [], {}, None
    ks = list(range(1, n_samples + 1))
    compared = {name: lf.rules[name] for name in (lf.majority, lf.chosen)}
    cost = scores.cost_curve(test_ann, compared, lf.pool_weights, gold, taxonomy, ks)
    target = cost[lf.majority][-1]
    return ks, cost, next((k for k, f in zip(ks, cost[lf.chosen]) if f >= target), None)


def label_shares(comparison: Comparison, lf, gold: pd.DataFrame | None,
                 taxonomy: Taxonomy) -> dict[str, dict[str, dict[str, float]]]:
    """Test label shares per attribute (``monitor.label_shares``) of gold, of the chosen rule's
    vote and of the final calibration's kept pseudo-labels. Empty without gold."""
    if gold is None:
        return {}
    return {"gold": monitor.label_shares(gold, taxonomy, "gold"),
            "vote": monitor.label_shares(comparison.methods[lf.chosen], taxonomy, "label"),
            "calibrated (kept)": monitor.label_shares(lf.final.votes["test"].query("kept"), taxonomy, "label")}


def calibration_curves(comparison: Comparison, lf, gold: pd.DataFrame | None,
                       taxonomy: Taxonomy) -> tuple[dict, dict]:
    """Reliability bins (``scores.reliability``, 10 bins) and threshold curves
    (``scores.threshold_curve`` at ``scores.THRESHOLDS``) on the test split of the chosen rule's
    vote, its isotonic calibration and its prior correction. ``{}, {}`` without gold."""
    if gold is None:
        return {}, {}
    series = {"vote": comparison.methods[lf.chosen], "vote + isotonic": lf.candidates["isotonic"].votes["test"],
              "prior-corrected": lf.candidates["prior"].votes["test"]}
    bins = {name: scores.reliability(v, gold, n_bins=10) for name, v in series.items()}
    curves = {name: scores.threshold_curve(v, gold, taxonomy, THRESHOLDS) for name, v in series.items()}
    return bins, curves


def voting_sweep(records: Sequence[dict], gold: pd.DataFrame, taxonomy: Taxonomy, *, views: Sequence[int],
                 gaps: Sequence[float], coverage: float, n_samples: int, temperature: float, seed: int,
                 cache_dir: str | Path, shared: Sequence[float] = (0.0,), n_teachers: int = 3) -> list[dict]:
    """Where voting pays: ``n_teachers`` simulated LLM teachers (``teachers/persona.py``) annotate
    ``records`` in every cell of a grid, and the weighted vote is scored against majority and
    against the best single teacher sample.

    Grid: ``views`` is the number of distinct seeded views of the world among the teachers (1:
    all read the same associations, so their errors coincide; ``n_teachers``: each its own,
    the most diverse); ``gaps`` is the coverage gap between one strong teacher and the others
    (strong ``coverage + gap/2``, the rest ``coverage - gap/2``, capped to [0, 1]); ``shared``
    is the teachers' shared blind spot (``PersonaTeacher``'s ``shared_blind_spot``: associations
    none knows and confusions all share; 0: independent views). Returns one row per cell:
    ``views, shared, gap, majority, weighted, best_single`` (average macro-F1) and the deltas
    ``weighted_minus_majority``, ``weighted_minus_best_single``.
    """
    from confprofile.synthesis import build_teachers, synthesize

    out = []
    for n_views, blind, gap in itertools.product(views, shared, gaps):
        specs = {f"sweep_v{n_views}_b{blind}_g{gap}_{i}": {
            "backend": "persona", "seed": derive_seed(seed, "sweep view", i % n_views),
            "coverage": float(np.clip(coverage + (gap / 2 if i == 0 else -gap / 2), 0.0, 1.0)),
            "shared_blind_spot": float(blind), "shared_seed": seed}
            for i in range(n_teachers)}
        ann = synthesize(records, taxonomy, build_teachers(specs, taxonomy), n_samples=n_samples,
                         temperature=temperature, seed=seed, cache_dir=cache_dir, progress=False)
        single = max(score(voting.first_sample(a), gold, taxonomy)["avg_f1"] for _, a in ann.groupby("teacher"))
        maj = score(voting.majority_vote(ann), gold, taxonomy)["avg_f1"]
        wv = score(voting.weighted_vote(ann), gold, taxonomy)["avg_f1"]
        out.append({"views": int(n_views), "shared": float(blind), "gap": float(gap), "majority": maj, "weighted": wv,
                    "best_single": single, "weighted_minus_majority": wv - maj,
                    "weighted_minus_best_single": wv - single})
    return out


def sweep(profile: str, gold: pd.DataFrame | None, taxonomy: Taxonomy, *, users: int,
          run: bool = True, **settings) -> dict:
    """Notebook 03's sweep (``voting_sweep``, keyword arguments ``settings``) on the first
    ``users`` test records, scored against their gold: ``{"users": n, "grid": rows}``, the grid
    empty where ``users`` is 0, without gold, or where ``run`` is false (the simulated teachers
    model the built-in benchmark only)."""
    first = list(records.read_records(paths.records_path(profile, "test")))[:users]
    if not (users and gold is not None and run):
        return {"users": len(first), "grid": []}
    first_gold = gold[gold["user_id"].isin({r["user_id"] for r in first})]  # scoring only
    grid = voting_sweep(first, first_gold, taxonomy, cache_dir=paths.synthesis_cache_dir(profile), **settings)
    return {"users": len(first), "grid": grid}


SWEEP_PANELS = {"weighted_minus_majority": ("weighted vote - majority", 5.0),
                "weighted_minus_best_single": ("weighted vote - best single teacher", 20.0)}
"""The sweep figure's panels: a delta of ``voting_sweep``'s rows -> (title, colour span)."""


def sweep_cells(grid: Sequence[Mapping]) -> dict[str, dict[str, dict[str, float]]]:
    """The sweep's rows as heatmaps, one per delta of ``SWEEP_PANELS``:
    ``{delta: {"<views> view(s), shared <s>": {"gap <gap>": value}}}``.

    >>> sweep_cells([{"views": 1, "shared": 0.0, "gap": 0.0, "weighted_minus_majority": 1.5, "weighted_minus_best_single": -2.0},
    ...              {"views": 1, "shared": 0.0, "gap": 0.3, "weighted_minus_majority": 0.5, "weighted_minus_best_single": 3.0}])
    {'weighted_minus_majority': {'1 view(s), shared 0': {'gap 0': 1.5, 'gap 0.3': 0.5}}, 'weighted_minus_best_single': {'1 view(s), shared 0': {'gap 0': -2.0, 'gap 0.3': 3.0}}}
    """
    def row(r):
        return f"{r['views']} view(s), shared {r['shared']:g}"

    cells = {k: {row(r): {} for r in grid} for k in SWEEP_PANELS}
    for r in grid:
        for k in cells:
            cells[k][row(r)][f"gap {r['gap']:g}"] = r[k]
    return cells


def sweep_said(grid: Sequence[Mapping]) -> str:
    """The sweep's rows as notebook 03 prints them, one line a cell of the grid.

    >>> print(sweep_said([{"views": 2, "shared": 0.1, "gap": 0.3, "weighted": 61.25, "weighted_minus_majority": 1.5,
    ...                    "weighted_minus_best_single": -2.0}]))
    2 view(s), shared 0.1, gap 0.3: weighted vote 61.2, +1.5 vs majority, -2.0 vs the best single teacher
    """
    return "\n".join(f"{r['views']} view(s), shared {r['shared']:g}, gap {r['gap']:g}: weighted vote {r['weighted']:.1f}, "
                     f"{r['weighted_minus_majority']:+.1f} vs majority, {r['weighted_minus_best_single']:+.1f} vs the "
                     "best single teacher" for r in grid)
