"""Where every stage reads and writes, per run profile.

Committed outputs: ``results/<profile>/`` and ``figures/<profile>/``.
Run artifacts (data, caches, checkpoints), git-ignored: ``runs/<profile>/``.
Gold labels live apart, under ``runs/<profile>/data/gold/``; only evaluation code opens them.

The repository root is the folder holding ``confprofile/``; ``CONFPROFILE_ROOT`` overrides it
(tests point it at a temporary folder).

>>> data_dir("smoke").relative_to(root()).as_posix()
'runs/smoke/data'
"""

from __future__ import annotations

import os
from pathlib import Path

GOLD_DIRNAME = "gold"


def root() -> Path:
    env = os.environ.get("CONFPROFILE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


def run_dir(profile: str) -> Path:
    return root() / "runs" / profile


def data_dir(profile: str) -> Path:
    """Benchmark records: ``<split>.jsonl`` (no labels)."""
    return run_dir(profile) / "data"


def records_path(profile: str, split: str) -> Path:
    return data_dir(profile) / f"{split}.jsonl"


def gold_dir(profile: str) -> Path:
    """Gold labels, one file per split. Evaluation and monitoring only."""
    return data_dir(profile) / GOLD_DIRNAME


def gold_path(profile: str, split: str) -> Path:
    return gold_dir(profile) / f"{split}.jsonl"


def synthesis_cache_dir(profile: str) -> Path:
    """Raw teacher outputs, append-only, one JSONL file per teacher (and shard)."""
    return run_dir(profile) / "synthesis" / "cache"


def annotations_path(profile: str, split: str) -> Path:
    """The annotation table of a split (one row per user x attribute x teacher x sample)."""
    return run_dir(profile) / "synthesis" / f"{split}.parquet"


def results_dir(profile: str) -> Path:
    return root() / "results" / profile


def figures_dir(profile: str) -> Path:
    return root() / "figures" / profile


def notebooks_dir() -> Path:
    return root() / "notebooks"


def params_path(profile: str) -> Path:
    return notebooks_dir() / "params" / f"{profile}.yaml"


def pseudo_labels_path(profile: str, split: str = "pool") -> Path:
    """Pseudo-labels from voting and calibration (input of distillation)."""
    return run_dir(profile) / "pseudo_labels" / f"{split}.jsonl"


def rl_dir(profile: str) -> Path:
    """Confidence-guided RL: cached rollouts and one checkpoint folder per variant."""
    return run_dir(profile) / "rl"


def sft_dir(profile: str) -> Path:
    """Student training: tokenizer, SFT data and one checkpoint folder per variant."""
    return run_dir(profile) / "sft"


def predictions_path(profile: str, model: str) -> Path:
    """A model's parsed test predictions (one row per user and attribute), written once by the
    evaluation harness and read by later notebooks instead of generating again."""
    return run_dir(profile) / "predictions" / f"{model}.parquet"
