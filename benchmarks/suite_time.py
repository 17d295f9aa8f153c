"""Wall time of ``make test``'s suite (goal: at most 10 minutes on 2 idle cores), and where it goes.

    python benchmarks/suite_time.py [--goal-min 10] [-- extra pytest args]

Runs ``make test`` itself (two workers, ``--dist loadfile``; the venv check included) with every
test's duration recorded (``PYTEST_ARGS``), then prints the wall time against the goal, the files
by the time their tests took (a file runs whole on one worker, so the longest file bounds the
wall time from below), and the ten longest setups and calls. Needs nothing set up (``make test``
makes the venv when missing); writes nothing in the repository. Run it on an idle machine: beside other jobs the numbers are inflated, say so when
reporting them.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)$")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--goal-min", type=float, default=10.0)
    ap.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    a = ap.parse_args(argv)
    extra = " ".join(["--durations=0", "--durations-min=0", "-q", "-p", "no:cacheprovider", *a.pytest_args])
    start = time.perf_counter()
    out = subprocess.run(["make", "test", f"PYTEST_ARGS={extra}"], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    workers = 2  # make test's -n 2
    lines = out.stdout.splitlines()
    by_file: dict[str, float] = defaultdict(float)
    rows = []
    for line in lines:
        m = DURATION.match(line.strip())
        if m:
            seconds, phase, nodeid = float(m[1]), m[2], m[3]
            by_file[nodeid.split("::")[0]] += seconds
            rows.append((seconds, phase, nodeid))
    summary = next((ln for ln in reversed(lines) if " in " in ln and ("passed" in ln or "failed" in ln)), "")
    print(f"pytest exit code {out.returncode}: {summary.strip('= ')}")
    print(f"wall time {wall / 60:.1f} min on {workers} workers (goal <= {a.goal_min:g}): "
          f"{'met' if wall <= 60 * a.goal_min else 'MISSED'}")
    total = sum(by_file.values())
    print(f"test time summed over files {total / 60:.1f} min (/ {workers} workers = "
          f"{total / 60 / workers:.1f} min, the bound a perfect split would give)")
    print("files by their tests' time (a file runs whole on one worker):")
    for path, seconds in sorted(by_file.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {seconds / 60:5.1f} min  {path}")
    print("longest setups and calls:")
    for seconds, phase, nodeid in sorted(rows, reverse=True)[:10]:
        print(f"  {seconds:6.1f} s  {phase:5}  {nodeid}")
    return out.returncode


if __name__ == "__main__":
    raise SystemExit(main())
