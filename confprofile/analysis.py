"""Analysis (stage 6): the paper's tables and figures from what stages 01-05 wrote.

Nothing here trains or generates: the inputs are the saved test predictions
(``runs/<p>/predictions/*.parquet``), the test annotation table, the pseudo-label file, gold
labels (evaluation only) and the results files of the earlier notebooks. The functions turn
them into tables (pandas frames, saved by ``repro.save_table``) and precomputed series that
``confprofile.plots`` draws. The claims notebooks 04 and 05 score against gold are stated here
too (``SFT_COMPARISONS``, ``RL_COMPARISONS``, ``label_source_ablation``), beside the tables of 06
that read them back (``rl_ablation_table``).

>>> import pandas as pd
>>> verdict([0.4, 2.1]), verdict([-1.0, 0.5]), verdict([-3.0, -0.2])
('ahead of', 'not distinguishable from', 'behind')
>>> with_interval(1.234, [0.5, 2.0])
'+1.23 [+0.50, +2.00]'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from confprofile import evaluate, metrics, monitor, paths, records, student, voting
from confprofile.repro import derive_seed, load_results
from confprofile.taxonomy import UNKNOWN, Taxonomy

PAPER = {
    "gain_f1": 13.97,  # SFT+RL minus base, Qwen3-8B on ProfileBench (the paper's abstract)
    "gain_model": "Qwen3-8B",
    "avg_f1_secondary": 73.03,  # final average F1, from a secondary summary (not the paper itself)
}
"""Numbers the paper reports (never ours): printed beside ours, labelled as the paper's."""

RL_GUARD_POINTS = 3.0
"""An attribute whose macro-F1 RL lowers by more than this many points against the SFT student
is named in notebook 06's reading (the per-attribute guard: an average can hide one attribute's
collapse)."""

NO_ANSWER = "no answer"

THRESHOLDS = [round(0.05 * i, 2) for i in range(20)]
"""The confidence thresholds of the precision/recall curves."""

SFT_COMPARISONS = {"sft_minus_base_f1": ("sft", "base"), "sft_minus_classical_f1": ("sft", "classical"),
                   "sft_minus_pseudo_labels_f1": ("sft", "pseudo_labels"),
                   "sft_minus_uniform_f1": ("sft", "uniform_random")}
"""Notebook 04's claims, ``key: (a, b)``: ``key`` is ``a``'s average F1 minus ``b``'s, with its interval."""

RL_COMPARISONS = {"rl_minus_sft_f1": ("rl_conf_profile", "sft"), "rl_minus_ttrl_f1": ("rl_conf_profile", "rl_ttrl"),
                  "rl_minus_vote_share_f1": ("rl_conf_profile", "rl_vote_share"),
                  "rl_minus_random_reward_f1": ("rl_conf_profile", "rl_random_reward"),
                  "random_reward_minus_sft_f1": ("rl_random_reward", "sft"),
                  "no_filter_minus_full_f1": ("rl_no_filter", "rl_conf_profile"),
                  "majority_quasi_gt_minus_full_f1": ("rl_majority_quasi_gt", "rl_conf_profile"),
                  "unweighted_reward_minus_full_f1": ("rl_unweighted_reward", "rl_conf_profile")}
"""Notebook 05's claims, as ``SFT_COMPARISONS``: a baseline's delta is ``rl_minus_<v>``, an ablation's
``<v>_minus_full`` (``rl_ablation_table`` reads them back); those whose models ran are made."""

LABEL_SOURCE_CLAIM = "best_minus_worst_label_source_f1"
"""Notebook 04's label-source claim (``label_source_ablation``): the best source's student minus the worst's."""


def verdict(ci: Sequence[float]) -> str:
    """Which way a paired interval of ``a - b`` went, to read "a is ... b": ``ahead of`` (above
    0), ``behind`` (below 0), else ``not distinguishable from``."""
    lo, hi = ci
    return "ahead of" if lo > 0 else "behind" if hi < 0 else "not distinguishable from"


def with_interval(delta: float, ci: Sequence[float]) -> str:
    """A delta and its interval as one table cell."""
    return f"{delta:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]"


def comparisons_among(comparisons: Mapping[str, tuple[str, str]], names) -> dict[str, tuple[str, str]]:
    """The comparisons whose two models are both among ``names``.

    >>> comparisons_among(RL_COMPARISONS, ["sft", "rl_conf_profile", "rl_ttrl"])
    {'rl_minus_sft_f1': ('rl_conf_profile', 'sft'), 'rl_minus_ttrl_f1': ('rl_conf_profile', 'rl_ttrl')}
    """
    return {k: ab for k, ab in comparisons.items() if all(m in names for m in ab)}


