"""Reproducibility helpers: derived seeds, and the one place results and figures are saved.

Results JSON has sorted keys, rounded floats, the notebook's parameters and package versions,
and no timestamps, so a rerun diffs only where something really changed. Figures are PNGs with
metadata stripped, so reruns are byte-stable. Tables are CSV and Markdown, floats rounded.

>>> derive_seed(0, "teacher", "u1", 3) == derive_seed(0, "teacher", "u1", 3)
True
>>> derive_seed(0, "a") != derive_seed(0, "b")
True
>>> rounded({"f1": 0.123456789, "xs": [1.0, float("nan")]})
{'f1': 0.123457, 'xs': [1.0, None]}
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
from pathlib import Path

import numpy as np

from confprofile import paths

PACKAGES = ("confprofile", "numpy", "scikit-learn", "torch", "transformers", "trl", "peft")


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed from ``seed`` and any keys, stable across processes (unlike ``hash``)."""
    h = hashlib.sha256(repr((seed, *keys)).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") >> 1


def rng(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator seeded from ``derive_seed(seed, *keys)``."""
    return np.random.default_rng(derive_seed(seed, *keys))


def rounded(obj: object, digits: int = 6) -> object:
    """Round floats recursively; NaN/inf become None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return round(x, digits) if math.isfinite(x) else None
    if isinstance(obj, np.ndarray):
        return rounded(obj.tolist(), digits)
    return obj


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def save_results(profile: str, name: str, results: dict, params: dict | None = None) -> Path:
    """Write ``<name>.json`` in ``paths.results_dir(profile)``: results, parameters, package versions.

    Returns the path relative to the repository root when it is under it (executed notebooks
    show no local paths)."""
    path = paths.results_dir(profile) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"name": name, "profile": profile, "params": params or {}, "versions": versions(),
               "results": results}
    path.write_text(json.dumps(rounded(payload), sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return paths.relative(path)


def load_results(profile: str, name: str) -> dict:
    """The ``results`` part of a saved results file."""
    path = paths.results_dir(profile) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))["results"]


def save_figure(fig, profile: str, name: str, dpi: int = 110) -> Path:
    """Write ``figures/<profile>/<name>.png`` without metadata (byte-stable reruns); returns the
    path relative to the repository root."""
    path = paths.figures_dir(profile) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return paths.relative(path)


def save_table(table, profile: str, name: str, digits: int = 3) -> list[Path]:
    """Write a pandas frame as ``results/<profile>/tables/<name>.csv`` and ``.md`` (index kept,
    floats rounded to ``digits``); returns both paths relative to the repository root."""
    table = table.round(digits)
    folder = paths.results_dir(profile) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    csv, md = folder / f"{name}.csv", folder / f"{name}.md"
    table.to_csv(csv, lineterminator="\n")
    md.write_text(table.to_markdown() + "\n", encoding="utf-8")
    return [paths.relative(csv), paths.relative(md)]
