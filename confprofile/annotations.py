"""Bring your own annotations: a table of your teachers' answers as a split's annotation table.

Teachers you ran elsewhere (an LLM service, human annotators, another pipeline) can feed the vote
without ``confprofile.synthesis``: write their answers as a CSV or parquet file in the annotation
table's columns (docs/CONTRACTS.md), and import it:

    python -m confprofile.annotations import --profile examples/own_data/own_data.yaml --split pool answers.csv

Columns (one row per user x attribute x teacher x sample): ``user_id``, ``attribute`` (a name of
the profile's taxonomy), ``teacher`` (a short name), ``sample`` (0, 1, ... per teacher),
``label`` (a label of that attribute, ``unknown`` for an abstention where the taxonomy allows
it, or empty for an answer that failed), ``confidence`` (a number in [0, 1]; required with a
label, ignored without one); optional: ``rationale`` (default ""), ``ok`` (true/false, 1/0,
yes/no; default: whether a label is given), ``error`` (default: "no label" where there is none).

Every row is checked against the taxonomy before anything is written; the first problem is one
line naming the file, the row (counted from 1 after the header) and the column, and the command
exits with status 2 (``errors.run_cli``). Where ``runs/<p>/data/<split>.jsonl`` exists, every
user must be in it. The table is written where ``python -m confprofile.pseudo_labelling`` reads it
(``records.save_annotations``), holding the split's lock; the imported teachers replace their
own rows in a table already there and other teachers' rows stay (``--replace``: the file
becomes the whole table). The vote uses only teachers that answered for every user of the split.

>>> from confprofile.taxonomy import load_taxonomy
>>> df = pd.DataFrame({"user_id": ["u1", "u1"], "attribute": ["gender", "gender"], "teacher": ["a", "b"],
...                    "sample": ["0", "0"], "label": ["female", ""], "confidence": ["0.9", ""]})
>>> validate(df, load_taxonomy(), "answers.csv")[["label", "confidence", "ok", "error"]].to_dict("records")
[{'label': 'female', 'confidence': 0.9, 'ok': True, 'error': None}, {'label': None, 'confidence': nan, 'ok': False, 'error': 'no label'}]
>>> validate(df.assign(label=["female", "woman"]), load_taxonomy(), "answers.csv")
Traceback (most recent call last):
...
confprofile.records.AnnotationTableError: answers.csv: row 2, column 'label': 'woman' is not a label of attribute 'gender' (female, male; or unknown, or empty for a failed answer)
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import paths, records
from confprofile.errors import run_cli
from confprofile.parsing import ANNOTATION_COLUMNS
from confprofile.params import load_params
from confprofile.records import AnnotationTableError
from confprofile.synthesis import merge_teachers
from confprofile.taxonomy import UNKNOWN, Taxonomy, load_taxonomy

REQUIRED = ("user_id", "attribute", "teacher", "sample", "label", "confidence")
OPTIONAL = ("rationale", "ok", "error")
SUFFIXES = (".csv", ".parquet", ".pq")
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}
NO_LABEL = "no label"
"""The ``error`` of an imported row without a label, where the file gives none."""


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (every cell read as text, empty cells as "") or parquet file, by its suffix."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationTableError(path, None, None, "file not found")
    if path.suffix.lower() not in SUFFIXES:
        raise AnnotationTableError(path, None, None, f"expected a {', '.join(SUFFIXES)} file")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as e:  # pandas' and pyarrow's parse errors
        raise AnnotationTableError(path, None, None, f"not readable as {path.suffix[1:]}: "
                                   f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def _missing(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _text(v: object) -> str:
    return "" if _missing(v) else str(v).strip()


def validate(df: pd.DataFrame, taxonomy: Taxonomy, where: str | Path = "annotation table",
             users: set[str] | None = None, users_file: str | Path | None = None) -> pd.DataFrame:
    """Check an imported table against the taxonomy and return it as an annotation table
    (``parsing.ANNOTATION_COLUMNS``, the types ``synthesis`` writes), optional columns filled.

    One ``AnnotationTableError`` for the first problem, by row then column: a missing or unknown
    column; an empty ``user_id`` or ``teacher``; an attribute not in the taxonomy; a ``sample``
    that is not a whole number >= 0; a label outside the attribute's labels (``unknown`` where
    allowed; empty for a failed answer); a confidence that is not a number or outside [0, 1],
    or missing beside a label; an ``ok`` that is not true/false or contradicts the label; two
    rows for one (user, attribute, teacher, sample); a user not in ``users`` (when given; the
    records file ``users_file`` is named in the error).
    """
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise AnnotationTableError(where, None, None, f"missing column(s) {', '.join(missing)} (required: "
                                                      f"{', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})")
    extra = [str(c) for c in df.columns if c not in REQUIRED + OPTIONAL]
    if extra:
        raise AnnotationTableError(where, None, None, f"unknown column(s) {', '.join(extra)} (required: "
                                                      f"{', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})")
    attrs = {a.name: a for a in taxonomy}
    rows = []
    for i, r in enumerate(df.to_dict("records"), start=1):
        def fail(col: str, problem: str) -> AnnotationTableError:
            return AnnotationTableError(where, i, col, problem)

        user, attr_name, teacher = _text(r["user_id"]), _text(r["attribute"]), _text(r["teacher"])
        if not user:
            raise fail("user_id", "empty (every row names a user)")
        if attr_name not in attrs:
            raise fail("attribute", f"unknown attribute {attr_name!r} (taxonomy: {', '.join(attrs)})")
        attr = attrs[attr_name]
        if not teacher:
            raise fail("teacher", "empty (every row names a teacher)")
        sample = r["sample"]
        try:
            s = float(_text(sample)) if isinstance(sample, str) else float(sample)
        except (TypeError, ValueError):
            s = float("nan")
        if isinstance(sample, bool) or not (math.isfinite(s) and s >= 0 and s == int(s)):
            raise fail("sample", f"{sample!r} is not a whole number >= 0")
        label = _text(r["label"])
        if label and not attr.is_valid(label):
            unk = f"; or {UNKNOWN}" if attr.allow_unknown else f" ({UNKNOWN!r} is not allowed here)"
            raise fail("label", f"{label!r} is not a label of attribute {attr_name!r} "
                                f"({', '.join(attr.labels)}{unk}, or empty for a failed answer)")
        ok = bool(label)
        if "ok" in df.columns and not _missing(r["ok"]):
            v = r["ok"]
            flag = v if isinstance(v, (bool, np.bool_)) else {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}.get(
                str(v).strip().lower())
            if flag is None:
                raise fail("ok", f"{v!r} is not true or false")
            if bool(flag) and not label:
                raise fail("ok", "true, but the label is empty (a row without a label is a failed answer)")
            if not bool(flag) and label:
                raise fail("ok", f"false, but the label is {label!r} (a failed answer has an empty label)")
            ok = bool(flag)
        conf = float("nan")
        if ok:
            c = r["confidence"]
            if _missing(c):
                raise fail("confidence", "empty beside a label (a number in [0, 1]; 1.0 where the teacher states none)")
            try:
                conf = float(_text(c)) if isinstance(c, str) else float(c)
            except (TypeError, ValueError):
                raise fail("confidence", f"{c!r} is not a number in [0, 1]") from None
            if isinstance(c, bool) or not 0.0 <= conf <= 1.0:
                raise fail("confidence", f"{c!r} is outside [0, 1]")
        error = _text(r.get("error")) or None
        rows.append({"user_id": user, "attribute": attr_name, "teacher": teacher, "sample": int(s),
                     "label": label or None, "confidence": conf, "rationale": _text(r.get("rationale")),
                     "ok": ok, "error": None if ok else (error or NO_LABEL)})
    out = pd.DataFrame(rows, columns=list(ANNOTATION_COLUMNS))
    out = out.astype({"user_id": "object", "attribute": "object", "teacher": "object", "sample": "int64",
                      "label": "object", "confidence": "float64", "rationale": "object", "ok": "bool",
                      "error": "object"})
    for col in ("label", "error"):
        out[col] = out[col].where(out[col].notna(), None)
    records.check_annotation_table(out, where)  # the duplicate check, and the contract's types
    if users is not None:
        r = records._first(~out["user_id"].isin(users))
        if r:
            raise AnnotationTableError(where, r, "user_id", f"user {out['user_id'].iloc[r - 1]!r} is not in "
                                                            f"{users_file or 'the records'} ({len(users)} users)")
    return out


def record_users(path: str | Path) -> set[str]:
    """The ``user_id`` s of a records file (``records.read_jsonl``; only the ids are read)."""
    return {str(obj.get("user_id")) for _, obj in records.read_jsonl(path) if isinstance(obj, dict)}


def import_annotations(file: str | Path, profile: str, split: str, taxonomy: Taxonomy,
                       replace: bool = False) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """Read, check and write ``file`` as ``profile``'s ``split`` annotation table; returns the
    path written, the imported rows and the whole table. Holds the split's lock from reading
    the old table to writing the new one, so a synthesis run on the same split waits."""
    src = read_table(file)
    rec_path = paths.records_path(profile, split)
    users = record_users(rec_path) if rec_path.is_file() else None
    new = validate(src, taxonomy, file, users, rec_path)
    with records.annotations_lock(profile, split):
        target = paths.annotations_path(profile, split)
        old = None if replace or not target.is_file() else records.load_annotations(profile, split)
        table = merge_teachers(old, new)
        written = records.save_annotations(table, profile, split)
    return written, new, table


_CLI = "\n\n".join(__doc__.split("\n\n")[2:5])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m confprofile.annotations", formatter_class=argparse.RawDescriptionHelpFormatter,
                                 description="Import your own teachers' answers as an annotation table.\n\n" + _CLI)
    sub = ap.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="check a CSV or parquet table and write it where the vote reads it",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Check FILE against the profile's taxonomy and records; write it as "
                                     "runs/<profile>/synthesis/<split>.parquet.\n\n" + _CLI)
    imp.add_argument("file", metavar="FILE", help="a .csv or .parquet table in the annotation table's columns")
    imp.add_argument("--profile", required=True, metavar="NAME|PATH", help="smoke, cpu, gpu or a profile file "
                                                                          "(taxonomy_file names the taxonomy)")
    imp.add_argument("--split", default="pool", help="pool (default) or test")
    imp.add_argument("--replace", action="store_true", help="the file becomes the whole table (default: its "
                                                            "teachers replace their own rows, others stay)")
    args = ap.parse_args(argv)
    p = load_params(args.profile)
    profile, taxonomy = p["profile"], load_taxonomy(p.get("taxonomy_file"))
    written, new, table = import_annotations(args.file, profile, args.split, taxonomy, replace=args.replace)
    n_users = table["user_id"].nunique()
    per = table.groupby("teacher")["user_id"].nunique()
    print(f"imported {len(new)} rows from {args.file} ({new['user_id'].nunique()} users, teachers "
          f"{', '.join(sorted(new['teacher'].unique()))}; {float(new['ok'].mean()):.1%} with a label)")
    partial = [f"{t} ({k} of {n_users} users)" for t, k in per.items() if k < n_users]
    if partial:
        print("note: the vote uses only teachers that answered for every user of the split; not: " + ", ".join(partial),
              file=sys.stderr)
    print(f"wrote {written} ({len(table)} rows; teachers {', '.join(sorted(map(str, table['teacher'].unique())))})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
