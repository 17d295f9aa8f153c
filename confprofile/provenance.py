"""Reproducibility helpers: derived seeds, and the one place results and figures are saved.

Results JSON has sorted keys, rounded floats, the notebook's parameters, package versions and a
hash of the code that wrote it (``code_hash``), and no timestamps, so a rerun diffs only where
something really changed. Figures are PNGs with
metadata stripped, so reruns are byte-stable, each with the numbers it draws beside it
(``<name>.json``, read from the figure's artists) so a test can check a figure against its
results file. Tables are CSV and Markdown, floats rounded.

>>> derive_seed(0, "teacher", "u1", 3) == derive_seed(0, "teacher", "u1", 3)
True
>>> derive_seed(0, "a") != derive_seed(0, "b")
True
>>> rounded({"f1": 0.123456789, "xs": [1.0, float("nan")]})
{'f1': 0.123457, 'xs': [1.0, None]}
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from confprofile import paths

PACKAGES = ("confprofile", "numpy", "scikit-learn", "torch", "transformers", "trl", "peft")

PRODUCERS = {"04_sft_trials": "confprofile/sft.py", "05_rl_trials": "confprofile/rl_runs.py"}
"""Results a command writes rather than a notebook: the module that writes them."""

_LAZY = re.compile(r"(confprofile(?:\.\w+)*):\w+")  # "confprofile.teachers.lexicon:LexiconTeacher"


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


def portable(value: object, base: str | Path | None = None) -> object:
    """``value`` with every absolute path under ``base`` (default: the root) written relative to
    it, recursively: what a results file records, so that a clone elsewhere reads the same.

    >>> portable({"data": str(paths.root() / "examples" / "x.jsonl"), "n": 3, "gold": "/elsewhere/g"})
    {'data': 'examples/x.jsonl', 'n': 3, 'gold': '/elsewhere/g'}
    """
    if isinstance(value, dict):
        return {k: portable(v, base) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, base) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        return paths.relative(value, base).as_posix()
    return value


def imported(source: str) -> set[str]:
    """Dotted names of the confprofile modules ``source`` may load: its imports (inside functions
    too; ``from a import b`` gives ``a`` and ``a.b``, since ``b`` may be a submodule) and the
    modules named in lazy ``"module:Attr"`` strings. Names that are not modules are dropped later.

    >>> sorted(imported("from confprofile import paths\\ndef f():\\n    import numpy, confprofile.teachers.cpu\\n"
    ...                 "T = 'confprofile.teachers.hf:HFTeacher'"))
    ['confprofile', 'confprofile.paths', 'confprofile.teachers.cpu', 'confprofile.teachers.hf']
    """
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := _LAZY.fullmatch(node.value)):
            names.add(m.group(1))
    return {n for n in names if n.split(".")[0] == "confprofile"}


def code_hash(name: str, root: str | Path | None = None) -> dict:
    """The code behind results ``name``: ``{"sha256": ..., "files": [...]}`` over its producer (the
    code cells of ``notebooks/<name>.ipynb``, else the module in ``PRODUCERS``), every confprofile
    module it loads, directly or not (``imported``; a module's packages' ``__init__.py`` too, as
    Python runs them), and every ``*.yaml`` under ``confprofile/`` (data the code reads).

    Files are read under ``root`` (default: the root), else the package repository's (a test root
    holds only ``notebooks/``); hashed with their relative path, CRLF as LF, so any clone agrees.

    >>> h = code_hash("01_taxonomy_exploration")
    >>> h["files"][:3], "confprofile/taxonomy.yaml" in h["files"], len(h["sha256"])
    (['confprofile/__init__.py', 'confprofile/bench.py', 'confprofile/bench_tables.yaml'], True, 64)
    """
    root = Path(root) if root is not None else paths.root()

    def path(rel: str) -> Path:
        return root / rel if (root / rel).is_file() else paths.package_repo() / rel

    def module_file(dotted: str) -> str | None:
        stem = dotted.replace(".", "/")
        return next((rel for rel in (f"{stem}.py", f"{stem}/__init__.py") if path(rel).is_file()), None)

    notebook = f"notebooks/{name}.ipynb"
    if path(notebook).is_file():
        cells = json.loads(path(notebook).read_text(encoding="utf-8"))["cells"]
        texts = {notebook: "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")}
    elif name in PRODUCERS:
        texts = {PRODUCERS[name]: path(PRODUCERS[name]).read_text(encoding="utf-8")}
    else:
        raise ValueError(f"no notebook or command writes results {name!r} (notebooks/{name}.ipynb, PRODUCERS)")
    todo = list(texts)
    while todo:
        for dotted in imported(texts[todo.pop()]):
            parts = dotted.split(".")
            for rel in filter(None, (module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1))):
                if rel not in texts:
                    texts[rel] = path(rel).read_text(encoding="utf-8")
                    todo.append(rel)
    yaml = {p.relative_to(base).as_posix() for base in {root, paths.package_repo()}
            for p in (base / "confprofile").rglob("*.yaml")}
    digest = hashlib.sha256()
    for rel in sorted(set(texts) | yaml):
        data = texts[rel].encode("utf-8") if rel in texts else path(rel).read_bytes()
        data = data.replace(b"\r\n", b"\n")
        digest.update(f"{rel}\n{len(data)}\n".encode("utf-8") + data)
    return {"sha256": digest.hexdigest(), "files": sorted(set(texts) | yaml)}


def save_results(profile: str, name: str, results: dict, params: Mapping | None = None) -> Path:
    """Write ``<name>.json`` in ``paths.results_dir(profile)``: results, parameters (a notebook's
    ``config.Config``: the keys it read, ``Config.used``; paths under
    the root written relative to it, ``portable``), package versions and the hash of the code
    that wrote it (``code_hash``: a test compares it with the code's hash now).

    Returns the path relative to the repository root when it is under it (executed notebooks
    show no local paths)."""
    path = paths.results_dir(profile) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    used = params.used() if hasattr(params, "used") else dict(params or {})  # a Config: the keys read
    payload = {"name": name, "profile": profile, "params": portable(used), "versions": versions(),
               "code": code_hash(name), "results": results}
    path.write_text(json.dumps(rounded(payload), sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return paths.relative(path)


def load_results(profile: str, name: str) -> dict:
    """The ``results`` part of a saved results file."""
    path = paths.results_dir(profile) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))["results"]


def _label(artist) -> str:
    label = str(artist.get_label() or "")
    return "" if label.startswith("_") else label  # matplotlib's "_child0" names are not labels


def figure_data(fig) -> dict:
    """The numbers a matplotlib figure draws, read from its artists (not from the code that drew
    it), per visible axes in order: title, axis labels, tick labels, and

    - ``lines``: each ``Line2D``'s label and ``x``/``y`` data;
    - ``bars``: each bar container's label, orientation and every rectangle's ``x``, ``y``,
      ``width``, ``height`` (a vertical bar's value is its height, a horizontal one's its width);
    - ``stairs``: each step histogram's label, ``values`` and ``edges``;
    - ``collections``: each other collection's label and point offsets (scatter points);
    - ``images``: each image's array (a heatmap's cells), NaN as None;
    - ``texts``: the strings written in the axes.

    ``save_figure`` writes it beside the PNG, so a test compares a figure with the results file
    behind it instead of trusting the picture's file size.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [2.5, 3.0], label="f1"); _ = ax.bar(["a", "b"], [4.0, 5.0], label="n")
    >>> d = figure_data(fig)["axes"][0]
    >>> d["lines"], [r["height"] for r in d["bars"][0]["rects"]]
    ([{'label': 'f1', 'x': [0.0, 1.0], 'y': [2.5, 3.0]}], [4.0, 5.0])
    >>> plt.close(fig)
    """
    from matplotlib.collections import PathCollection
    from matplotlib.container import BarContainer
    from matplotlib.patches import StepPatch

    def floats(values) -> list:
        """Numbers as floats (masked as NaN); categories (a categorical axis's strings) as strings."""
        arr = np.ma.asarray(values)
        if arr.dtype.kind not in "biuf":
            return [str(v) for v in np.asarray(values, dtype=object).ravel()]
        return [float(v) for v in np.ma.filled(arr.astype(float), np.nan).ravel()]

    out = []
    for ax in (a for a in fig.axes if a.get_visible()):  # a grid's unused axes are hidden
        bars = [{"label": _label(c), "orientation": getattr(c, "orientation", None) or "vertical",
                 "rects": [{k: float(v) for k, v in zip(("x", "y", "width", "height"),
                                                      (r.get_x(), r.get_y(), r.get_width(), r.get_height()))}
                           for r in c.patches]}
                for c in ax.containers if isinstance(c, BarContainer)]
        stairs = [{"label": _label(p), "values": floats(p.get_data().values), "edges": floats(p.get_data().edges)}
                  for p in ax.patches if isinstance(p, StepPatch)]
        collections = [{"label": _label(c), "offsets": np.asarray(c.get_offsets(), dtype=float).tolist()}
                       for c in ax.collections if isinstance(c, PathCollection)]
        out.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                    "xticklabels": [t.get_text() for t in ax.get_xticklabels()],
                    "yticklabels": [t.get_text() for t in ax.get_yticklabels()],
                    "lines": [{"label": _label(ln), "x": floats(ln.get_xdata()), "y": floats(ln.get_ydata())}
                              for ln in ax.get_lines()],
                    "bars": bars, "stairs": stairs, "collections": collections,
                    "images": [np.ma.filled(np.ma.asarray(im.get_array(), dtype=float), np.nan).tolist()
                               for im in ax.get_images()],
                    "texts": [t.get_text() for t in ax.texts]})
    return {"axes": out}


def save_figure(fig, profile: str, name: str, dpi: int = 110) -> Path:
    """Write ``figures/<profile>/<name>.png`` without metadata (byte-stable reruns) and, beside
    it, ``<name>.json``: the numbers it draws (``figure_data``), sorted and rounded like a results
    file. Returns the PNG's path relative to the repository root."""
    path = paths.figures_dir(profile) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})  # draws: tick labels are set
    path.with_suffix(".json").write_text(
        json.dumps(rounded(figure_data(fig)), sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths.relative(path)


def load_figure_data(profile: str, name: str) -> dict:
    """The numbers behind ``figures/<profile>/<name>.png`` (``figure_data``, as ``save_figure`` wrote them)."""
    return json.loads((paths.figures_dir(profile) / f"{name}.json").read_text(encoding="utf-8"))


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
