"""Shared fixtures: every test that writes does so under a temporary CONFPROFILE_ROOT."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

if os.environ.get("PYTEST_XDIST_WORKER"):
    # two workers on two cores: one torch thread each (and in the notebook kernels they start).
    # With torch's default of one per core, a tiny student trained in-process beside a notebook
    # kernel ran 7x slower (236 s against 31 s alone).
    os.environ.setdefault("OMP_NUM_THREADS", "1")


SLOW_FIRST = ["tests/test_notebooks.py", "tests/test_own_data.py", "tests/test_sft.py", "tests/test_rl.py",
              "tests/test_hf_loglik.py", "tests/test_teachers.py"]
"""The test files with ``slow`` tests (a test checks the list), in the order ``make test`` starts them."""


def pytest_collection_modifyitems(config, items):
    """The markers declared in pyproject.toml, applied in one place: ``require_gpu`` (a CUDA
    device) and ``require_vllm`` (vLLM installed) skip where the machine lacks it; ``slow`` is
    only a label (``make test-fast`` leaves those tests out). ``make test`` runs two workers with
    ``--dist loadfile``: a test file runs whole on one worker, so a module- or session-scoped
    fixture of that file (the smoke pipeline, a trained toy model) is built once; the files
    with ``slow`` tests go first, the longest first (``SLOW_FIRST``), so the two long chains (the
    smoke pipeline and what reads it; the worked example) start at once, one per worker, and the
    short files fill in around them."""
    import importlib.util

    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: a file's tests keep their order

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
