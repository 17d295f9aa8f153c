"""ProfileBench record format: one user per JSONL line, heterogeneous and mostly optional.

A record is what a teacher sees of a user. Only ``user_id`` is required; every other field may
be missing or null, as on a real platform. Gold labels never live in a record: they are in a
file of their own (see ``confprofile.evaluation.gold_labels``).

Fields (types as JSON):

====================  ==========================================================  =========
field                 type                                                        example
====================  ==========================================================  =========
user_id               string, unique in its file                                  "u00017"
nickname              string                                                      "xiaoyu"
bio                   string                                                      "nurse, night owl"
posts                 list of {title: string, tags: list of string,              ...
                      rating: number}
watch_history         list of {category: string, title: string,                  ...
                      watch_ratio: number in [0, 1], rating: number}
comments              list of string
searches              list of string
follows               list of string (account names)
device                string                                                      "iPhone 15 Pro"
location              {province: string or null, city_tier: string or null}       ...
activity_hours        list of 24 non-negative integers (sessions per hour of day)
====================  ==========================================================  =========

``rating`` is optional on every item: a number the user gave (stars, a score), rendered as
``(rated 4.5)``; ``watch_ratio`` is only for how much of a video was watched.

Unknown extra fields are kept and rendered as ``key: value`` so converted datasets lose
nothing. Validation errors name the file, line and field:

>>> validate_record({"user_id": "u1", "posts": [{"title": 3}]}, "users.jsonl", 7)
Traceback (most recent call last):
...
confprofile.errors.RecordError: users.jsonl:7: field 'posts[0].title': expected a string, got int
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import paths
from confprofile.errors import ConfProfileError, RecordError
from confprofile.files import atomic_path, locked

LIST_OF_STR = ("comments", "searches", "follows")
OPTIONAL_STR = ("nickname", "bio", "device")
KNOWN_FIELDS = ("user_id", *OPTIONAL_STR, "posts", "watch_history", *LIST_OF_STR, "location", "activity_hours")


def _type(v: object) -> str:
    return type(v).__name__ if v is not None else "null"


def validate_record(rec: object, path: str | Path = "<record>", line: int | None = None) -> dict:
    """Check one record against the format; return it unchanged or raise ``RecordError``."""

    def fail(field: str | None, problem: str) -> RecordError:
        return RecordError(path, line, field, problem)

    def want_str(v: object, field: str) -> None:
        if not isinstance(v, str):
            raise fail(field, f"expected a string, got {_type(v)}")

    def want_list(v: object, field: str) -> list:
        if not isinstance(v, list):
            raise fail(field, f"expected a list, got {_type(v)}")
        return v

    def want_rating(item: dict, field: str) -> None:
        r = item.get("rating")
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float))):
            raise fail(f"{field}.rating", f"expected a number, got {r!r}")

    if not isinstance(rec, dict):
        raise fail(None, f"expected a JSON object, got {_type(rec)}")
    if "user_id" not in rec:
        raise fail("user_id", "missing (every record needs one)")
    if not isinstance(rec["user_id"], str) or not rec["user_id"].strip():
        raise fail("user_id", "expected a non-empty string")
    for f in OPTIONAL_STR:
        if rec.get(f) is not None:
            want_str(rec[f], f)
    for f in LIST_OF_STR:
        if rec.get(f) is not None:
            for i, v in enumerate(want_list(rec[f], f)):
                want_str(v, f"{f}[{i}]")
    if rec.get("posts") is not None:
        for i, p in enumerate(want_list(rec["posts"], "posts")):
            if not isinstance(p, dict):
                raise fail(f"posts[{i}]", f"expected an object, got {_type(p)}")
            want_str(p.get("title"), f"posts[{i}].title")
            want_rating(p, f"posts[{i}]")
            for j, t in enumerate(want_list(p.get("tags", []), f"posts[{i}].tags")):
                want_str(t, f"posts[{i}].tags[{j}]")
    if rec.get("watch_history") is not None:
        for i, w in enumerate(want_list(rec["watch_history"], "watch_history")):
            if not isinstance(w, dict):
                raise fail(f"watch_history[{i}]", f"expected an object, got {_type(w)}")
            want_str(w.get("category"), f"watch_history[{i}].category")
            if w.get("title") is not None:
                want_str(w["title"], f"watch_history[{i}].title")
            want_rating(w, f"watch_history[{i}]")
            r = w.get("watch_ratio")
            if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1):
                raise fail(f"watch_history[{i}].watch_ratio", f"expected a number in [0, 1], got {r!r}")
    if rec.get("location") is not None:
        loc = rec["location"]
        if not isinstance(loc, dict):
            raise fail("location", f"expected an object, got {_type(loc)}")
        for k in ("province", "city_tier"):
            if loc.get(k) is not None:
                want_str(loc[k], f"location.{k}")
    if rec.get("activity_hours") is not None:
        hours = want_list(rec["activity_hours"], "activity_hours")
        if len(hours) != 24 or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 0 for h in hours):
            raise fail("activity_hours", "expected 24 non-negative integers")
    return rec


def read_jsonl(path: str | Path) -> Iterable[tuple[int, object]]:
    """Yield ``(line_number, parsed_object)``; blank lines are skipped, bad JSON is named."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(path, None, None, "file not found")
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise RecordError(path, n, None, f"not valid UTF-8 (byte {e.start + 1} of the line)") from None
            if not text.strip():
                continue
            try:
                yield n, json.loads(text)
            except json.JSONDecodeError as e:
                raise RecordError(path, n, None, f"not valid JSON ({e.msg} at column {e.colno})") from None


