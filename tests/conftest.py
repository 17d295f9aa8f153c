"""Shared fixtures: every test that writes does so under a temporary CONFPROFILE_ROOT."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """A temporary repository root holding copies of notebooks/ (so runs never touch the repo)."""
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    return tmp_path
