"""A profile's data in the one place every stage reads it: ``runs/<profile>/data/``.

A profile without ``data`` gets ProfileBench-Synth, generated (``bench.build_benchmark``); a
profile with ``data`` (``{pool: file, test: file}``) gets its own records, validated line by line
(``records.read_records``: a bad line is a one-line error naming file, line and field) and copied
there, and its ``gold`` files, if it names any, checked against the taxonomy (``check_gold``)
and copied beside them under ``gold/``. Everything is checked before anything is written, and
each file is replaced whole, so a bad file leaves the last good run's data as it was. Gold files
a profile no longer names are removed, so no stage scores against stale labels. Nothing else in
the pipeline knows where the data came from.

    python -m confprofile.dataset --profile examples/own_data/own_data.yaml

>>> import json, os, tempfile
>>> d = tempfile.mkdtemp(); os.environ["CONFPROFILE_ROOT"] = d
>>> for split in ("pool", "test"):
...     _ = records.write_jsonl(f"{d}/{split}.jsonl", [{"user_id": f"{split}1", "bio": "hi"}])
>>> sorted(prepare_data("mine", data={"pool": f"{d}/pool.jsonl", "test": f"{d}/test.jsonl"}))
['pool', 'test']
>>> del os.environ["CONFPROFILE_ROOT"]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from confprofile import bench, paths, records
from confprofile.errors import ParamsError, RecordError, run_cli
from confprofile.files import atomic_path
from confprofile.params import load_params
from confprofile.taxonomy import Taxonomy, load_taxonomy

SPLITS = ("pool", "test")


def import_data(profile: str, data: Mapping[str, str], gold: Mapping[str, str | None] | None = None,
                taxonomy_file: str | None = None) -> dict[str, Path]:
    """Validate a profile's own records and copy them, and any gold files, to ``runs/<profile>/data``.

    Everything is checked before anything is written, so a bad file leaves the files of the
    last good run as they were: the taxonomy (``taxonomy_file``; None: the built-in), every
    record of both splits (``records.read_records``: format, duplicate user ids), that no test
    user is in the pool, and each gold file (``check_gold``). Then each file is written whole
    (a temporary file, then ``os.replace``), and gold files the profile no longer names are
    removed. Returns the written paths: ``pool``, ``test`` and ``gold_<split>`` per gold file.
    """
    missing = [s for s in SPLITS if not data.get(s)]
    if missing:
        raise ParamsError(f"profile '{profile}': field 'data' needs a records file for {' and '.join(missing)}")
    gold = {s: f for s, f in (gold or {}).items() if f}
    unknown = sorted(set(gold) - set(SPLITS))
    if unknown:
        raise ParamsError(f"profile '{profile}': field 'gold': split '{unknown[0]}' is not one of {', '.join(SPLITS)}")
    taxonomy = load_taxonomy(taxonomy_file)
    recs = {split: records.read_records(data[split]) for split in SPLITS}
    check_apart(data["pool"], recs["pool"], data["test"])
    for split, path in gold.items():
        check_gold(path, taxonomy, {r["user_id"] for r in recs[split]}, split)
    out: dict[str, Path] = {split: records.write_jsonl(paths.records_path(profile, split), recs[split])
                            for split in SPLITS}
    for split in SPLITS:
        dest = paths.gold_path(profile, split)
        if split in gold:
            with atomic_path(dest) as tmp:
                shutil.copyfile(gold[split], tmp)
            out[f"gold_{split}"] = dest
        else:
            dest.unlink(missing_ok=True)
    return out


def check_apart(pool_path: str | Path, pool: Sequence[dict], test_path: str | Path) -> None:
    """No test user may be in the pool: the first one that is, by its line in the test file,
    is a ``RecordError``."""
    in_pool = {r["user_id"] for r in pool}
    both = [(n, obj["user_id"]) for n, obj in records.read_jsonl(test_path) if obj["user_id"] in in_pool]
    if both:
        n, uid = both[0]
        more = f" (and {len(both) - 1} more)" if len(both) > 1 else ""
        raise RecordError(test_path, n, "user_id", f"'{uid}'{more} also in the pool {pool_path}; "
                                                    "the test users must be apart")


def check_gold(path: str | Path, taxonomy: Taxonomy, users: set[str], split: str) -> int:
    """Check a gold file against the taxonomy and its split's users; returns its line count.

    One object per line: ``{"user_id", "labels": {attribute: label}, "clues": {...}}``. Gaps
    are allowed (an attribute left out, or null: that pair is not scored); an attribute or a
    label the taxonomy lacks, a user twice, or a user the split's records lack is an error
    naming the file, line and field.

    >>> import tempfile
    >>> from confprofile.taxonomy import load_taxonomy
    >>> f = Path(tempfile.mkdtemp()) / "gold.jsonl"
    >>> _ = f.write_text('{"user_id": "u1", "labels": {"gender": "female", "age": null}}\\n'
    ...                  '{"user_id": "u2", "labels": {"gender": "robot"}}\\n')
    >>> check_gold(f, load_taxonomy(), {"u1", "u2"}, "test")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    confprofile.errors.RecordError: ...gold.jsonl:2: field 'labels.gender': 'robot' is not a label of 'gender' (female, male)
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: gold file for split '{split}' not found")
    seen: dict[str, int] = {}
    n_lines = 0
    for n, obj in records.read_jsonl(path):
        n_lines += 1
        if not isinstance(obj, dict) or not isinstance(obj.get("user_id"), str):
            raise RecordError(path, n, "user_id", "expected an object with a string user_id")
        uid = obj["user_id"]
        if uid in seen:
            raise RecordError(path, n, "user_id", f"duplicate '{uid}' (first on line {seen[uid]})")
        seen[uid] = n
        if uid not in users:
            raise RecordError(path, n, "user_id", f"'{uid}' is not a user of the {split} records")
        labels = obj.get("labels")
        if not isinstance(labels, dict):
            raise RecordError(path, n, "labels", "expected an object mapping attribute to label")
        for attr, label in labels.items():
            if attr not in taxonomy.names:
                raise RecordError(path, n, f"labels.{attr}",
                                  f"'{attr}' is not an attribute of the taxonomy ({', '.join(taxonomy.names)})")
            if label is not None and label not in taxonomy[attr].labels:
                raise RecordError(path, n, f"labels.{attr}",
                                  f"{label!r} is not a label of '{attr}' ({', '.join(taxonomy[attr].labels)})")
    return n_lines


