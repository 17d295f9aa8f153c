"""Notebook 06 (the paper's tables and figures) from what stages 01-05 wrote.

Nothing here trains or generates: the inputs are the saved test predictions
(``runs/<p>/predictions/*.parquet``), the test annotation table, the pseudo-label file, gold
labels (evaluation only) and the results files of the earlier notebooks. The functions turn
them into tables (pandas frames, saved by ``provenance.save_table``) and precomputed series that
``confprofile.plots`` draws. The claims notebooks 04 and 05 score are stated in
``students_vs_gold``; the tables here read them back (``rl_ablation_table``, ``READ_FROM``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pandas as pd

from confprofile import monitor, voting
from confprofile.evaluation.intervals import claims_from, delta_frame, delta_table, read_delta, verdict, with_interval
from confprofile.evaluation.references import chance_predictions, supervised_ceiling
from confprofile.evaluation.scores import answers
from confprofile.provenance import derive_seed, load_results
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


def predictions(profile: str, teachers: Mapping[str, pd.DataFrame], models: Sequence[str], gold: pd.DataFrame,
                taxonomy: Taxonomy, *, seed: int, **student) -> dict[str, pd.DataFrame]:
    """Everything notebook 06 scores, by name: each teacher's first sample (``teacher: <name>``,
    from ``teacher_answers``), each model's saved test predictions, the chance floor
    (``references.chance_predictions`` at ``seed``) and, where the pool has gold, the supervised
    reference (``references.supervised_ceiling`` at ``derive_seed(seed, "supervised")``; ``student``: its
    keyword arguments)."""
    from confprofile.student import load_predictions

    pred = {**{f"teacher: {t}": a for t, a in teachers.items()}, **{m: load_predictions(profile, m) for m in models},
            **chance_predictions(gold, taxonomy, seed=seed)}  # the chance floor beside every model
    return {**pred, **supervised_ceiling(profile, taxonomy, seed=derive_seed(seed, "supervised"), **student)}


STAGE_RESULTS = ("01_taxonomy_exploration", "02_label_synthesis", "03_voting_and_calibration", "04_sft_distillation",
                 "05_confidence_guided_rl")
"""The results files notebook 06 reads, one per earlier notebook."""


def stage_results(profile: str) -> dict[str, dict]:
    """The ``results`` of every file of ``STAGE_RESULTS``, by notebook number (``"01"`` .. ``"05"``)."""
    return {nb[:2]: load_results(profile, nb) for nb in STAGE_RESULTS}


def report_table(reports: Mapping[str, Mapping], taxonomy: Taxonomy,
                 names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per model from ``scores.prediction_report`` results: macro-F1 per attribute,
    then average F1, precision and recall (0-100), parse-failure and abstention rates and ECE.
    ``names`` renames rows (e.g. ``{"sft": "SFT student"}``)."""
    rows = {}
    for key, r in reports.items():
        rows[(names or {}).get(key, key)] = {**{a.name: r["f1"][a.name] for a in taxonomy},
                                             "avg F1": r["avg_f1"], "precision": r["avg_precision"],
                                             "recall": r["avg_recall"], "parse fail": r["parse_failure_rate"],
                                             "abstain": r["abstention_rate"], "ECE": r["ece"]}
    return pd.DataFrame.from_dict(rows, orient="index")


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
    (``scores.prediction_report``): chance, base, SFT and the ``final`` RL student (and the
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
    ``scores.prediction_report`` results (e.g. the RL student against the SFT student).

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


def stage_f1(report: Mapping[str, Mapping], best_teacher: str, final: str) -> dict[str, dict[str, float]]:
    """Macro-F1 per attribute and the average (``"average"``) of each step of the pipeline, from
    the best teacher through the vote (the pseudo-labels) and the base model to the SFT and the
    ``final`` RL student, from their ``scores.prediction_report``.

    >>> r = {k: {"f1": {"age": v}, "avg_f1": v} for k, v in (("teacher: t", 40.0), ("pseudo_labels", 50.0),
    ...                                                       ("base", 0.0), ("sft", 45.0), ("rl_x", 46.0))}
    >>> stage_f1(r, "t", "rl_x")["best teacher (t)"], list(stage_f1(r, "t", "rl_x"))[1:]
    ({'age': 40.0, 'average': 40.0}, ['vote (pseudo-labels)', 'base model', 'SFT student', 'SFT+RL student'])
    """
    stages = {f"best teacher ({best_teacher})": f"teacher: {best_teacher}", "vote (pseudo-labels)": "pseudo_labels",
              "base model": "base", "SFT student": "sft", "SFT+RL student": final}
    return {s: {**report[m]["f1"], "average": report[m]["avg_f1"]} for s, m in stages.items()}


def in_percent(curve: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """An ``scores.threshold_curve`` as the lines of one panel, in percent: precision, recall,
    F1 (already in points) and coverage.

    >>> in_percent({"threshold": [0.0], "precision": [0.5], "recall": [0.25], "f1": [30.0], "coverage": [1.0]})
    {'precision': [50.0], 'recall': [25.0], 'F1': [30.0], 'coverage': [100.0]}
    """
    return {"precision": [100 * v for v in curve["precision"]], "recall": [100 * v for v in curve["recall"]],
            "F1": curve["f1"], "coverage": [100 * v for v in curve["coverage"]]}


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
    """The attribute with the lowest macro-F1 in an ``scores.prediction_report``."""
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
    """Notebook 03's table (``results.table``: ``scores.vote_report`` per method) as a frame:
    average F1 on all pairs and on kept pairs, coverage, ECE, Brier, then F1 per attribute;
    ``pool``: the balance of the pool's labels too (``balance_pool``, empty for a teacher alone).
    Rows are shown by each method's display ``name`` (its id where it has none)."""
    cols = {"avg F1": "avg_f1", "avg F1 kept": "avg_f1_kept", "coverage": "coverage", "ECE": "ece", "Brier": "brier",
            **({"balance (pool)": "balance_pool"} if pool else {})}
    return pd.DataFrame.from_dict({r.get("name", i): {**{c: r.get(k) for c, k in cols.items()},
                                                      **{a.name: r["f1"][a.name] for a in taxonomy}}
                                   for i, r in table.items()}, orient="index")


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
