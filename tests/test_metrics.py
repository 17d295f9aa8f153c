import numpy as np
import pytest

from confprofile import metrics


def test_macro_f1_hand_computed():
    # gold a a b b, pred a b b b -> F1(a) = 2*1*0.5/1.5 = 2/3, F1(b) = 2*(2/3)*1/(5/3) = 0.8
    assert metrics.macro_f1(list("aabb"), list("abbb"), ["a", "b"]) == pytest.approx((2 / 3 + 0.8) / 2)


def test_abstention_lowers_recall_not_precision():
    # one "a" abstained: F1(a) = 2*1*0.5/1.5; b perfect
    f_abstain = metrics.macro_f1(list("aabb"), ["a", None, "b", "b"], ["a", "b"])
    f_unknown = metrics.macro_f1(list("aabb"), ["a", "unknown", "b", "b"], ["a", "b"])
    assert f_abstain == f_unknown == pytest.approx((2 / 3 + 1) / 2)
    pc = metrics.per_class(list("aabb"), ["a", None, "b", "b"], ["a", "b"])
    assert pc["a"]["precision"] == 1.0 and pc["a"]["recall"] == 0.5


def test_ece_and_brier_on_known_cases():
    assert metrics.ece([1.0] * 4, [1, 1, 1, 1]) == 0.0
    assert metrics.ece([0.8] * 10, [1] * 5 + [0] * 5) == pytest.approx(0.3)
    assert metrics.brier([1.0, 0.0], [1, 1]) == pytest.approx(0.5)
    assert np.isnan(metrics.ece([], []))


def test_reliability_bins_put_one_in_the_top_bin_and_skip_nan():
    b = metrics.reliability_bins([1.0, 0.05, float("nan")], [1, 0, 1], n_bins=4)
    assert b["count"] == [1, 0, 0, 1]
    assert b["accuracy"][3] == 1.0 and np.isnan(b["accuracy"][1])