def delta_lines(claims: Mapping, comparisons: Mapping[str, tuple[str, str]]) -> str:
    """One printed line per comparison ``key: (a, b)`` of ``claims`` (``evaluate.delta_claims``):
    the delta, its interval and which way it went.

    >>> print(delta_lines({"a_minus_b_f1": 2.0, "a_minus_b_f1_ci": [0.5, 3.5]}, {"a_minus_b_f1": ("a", "b")}))
    a - b: +2.00 [+0.50, +3.50] F1: a is ahead of b.
    """
    return "\n".join(f"{a} - {b}: {with_interval(claims[k], claims[f'{k}_ci'])} F1: "
                     f"{a} is {verdict(claims[f'{k}_ci'])} {b}." for k, (a, b) in comparisons.items())


def answers(pred: pd.DataFrame) -> pd.DataFrame:
    """A prediction or vote table as answers: ``label`` None where a vote table did not keep the
    pair (``kept`` false), as ``evaluate`` scores it.

    >>> v = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["a", "a"], "label": ["x", "y"],
    ...                   "confidence": [0.9, 0.2], "kept": [True, False]})
    >>> answers(v)["label"].tolist()
    ['x', None]
    """
    if "kept" not in pred.columns:
        return pred
    return pred.assign(label=pred["label"].astype(object).where(pred["kept"].astype(bool), None))


def teacher_answers(ann: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each teacher that answered every user of ``ann``: its first sample, with its own stated
    confidence (``voting.first_sample``), ``unknown`` marked as an abstention."""
    out = {}
    for t in monitor.complete_teachers(ann):
        a = ann[ann["teacher"] == t]
        first = voting.first_sample(a)
        said_unknown = (a.loc[a["sample"] == 0, "label"] == UNKNOWN).to_numpy()
        out[t] = first.assign(abstained=said_unknown & first["ok"].to_numpy())
    return out


def best_teacher(report: Mapping[str, Mapping], teachers: Sequence[str]) -> str:
    """The teacher whose first sample (``report["teacher: <name>"]``) scores the highest average
    F1: the strongest bar, chosen by gold, a reference and never a method (the first on a tie).

    >>> best_teacher({"teacher: a": {"avg_f1": 40.0}, "teacher: b": {"avg_f1": 45.0}}, ["a", "b"])
    'b'
    """
    return max(teachers, key=lambda t: report[f"teacher: {t}"]["avg_f1"])


def supervised_ceiling(profile: str, taxonomy: Taxonomy, *, seed: int, **student) -> dict[str, pd.DataFrame]:
    """``{"supervised_reference": test predictions}`` of ``evaluate.supervised_reference``, the
    classical student taught the pool's gold (a ceiling, never a method; ``student``: its
    ``max_chars``, ``max_items``, ``system_prompt`` and ``c``, as in notebook 04), or ``{}``
    where the pool has no gold."""
    pool_gold = evaluate.split_gold(profile, "pool", taxonomy)
    if pool_gold is None:
        return {}
    return {"supervised_reference": evaluate.supervised_reference(
        records.read_records(paths.records_path(profile, "pool")), records.read_records(paths.records_path(profile, "test")),
        pool_gold, taxonomy, seed=seed, **student)}


def predictions(profile: str, teachers: Mapping[str, pd.DataFrame], models: Sequence[str], gold: pd.DataFrame,
                taxonomy: Taxonomy, *, seed: int, **student) -> dict[str, pd.DataFrame]:
    """Everything notebook 06 scores, by name: each teacher's first sample (``teacher: <name>``,
    from ``teacher_answers``), each model's saved test predictions, the chance floor
    (``evaluate.chance_predictions`` at ``seed``) and, where the pool has gold, the supervised
    reference (``supervised_ceiling`` at ``derive_seed(seed, "supervised")``; ``student``: its
    keyword arguments)."""
    from confprofile.student import load_predictions

    pred = {**{f"teacher: {t}": a for t, a in teachers.items()}, **{m: load_predictions(profile, m) for m in models},
            **evaluate.chance_predictions(gold, taxonomy, seed=seed)}  # the chance floor beside every model
    return {**pred, **supervised_ceiling(profile, taxonomy, seed=derive_seed(seed, "supervised"), **student)}


STAGE_RESULTS = ("01_taxonomy_exploration", "02_label_synthesis", "03_voting_and_calibration", "04_sft_distillation",
                 "05_confidence_guided_rl")
"""The results files notebook 06 reads, one per earlier notebook."""


def stage_results(profile: str) -> dict[str, dict]:
    """The ``results`` of every file of ``STAGE_RESULTS``, by notebook number (``"01"`` .. ``"05"``)."""
    return {nb[:2]: load_results(profile, nb) for nb in STAGE_RESULTS}


def report_table(reports: Mapping[str, Mapping], taxonomy: Taxonomy,
                 names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per model from ``evaluate.prediction_report`` results: macro-F1 per attribute,
    then average F1, precision and recall (0-100), parse-failure and abstention rates and ECE.
    ``names`` renames rows (e.g. ``{"sft": "SFT student"}``)."""
    rows = {}
    for key, r in reports.items():
        rows[(names or {}).get(key, key)] = {**{a.name: r["f1"][a.name] for a in taxonomy},
                                             "avg F1": r["avg_f1"], "precision": r["avg_precision"],
                                             "recall": r["avg_recall"], "parse fail": r["parse_failure_rate"],
                                             "abstain": r["abstention_rate"], "ECE": r["ece"]}
    return pd.DataFrame.from_dict(rows, orient="index")


