"""The unlabeled pool, split once: SFT-train, RL-train and a held-out slice.

Every training choice (steps, learning rate, loss weight, model size, checkpoint; RL's band,
votes and checkpoint) is made on the held-out slice, by agreement with its pseudo-labels, never
by true labels; neither SFT nor RL trains on it. The split is label-free and seeded: a user's part
depends only on the seed and its ``user_id`` (a hash, so the records' order and the other users
do not matter, and a user added to the pool never moves the others between parts).

>>> parts = pool_parts([f"u{i}" for i in range(10)], seed=0, n_heldout=2, n_rl=3)
>>> {k: len(v) for k, v in parts.items()}
{'sft': 5, 'rl': 3, 'heldout': 2}
>>> parts == pool_parts([f"u{i}" for i in reversed(range(10))], seed=0, n_heldout=2, n_rl=3)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from confprofile.provenance import derive_seed

PARTS = ("sft", "rl", "heldout")


def seeded_order(user_ids: Sequence[str], seed: int, purpose: str) -> list[str]:
    """The ids in the order of a seeded hash of each (``purpose`` names the split, so two splits
    of one seed are independent): a user's place depends on its id alone, never on the file's order.

    >>> seeded_order(["a", "b", "c"], 0, "x") == seeded_order(["c", "a", "b"], 0, "x")
    True
    """
    return sorted(user_ids, key=lambda u: (derive_seed(seed, purpose, u), u))


def pool_parts(user_ids: Sequence[str], seed: int, n_heldout: int, n_rl: int) -> dict[str, list[str]]:
    """``{"sft", "rl", "heldout"}`` -> sorted user ids. The ``n_heldout`` users with the lowest
    seeded hash are held out, the next ``n_rl`` go to RL, the rest to SFT. Raises ValueError when
    the pool is too small to leave SFT any user, or a size is negative, or an id repeats."""
    ids = [str(u) for u in user_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("the pool names a user twice")
    if n_heldout < 0 or n_rl < 0:
        raise ValueError(f"pool parts must not be negative (held-out {n_heldout}, RL {n_rl})")
    if n_heldout + n_rl >= len(ids):
        raise ValueError(f"a pool of {len(ids)} users cannot hold out {n_heldout} and give RL {n_rl} "
                         "with users left for SFT")
    order = seeded_order(ids, seed, "pool_part")
    held, rl = order[:n_heldout], order[n_heldout:n_heldout + n_rl]
    return {"sft": sorted(order[n_heldout + n_rl:]), "rl": sorted(rl), "heldout": sorted(held)}


def agreement(pred, pseudo: Sequence[Mapping], labels: Mapping[str, Sequence[str]], n_boot: int = 0,
              seed: int = 0) -> dict:
    """The label-free selection criterion: how well a prediction table repeats the kept
    pseudo-labels of its own users (the held-out slice's, which no training step saw).

    ``f1``: the average over attributes of macro-F1 with the pseudo-label as the reference (the
    test metric, with pseudo-labels in place of true labels: abstaining is a miss, and predicting only the
    commonest labels scores low); ``agreement``: the share of those pairs answered alike;
    ``n_pairs``: the pairs scored. Only users in ``pred`` are counted, so the denominator is the
    slice's own kept pairs. ``labels``: attribute -> its labels (``Taxonomy`` gives them).
    ``n_boot`` > 0 adds ``f1_se``: the standard error of ``f1`` over ``n_boot`` resamples of the
    users (seeded), what ``choices.choose`` calls a tie.

    >>> import pandas as pd
    >>> pred = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["a", "b", "a"], "label": ["x", "y", None]})
    >>> pseudo = [{"user_id": "u", "attributes": {"a": {"label": "x", "kept": True}, "b": {"label": "z", "kept": True}}},
    ...           {"user_id": "v", "attributes": {"a": {"label": "x", "kept": True}, "b": {"label": "y", "kept": False}}},
    ...           {"user_id": "w", "attributes": {"a": {"label": "x", "kept": True}}}]  # not predicted: not counted
    >>> r = agreement(pred, pseudo, {"a": ["x"], "b": ["y", "z"]})
    >>> r["agreement"], r["n_pairs"], round(r["f1"], 4)  # a: F1 2/3; b: the one pair is missed, F1 0
    (0.3333333333333333, 3, 0.3333)
    """
    import numpy as np

    from confprofile.metrics import macro_f1
    from confprofile.provenance import rng

    users = set(pred["user_id"])
    got = {(u, a): lab for u, a, lab in zip(pred["user_id"], pred["attribute"], pred["label"])}
    want = [(p["user_id"], a, d["label"]) for p in pseudo if p["user_id"] in users
            for a, d in p["attributes"].items() if d.get("kept") and d.get("label") and a in labels]
    if not want:
        return {"f1": float("nan"), "agreement": float("nan"), "n_pairs": 0}
    ids = sorted({u for u, _, _ in want})
    index = {u: i for i, u in enumerate(ids)}
    parts = {attr: ([lab for u, a, lab in want if a == attr], [got.get((u, a)) for u, a, _ in want if a == attr],
                    np.array([index[u] for u, a, _ in want if a == attr])) for attr in labels}
    parts = {a: v for a, v in parts.items() if v[0]}

    def f1_of(counts=None) -> float:  # counts: how often each user was drawn (None: once)
        return float(np.mean([macro_f1(g, p, labels[a], None if counts is None else counts[users_of])
                              for a, (g, p, users_of) in parts.items()]))

    out = {"f1": f1_of(), "agreement": sum(got.get((u, a)) == lab for u, a, lab in want) / len(want),
           "n_pairs": len(want)}
    if n_boot:
        r = rng(seed, "agreement_bootstrap")
        draws = [f1_of(np.bincount(r.integers(len(ids), size=len(ids)), minlength=len(ids))) for _ in range(n_boot)]
        out["f1_se"] = float(np.std(draws, ddof=1))
    return out
