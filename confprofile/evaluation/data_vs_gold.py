"""Notebooks 01 and 02's gold side: the test gold described (01) and the teachers scored against
it (02). Every function takes ``gold`` as ``gold_labels.split_gold`` gives it and returns an
empty report where it is None (a profile of your own without gold), so a notebook's "Against
gold" cells need no branch of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from confprofile import monitor
from confprofile.evaluation import references, scores
from confprofile.taxonomy import Taxonomy


def label_shares(gold: pd.DataFrame | None, taxonomy: Taxonomy) -> dict[str, dict[str, float]]:
    """The test gold's label shares per attribute (01's label distributions); ``{}`` without gold."""
    return {} if gold is None else monitor.label_shares(gold, taxonomy, "gold")


def clue_shares(gold: pd.DataFrame | None, taxonomy: Taxonomy) -> dict[str, dict[str, float]]:
    """Per attribute, the share of test users at each clue strength (``gold_labels``' ``clue``:
    the generator's record); ``{}`` without gold or where the gold records no clues (a gold file
    of your own may not).

    >>> from confprofile.taxonomy import load_taxonomy
    >>> g = pd.DataFrame({"user_id": ["a", "b"], "attribute": ["gender"] * 2, "gold": ["male", "female"],
    ...                   "clue": ["explicit", "none"]})
    >>> clue_shares(g, load_taxonomy()), clue_shares(None, load_taxonomy())
    ({'gender': {'explicit': 0.5, 'none': 0.5}}, {})
    """
    if gold is None or not gold["clue"].notna().any():
        return {}
    shares = {attr: row.to_dict() for attr, row in
              pd.crosstab(gold["attribute"], gold["clue"], normalize="index").iterrows()}
    return {a.name: shares[a.name] for a in taxonomy if a.name in shares}


def teacher_f1(ann_test: pd.DataFrame, gold: pd.DataFrame | None, taxonomy: Taxonomy, *,
               seed: int) -> tuple[dict, dict]:
    """02's scores: each teacher's macro-F1 on its first sample (``scores.teacher_scores``) and
    the chance floor (``references.baselines``); ``({}, {})`` without gold."""
    if gold is None:
        return {}, {}
    return scores.teacher_scores(ann_test, gold, taxonomy, sample=0), references.baselines(gold, taxonomy, seed=seed)


def f1_table(teacher: dict, reference: dict) -> dict[str, dict[str, float]]:
    """Teachers and the chance floor as one table of F1 per attribute and ``average`` (02's heatmap)."""
    return {name: {**s["f1"], "average": s["avg_f1"]} for name, s in {**teacher, **reference}.items()}


def confidence(ann_test: pd.DataFrame, gold: pd.DataFrame | None) -> dict:
    """Each teacher's stated confidence against gold (``scores.confidence_report``); ``{}`` without gold."""
    return {} if gold is None else scores.confidence_report(ann_test, gold)


def predicted_shares(ann_test: pd.DataFrame, gold: pd.DataFrame | None, taxonomy: Taxonomy,
                     teachers: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Label shares per attribute of gold and of each teacher's first sample (02's label
    distributions), ``{"gold": ..., teacher: ...}``; ``{}`` without gold."""
    if gold is None:
        return {}
    first = ann_test[(ann_test["sample"] == 0) & ann_test["teacher"].isin(teachers)]
    return {"gold": monitor.label_shares(gold, taxonomy, "gold"),
            **{t: monitor.label_shares(g, taxonomy, "label") for t, g in first.groupby("teacher")}}
