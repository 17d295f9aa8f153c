"""``python -m confprofile.evaluation``: score every pseudo-label file and saved prediction table
of a profile against its test gold (``--help`` says what is read), e.g. after
``python -m confprofile.pseudo_labelling``:

    python -m confprofile.evaluation --profile examples/own_data/own_data.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from confprofile import paths
from confprofile.errors import RecordError, run_cli
from confprofile.evaluation.gold_labels import read_gold
from confprofile.evaluation.outputs import read_output, saved_output_files, user_overlap
from confprofile.evaluation.scores import prediction_report


def main(argv: Sequence[str] | None = None) -> int:
    from confprofile.params import load_params
    from confprofile.taxonomy import load_taxonomy

    ap = argparse.ArgumentParser(
        prog="python -m confprofile.evaluation", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score a profile's outputs against its gold labels.\n\n"
                    "Reads:  runs/<profile>/data/gold/<split>.jsonl (gold; without it, says so and exits 0; a user\n"
                    "        may lack a label for some attributes: those pairs are not scored),\n"
                    "        runs/<profile>/pseudo_labels/<split>.jsonl (python -m confprofile.pseudo_labelling; named pseudo_labels)\n"
                    "        and, for the test split, runs/<profile>/predictions/<model>.parquet (notebooks 04 and 05;\n"
                    "        named predictions/<model>).\n"
                    "Writes: nothing, unless --json PATH (the reports as JSON), and only when every table scores.")
    ap.add_argument("--profile", required=True, metavar="NAME|PATH", help="smoke, cpu, gpu or a profile file")
    ap.add_argument("--split", default="test")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the reports here")
    args = ap.parse_args(argv)
    p = load_params(args.profile)
    profile, taxonomy = p["profile"], load_taxonomy(p.get("taxonomy_file"))
    gold_file = paths.gold_path(profile, args.split)
    if not gold_file.is_file():
        print(f"no gold labels at {gold_file}: nothing to evaluate (every label-free output is written without them)")
        return 0
    gold = read_gold(gold_file, taxonomy)
    if gold.empty:
        raise RecordError(gold_file, None, "labels", "no user has a label: nothing to score")
    files = saved_output_files(profile, args.split)
    if not files:
        print(f"nothing to score for {profile}/{args.split}: run python -m confprofile.pseudo_labelling (or notebooks 03-05) first")
        return 1
    outputs = {name: read_output(f) for name, f in files.items()}  # every check before anything is written
    overlap = {name: user_overlap(pred, gold) for name, pred in outputs.items()}
    for name, o in overlap.items():
        if not o["matched"]:
            raise RecordError(files[name], None, "user_id", f"none of its {o['extra']} users has a gold label in "
                              f"{gold_file} (another split or dataset?)")
    n_pairs = gold.attrs.get("n_users", gold["user_id"].nunique()) * len(taxonomy)
    if gold.attrs.get("unscored_pairs"):
        print(f"gold: {gold.attrs['unscored_pairs']} of {n_pairs} (user, attribute) pairs have no label "
              "and are not scored")
    for name, o in overlap.items():
        if o["missing"] or o["extra"]:
            print(f"{name}: {o['missing']} of {o['matched'] + o['missing']} gold users have no prediction (scored as "
                  f"misses); {o['extra']} predicted users have no gold label (not scored)")
    reports = {name: {**prediction_report(pred, gold, taxonomy), "users_missing": overlap[name]["missing"],
                      "users_extra": overlap[name]["extra"]} for name, pred in outputs.items()}
    table = pd.DataFrame({n: {"avg F1": r["avg_f1"], **r["f1"], "coverage": r["coverage"], "users": r["n_users"]}
                          for n, r in reports.items()}).T
    print(table.round(2).to_string())
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(reports, indent=1, sort_keys=True, default=float), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
