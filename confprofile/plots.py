"""Plotting functions: take precomputed results and an ``ax``; never compute metrics.

As in scikit-learn's Display API, numbers are computed once (and saved), then drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt  # inline in notebooks, Agg headless; PNGs are written by Agg either way
import numpy as np

plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False,
                     "svg.hashsalt": "confprofile"})


def grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.2, 3.0)):
    """A figure with ``n`` axes in rows of ``ncols``; unused axes are hidden."""
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def bar_shares(shares: Mapping[str, Mapping[str, float]], ax, title: str = "", legend: bool = True,
               ylabel: str = "share") -> None:
    """Grouped bars: ``shares[series][label]`` (e.g. series = gold / predicted, or models' F1
    per attribute with ``ylabel``)."""
    series = list(shares)
    labels = list(next(iter(shares.values())))
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for i, s in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [shares[s].get(lab, 0.0) for lab in labels],
               width=width, label=s)
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend and len(series) > 1:
        ax.legend(fontsize=8)


def shared_legend(fig, ax) -> None:
    """One legend for a grid of alike axes, above them (from ``ax``'s series)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(labels), fontsize=9)


def field_coverage(stats: Mapping[str, Mapping[str, float]], ax) -> None:
    """Horizontal bars of the share of users that have each record field."""
    fields = list(stats)
    ax.barh(fields, [stats[f]["coverage"] for f in fields], color="tab:blue")
    for i, f in enumerate(fields):
        ax.text(stats[f]["coverage"] + 0.01, i, f"{stats[f]['mean_length']:.1f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.invert_yaxis()
    ax.set_xlabel("share of users with the field (label: mean length when present)")


def stacked_shares(shares: Mapping[str, Mapping[str, float]], order: Sequence[str], ax, title: str = "") -> None:
    """Stacked horizontal bars: ``shares[row][category]`` with categories in ``order``."""
    rows = list(shares)
    left = np.zeros(len(rows))
    cmap = plt.get_cmap("RdYlGn_r", len(order))
    for i, cat in enumerate(order):
        vals = np.array([shares[r].get(cat, 0.0) for r in rows])
        ax.barh(rows, vals, left=left, label=cat, color=cmap(i))
        left += vals
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("share of users")
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=len(order), loc="upper center", bbox_to_anchor=(0.5, -0.18))


def heatmap(values: Mapping[str, Mapping[str, float]], ax, title: str = "", fmt: str = "{:.1f}",
            vmin: float = 0.0, vmax: float = 100.0, cmap: str = "viridis") -> None:
    """A rows x columns table of numbers as colours, each cell annotated."""
    rows = list(values)
    cols = list(next(iter(values.values())))
    m = np.array([[values[r].get(c, np.nan) for c in cols] for r in rows], dtype=float)
    ax.imshow(m, vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(m[i, j]):
                light = (m[i, j] - vmin) / (vmax - vmin) > 0.6
                ax.text(j, i, fmt.format(m[i, j]), ha="center", va="center", fontsize=8,
                        color="black" if light else "white")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(title)


def histograms(counts: Mapping[str, Sequence[int]], ax, xlabel: str = "confidence", title: str = "") -> None:
    """Step histograms over [0, 1] from precomputed bin counts, normalised per series."""
    for name, c in counts.items():
        c = np.asarray(c, dtype=float)
        edges = np.linspace(0, 1, len(c) + 1)
        ax.stairs(c / max(c.sum(), 1), edges, label=name, linewidth=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share")
    ax.set_title(title)
    ax.legend(fontsize=8)


def reliability(bins: Mapping[str, Mapping[str, Sequence[float]]], ax, title: str = "") -> None:
    """Reliability diagram: accuracy against mean confidence per bin (``metrics.reliability_bins``)."""
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for name, b in bins.items():
        conf, acc = np.asarray(b["confidence"], float), np.asarray(b["accuracy"], float)
        keep = np.isfinite(conf) & np.isfinite(acc)
        ax.plot(conf[keep], acc[keep], marker="o", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean confidence in bin")
    ax.set_ylabel("accuracy against gold")
    ax.set_title(title)
    ax.legend(fontsize=8)


def lines(xs: Sequence[float], series: Mapping[str, Sequence[float]], ax, xlabel: str, ylabel: str,
          title: str = "", reference: float | None = None, **style) -> None:
    """One line per series over shared x values; ``reference``: a dotted horizontal line."""
    for name, ys in series.items():
        ax.plot(xs, ys, marker="o", label=name, **style)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)


def threshold_curves(curves: Mapping[str, Mapping[str, Sequence[float]]], ax_pr, ax_f1) -> None:
    """Precision against recall (``ax_pr``) and F1 against threshold (``ax_f1``), one line per
    series, from ``evaluation.scores.threshold_curve`` results."""
    for name, c in curves.items():
        ax_pr.plot(c["recall"], c["precision"], marker=".", label=name)
        ax_f1.plot(c["threshold"], c["f1"], marker=".", label=name)
    ax_pr.set(xlabel="macro recall", ylabel="macro precision", title="precision / recall over thresholds")
    ax_f1.set(xlabel="confidence threshold", ylabel="avg macro-F1", title="F1 against threshold")
    ax_pr.legend(fontsize=8)
    ax_f1.legend(fontsize=8)
def training_curves(curves: Mapping[str, Mapping[str, Sequence[float]]], ax, key: str = "loss",
                    title: str = "") -> None:
    """One line per run of ``curves[run][key]`` against ``curves[run]["step"]`` (``sft.curves``)."""
    for name, c in curves.items():
        ax.plot(c["step"], c[key], label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(key.replace("_", " "))
    ax.set_title(title)
    ax.legend(fontsize=8)


def pipeline(steps: Mapping[str, Mapping[str, int]], ax, title: str = "") -> None:
    """What each stage kept and dropped (``evaluation.analysis.pipeline_steps``): one bar per step, the
    kept share green and the dropped share red, each step's counts written beside its bar."""
    names = list(steps)
    kept = np.array([steps[n]["kept"] for n in names], dtype=float)
    dropped = np.array([steps[n]["dropped"] for n in names], dtype=float)
    total = np.maximum(kept + dropped, 1)
    ax.barh(names, kept / total, color="tab:green", label="kept")
    ax.barh(names, dropped / total, left=kept / total, color="tab:red", label="dropped")
    for i, n in enumerate(names):
        ax.text(1.02, i, f"{int(kept[i]):,} kept, {int(dropped[i]):,} dropped", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("share of the step's input")
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))
