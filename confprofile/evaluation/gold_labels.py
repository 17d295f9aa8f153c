"""Gold labels: the only module that opens gold-label files.

Gold files (``runs/<profile>/data/gold/<split>.jsonl``) hold one line per user:
``{"user_id": ..., "labels": {attribute: label}, "clues": {attribute: clue strength}}``.
``clues`` is optional: the generator's record of how strong the evidence it rendered was
(explicit, strong, weak, none, misleading); it is for analysis only, like the labels. A gold
file of your own needs only ``user_id`` and ``labels``.

Gold may have gaps: a user without a label for an attribute (missing or null) leaves that pair
unscored everywhere in ``confprofile.evaluation`` (``read_gold``).

Teacher, voting, calibration, SFT and RL code must not import this package (a test checks).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from confprofile import paths
from confprofile.errors import RecordError
from confprofile.records import read_jsonl
from confprofile.taxonomy import Taxonomy


def read_gold(path: str | Path, taxonomy: Taxonomy) -> pd.DataFrame:
    """Gold labels as a long table: ``user_id, attribute, gold, clue``, one row per scored pair.

    Gold may have gaps: an attribute missing from a user's ``labels``, or null there, is a pair
    that is simply not scored (no row; every function here scores only the pairs gold has).
    ``gold.attrs`` holds ``n_users`` (users in the file) and ``unscored_pairs`` (the gaps). A
    label that is present but not in the taxonomy is an error naming the file, line and field.
    """
    rows, n_users, gaps = [], 0, 0
    for n, obj in read_jsonl(path):
        if not isinstance(obj, dict) or not isinstance(obj.get("user_id"), str):
            raise RecordError(path, n, "user_id", "expected an object with a string user_id")
        labels = obj.get("labels")
        if not isinstance(labels, dict):
            raise RecordError(path, n, "labels", "expected an object mapping attribute to label")
        clues = obj.get("clues") or {}
        n_users += 1
        for attr in taxonomy:
            lab = labels.get(attr.name)
            if lab is None:
                gaps += 1
                continue
            if lab not in attr.labels:
                raise RecordError(path, n, f"labels.{attr.name}",
                                  f"{lab!r} is not a label of '{attr.name}' ({', '.join(attr.labels)})")
            rows.append({"user_id": obj["user_id"], "attribute": attr.name, "gold": lab,
                         "clue": clues.get(attr.name)})
    out = pd.DataFrame(rows, columns=["user_id", "attribute", "gold", "clue"])
    out.attrs.update(n_users=n_users, unscored_pairs=gaps)
    return out


def split_gold(profile: str, split: str, taxonomy: Taxonomy) -> pd.DataFrame | None:
    """A split's gold labels (``read_gold``), or None where the profile has none: the scoring
    functions of ``confprofile.evaluation`` then return empty reports."""
    path = paths.gold_path(profile, split)
    return read_gold(path, taxonomy) if path.is_file() else None