def delta_table(pred: Mapping[str, pd.DataFrame], comparisons: Mapping[str, tuple[str, str]], gold: pd.DataFrame,
                taxonomy: Taxonomy, *, n_boot: int, seed: int) -> dict[str, dict[str, dict]]:
    """Paired bootstrap (``evaluate.paired_bootstrap``) of every comparison ``key: (a, b)``, on
    the average and on each attribute alone: ``{key: {"average": boot, attribute: boot}}``.
    Every interval of one comparison uses the same resampled users."""
    out = {}
    for key, (a, b) in comparisons.items():
        boots = {"average": evaluate.paired_bootstrap(pred[a], pred[b], gold, taxonomy, n_boot=n_boot, seed=seed)}
        for attr in taxonomy:
            one = dataclasses.replace(taxonomy, attributes=(attr,))
            boots[attr.name] = evaluate.paired_bootstrap(pred[a], pred[b], gold, one, n_boot=n_boot, seed=seed)
        out[key] = boots
    return out


def read_delta(claims: Mapping, key: str, report_a: Mapping, report_b: Mapping) -> dict[str, dict]:
    """A comparison another notebook bootstrapped, in ``delta_table``'s shape and not bootstrapped
    again: the average and its interval read from that notebook's ``claims[key]`` and
    ``claims[key + "_ci"]``; each attribute's difference from the two ``evaluate.prediction_report``
    results, with no interval (``ci`` None: the owner bootstrapped the average only).

    >>> d = read_delta({"a_minus_b_f1": 1.5, "a_minus_b_f1_ci": [0.5, 2.5]}, "a_minus_b_f1",
    ...                {"f1": {"age": 40.0}}, {"f1": {"age": 38.0}})
    >>> d["average"], d["age"]
    ({'delta': 1.5, 'ci': [0.5, 2.5]}, {'delta': 2.0, 'ci': None})
    """
    out = {"average": {"delta": float(claims[key]), "ci": [float(x) for x in claims[key + "_ci"]]}}
    for attr, f1 in report_a["f1"].items():
        out[attr] = {"delta": float(f1 - report_b["f1"][attr]), "ci": None}
    return out