def prepare_data(profile: str, *, data: Mapping[str, str] | None = None, gold: Mapping[str, str] | None = None,
                 n_pool: int = 0, n_test: int = 0, seed: int = 0, taxonomy_file: str | None = None) -> dict[str, Path]:
    """Notebook 01's first step: the profile's own data (``data`` given) or the built-in benchmark."""
    if data:
        return import_data(profile, data, gold, taxonomy_file)
    return bench.build_benchmark(profile, n_pool=n_pool, n_test=n_test, seed=seed, taxonomy_path=taxonomy_file)


def has_gold(profile: str, split: str = "test") -> bool:
    """Whether a split has gold labels (evaluation cells skip, saying so, where it has none)."""
    return paths.gold_path(profile, split).is_file()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m confprofile.dataset", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Put a profile's data where every stage reads it.\n\n"
                    "Reads:  the profile's data files ({pool, test} records JSONL) and gold files (optional);\n"
                    "        without data, nothing: ProfileBench-Synth is generated (n_pool, n_test, seed).\n"
                    "Writes: runs/<profile>/data/{pool,test}.jsonl and runs/<profile>/data/gold/<split>.jsonl.")
    ap.add_argument("--profile", required=True, metavar="NAME|PATH", help="smoke, cpu, gpu or a profile file")
    args = ap.parse_args(argv)
    p = load_params(args.profile)
    written = prepare_data(p["profile"], data=p.get("data"), gold=p.get("gold"), n_pool=p["n_pool"],
                           n_test=p["n_test"], seed=p["seed"], taxonomy_file=p.get("taxonomy_file"))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
