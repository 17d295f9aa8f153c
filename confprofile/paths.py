"""Where every stage reads and writes, per run profile.

Committed outputs of the built-in benchmark (smoke, cpu, gpu): ``results/<profile>/`` and
``figures/<profile>/``. Run artifacts (data, caches, checkpoints), git-ignored: ``runs/<profile>/``.
Gold labels live apart, under ``runs/<profile>/data/gold/``; only evaluation code opens them.

A profile of your own keeps its outputs out of the repository's committed folders: its results
and figures go to ``runs/<profile>/results/`` and ``runs/<profile>/figures/`` (git-ignored:
executed notebooks of your data quote your records), unless its profile file names a folder
with ``outputs:`` (``<outputs>/results/``, ``<outputs>/figures/``). ``params.load_params``
records that folder with ``set_outputs``, in the environment (``CONFPROFILE_OUTPUTS``), so
notebook kernels and commands started from the same process find it too.

The repository root is the folder holding ``confprofile/``; ``CONFPROFILE_ROOT`` overrides it
(tests point it at a temporary folder). It moves what runs write and read: ``runs/``, and the
built-in profiles' ``results/`` and ``figures/``. It does not move the package's own files: the
built-in profile files (``notebooks/params/<name>.yaml``) belong to the repository holding the
package (``package_repo()``), so a command on ``smoke`` works from any root. The one exception
is on purpose: a root that holds its own ``notebooks/params/<name>.yaml`` is read first (tests
copy ``notebooks/`` into a temporary root and edit a profile there; ``params_path``).

>>> data_dir("smoke").relative_to(root()).as_posix()
'runs/smoke/data'
>>> results_dir("smoke").relative_to(root()).as_posix(), figures_dir("my_shop").relative_to(root()).as_posix()
('results/smoke', 'runs/my_shop/figures')
"""

from __future__ import annotations

import json
import os
from pathlib import Path

GOLD_DIRNAME = "gold"

BUILTIN_PROFILES = ("smoke", "cpu", "gpu")
"""The built-in benchmark's profiles (``params.PROFILES``): their outputs are committed."""

OUTPUTS_ENV = "CONFPROFILE_OUTPUTS"
"""JSON ``{profile: folder}``: the ``outputs`` folders named by the profile files loaded."""


def package_repo() -> Path:
    """The repository holding the ``confprofile`` package (where its notebooks and built-in
    profile files are), whatever ``CONFPROFILE_ROOT`` says."""
    return Path(__file__).resolve().parent.parent


def root() -> Path:
    """Where runs write: ``CONFPROFILE_ROOT`` if set, else ``package_repo()``."""
    env = os.environ.get("CONFPROFILE_ROOT")
    return Path(env).resolve() if env else package_repo()


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


def set_outputs(profile: str, folder: str | Path | None) -> None:
    """Record where a profile of your own writes its results and figures (None: the default,
    ``runs/<profile>/``); kept in the environment, so child processes inherit it."""
    known = _outputs()
    if folder is None:
        known.pop(profile, None)
    else:
        known[profile] = str(Path(folder).resolve())
    if known:
        os.environ[OUTPUTS_ENV] = json.dumps(known, sort_keys=True)
    else:
        os.environ.pop(OUTPUTS_ENV, None)


def _outputs() -> dict[str, str]:
    try:
        known = json.loads(os.environ.get(OUTPUTS_ENV) or "{}")
    except ValueError:
        return {}
    return known if isinstance(known, dict) else {}


def outputs_dir(profile: str) -> Path:
    """The folder holding a profile's ``results/`` and ``figures/``: the root for the built-in
    benchmark, ``runs/<profile>/`` (git-ignored) for your own, or its profile file's ``outputs``."""
    if profile in BUILTIN_PROFILES:
        return root()
    folder = _outputs().get(profile)
    return Path(folder) if folder else run_dir(profile)


def results_dir(profile: str) -> Path:
    """Results JSON, tables and executed notebooks: ``results/<profile>/`` for the built-in
    benchmark, ``runs/<profile>/results/`` for your own (see the module's docstring)."""
    base = outputs_dir(profile)
    return base / "results" / profile if profile in BUILTIN_PROFILES else base / "results"


def figures_dir(profile: str) -> Path:
    """Figures: ``figures/<profile>/`` for the built-in benchmark, else beside the results."""
    base = outputs_dir(profile)
    return base / "figures" / profile if profile in BUILTIN_PROFILES else base / "figures"


def relative(path: str | Path, base: str | Path | None = None) -> Path:
    """``path`` relative to ``base`` (default: the root) when it is under it (what outputs print
    and results files record), else as it is.

    >>> relative(root() / "runs" / "x").as_posix()
    'runs/x'
    """
    path = Path(path)
    try:
        return path.resolve().relative_to(Path(base if base is not None else root()).resolve())
    except ValueError:
        return path


def notebooks_dir() -> Path:
    return root() / "notebooks"


def params_dirs() -> list[Path]:
    """Where a profile named without a path is looked up, in order: the root's
    ``notebooks/params/`` (a copy the tests edit), then the package repository's."""
    dirs = [root() / "notebooks" / "params", package_repo() / "notebooks" / "params"]
    return list(dict.fromkeys(dirs))


def params_path(profile: str) -> Path:
    """The file of a profile named without a path (``smoke``): the first of ``params_dirs()``
    that holds ``<profile>.yaml``; if none does, where it was looked for first.

    >>> params_path("smoke").is_file(), params_path("smoke").parts[-3:]
    (True, ('notebooks', 'params', 'smoke.yaml'))
    """
    candidates = [d / f"{profile}.yaml" for d in params_dirs()]
    return next((c for c in candidates if c.is_file()), candidates[0])


def pseudo_labels_path(profile: str, split: str = "pool") -> Path:
    """Pseudo-labels from voting and calibration (input of distillation)."""
    return run_dir(profile) / "pseudo_labels" / f"{split}.jsonl"


def vote_rule_path(profile: str) -> Path:
    """The vote rule notebook 03 chose, as fitted on the pool (``confprofile.rules``)."""
    return run_dir(profile) / "pseudo_labels" / "rule.json"


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
