"""Plot helpers draw what they are given (no metric is computed here)."""

import matplotlib.pyplot as plt

from confprofile import plots


def test_threshold_curves_draw_one_line_per_series_on_each_axis():
    curves = {name: {"threshold": [0.0, 0.5], "precision": [0.5, 0.8], "recall": [0.9, 0.4], "f1": [60.0, 50.0]}
              for name in ("vote", "calibrated")}
    fig, (pr, f1) = plt.subplots(1, 2)
    plots.threshold_curves(curves, pr, f1)
    assert [line.get_label() for line in pr.lines] == ["vote", "calibrated"] == [line.get_label() for line in f1.lines]
    assert list(pr.lines[0].get_xdata()) == [0.9, 0.4] and list(f1.lines[1].get_ydata()) == [60.0, 50.0]
    assert pr.get_xlabel() == "macro recall" and f1.get_xlabel() == "confidence threshold"
    plt.close(fig)


def test_lines_draws_a_reference_only_when_asked():
    fig, (a, b) = plt.subplots(1, 2)
    plots.lines([1, 2], {"m": [1.0, 2.0]}, a, xlabel="k", ylabel="f1")
    plots.lines([1, 2], {"m": [1.0, 2.0]}, b, xlabel="k", ylabel="f1", reference=1.5)
    assert len(a.lines) == 1 and len(b.lines) == 2 and list(b.lines[1].get_ydata()) == [1.5, 1.5]
    plt.close(fig)


def test_pipeline_draws_kept_and_dropped_shares_with_counts():
    fig, ax = plt.subplots()
    plots.pipeline({"01 users": {"kept": 10, "dropped": 0}, "03 pairs": {"kept": 6, "dropped": 2}}, ax)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [1.0, 0.75, 0.0, 0.25]  # kept bars, then dropped bars
    assert [t.get_text() for t in ax.texts] == ["10 kept, 0 dropped", "6 kept, 2 dropped"]
    plt.close(fig)


def test_bar_shares_takes_a_y_label():
    fig, ax = plt.subplots()
    plots.bar_shares({"sft": {"age": 50.0, "gender": 80.0}}, ax, ylabel="macro-F1")
    assert ax.get_ylabel() == "macro-F1" and [p.get_height() for p in ax.patches] == [50.0, 80.0]
    plt.close(fig)
