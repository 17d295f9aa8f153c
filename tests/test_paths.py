"""``CONFPROFILE_ROOT`` moves what runs write, not the package's built-in profile files: a command
on ``smoke`` works from an empty root, and a root holding its own copy of ``notebooks/params/``
(what the tests' ``tmp_root`` makes) is read first."""

from __future__ import annotations

import subprocess
import sys

import pytest

from confprofile import paths
from confprofile.errors import ParamsError
from confprofile.params import load_params

REPO = paths.package_repo()


def test_an_empty_root_still_finds_the_builtin_profiles(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    assert paths.root() == tmp_path.resolve() and paths.run_dir("smoke") == tmp_path.resolve() / "runs" / "smoke"
    assert paths.params_path("smoke") == REPO / "notebooks" / "params" / "smoke.yaml"
    assert load_params("smoke")["profile"] == "smoke"
    assert not (tmp_path / "notebooks").exists()  # nothing was written under the root


def test_a_root_with_its_own_profile_files_is_read_first(tmp_root):
    own = tmp_root / "notebooks" / "params" / "smoke.yaml"
    assert paths.params_path("smoke") == own
    own.write_text(own.read_text() + "seed: 7\n")
    assert load_params("smoke")["seed"] == 7


def test_an_unknown_profile_names_every_folder_it_looked_in(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    with pytest.raises(ParamsError) as e:
        load_params("nothing")
    assert str(e.value).startswith(f"{tmp_path.resolve()}/notebooks/params/nothing.yaml: parameter file for "
                                   f"profile 'nothing' not found (nor under {REPO / 'notebooks' / 'params'})")


def test_a_command_on_a_builtin_profile_runs_under_an_empty_root(tmp_path):
    """Before: ``notebooks/params/smoke.yaml`` was looked up under the root, so this failed on
    the parameter file; now it gets as far as the missing annotation table, under the root."""
    env = {"CONFPROFILE_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "confprofile.pseudo_labelling", "--profile", "smoke"], capture_output=True,
                         text=True, env=env, cwd=REPO)
    assert out.returncode == 2
    assert out.stderr == (f"error: {tmp_path.resolve()}/runs/smoke/synthesis/pool.parquet: no annotation table "
                          "(run notebook 02 or python -m confprofile.synthesis)\n")
