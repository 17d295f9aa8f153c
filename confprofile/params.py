"""Run profiles: one YAML parameter file per scale (``notebooks/params/<profile>.yaml``).

A profile is a parameter file, not a code branch: smoke, cpu and gpu run the same notebooks.

>>> p = load_params("smoke")
>>> p["profile"], p["seed"]
('smoke', 0)
"""

from __future__ import annotations

from pathlib import Path

import yaml

from confprofile import paths
from confprofile.errors import ParamsError

PROFILES = ("smoke", "cpu", "gpu")


def load_params(profile: str, path: str | Path | None = None) -> dict:
    """Load a profile's parameters; the file must name the same profile it is stored as."""
    path = Path(path) if path is not None else paths.params_path(profile)
    if not path.is_file():
        raise ParamsError(f"{path}: parameter file for profile '{profile}' not found")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values")
    if params.get("profile") != profile:
        raise ParamsError(f"{path}: field 'profile' is {params.get('profile')!r}, expected {profile!r}")
    return params
