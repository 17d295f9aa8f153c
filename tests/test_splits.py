"""The pool split: disjoint, seeded, label-free, order-free; and the held-out criterion."""

import pandas as pd
import pytest

from confprofile import splits

IDS = [f"user{i}" for i in range(1000)]


def test_parts_are_disjoint_cover_the_pool_and_have_their_sizes():
    parts = splits.pool_parts(IDS, seed=0, n_heldout=100, n_rl=150)
    assert (len(parts["heldout"]), len(parts["rl"]), len(parts["sft"])) == (100, 150, 750)
    sets = [set(v) for v in parts.values()]
    assert set().union(*sets) == set(IDS) and sum(map(len, sets)) == len(IDS)


def test_parts_are_seeded_and_do_not_depend_on_order_or_on_other_users():
    a = splits.pool_parts(IDS, seed=0, n_heldout=100, n_rl=150)
    assert a == splits.pool_parts(list(reversed(IDS)), seed=0, n_heldout=100, n_rl=150)
    assert a["heldout"] != splits.pool_parts(IDS, seed=1, n_heldout=100, n_rl=150)["heldout"]
    # a larger pool keeps the held-out users of the smaller one that still rank first
    grown = splits.pool_parts(IDS + [f"new{i}" for i in range(10)], seed=0, n_heldout=100, n_rl=150)
    assert len(set(a["heldout"]) & set(grown["heldout"])) >= 90


def test_a_pool_too_small_or_a_repeated_user_is_an_error():
    with pytest.raises(ValueError, match="cannot hold out"):
        splits.pool_parts(IDS[:10], seed=0, n_heldout=5, n_rl=5)
    with pytest.raises(ValueError, match="twice"):
        splits.pool_parts(["a", "a", "b"], seed=0, n_heldout=1, n_rl=0)


def test_agreement_counts_only_the_predicted_users_kept_pairs():
    pseudo = [{"user_id": f"u{i}", "attributes": {"a": {"label": "x" if i % 2 else "y", "kept": True},
                                                  "b": {"label": "z", "kept": i < 3}}} for i in range(50)]
    pred = pd.DataFrame({"user_id": ["u0", "u0", "u1", "u1", "u2", "u2", "u3", "u3"],
                         "attribute": ["a", "b"] * 4,
                         "label": ["y", "z", "y", None, "y", "q", "x", "z"]})
    r = splits.agreement(pred, pseudo, {"a": ["x", "y"], "b": ["z", "q"]})
    # kept pairs of u0..u3: a for all four (y, x, y, x), b for u0, u1, u2 (z, z, z)
    assert r["n_pairs"] == 7
    assert r["agreement"] == pytest.approx(4 / 7)  # a: u0, u2, u3 right; b: u0 right
    # a: gold y,x,y,x / pred y,y,y,x -> F1(x)=2/3, F1(y)=0.8; b: gold z,z,z / pred z,None,q -> F1(z)=0.5, F1(q)=0
    assert r["f1"] == pytest.approx(((2 / 3 + 0.8) / 2 + (0.5 + 0.0) / 2) / 2)
