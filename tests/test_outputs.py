"""Outputs of a profile of your own stay out of the committed folders (results/, figures/)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from confprofile import paths
from confprofile.errors import ParamsError
from confprofile.params import load_params

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "own_data" / "own_data.yaml"


@pytest.fixture
def root(tmp_root, monkeypatch):
    monkeypatch.delenv(paths.OUTPUTS_ENV, raising=False)  # restored after the test: nothing leaks
    return tmp_root


def test_the_worked_example_writes_its_results_and_figures_under_runs(root):
    assert load_params(EXAMPLE)["profile"] == "own_data"
    assert paths.results_dir("own_data") == root / "runs" / "own_data" / "results"
    assert paths.figures_dir("own_data") == root / "runs" / "own_data" / "figures"
    assert paths.results_dir("smoke") == root / "results" / "smoke"  # the benchmark's stay committed
    assert paths.figures_dir("cpu") == root / "figures" / "cpu"
    assert "runs/" in (REPO / ".gitignore").read_text().split(), "runs/ must stay git-ignored"

def test_an_outputs_folder_in_the_profile_file_moves_them_and_reaches_child_processes(root):
    own = root / "mine" / "p.yaml"
    own.parent.mkdir()
    text = EXAMPLE.read_text().replace("data/", str(EXAMPLE.parent / "data") + "/")
    own.write_text(text.replace("profile: own_data", "outputs: reports\nprofile: mine"))
    p = load_params(own)
    assert p["outputs"] == str(own.parent / "reports")
    assert paths.results_dir("mine") == own.parent / "reports" / "results"
    # a notebook kernel or a command started from here finds the same folder
    shown = subprocess.run([sys.executable, "-c", "from confprofile import paths; print(paths.figures_dir('mine'))"],
                           env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == str(own.parent / "reports" / "figures")
    own.write_text(text.replace("profile: own_data", "profile: mine"))
    load_params(own)  # the key removed: back to runs/
    assert paths.results_dir("mine") == root / "runs" / "mine" / "results"
    assert json.loads(os.environ.get(paths.OUTPUTS_ENV, "{}")) == {}


def test_a_builtin_profile_cannot_move_its_outputs(root):
    (root / "notebooks" / "params" / "smoke.yaml").write_text("profile: smoke\nseed: 0\noutputs: elsewhere\n")
    with pytest.raises(ParamsError, match=r"smoke\.yaml: field 'outputs': the built-in profiles write to results/"):
        load_params("smoke")
