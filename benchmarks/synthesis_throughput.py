"""Throughput of the CPU teachers on the smoke data: users/s per teacher (cold cache), and the
warm-cache rerun time as a fraction of the cold run.

    python benchmarks/synthesis_throughput.py [--profile smoke] [--split pool] [--samples 5]

Builds the benchmark data first if it is missing (``confprofile.bench``). Writes only into a
temporary cache folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from confprofile import paths# noqa: E402
from confprofile.records import read_records  # noqa: E402
from confprofile.synthesis import build_teachers, synthesize  # noqa: E402
from confprofile.taxonomy import load_taxonomy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--split", default="pool")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--teachers", default="lexicon,heuristic,embedding,knowledge")
    args = ap.parse_args()
    path = paths.records_path(args.profile, args.split)
    if not path.exists():
        from confprofile.bench import build_benchmark  # data only; teachers never see bench internals
        from confprofile.params import load_params
        p = load_params(args.profile)
        build_benchmark(args.profile, p["n_pool"], p["n_test"], p["seed"])
    records = read_records(path)
    tax = load_taxonomy()
    print(f"{len(records)} users ({args.profile}/{args.split}), {args.samples} samples, {os.cpu_count()} CPUs")
    print(f"{'teacher':<10} {'cold s':>8} {'users/s':>9} {'warm s':>8} {'warm/cold':>10}")
    for teacher in build_teachers(args.teachers.split(","), tax):
        cache = tempfile.mkdtemp(prefix="synth-bench-")
        if hasattr(teacher, "_load"):
            teacher._load()  # model loading is a one-off, not throughput
        t0 = time.perf_counter()
        synthesize(records, tax, [teacher], n_samples=args.samples, temperature=0.7, seed=0, cache_dir=cache,
                   progress=False)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        synthesize(records, tax, [teacher], n_samples=args.samples, temperature=0.7, seed=0, cache_dir=cache,
                   progress=False)
        warm = time.perf_counter() - t0
        n = len(records) if teacher.max_users is None else min(len(records), teacher.max_users)
        print(f"{teacher.name:<10} {cold:8.2f} {n / cold:9.1f} {warm:8.2f} {warm / cold:10.2f}")


if __name__ == "__main__":
    main()
