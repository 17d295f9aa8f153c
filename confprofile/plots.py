"""Plotting functions: take precomputed results and an ``ax``; never compute metrics.

As in scikit-learn's Display API, numbers are computed once (and saved), then drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless, deterministic
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False,
                     "svg.hashsalt": "confprofile"})


def grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.2, 3.0)):
    """A figure with ``n`` axes in rows of ``ncols``; unused axes are hidden."""
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def bar_shares(shares: Mapping[str, Mapping[str, float]], ax, title: str = "") -> None:
    """Grouped bars: ``shares[series][label]`` (e.g. series = gold / predicted)."""
    series = list(shares)
    labels = list(next(iter(shares.values())))
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for i, s in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [shares[s].get(lab, 0.0) for lab in labels],
               width=width, label=s)
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share")
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)


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
