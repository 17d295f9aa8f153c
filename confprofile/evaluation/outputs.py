"""A profile's scoreable outputs, by name: the vote command's pseudo-label file and the saved
prediction tables of notebooks 04 and 05, each checked to have rows and the columns scoring
needs (what ``python -m confprofile.evaluation`` scores).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from confprofile import paths
from confprofile.errors import RecordError
from confprofile.records import read_jsonl


PREDICTION_PREFIX = "predictions/"
"""``saved_outputs`` names a prediction table ``predictions/<model>`` (its file under ``runs/<p>/``),
so 04's ``predictions/pseudo_labels`` and the vote command's ``pseudo_labels`` stay two names."""


def saved_output_files(profile: str, split: str = "test") -> dict[str, Path]:
    """The files ``saved_outputs`` reads, by the same names."""
    out = {}
    pl = paths.pseudo_labels_path(profile, split)
    if pl.is_file():
        out["pseudo_labels"] = pl
    if split == "test":
        for f in sorted(paths.predictions_path(profile, "x").parent.glob("*.parquet")):
            out[PREDICTION_PREFIX + f.stem] = f
    return out


def read_output(path: str | Path) -> pd.DataFrame:
    """One scoreable output: pseudo-label records (``.jsonl``, as a vote table) or a prediction or
    vote table (``.parquet``), checked to have rows and the columns scoring needs; a
    ``RecordError`` naming the file otherwise."""
    from confprofile.voting import records_as_votes

    path = Path(path)
    if path.suffix == ".jsonl":
        recs = []
        for n, obj in read_jsonl(path):
            if not isinstance(obj, dict) or not isinstance(obj.get("user_id"), str):
                raise RecordError(path, n, "user_id", "expected an object with a string user_id")
            attrs = obj.get("attributes")
            if not isinstance(attrs, dict) or not all(isinstance(v, dict) for v in attrs.values()):
                raise RecordError(path, n, "attributes",
                                  "expected an object mapping attribute to {label, confidence, kept}")
            recs.append(obj)
        table = records_as_votes(recs)
    else:
        table = pd.read_parquet(path)
    need = ["user_id", "attribute", "label", "confidence"]
    lacks = [c for c in need if c not in table.columns]
    lacks += [] if {"ok", "kept"} & set(table.columns) else ["ok or kept"]
    if lacks:
        has = ", ".join(map(str, table.columns)) or "none"
        raise RecordError(path, None, None, f"not a prediction table: lacks column(s) {', '.join(lacks)} (has {has})")
    if table.empty:
        raise RecordError(path, None, None, "no predictions (the table has no rows)")
    return table


def saved_outputs(profile: str, split: str = "test") -> dict[str, pd.DataFrame]:
    """A profile's scoreable outputs on a split, by name: ``pseudo_labels`` (``confprofile.pseudo_labelling``'s
    file ``runs/<p>/pseudo_labels/<split>.jsonl``, as votes) and ``predictions/<model>``, each
    ``runs/<p>/predictions/<model>.parquet`` (test split only; 04 writes one named
    ``pseudo_labels`` too, a different table). Each is checked by ``read_output``."""
    return {name: read_output(f) for name, f in saved_output_files(profile, split).items()}


def user_overlap(pred: pd.DataFrame, gold: pd.DataFrame) -> dict[str, int]:
    """How a prediction table's users meet gold's: ``matched``; ``missing``, gold users without a
    prediction (scored as misses); ``extra``, predicted users without gold (not scored).

    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> user_overlap(pd.DataFrame({"user_id": ["u", "w", "w"]}), gold)
    {'matched': 1, 'missing': 1, 'extra': 1}
    """
    p, g = set(pred["user_id"]), set(gold["user_id"])
    return {"matched": len(p & g), "missing": len(g - p), "extra": len(p - g)}
