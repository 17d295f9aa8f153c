"""Notebooks 01 and 02's gold side: the test gold described (01) and the teachers' label shares
beside it (02). Every function takes ``gold`` as ``gold_labels.split_gold`` gives it and returns an
empty report where it is None (a profile of your own without gold), so a notebook's "Against
gold" cells need no branch of their own. It imports no scoring module: notebook 01 loads it, and
``provenance.code_hash`` follows imports (02 calls ``scores`` and ``references`` itself).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from confprofile import monitor
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


def f1_table(teacher: dict, reference: dict) -> dict[str, dict[str, float]]:
    """Teachers and the chance floor as one table of F1 per attribute and ``average`` (02's heatmap)."""
    return {name: {**s["f1"], "average": s["avg_f1"]} for name, s in {**teacher, **reference}.items()}


def predicted_shares(ann_test: pd.DataFrame, gold: pd.DataFrame | None, taxonomy: Taxonomy,
                     teachers: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Label shares per attribute of gold and of each teacher's first sample (02's label
    distributions), ``{"gold": ..., teacher: ...}``; ``{}`` without gold."""
    if gold is None:
        return {}
    first = ann_test[(ann_test["sample"] == 0) & ann_test["teacher"].isin(teachers)]
    return {"gold": label_shares(gold, taxonomy),
            **{t: monitor.label_shares(g, taxonomy, "label") for t, g in first.groupby("teacher")}}