def read_records(path: str | Path) -> list[dict]:
    """Load and validate a record file; duplicate ``user_id`` values and an empty file are errors."""
    seen: dict[str, int] = {}
    out = []
    for n, obj in read_jsonl(path):
        rec = validate_record(obj, path, n)
        uid = rec["user_id"]
        if uid in seen:
            raise RecordError(path, n, "user_id", f"duplicate '{uid}' (first on line {seen[uid]})")
        seen[uid] = n
        out.append(rec)
    if not out:
        raise RecordError(path, None, None, "no records (the file is empty)")
    return out


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    """Write rows as JSONL with sorted keys, so equal data gives equal bytes."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
    return path


MAX_RECORD_CHARS = 2400
"""How much of a rendered record a teacher sees (the prompt's one bound on record length)."""

MAX_ITEMS = 8
"""Items per list field a teacher sees by default (a profile's ``teacher_max_items``)."""


def _hours_summary(hours: list[int]) -> str:
    total = sum(hours)
    if not total:
        return "no activity recorded"
    top = sorted(range(24), key=lambda h: (-hours[h], h))[:3]
    night = sum(hours[h] for h in (0, 1, 2, 3, 4, 5)) / total
    return f"most active at {', '.join(f'{h:02d}h' for h in sorted(top))}; {night:.0%} of sessions 00-06h"


def _rated(item: dict) -> str:
    r = item.get("rating")
    return "" if r is None else f" (rated {r:g})"


def render_record(rec: dict, max_items: int = MAX_ITEMS, max_chars: int = MAX_RECORD_CHARS) -> str:
    """The record as a teacher reads it: labelled sections, long lists cut to ``max_items``.

    Truncation is stated in the text (``... (+3 more)``) so a model knows evidence was cut.

    >>> print(render_record({"user_id": "u1", "bio": "nurse", "searches": ["a", "b", "c"]}, max_items=2))
    User u1
    Bio: nurse
    Searches: a | b ... (+1 more)
    >>> print(render_record({"user_id": "u2", "watch_history": [{"category": "film", "title": "Heat", "rating": 4.5}]}))
    User u2
    Watched: film: Heat (rated 4.5)
    """

    def cut(items: list[str]) -> str:
        shown = " | ".join(items[:max_items])
        return shown + (f" ... (+{len(items) - max_items} more)" if len(items) > max_items else "")

    lines = [f"User {rec['user_id']}"]
    if rec.get("nickname"):
        lines.append(f"Nickname: {rec['nickname']}")
    if rec.get("bio"):
        lines.append(f"Bio: {rec['bio']}")
    if rec.get("posts"):
        lines.append("Posted videos: " + cut([
            p["title"] + (f" [{', '.join('#' + t for t in p.get('tags', []))}]" if p.get("tags") else "") + _rated(p)
            for p in rec["posts"]]))
    if rec.get("watch_history"):
        lines.append("Watched: " + cut([
            f"{w['category']}" + (f": {w['title']}" if w.get("title") else "")
            + (f" ({w['watch_ratio']:.0%} watched)" if w.get("watch_ratio") is not None else "") + _rated(w)
            for w in rec["watch_history"]]))
    if rec.get("comments"):
        lines.append("Comments: " + cut([f'"{c}"' for c in rec["comments"]]))
    if rec.get("searches"):
        lines.append("Searches: " + cut(rec["searches"]))
    if rec.get("follows"):
        lines.append("Follows: " + cut(rec["follows"]))
    if rec.get("device"):
        lines.append(f"Device: {rec['device']}")
    loc = rec.get("location") or {}
    if loc.get("province") or loc.get("city_tier"):
        lines.append("Location: " + ", ".join(x for x in (loc.get("province"), loc.get("city_tier")) if x))
    if rec.get("activity_hours"):
        lines.append("Activity: " + _hours_summary(rec["activity_hours"]))
    for k in sorted(set(rec) - set(KNOWN_FIELDS)):
        if isinstance(rec[k], (str, int, float)) and not isinstance(rec[k], bool):
            lines.append(f"{k}: {rec[k]}")
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n[record truncated at {max_chars} characters]"
    return text


def _present(value: object) -> bool:
    return value not in (None, "", [], {})


def field_stats(records: list[dict]) -> dict[str, dict[str, float]]:
    """Per field: share of users that have it, and mean length when present.

    Length is the number of items for list fields and characters for text fields.

    >>> field_stats([{"user_id": "a", "bio": "hi"}, {"user_id": "b", "comments": ["x", "y"]}])["bio"]
    {'coverage': 0.5, 'mean_length': 2.0}
    """
    out = {}
    n = max(len(records), 1)
    for f in KNOWN_FIELDS[1:]:
        vals = [r[f] for r in records if _present(r.get(f))]
        lengths = [len(v) if isinstance(v, (str, list)) else 1 for v in vals]
        out[f] = {"coverage": len(vals) / n, "mean_length": sum(lengths) / len(lengths) if lengths else 0.0}
    return out


ANNOTATION_TYPES = {"user_id": "str", "attribute": "str", "teacher": "str", "sample": "int", "label": "str or None",
                    "confidence": "float", "rationale": "str", "ok": "bool", "error": "str or None"}
"""The annotation table's columns (``parsing.ANNOTATION_COLUMNS``, in order) and their types
(docs/CONTRACTS.md); ``check_annotation_table`` enforces them."""

ANNOTATION_KEY = ("user_id", "attribute", "teacher", "sample")
"""What names one row of the annotation table: no two rows share it."""


class AnnotationTableError(ConfProfileError, ValueError):
    """An annotation table breaks its contract: one line naming the file, the row (1-based,
    the header not counted) and the column, e.g. ``answers.csv: row 3, column 'label': ...``."""

    def __init__(self, path: str | Path, row: int | None, column: str | None, problem: str):
        self.path, self.row, self.column, self.problem = str(path), row, column, problem
        where = ", ".join(([f"row {row}"] if row is not None else []) + ([f"column '{column}'"] if column else []))
        super().__init__(f"{self.path}: {where + ': ' if where else ''}{problem}")


def _show(v: object) -> str:
    """A cell as an error message shows it: ``null`` for None, NaN and NA, else its repr."""
    return "null" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else repr(v)


def _first(mask: pd.Series) -> int | None:
    """The 1-based position of the first True in ``mask``, or None."""
    hits = mask.to_numpy(dtype=bool).nonzero()[0]
    return int(hits[0]) + 1 if len(hits) else None


def check_annotation_table(df: pd.DataFrame, where: str | Path = "annotation table") -> pd.DataFrame:
    """Check ``df`` against the annotation table's contract (``ANNOTATION_TYPES``: every column
    there, each value of its type, confidences in [0, 1] or NaN, no two rows with one
    ``ANNOTATION_KEY``); return it unchanged or raise ``AnnotationTableError`` on the first
    problem. Labels are not checked against a taxonomy here (``confprofile.annotations`` does).

    >>> row = {"user_id": "u1", "attribute": "age", "teacher": "a", "sample": 0, "label": "18_24",
    ...        "confidence": 0.8, "rationale": "", "ok": True, "error": None}
    >>> len(check_annotation_table(pd.DataFrame([row, {**row, "sample": 1}])))
    2
    >>> check_annotation_table(pd.DataFrame([row, {**row, "confidence": 1.2}]), "t.parquet")
    Traceback (most recent call last):
    ...
    confprofile.records.AnnotationTableError: t.parquet: row 2, column 'confidence': 1.2 is outside [0, 1]
    """
    missing = [c for c in ANNOTATION_TYPES if c not in df.columns]
    if missing:
        raise AnnotationTableError(where, None, None, f"missing column(s) {', '.join(missing)} "
                                                      f"(an annotation table has {', '.join(ANNOTATION_TYPES)})")
    problems = []  # (row, column order, column, problem): the first row's first column is reported
    for order, (col, kind) in enumerate(ANNOTATION_TYPES.items()):
        s = df[col]
        if kind == "bool" and s.dtype == bool:
            continue
        if kind in ("str", "str or None"):
            bad = ~s.map(lambda v: isinstance(v, str) and (v.strip() != "" or col in ("rationale", "label", "error"))
                         or (kind == "str or None" and (v is None or v is pd.NA or v != v))).astype(bool)
            want = "a non-empty string" if col in ANNOTATION_KEY else f"a string{' or null' if 'None' in kind else ''}"
        elif kind == "int":
            if pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s):
                bad = s.isna() | (s.fillna(0) < 0)
            elif s.dtype == object:
                bad = ~s.map(lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0).astype(bool)
            else:
                raise AnnotationTableError(where, None, col, f"expected whole numbers >= 0 (an integer column), got {s.dtype}")
            want = "a whole number >= 0"
        elif kind == "float":
            if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                r = _first(~s.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)).astype(bool))
                raise AnnotationTableError(where, r, col, f"expected a number in [0, 1] or NaN, got {_show(s.iloc[r - 1])}"
                                           if r else f"expected a number column, got {s.dtype}")
            bad = s.notna() & ~s.between(0.0, 1.0)
            r = _first(bad)
            if r:
                problems.append((r, order, col, f"{float(s.iloc[r - 1])!r} is outside [0, 1]"))
            continue
        else:  # bool
            bad = ~s.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
            want = "true or false"
        r = _first(bad)
        if r:
            problems.append((r, order, col, f"expected {want}, got {_show(s.iloc[r - 1])}"))
    if problems:
        r, _, col, problem = min(problems)
        raise AnnotationTableError(where, r, col, problem)
    keys = df[list(ANNOTATION_KEY)].reset_index(drop=True)
    r = _first(keys.duplicated(keep="first"))
    if r:
        k = tuple(keys.iloc[r - 1])
        orig = _first((keys == pd.Series(k, index=keys.columns)).all(axis=1))
        raise AnnotationTableError(where, r, "sample", f"duplicate of row {orig} (user {k[0]!r}, attribute {k[1]!r}, "
                                                       f"teacher {k[2]!r}, sample {k[3]})")
    return df


