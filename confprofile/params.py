"""Run profiles: one YAML parameter file per scale or dataset.

A profile is a parameter file, not a code branch: smoke, cpu and gpu run the same notebooks on
the built-in benchmark (``notebooks/params/<name>.yaml``), and a dataset of your own is one more
profile file, anywhere, that names its data (see ``examples/own_data/own_data.yaml``):

- ``profile``: the name that outputs go under (``runs/<profile>/``; a built-in profile's
  results and figures also ``results/<profile>/``, ``figures/<profile>/``, a profile of your own
  keeps them in ``runs/<profile>/results/`` and ``runs/<profile>/figures/``, git-ignored);
  lower-case letters, digits, ``_`` and ``-``.
- ``outputs``: optional, a profile of your own only: the folder its ``results/`` and
  ``figures/`` go to instead (e.g. a folder you commit on purpose).
- ``data``: ``{split: records JSONL}`` for ``pool`` and ``test``; null: generate ProfileBench-Synth.
- ``gold``: ``{split: gold JSONL}``, optional (evaluation only; without it notebooks and commands
  write every label-free output and skip the scores).
- ``taxonomy_file``: the taxonomy YAML (its ``domain`` is the prompt's wording); null: the built-in.
- ``teachers`` and every other key of ``confprofile.config`` (its type, default and meaning);
  a key left out takes its default, the smoke value.

Every profile file, built-in or your own, holds only what it changes: ``smoke.yaml`` names
itself and nothing else, ``cpu.yaml`` and ``gpu.yaml`` write what differs. A misspelt key, a
value of the wrong type or a negative number is an error naming the file and the key.

Relative paths in ``data``, ``gold``, ``taxonomy_file`` and ``outputs`` are read from the profile
file's folder.

>>> p = load_params("smoke")
>>> p["profile"], p["seed"], is_builtin("smoke"), is_builtin("my_shop")
('smoke', 0, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from confprofile import config, paths
from confprofile.errors import ParamsError

PROFILES = paths.BUILTIN_PROFILES
"""The built-in benchmark's profiles: claims about which method wins are asserted only on them."""

PATH_KEYS = ("data", "gold", "taxonomy_file")
"""Keys whose values are files, read relative to the profile file's folder."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def is_builtin(profile: str) -> bool:
    """True for a built-in benchmark profile (smoke, cpu, gpu), where the notebooks' claims hold."""
    return profile in PROFILES


def _read(path: Path) -> dict:
    if not path.is_file():
        raise ParamsError(f"{path}: parameter file not found")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values")
    return params


def _resolve(value: object, key: str, base: Path, path: Path) -> object:
    """``value`` with every relative file path made absolute against ``base``."""
    if value is None:
        return None
    if isinstance(value, str):
        return str((base / value).resolve())
    if isinstance(value, dict) and key in ("data", "gold"):
        return {str(split): _resolve(v, "file", base, path) for split, v in value.items()}
    raise ParamsError(f"{path}: field '{key}' must be a file path{' or a mapping split -> path' if key != 'taxonomy_file' else ''}")


def by_path(profile: str | Path) -> bool:
    """True where ``profile`` is a profile file's path, not a built-in (or stored) profile's name."""
    return str(profile).endswith((".yaml", ".yml")) or "/" in str(profile)


def source(profile: str | Path) -> str:
    """``profile`` as a notebook started in any folder reads it: a name as given, a file's path
    made absolute (what the runner passes as a notebook's ``profile`` parameter)."""
    return str(Path(profile).resolve()) if by_path(profile) else str(profile)


def load_params(profile: str | Path, path: str | Path | None = None) -> dict:
    """A profile's parameters, by built-in name (``smoke``) or by the path of a profile file.

    A built-in file must name the profile it is stored as; a profile file elsewhere names its
    own (not a built-in one: those outputs belong to the benchmark). Keys a file leaves out take
    their defaults (``config.defaults()``, the smoke values): a profile holds only what differs.
    """
    profile = str(profile)
    as_file = path is not None or by_path(profile)
    file = Path(path if path is not None else profile) if as_file else paths.params_path(profile)
    if not as_file and not file.is_file():
        others = [str(d) for d in paths.params_dirs()[1:]]
        raise ParamsError(f"{file}: parameter file for profile '{profile}' not found "
                          + (f"(nor under {', '.join(others)}) " if others else "")
                          + f"(built-in: {', '.join(PROFILES)}; or give the path of a profile file)")
    params = _read(file)
    config.check(params, file)
    name = params.get("profile")
    if path is not None or not as_file:  # a built-in file (or one standing in for it)
        if name != profile:
            raise ParamsError(f"{file}: field 'profile' is {name!r}, expected {profile!r}")
    else:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ParamsError(f"{file}: field 'profile' must name the outputs' folder "
                              f"(lower-case letters, digits, _ and -), got {name!r}")
        if is_builtin(name) and file.resolve() != paths.params_path(name).resolve():
            raise ParamsError(f"{file}: profile name {name!r} is the built-in benchmark's; choose another")
    params = {**config.defaults(), **params}
    base = file.resolve().parent
    for key in PATH_KEYS:
        params[key] = _resolve(params.get(key), key, base, file)
    outputs = params.get("outputs")
    if outputs is not None:
        if is_builtin(params["profile"]):
            raise ParamsError(f"{file}: field 'outputs': the built-in profiles write to results/ and figures/")
        if not isinstance(outputs, str) or not outputs.strip():
            raise ParamsError(f"{file}: field 'outputs' must be a folder path, got {outputs!r}")
        params["outputs"] = str((base / outputs).resolve())
    if not is_builtin(params["profile"]):
        paths.set_outputs(params["profile"], params.get("outputs"))  # read by paths.results_dir/figures_dir
    return params


def for_notebook(profile: str | Path, overrides: Mapping | None = None) -> config.Config:
    """What a notebook's parameters cell (``profile``, ``overrides``) becomes: the profile's values
    (a built-in name or the path of a profile file, as ``load_params`` reads it) with
    ``overrides`` on top (profile keys, checked as a profile file's are; relative paths read from
    the working folder), as a read-only ``config.Config`` that records what the notebook reads.

    >>> cfg = for_notebook("smoke", {"sft_steps": 20})
    >>> cfg.profile, cfg.sft_steps, list(cfg.used())
    ('smoke', 20, ['profile', 'sft_steps'])
    >>> for_notebook("smoke", {"sft_step": 20})
    Traceback (most recent call last):
    ...
    confprofile.errors.ParamsError: overrides: field 'sft_step': not a profile parameter (did you mean 'sft_steps'?)
    """
    params = load_params(profile)
    overrides = dict(overrides or {})
    config.check(overrides, "overrides")
    if "profile" in overrides:
        raise ParamsError("overrides: field 'profile': set the notebook's profile parameter instead")
    base = Path.cwd()
    for key in PATH_KEYS:
        if key in overrides:
            overrides[key] = _resolve(overrides[key], key, base, Path("overrides"))
    return config.Config({**params, **overrides})
