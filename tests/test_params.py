"""Profile files against the schema (``confprofile.config``): each default lives once, in the
schema; a profile file holds only what it changes; a misspelt key, a value of the wrong type or a
negative number fails on load, naming the file and the key."""

import json

import pytest

from confprofile import config, paths
from confprofile.errors import ParamsError
from confprofile.params import PROFILES, load_params


def same(a, b) -> bool:
    """Equal values of equal types, nested too (``1 == 1.0`` and ``[1] == [1.0]`` are not)."""
    return json.dumps(a) == json.dumps(b)


def own(tmp_path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text("profile: mine\n" + text)
    return path


@pytest.mark.parametrize("profile", PROFILES)
def test_builtin_profiles_hold_only_overrides(profile):
    """Every key is known, and none is written with its default value (``profile`` names the file)."""
    import yaml

    raw = yaml.safe_load(paths.params_path(profile).read_text(encoding="utf-8"))
    config.check(raw, profile)
    repeated = sorted(k for k, v in raw.items() if k != "profile" and same(v, config.KEYS[k].default))
    assert repeated == [], f"{profile}.yaml repeats defaults (confprofile/config.py): {repeated}"
    assert set(load_params(profile)) == set(config.defaults()), "a profile is a parameter file, not a code branch"


def test_smoke_is_the_defaults():
    assert same(load_params("smoke"), {**config.defaults(), "profile": "smoke"})


def test_the_schema_defaults_pass_its_own_checks():
    config.check(config.defaults(), "defaults")
    for key in config.KEYS.values():
        assert key.type in (int, float, str, bool, list, dict) and key.help, key.name


def test_an_override_file_merges_onto_the_defaults(tmp_path):
    p = load_params(own(tmp_path, "sft_steps: 7\nteachers: {lexicon: {}}\n"))
    want = {**config.defaults(), "profile": "mine", "sft_steps": 7, "teachers": {"lexicon": {}}}
    assert same(p, want)
    assert same(load_params("cpu")["seed"], config.KEYS["seed"].default)  # not written in cpu.yaml


def test_a_misspelt_key_names_the_file_and_suggests_the_key(tmp_path):
    path = own(tmp_path, "sft_step: 10\n")
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(e.value) == f"{path}: field 'sft_step': not a profile parameter (did you mean 'sft_steps'?)"


def test_a_misspelt_builtin_key_fails_too(tmp_root):
    path = tmp_root / "notebooks" / "params" / "cpu.yaml"
    path.write_text(path.read_text() + "rl_learnig_rate: 1.0e-05\n")
    with pytest.raises(ParamsError, match=r"cpu\.yaml: field 'rl_learnig_rate': .*did you mean 'rl_learning_rate'"):
        load_params("cpu")


def test_a_misspelt_trial_axis_fails(tmp_path):
    with pytest.raises(ParamsError, match=r"mine\.yaml: field 'sft_trials\.sft_learnig_rate': not a profile "
                                          r"parameter \(did you mean 'sft_learning_rate'\?\)"):
        load_params(own(tmp_path, "sft_trials: {sft_learnig_rate: [0.1, 0.2]}\n"))


@pytest.mark.parametrize("line, message", [
    ("rl_band: 1", "field 'rl_band': expected list, got int 1"),
    ("n_samples: '3'", "field 'n_samples': expected int, got str '3' (write it without quotes)"),
    ("n_samples: three", "field 'n_samples': expected int, got str 'three'"),
    ("sft_steps: 300.0", "field 'sft_steps': expected int, got float 300.0"),
    ("sft_confidence: 1", "field 'sft_confidence': expected bool, got int 1"),
    ("sft_steps: true", "field 'sft_steps': expected int, got bool True"),
    ("teachers: [lexicon]", "field 'teachers': expected dict, got list ['lexicon']"),
    ("n_pool: null", "field 'n_pool': expected int, got null"),
    ("rl_learning_rate: 1e-5", "field 'rl_learning_rate': expected float, got str '1e-5' (YAML reads 1e-4 as a "
                               "string: write 1.0e-4)"),
])
def test_a_wrong_type_names_the_file_and_key(tmp_path, line, message):
    path = own(tmp_path, line + "\n")
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(e.value) == f"{path}: {message}"


@pytest.mark.parametrize("line", ["sft_learning_rate: 1", "sft_record_weight: null", "student_model: Qwen/Qwen3-8B",
                                  "sft_lora: {r: 8}", "rl_seeds: []", "teachers: {}"])
def test_allowed_values_load(tmp_path, line):
    load_params(own(tmp_path, line + "\n"))  # an int for a float; null where the schema allows it


@pytest.mark.parametrize("line", ["rl_steps: -1", "sft_learning_rate: -0.1", "n_pool: -300"])
def test_a_negative_number_fails(tmp_path, line):
    key = line.split(":")[0]
    path = own(tmp_path, line + "\n")
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(e.value) == f"{path}: field '{key}': must not be negative, got {line.split(': ')[1]}"