def save_annotations(df: pd.DataFrame, profile: str, split: str) -> Path:
    """Write the annotation table (docs/CONTRACTS.md) to ``runs/<profile>/synthesis/<split>.parquet``
    atomically (a temporary file of its own, then ``os.replace``); returns the path. To merge
    into the table, hold ``annotations_lock`` from the read to this write. The table is checked
    first (``check_annotation_table``): a table that breaks the contract is never written."""
    path = paths.annotations_path(profile, split)
    check_annotation_table(df, f"annotation table for {path}")
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return path


def annotations_lock(profile: str, split: str, waiting: bool = True):
    """A context manager: the lock of a split's annotation table (``runs/<profile>/synthesis/
    <split>.lock``), held by every read-merge-write of the table; a second run waits, saying so
    on stderr."""
    path = paths.annotations_path(profile, split)
    lock = path.with_suffix(".lock")
    return locked(lock, f"waiting for another run writing {path.name} of profile '{profile}' "
                        f"(lock {lock})" if waiting else None)


class MissingTableError(RecordError, FileNotFoundError):
    """A table an earlier stage writes is not there yet: a one-line error (``run_cli``) that is
    also a ``FileNotFoundError``, for code that caught one before."""


def load_annotations(profile: str, split: str) -> pd.DataFrame:
    """The annotation table saved by ``save_annotations`` (written by label synthesis); a
    ``MissingTableError`` naming the file and the command that writes it if there is none."""
    path = paths.annotations_path(profile, split)
    if not path.is_file():
        raise MissingTableError(path, None, None,
                                "no annotation table (run notebook 02 or python -m confprofile.synthesis)")
    return pd.read_parquet(path)
