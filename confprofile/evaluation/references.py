"""Reference points beside every model, never methods: the chance floor (a uniform random and an
always-the-majority-class labeller, as prediction tables) and the supervised reference (notebook
04's classical student taught the pool's gold, a ceiling for the data).

Both peek at gold or train on it, so they live here, with the rest of the gold side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from confprofile import paths, records
from confprofile.evaluation.gold_labels import split_gold
from confprofile.evaluation.scores import score
from confprofile.provenance import rng
from confprofile.taxonomy import Taxonomy


def chance_predictions(gold: pd.DataFrame, taxonomy: Taxonomy, *, seed: int) -> dict[str, pd.DataFrame]:
    """The chance floor as prediction tables (so a model's lead over it gets a paired interval):
    ``uniform_random`` (a label drawn uniformly per pair, seeded) and ``majority_class`` (every
    pair the attribute's commonest gold label: it peeks at gold, a reference, never a method)."""
    r = rng(seed, "uniform_baseline")
    uniform = gold.assign(label=[taxonomy[a].labels[r.integers(len(taxonomy[a].labels))] for a in gold["attribute"]])
    majority_label = gold.groupby("attribute")["gold"].agg(lambda s: s.value_counts().index[0])
    majority = gold.assign(label=gold["attribute"].map(majority_label))
    cols = ["user_id", "attribute", "label", "confidence", "kept"]  # a vote table keeping every pair, no confidence
    return {name: t.assign(confidence=np.nan, kept=True)[cols].reset_index(drop=True)
            for name, t in (("uniform_random", uniform), ("majority_class", majority))}


def baselines(gold: pd.DataFrame, taxonomy: Taxonomy, *, seed: int) -> dict:
    """Reference points: a uniform random labeller and an always-the-majority-class labeller
    (``chance_predictions``). "Above chance" in the notebooks means above both."""
    return {name: score(t, gold, taxonomy) for name, t in chance_predictions(gold, taxonomy, seed=seed).items()}


def supervised_reference(pool: Sequence[Mapping], test: Sequence[Mapping], pool_gold: pd.DataFrame, taxonomy,
                         *, max_chars: int, max_items: int, system_prompt: bool, c: float, seed: int) -> pd.DataFrame:
    """A supervised reference (a ceiling for this data, never a method or a choice): notebook
    04's classical student (TF-IDF + logistic regression on the student's prompt text,
    ``classical.fit_predict`` with its ``c``) trained on the pool's *gold* labels instead of
    pseudo-labels, answering the test users. Pairs gold leaves out are not trained on."""
    from confprofile import classical, sft

    def texts(recs):
        return [sft.student_messages(r, taxonomy, max_chars, max_items, system_prompt)[-1]["content"] for r in recs]

    votes = pool_gold.rename(columns={"gold": "label"}).assign(kept=True)
    return classical.fit_predict(texts(pool), [r["user_id"] for r in pool], votes, texts(test),
                                 [r["user_id"] for r in test], taxonomy, c=c, seed=seed)


def supervised_ceiling(profile: str, taxonomy: Taxonomy, *, seed: int, **student) -> dict[str, pd.DataFrame]:
    """``{"supervised_reference": test predictions}`` of ``supervised_reference``, the
    classical student taught the pool's gold (a ceiling, never a method; ``student``: its
    ``max_chars``, ``max_items``, ``system_prompt`` and ``c``, as in notebook 04), or ``{}``
    where the pool has no gold."""
    pool_gold = split_gold(profile, "pool", taxonomy)
    if pool_gold is None:
        return {}
    return {"supervised_reference": supervised_reference(
        records.read_records(paths.records_path(profile, "pool")), records.read_records(paths.records_path(profile, "test")),
        pool_gold, taxonomy, seed=seed, **student)}
