"""Notebook 05's monitoring against the pool's gold (TTRL's label and reward accuracy), never fed
to training: how often the quasi labels RL trains on are right, and whether their rewards agree
with the rewards gold would give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from confprofile import voting
from confprofile.evaluation.gold_labels import split_gold
from confprofile.taxonomy import Taxonomy


def quasi_label_accuracy(quasi: pd.DataFrame, gold: pd.DataFrame) -> dict:
    """TTRL's *label accuracy* (monitoring only, never fed to training): the share of voted
    quasi labels (``label`` not None) that equal gold, overall and per attribute, and the share
    of pairs that got a quasi label at all.

    >>> q = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["a", "b", "a"], "label": ["x", None, "y"]})
    >>> g = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["a", "b", "a"], "gold": ["x", "z", "x"]})
    >>> quasi_label_accuracy(q, g)
    {'accuracy': 0.5, 'coverage': 0.6666666666666666, 'by_attribute': {'a': 0.5}}
    """
    j = gold.merge(quasi[["user_id", "attribute", "label"]], on=["user_id", "attribute"])
    voted = j[j["label"].notna()]
    hit = voted["label"] == voted["gold"]
    return {"accuracy": float(hit.mean()) if len(voted) else float("nan"),
            "coverage": float(len(voted) / max(len(j), 1)),
            "by_attribute": {a: float(h.mean()) for a, h in hit.groupby(voted["attribute"], sort=True)}}


def reward_accuracy(rollouts: pd.DataFrame, quasi: pd.DataFrame, gold: pd.DataFrame) -> float:
    """TTRL's *reward accuracy*: over rollout answers (valid ones, per attribute), the share
    whose match reward against the quasi label equals the reward they would get against gold.

    >>> r = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["a"] * 3, "label": ["x", "y", None], "ok": [True, True, False]})
    >>> q = pd.DataFrame({"user_id": ["u"], "attribute": ["a"], "label": ["y"]})
    >>> g = pd.DataFrame({"user_id": ["u"], "attribute": ["a"], "gold": ["x"]})
    >>> reward_accuracy(r, q, g)   # x: 0 vs 1 (wrong); y: 1 vs 0 (wrong)
    0.0
    """
    keys = ["user_id", "attribute"]
    j = (rollouts[rollouts["ok"].astype(bool)][keys + ["label"]]
         .merge(quasi[keys + ["label"]].rename(columns={"label": "quasi"}), on=keys)
         .merge(gold[keys + ["gold"]], on=keys))
    if not len(j):
        return float("nan")
    return float(((j["label"] == j["quasi"]) == (j["label"] == j["gold"])).mean())


def accuracy_by_consensus(quasi: pd.DataFrame, band: pd.DataFrame, gold: pd.DataFrame, n_bins: int) -> dict:
    """Label accuracy of voted quasi labels by the user's consensus (``rl.difficulty_band``), in
    ``n_bins`` equal bins over [0, 1]: bin centres, accuracy (NaN for an empty bin), pair counts.

    >>> q = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["a", "a"], "label": ["x", "x"]})
    >>> b = pd.DataFrame({"user_id": ["u", "v"], "consensus": [0.9, 0.2]})
    >>> g = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["a", "a"], "gold": ["x", "y"]})
    >>> accuracy_by_consensus(q, b, g, n_bins=2)
    {'consensus': [0.25, 0.75], 'accuracy': [0.0, 1.0], 'n': [1, 1]}
    """
    j = gold.merge(quasi[["user_id", "attribute", "label"]], on=["user_id", "attribute"]).merge(
        band[["user_id", "consensus"]], on="user_id")
    j = j[j["label"].notna()]
    idx = np.minimum((j["consensus"].to_numpy() * n_bins).astype(int), n_bins - 1)
    hit = (j["label"] == j["gold"]).to_numpy()
    acc = [float(hit[idx == b].mean()) if (idx == b).any() else float("nan") for b in range(n_bins)]
    return {"consensus": [(b + 0.5) / n_bins for b in range(n_bins)], "accuracy": acc,
            "n": [int((idx == b).sum()) for b in range(n_bins)]}


def rl_monitor(profile: str, taxonomy: Taxonomy, rollouts: pd.DataFrame, quasi: Mapping[str, pd.DataFrame],
               band: Mapping[str, pd.DataFrame], stage1: Sequence[Mapping], users: Sequence[str], full: str,
               n_bins: int = 5) -> dict:
    """Notebook 05's monitoring against the pool's gold (never fed to training): per variant the
    quasi labels' accuracy (all RL users and inside the band) and the reward accuracy; the
    stage-1 pseudo-labels' accuracy on the same users; the full recipe's accuracy by consensus.
    Returns ``{}`` when the profile has no pool gold: RL itself runs without it.
    """
    gold = split_gold(profile, "pool", taxonomy)
    if gold is None:
        return {}
    out = {}
    for name, q in quasi.items():
        kept = set(band[name].loc[band[name]["status"] == "kept", "user_id"])
        out[name] = {**quasi_label_accuracy(q, gold),
                     "accuracy_in_band": quasi_label_accuracy(q[q["user_id"].isin(kept)], gold)["accuracy"],
                     "reward_accuracy": reward_accuracy(rollouts, q, gold)}
    ids = set(users)
    s1 = voting.records_as_votes([x for x in stage1 if x["user_id"] in ids], kept_only=True)[["user_id", "attribute", "label"]]
    out["stage1_pseudo_labels"] = quasi_label_accuracy(s1, gold)
    return {"by_variant": out, "accuracy_by_consensus": accuracy_by_consensus(quasi[full], band[full], gold, n_bins)}
