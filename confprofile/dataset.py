"""A profile's data in the one place every stage reads it: ``runs/<profile>/data/``.

A profile without ``data`` gets ProfileBench-Synth, generated (``bench.build_benchmark``); a
profile with ``data`` (``{pool: file, test: file}``) gets its own records, validated line by line
(``records.read_records``: a bad line is a one-line error naming file, line and field) and copied
there, and its ``gold`` files, if it names any, copied beside them under ``gold/``. Gold files a
profile no longer names are removed, so no stage scores against stale labels. Nothing else in
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
from confprofile.errors import ParamsError, run_cli
from confprofile.params import load_params

SPLITS = ("pool", "test")


def import_data(profile: str, data: Mapping[str, str], gold: Mapping[str, str | None] | None = None) -> dict[str, Path]:
    """Validate a profile's own records and copy them, and any gold files, to ``runs/<profile>/data``.

    Returns the written paths: ``pool``, ``test`` and ``gold_<split>`` for each gold file given.
    """
    missing = [s for s in SPLITS if not data.get(s)]
    if missing:
        raise ParamsError(f"profile '{profile}': field 'data' needs a records file for {' and '.join(missing)}")
    out: dict[str, Path] = {}
    ids: dict[str, set[str]] = {}
    for split in SPLITS:
        recs = records.read_records(data[split])
        ids[split] = {r["user_id"] for r in recs}
        out[split] = records.write_jsonl(paths.records_path(profile, split), recs)
    both = ids["pool"] & ids["test"]
    if both:
        raise ParamsError(f"{data['test']}: user_id {sorted(both)[0]!r} (and {len(both) - 1} more) also in the pool "
                          f"{data['pool']}; the test users must be apart")
    gold = {s: f for s, f in (gold or {}).items() if f}
    for split in SPLITS:
        dest = paths.gold_path(profile, split)
        if split in gold:
            if not Path(gold[split]).is_file():
                raise ParamsError(f"{gold[split]}: gold file for split '{split}' not found")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(gold[split], dest)  # validated against the taxonomy where it is read (evaluate.read_gold)
            out[f"gold_{split}"] = dest
        else:
            dest.unlink(missing_ok=True)
    return out


def prepare_data(profile: str, *, data: Mapping[str, str] | None = None, gold: Mapping[str, str] | None = None,
                 n_pool: int = 0, n_test: int = 0, seed: int = 0, taxonomy_file: str | None = None) -> dict[str, Path]:
    """Notebook 01's first step: the profile's own data (``data`` given) or the built-in benchmark."""
    if data:
        return import_data(profile, data, gold)
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