def delta_frame(deltas: Mapping[str, Mapping[str, Mapping]], labels: Mapping[str, str] | None = None,
                owners: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``delta_table`` (or ``read_delta``) results as a frame of ``"+d [lo, hi]"`` cells (``"+d"``
    where no interval was computed): rows comparisons, columns the attributes and the average;
    ``owners``: each comparison's ``interval from`` column (the notebook that bootstrapped it).

    >>> delta_frame({"k": {"average": {"delta": 1.0, "ci": [0.0, 2.0]}, "age": {"delta": 2.0, "ci": None}}},
    ...             {"k": "a - b"}, {"k": "04"}).loc["a - b"].tolist()
    ['+1.00 [+0.00, +2.00]', '+2.00', '04']
    """
    def cell(b: Mapping) -> str:
        return with_interval(b["delta"], b["ci"]) if b["ci"] is not None else f"{b['delta']:+.2f}"

    return pd.DataFrame.from_dict({(labels or {}).get(k, k): {**{col: cell(b) for col, b in d.items()},
                                                            **({"interval from": owners[k]} if owners else {})}
                                   for k, d in deltas.items()}, orient="index")


def claims_from(deltas: Mapping[str, Mapping[str, Mapping]]) -> dict:
    """Average deltas as ``results.claims`` entries: ``key`` and ``key_ci``."""
    return {**{k: d["average"]["delta"] for k, d in deltas.items()},
            **{f"{k}_ci": d["average"]["ci"] for k, d in deltas.items()}}


READ_FROM = {"sft_minus_base_f1": ("04", "sft_minus_base_f1"), "final_minus_sft_f1": ("05", "rl_minus_sft_f1")}
"""The main table's comparisons another notebook bootstrapped: key -> (notebook, its claim)."""


@dataclasses.dataclass
class MainTable:
    """Notebook 06's main table and its differences: ``table`` (``report_table`` of the chance
    floor, the models and the supervised reference), ``comparisons`` (key -> (a, b), every row of
    the differences), ``own`` (those bootstrapped here), ``deltas`` (their ``delta_table``),
    ``shown`` (every comparison's differences: ``deltas`` and ``READ_FROM``'s ``read_delta``),
    ``names`` (row names), ``labels`` ("a − b") and ``owners`` (the notebook each interval is from)."""

    table: pd.DataFrame
    comparisons: dict[str, tuple[str, str]]
    own: dict[str, tuple[str, str]]
    deltas: dict[str, dict]
    shown: dict[str, dict]
    names: dict[str, str]
    labels: dict[str, str]
    owners: dict[str, str]

    @property
    def deltas_table(self) -> pd.DataFrame:
        """Every comparison as ``delta_frame`` shows it, with its ``interval from`` column."""
        return delta_frame(self.shown, self.labels, self.owners)

    @property
    def interval_from(self) -> dict[str, str]:
        """Each comparison's label -> the notebook its interval is from."""
        return {self.labels[k]: self.owners[k] for k in self.comparisons}

    def said(self) -> str:
        """One line per comparison: its difference, interval, owner and verdict."""
        lines = []
        for key, (a, b) in self.comparisons.items():
            d = self.shown[key]["average"]
            lines.append(f"{self.labels[key]}: {with_interval(d['delta'], d['ci'])} F1 (interval: {self.owners[key]}): "
                         f"the {self.names[a]} is {verdict(d['ci'])} the {self.names[b]}.")
        return "\n".join(lines)


def main_table(pred: Mapping[str, pd.DataFrame], report: Mapping[str, Mapping], stage: Mapping[str, Mapping],
               gold: pd.DataFrame, taxonomy: Taxonomy, *, final: str, best_teacher: str, n_boot: int,
               seed: int) -> MainTable:
    """The paper's main table from the saved predictions ``pred`` and their ``report``
    (``evaluate.prediction_report``): chance, base, SFT and the ``final`` RL student (and the
    supervised reference where there is one), then the final student against the base model,
    the best teacher, the pseudo-labels and chance, each bootstrapped here once (``delta_table``
    at ``seed``), beside SFT − base and SFT+RL − SFT read from notebooks 04's and 05's results
    (``stage``; ``READ_FROM``), not bootstrapped again."""
    names = {"uniform_random": "uniform random (chance)", "majority_class": "majority class (chance)",
             "base": "base model", "sft": "SFT student", final: "SFT+RL student",
             "supervised_reference": "supervised reference (TF-IDF + LR on pool gold)"}
    names = {k: v for k, v in names.items() if k in report}  # no pool gold: no supervised reference
    table = report_table({k: report[k] for k in names}, taxonomy, names)
    names.update({f"teacher: {best_teacher}": f"best teacher ({best_teacher})", "pseudo_labels": "vote (pseudo-labels)"})
    comparisons = {"sft_minus_base_f1": ("sft", "base"), "final_minus_sft_f1": (final, "sft"),
                   "final_minus_base_f1": (final, "base"),
                   "final_minus_best_teacher_f1": (final, f"teacher: {best_teacher}"),
                   "final_minus_pseudo_labels_f1": (final, "pseudo_labels"),
                   "final_minus_uniform_f1": (final, "uniform_random")}
    own = {k: ab for k, ab in comparisons.items() if k not in READ_FROM}  # bootstrapped here, and nowhere else
    deltas = delta_table(pred, own, gold, taxonomy, n_boot=n_boot, seed=seed)
    read = {k: read_delta(stage[nb]["claims"], key, report[comparisons[k][0]], report[comparisons[k][1]])
            for k, (nb, key) in READ_FROM.items()}  # 04's and 05's intervals, not bootstrapped again
    owners = {k: f"{READ_FROM[k][0]} ({READ_FROM[k][1]})" if k in READ_FROM else "06" for k in comparisons}
    labels = {k: f"{names.get(a, a)} − {names.get(b, b)}" for k, (a, b) in comparisons.items()}
    shown = {k: {**deltas, **read}[k] for k in comparisons}
    return MainTable(table, comparisons, own, deltas, shown, names, labels, owners)


def headline_claims(table: MainTable, report: Mapping[str, Mapping], final: str, best_teacher: str) -> dict:
    """Notebook 06's ``results.claims``: its own differences (``claims_from``), the final
    student's average F1 and name, the best teacher, and the paper's numbers (``paper_*``)."""
    return {**claims_from(table.deltas), "final_avg_f1": report[final]["avg_f1"], "final_model": final,
            "best_teacher": best_teacher, "paper_gain_f1": PAPER["gain_f1"],
            "paper_avg_f1_secondary": PAPER["avg_f1_secondary"]}


def beside_paper(claims: Mapping, profile: str, n_params: int) -> str:
    """Our headline gain and final F1 beside the paper's (``PAPER``), and whether they compare.

    >>> print(beside_paper({"final_minus_base_f1": 20.0, "final_minus_base_f1_ci": [15.0, 25.0],
    ...                     "final_avg_f1": 50.0}, "smoke", 1234).splitlines()[-1])
    Not comparable (a different scale and student).
    """
    lo, hi = claims["final_minus_base_f1_ci"]
    return "\n".join([
        f"Ours ({profile} profile, student of {n_params:,} parameters): SFT+RL − base "
        f"{claims['final_minus_base_f1']:+.2f} F1 [{lo:+.2f}, {hi:+.2f}]; final average F1 {claims['final_avg_f1']:.2f}.",
        f"The paper's: SFT+RL − base +{PAPER['gain_f1']:.2f} F1 on {PAPER['gain_model']} (abstract); "
        f"final average F1 {PAPER['avg_f1_secondary']:.2f} (a secondary summary, not the paper itself).",
        "Not comparable" + (" (a different scale and student)" if profile != "gpu" else
                            " unless the gpu profile's student and data match the paper's") + "."])


def attribute_changes(after: Mapping, before: Mapping) -> dict[str, float]:
    """Each attribute's macro-F1 change (points) from ``before`` to ``after``, two
    ``evaluate.prediction_report`` results (e.g. the RL student against the SFT student).

    >>> attribute_changes({"f1": {"age": 30.0, "consumption": 10.0}}, {"f1": {"age": 29.5, "consumption": 20.5}})
    {'age': 0.5, 'consumption': -10.5}
    """
    return {attr: float(f1 - before["f1"][attr]) for attr, f1 in after["f1"].items()}


def fell(changes: Mapping[str, float], points: float = RL_GUARD_POINTS) -> dict[str, float]:
    """The changes below ``-points``: attributes that fell by more than ``points``.

    >>> fell({"age": 0.5, "consumption": -10.5, "gender": -3.0})
    {'consumption': -10.5}
    """
    return {attr: d for attr, d in changes.items() if d < -points}


def rl_guard_said(before: Mapping, after: Mapping, points: float = RL_GUARD_POINTS) -> str:
    """Each attribute's macro-F1 change from ``before`` to ``after`` (``attribute_changes``; the SFT
    and the final RL student's reports), then the attributes that fell by more than ``points``.

    >>> print(rl_guard_said({"f1": {"age": 30.0, "gender": 50.0}}, {"f1": {"age": 26.0, "gender": 50.5}}))
    RL − SFT per attribute: age -4.0, gender +0.5
    Attributes RL lowered by more than 3 points: age (30.0 → 26.0)
    """
    change = attribute_changes(after, before)
    return ("RL − SFT per attribute: " + ", ".join(f"{a} {d:+.1f}" for a, d in change.items()) + "\n"
            f"Attributes RL lowered by more than {points:g} points: "
            + (", ".join(f"{a} ({before['f1'][a]:.1f} → {after['f1'][a]:.1f})" for a in fell(change, points)) or "none"))


def f1_by_clue(pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy, strengths: Sequence[str]) -> dict:
    """Average macro-F1 (0-100) on the pairs whose gold ``clue`` is each strength: per attribute
    over its pairs of that strength, then averaged over the attributes that have any; ``n``
    counts the pairs. NaN where no pair has the strength.

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v", "w"], "attribute": ["g"] * 3, "gold": ["x", "y", "x"],
    ...                      "clue": ["explicit", "explicit", "weak"]})
    >>> pred = gold.assign(label=["x", "y", "y"])
    >>> f1_by_clue(pred, gold, tax, ["explicit", "weak", "none"])
    {'f1': {'explicit': 100.0, 'weak': 0.0, 'none': nan}, 'n': {'explicit': 2, 'weak': 1, 'none': 0}}
    """
    merged = gold.merge(answers(pred)[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    f1, n = {}, {}
    for s in strengths:
        m = merged[merged["clue"] == s]
        per_attr = [metrics.macro_f1(g["gold"].tolist(), g["label"].where(g["label"].notna(), None).tolist(),
                                     taxonomy[a].labels) for a, g in m.groupby("attribute", sort=True)]
        f1[s] = 100.0 * float(np.mean(per_attr)) if per_attr else float("nan")
        n[s] = int(len(m))
    return {"f1": f1, "n": n}


def stage_f1(report: Mapping[str, Mapping], best_teacher: str, final: str) -> dict[str, dict[str, float]]:
    """Macro-F1 per attribute and the average (``"average"``) of each step of the pipeline, from
    the best teacher through the vote (the pseudo-labels) and the base model to the SFT and the
    ``final`` RL student, from their ``evaluate.prediction_report``.

    >>> r = {k: {"f1": {"age": v}, "avg_f1": v} for k, v in (("teacher: t", 40.0), ("pseudo_labels", 50.0),
    ...                                                       ("base", 0.0), ("sft", 45.0), ("rl_x", 46.0))}
    >>> stage_f1(r, "t", "rl_x")["best teacher (t)"], list(stage_f1(r, "t", "rl_x"))[1:]
    ({'age': 40.0, 'average': 40.0}, ['vote (pseudo-labels)', 'base model', 'SFT student', 'SFT+RL student'])
    """
    stages = {f"best teacher ({best_teacher})": f"teacher: {best_teacher}", "vote (pseudo-labels)": "pseudo_labels",
              "base model": "base", "SFT student": "sft", "SFT+RL student": final}
    return {s: {**report[m]["f1"], "average": report[m]["avg_f1"]} for s, m in stages.items()}


def in_percent(curve: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """An ``evaluate.threshold_curve`` as the lines of one panel, in percent: precision, recall,
    F1 (already in points) and coverage.

    >>> in_percent({"threshold": [0.0], "precision": [0.5], "recall": [0.25], "f1": [30.0], "coverage": [1.0]})
    {'precision': [50.0], 'recall': [25.0], 'F1': [30.0], 'coverage': [100.0]}
    """
    return {"precision": [100 * v for v in curve["precision"]], "recall": [100 * v for v in curve["recall"]],
            "F1": curve["f1"], "coverage": [100 * v for v in curve["coverage"]]}


def student_claims(report: Mapping, pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy,
                   prefix: str = "sft") -> dict:
    """A student's headline levels: its abstention rate, and its F1 on the pairs whose gold clue
    is explicit and on those with no clue (NaN where gold records no clue strengths).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g"] * 2, "gold": ["x", "y"],
    ...                      "clue": ["explicit", "none"]})
    >>> student_claims({"abstention_rate": 0.5}, gold.assign(label=["x", None]), gold, tax)
    {'sft_abstention_rate': 0.5, 'sft_explicit_clue_f1': 100.0, 'sft_no_clue_f1': 0.0}
    """
    by_clue = f1_by_clue(pred, gold, taxonomy, ["explicit", "none"])["f1"]
    return {f"{prefix}_abstention_rate": float(report["abstention_rate"]),
            f"{prefix}_explicit_clue_f1": by_clue["explicit"], f"{prefix}_no_clue_f1": by_clue["none"]}


def student_reports(pred: Mapping[str, pd.DataFrame], gold: pd.DataFrame, taxonomy: Taxonomy,
                    smollm2_ids: Sequence[str]) -> dict[str, dict]:
    """``evaluate.prediction_report`` of every model on the test users, but SmolLM2's zero-shot
    answers (``student.SMOLLM2``), which cover only ``smollm2_ids``: scored on those users, with
    the main student scored on the same users beside them (``sft_on_smollm2_users``)."""
    out = {name: evaluate.prediction_report(p, gold, taxonomy) for name, p in pred.items() if name != student.SMOLLM2}
    if student.SMOLLM2 in pred:
        sub = gold[gold["user_id"].isin(smollm2_ids)]
        out[student.SMOLLM2] = evaluate.prediction_report(pred[student.SMOLLM2], sub, taxonomy)
        out["sft_on_smollm2_users"] = evaluate.prediction_report(pred["sft"], sub, taxonomy)
    return out


def label_source_ablation(arms: Mapping[str, str], pred: Mapping[str, pd.DataFrame],
                          fallback: Mapping[str, pd.DataFrame], gold: pd.DataFrame, taxonomy: Taxonomy, *,
                          n_boot: int, seed: int) -> tuple[dict[str, float], dict, dict[str, tuple[str, str]]]:
    """The label-source ablation: one student per source decides it, the LLM students of ``arms``
    (``source -> model`` in ``pred``, ``sft.ablation_arms``) or, where none was trained, the
    ``fallback`` (``source -> test predictions``: the classical students). Returns each source's
    average F1; the claims ``label_source_student`` (``llm`` or ``classical``),
    ``best_label_source``, ``worst_label_source`` and ``best_minus_worst_label_source_f1`` with
    its paired interval (``evaluate.delta_claims``); and that comparison as ``{key: (best, worst)}``
    (for ``delta_lines``).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> classical = {"majority": gold.assign(label=["y", "x"]), "weighted": gold.assign(label=gold["gold"])}
    >>> f1, claims, cmp = label_source_ablation({}, {}, classical, gold, tax, n_boot=20, seed=0)
    >>> f1, claims["label_source_student"], claims["best_minus_worst_label_source_f1"]
    ({'majority': 0.0, 'weighted': 100.0}, 'classical', 100.0)
    >>> cmp
    {'best_minus_worst_label_source_f1': ('weighted', 'majority')}
    """
    students = {src: pred[m] for src, m in arms.items()} or dict(fallback)
    f1 = {src: evaluate.score(p, gold, taxonomy)["avg_f1"] for src, p in students.items()}
    best, worst = max(f1, key=f1.get), min(f1, key=f1.get)
    cmp = {LABEL_SOURCE_CLAIM: (best, worst)}
    claims = evaluate.delta_claims(students, cmp, gold, taxonomy, n_boot=n_boot, seed=seed)
    return f1, {**claims, "label_source_student": "llm" if arms else "classical", "best_label_source": best,
                "worst_label_source": worst}, cmp


def confusion(pred: pd.DataFrame, gold: pd.DataFrame, attribute: str, labels: Sequence[str]) -> dict:
    """Row-normalised confusion matrix of one attribute (percent of each gold label's users),
    ``{gold label: {predicted label or "no answer": percent}}``; gold labels nobody has are left out.

    >>> gold = pd.DataFrame({"user_id": ["u", "v", "w"], "attribute": ["g"] * 3, "gold": ["x", "x", "y"]})
    >>> confusion(gold.assign(label=["x", None, "x"]), gold, "g", ["x", "y"])
    {'x': {'x': 50.0, 'y': 0.0, 'no answer': 50.0}, 'y': {'x': 100.0, 'y': 0.0, 'no answer': 0.0}}
    """
    g = gold[gold["attribute"] == attribute]
    j = g.merge(answers(pred)[["user_id", "attribute", "label"]], on=["user_id", "attribute"], how="left")
    predicted = j["label"].where(j["label"].isin(labels), NO_ANSWER)
    counts = pd.crosstab(j["gold"], predicted).reindex(columns=[*labels, NO_ANSWER], fill_value=0)
    shares = 100.0 * counts.div(counts.sum(axis=1), axis=0)
    return {lab: {c: float(v) for c, v in shares.loc[lab].items()} for lab in labels if lab in shares.index}


def hardest_attribute(report: Mapping) -> str:
    """The attribute with the lowest macro-F1 in an ``evaluate.prediction_report``."""
    return min(report["f1"], key=report["f1"].get)


def pipeline_counts(stage: Mapping[str, Mapping], pool_ann: pd.DataFrame, pseudo: Sequence[Mapping],
                    final_pred: pd.DataFrame, *, sft_label_source: str, rl_variant: str) -> dict[str, dict[str, int]]:
    """``pipeline_steps`` with the counts read from notebooks 01, 04 and 05's results (``stage``):
    pool users, SFT examples of ``sft_label_source``, and RL users drawn, held out and trained on
    by ``rl_variant`` (the full recipe)."""
    r05 = stage["05"]
    rl_counts = {"drawn": r05["n_users"]["train"], "heldout": r05["n_users"]["heldout"],
                 "trained": r05["rows_per_variant"][rl_variant]}
    return pipeline_steps(stage["01"]["n_users"]["pool"], pool_ann, pseudo, stage["04"]["n_examples"][sft_label_source],
                          rl_counts, final_pred)


def pipeline_steps(n_pool: int, pool_ann: pd.DataFrame, pseudo: Sequence[Mapping], n_sft_examples: int,
                   rl_counts: Mapping[str, int], final_pred: pd.DataFrame) -> dict[str, dict[str, int]]:
    """What each stage kept and dropped, counted from its outputs, as ``{step: {"kept": n,
    "dropped": n}}`` in pipeline order. ``pool_ann``: the pool's annotation table (02);
    ``pseudo``: the pseudo-label records (03); ``rl_counts``: ``{"drawn", "heldout",
    "trained"}`` users of the full RL variant (05); ``final_pred``: the final student's test
    predictions. Parse failures and ``unknown`` answers count as dropped.

    >>> ann = pd.DataFrame({"label": ["x", "unknown", None], "ok": [True, True, False]})
    >>> pseudo = [{"attributes": {"a": {"kept": True}, "b": {"kept": False}}}]
    >>> final = pd.DataFrame({"label": ["x", None]})
    >>> steps = pipeline_steps(1, ann, pseudo, 1, {"drawn": 1, "heldout": 0, "trained": 1}, final)
    >>> steps["02 teacher answers (pool)"], steps["03 pseudo-labels (pool pairs)"]
    ({'kept': 1, 'dropped': 2}, {'kept': 1, 'dropped': 1})
    """
    answered = int((pool_ann["ok"].astype(bool) & pool_ann["label"].notna() & (pool_ann["label"] != UNKNOWN)).sum())
    kept_pairs = sum(bool(d.get("kept")) for p in pseudo for d in p["attributes"].values())
    n_pairs = sum(len(p["attributes"]) for p in pseudo)
    final_answered = int(final_pred["label"].notna().sum())
    return {
        "01 pool users": {"kept": n_pool, "dropped": 0},
        "02 teacher answers (pool)": {"kept": answered, "dropped": len(pool_ann) - answered},
        "03 pseudo-labels (pool pairs)": {"kept": kept_pairs, "dropped": n_pairs - kept_pairs},
        "04 SFT examples (users)": {"kept": n_sft_examples, "dropped": n_pool - n_sft_examples},
        "05 RL users drawn (+ held out)": {"kept": rl_counts["drawn"] + rl_counts["heldout"],
                                           "dropped": n_pool - rl_counts["drawn"] - rl_counts["heldout"]},
        "05 RL users trained on (band)": {"kept": rl_counts["trained"], "dropped": rl_counts["drawn"] - rl_counts["trained"]},
        "05 final student answers (test pairs)": {"kept": final_answered, "dropped": len(final_pred) - final_answered},
    }


def voting_table(table: Mapping[str, Mapping], taxonomy: Taxonomy, pool: bool = False) -> pd.DataFrame:
    """Notebook 03's table (``results.table``: ``evaluate.vote_report`` per method) as a frame:
    average F1 on all pairs and on kept pairs, coverage, ECE, Brier, then F1 per attribute;
    ``pool``: the balance of the pool's labels too (``balance_pool``, empty for a teacher alone)."""
    cols = {"avg F1": "avg_f1", "avg F1 kept": "avg_f1_kept", "coverage": "coverage", "ECE": "ece", "Brier": "brier",
            **({"balance (pool)": "balance_pool"} if pool else {})}
    return pd.DataFrame.from_dict({name: {**{c: r.get(k) for c, k in cols.items()},
                                          **{a.name: r["f1"][a.name] for a in taxonomy}}
                                   for name, r in table.items()}, orient="index")


def rl_ablation_table(results05: Mapping, variants: Sequence[str]) -> pd.DataFrame:
    """Notebook 05's ablation (``results.table`` and ``results.claims``) as a frame: SFT and each
    RL variant's average F1, precision, recall, parse-failure rate and ECE, with its paired
    difference to the full recipe (``variants[0]``) where 05 recorded one."""
    full = variants[0]
    claims, table = results05["claims"], results05["table"]
    vs_full = {}  # row minus full, from the deltas 05 recorded (flipped where 05 took full minus row)
    for row, key, sign in [("sft", "rl_minus_sft_f1", -1),  # 05 names a baseline's delta rl_minus_<v>, an ablation's <v>_minus_full
                           *[(f"rl_{v}", f"rl_minus_{v}_f1", -1) if f"rl_minus_{v}_f1" in claims
                             else (f"rl_{v}", f"{v}_minus_full_f1", 1) for v in variants[1:]]]:
        if key in claims and row in table:
            lo, hi = claims[f"{key}_ci"]
            vs_full[row] = with_interval(sign * claims[key], sorted([sign * lo, sign * hi]))
    rows = {}
    for name in ["sft", *[f"rl_{v}" for v in variants]]:
        r = table[name]
        rows[name] = {"avg F1": r["avg_f1"], "precision": r["avg_precision"], "recall": r["avg_recall"],
                      "parse fail": r["parse_failure_rate"], "ECE": r["ece"],
                      f"minus rl_{full} [95% CI]": "" if name == f"rl_{full}" else vs_full.get(name, "")}
    return pd.DataFrame.from_dict(rows, orient="index")
