"""Shared fixtures: every test that writes does so under a temporary CONFPROFILE_ROOT."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    """The markers declared in pyproject.toml, applied in one place: ``require_gpu`` (a CUDA
    device) and ``require_vllm`` (vLLM installed) skip where the machine lacks it; ``slow`` is
    only a label (``make test-fast`` leaves those tests out). ``make test`` runs two workers with
    ``--dist loadfile``: a test file runs whole on one worker, so a module- or session-scoped
    fixture of that file (the smoke pipeline, a trained toy model) is built once."""
    import importlib.util

    def cuda() -> bool:
        import torch

        return torch.cuda.is_available()

    lacks = {"require_gpu": (cuda, "needs a CUDA GPU"),
             "require_vllm": (lambda: importlib.util.find_spec("vllm") is not None, "vllm not installed")}
    have: dict[str, bool] = {}
    for item in items:
        for name, (check, why) in lacks.items():
            if item.get_closest_marker(name) is not None:
                if name not in have:
                    have[name] = check()
                if not have[name]:
                    item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """A temporary repository root holding copies of notebooks/ (so runs never touch the repo)."""
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def no_gold_reads(monkeypatch):
    """Fail any open() of a file under a ``gold/`` folder (label-free code must never read one)."""
    import builtins
    import io
    import pathlib

    real_open, real_io_open, real_path_open = builtins.open, io.open, pathlib.Path.open

    def guard(path):
        if "/gold/" in str(path).replace("\\", "/"):
            raise AssertionError(f"label-free code opened a gold file: {path}")

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (guard(f), real_open(f, *a, **k))[1])
    monkeypatch.setattr(io, "open", lambda f, *a, **k: (guard(f), real_io_open(f, *a, **k))[1])
    monkeypatch.setattr(pathlib.Path, "open", lambda self, *a, **k: (guard(self), real_path_open(self, *a, **k))[1])
    with pytest.raises(AssertionError):
        open("/nonexistent/gold/x.jsonl")
