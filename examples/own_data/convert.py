"""Convert users.csv to the record format (records + gold, apart), the way you would convert your own.

    python examples/own_data/convert.py                      # users.csv -> data/ beside this file
    python examples/own_data/convert.py my.csv --out my_data/ --test-share 0.3 --no-gold

What goes where:
- a record (``data/{pool,test}.jsonl``, what teachers see): ``user_id``, ``bio`` from the free-text
  "about" column, and ``watch_history``: one item per rated film, ``{"category": genre,
  "title": title, "rating": stars}`` (``rating`` is rendered "(rated 4)"; see ``confprofile.records``);
- gold (``data/gold/{pool,test}.jsonl``, evaluation only, optional): ``{"user_id", "labels":
  {attribute: label}}`` from the three questionnaire columns; no ``clues`` (they are optional).

Users are split into pool and test by a hash of their id (stable, whatever the row order). A
malformed row is a one-line error naming the file, line and column.
"""

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

ATTRIBUTES = ("age_band", "gender", "occupation")  # the CSV columns that are gold labels


def record(row: dict, where: str) -> dict:
    films = []
    for item in filter(None, row["ratings"].split(";")):
        try:
            title, genre, stars = item.split("|")
            films.append({"category": genre, "title": title, "rating": int(stars)})
        except ValueError:
            sys.exit(f"error: {where}: column 'ratings': expected title|genre|stars, got {item!r}")
    rec = {"user_id": row["user_id"], "watch_history": films}
    if row["about"].strip():
        rec["bio"] = row["about"].strip()
    return rec


def split_of(user_id: str, test_share: float) -> str:
    h = int(hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:8], 16) / 16**8
    return "test" if h < test_share else "pool"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv=None) -> int:
    here = Path(__file__).parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="?", default=str(here / "users.csv"))
    ap.add_argument("--out", default=str(here / "data"), help="folder for {pool,test}.jsonl and gold/")
    ap.add_argument("--test-share", type=float, default=0.3)
    ap.add_argument("--no-gold", action="store_true", help="write records only")
    args = ap.parse_args(argv)
    out = {"pool": ([], []), "test": ([], [])}
    with open(args.csv, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            where = f"{args.csv}:{n}"
            missing = [c for c in ("user_id", "about", "ratings", *ATTRIBUTES) if row.get(c) is None]
            if missing:
                sys.exit(f"error: {where}: missing column(s) {', '.join(missing)}")
            recs, gold = out[split_of(row["user_id"], args.test_share)]
            recs.append(record(row, where))
            gold.append({"user_id": row["user_id"], "labels": {a: row[a] for a in ATTRIBUTES}})
    for split, (recs, gold) in out.items():
        write_jsonl(Path(args.out) / f"{split}.jsonl", recs)
        if not args.no_gold:
            write_jsonl(Path(args.out) / "gold" / f"{split}.jsonl", gold)
        print(f"{split}: {len(recs)} users -> {Path(args.out) / f'{split}.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
