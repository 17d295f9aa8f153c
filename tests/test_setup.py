"""Set-up contracts: pins agree everywhere, .ci/run calls the README's test command."""

import re
from pathlib import Path

import pytest
import yaml

from confprofile.errors import ParamsError
from confprofile.params import PROFILES, load_params

REPO = Path(__file__).resolve().parent.parent


def _pins(lines):
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_environment_yml_pins_equal_requirements():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    env_pins = {p for p in pip_section if "==" in p}
    req = _pins((REPO / "requirements.txt").read_text().splitlines())
    assert env_pins == req
    nodeps = _pins((REPO / "requirements-nodeps.txt").read_text().splitlines())
    assert all(f"# {p}" in (REPO / "environment.yml").read_text() for p in nodeps)


def test_torch_is_pinned_beside_the_rest_and_vllm_is_only_an_extra():
    req = _pins((REPO / "requirements.txt").read_text().splitlines())
    assert "torch==2.13.0" in req
    assert all(re.match(r"^[A-Za-z0-9_.\-\[\]]+==[\w.]+$", p) for p in req), "every requirement is pinned"
    assert not any(p.startswith("vllm") for p in req)
    assert 'gpu = ["vllm"]' in (REPO / "pyproject.toml").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make test" in ci.splitlines()[-1]
    head = readme[:1500]
    assert "make reproduce" in head and "make test" in head


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_load_and_name_themselves(profile):
    p = load_params(profile)
    assert p["profile"] == profile and isinstance(p["seed"], int)


def test_bad_params_file_is_named(tmp_path):
    path = tmp_path / "smoke.yaml"
    path.write_text("profile: cpu\n")
    with pytest.raises(ParamsError, match=r"smoke.yaml: field 'profile' is 'cpu', expected 'smoke'"):
        load_params("smoke", path)
    with pytest.raises(ParamsError, match="not found"):
        load_params("smoke", tmp_path / "none.yaml")
