"""Your own data, end to end: the worked example of examples/own_data/ through every command,
with and without gold, and notebooks 01-03 on it without gold; plus the pieces it relies on
(profile files by path, the data stage, taxonomy and record checks, health warnings).

What runs here: the converter, ``confprofile.dataset``, ``confprofile.synthesis`` (one teacher a
call), ``confprofile.pseudo_labelling`` and ``confprofile.evaluation`` on the example, with and without gold
(about 30 s); the runner on notebooks 01-03 without gold (slow, about 1 minute); and the runner
on every notebook, 01-06, with gold (slow, about 3.5 minutes: SFT and RL at smoke scale).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from confprofile import dataset, paths, reproduce
from confprofile.errors import ParamsError, RecordError, TaxonomyError
from confprofile.params import load_params
from confprofile.records import validate_record
from confprofile.taxonomy import load_taxonomy

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "own_data"
PROFILE = EXAMPLE / "own_data.yaml"


def run(module: str, *args: str, root: Path) -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, "CONFPROFILE_ROOT": str(root)}
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out


def no_gold_profile(tmp_path: Path) -> Path:
    p = yaml.safe_load(PROFILE.read_text())
    p.update(profile="own_data_no_gold", gold=None, taxonomy_file=str(EXAMPLE / "taxonomy.yaml"),
             data={s: str(EXAMPLE / "data" / f"{s}.jsonl") for s in ("pool", "test")})
    path = tmp_path / "no_gold.yaml"
    path.write_text(yaml.safe_dump(p))
    return path


def test_converter_rebuilds_the_committed_example(tmp_path):
    subprocess.run([sys.executable, str(EXAMPLE / "convert.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for rel in ("pool.jsonl", "test.jsonl", "gold/pool.jsonl", "gold/test.jsonl"):
        assert (tmp_path / rel).read_bytes() == (EXAMPLE / "data" / rel).read_bytes(), rel


def test_a_profile_file_names_its_data_relative_to_itself(tmp_path):
    p = load_params(PROFILE)
    assert p["profile"] == "own_data" and p["data"]["pool"] == str(EXAMPLE / "data" / "pool.jsonl")
    assert p["taxonomy_file"] == str(EXAMPLE / "taxonomy.yaml") and p["seed"] == load_params("smoke")["seed"]
    bad = tmp_path / "x.yaml"
    bad.write_text("profile: smoke\n")
    with pytest.raises(ParamsError, match="built-in benchmark's; choose another"):
        load_params(bad)
    bad.write_text("profile: My Data\n")
    with pytest.raises(ParamsError, match="field 'profile' must name"):
        load_params(bad)


def test_the_data_stage_validates_copies_and_forgets_stale_gold(tmp_root, tmp_path):
    p = load_params(PROFILE)
    written = dataset.prepare_data("mine", data=p["data"], gold=p["gold"], taxonomy_file=p["taxonomy_file"])
    assert set(written) == {"pool", "test", "gold_pool", "gold_test"} and dataset.has_gold("mine")
    dataset.prepare_data("mine", data=p["data"])  # gold no longer named: none left behind
    assert not dataset.has_gold("mine") and not paths.gold_path("mine", "pool").exists()
    with pytest.raises(RecordError, match="also in the pool"):
        dataset.import_data("mine", {"pool": p["data"]["pool"], "test": p["data"]["pool"]})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"user_id": "a", "watch_history": [{"category": "film", "rating": "five"}]}\n')
    with pytest.raises(RecordError, match=r"bad.jsonl:1: field 'watch_history\[0\].rating': expected a number"):
        dataset.import_data("mine", {"pool": str(bad), "test": p["data"]["test"]})


def test_a_cue_with_a_colon_is_named(tmp_path):
    t = tmp_path / "t.yaml"
    t.write_text("attributes:\n  a:\n    labels:\n      x: {description: d, cues: [ok, ratio: high]}\n"
                 "      y: {description: d}\n")
    with pytest.raises(TaxonomyError, match=r"label 'x': cue 2 \(\{'ratio': 'high'\}\) is not a string \(a cue "
                                            r"containing ': ' must be quoted\)"):
        load_taxonomy(t)
    t.write_text(t.read_text().replace("ratio: high", '"ratio: high"'))
    assert load_taxonomy(t)["a"].label("x").cues == ("ok", "ratio: high")
    assert validate_record({"user_id": "u", "posts": [{"title": "t", "rating": 4.5}]})


def test_cpu_teachers_name_the_rules_your_taxonomy_lacks_once():
    from confprofile.synthesis import build_teachers

    tax = load_taxonomy(EXAMPLE / "taxonomy.yaml")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        build_teachers(["lexicon", "heuristic", "knowledge"], tax)
    said = [str(x.message) for x in w if issubclass(x.category, UserWarning)]
    assert len(said) == 2 and said[0].startswith("heuristic: ") and said[1].startswith("knowledge: ")
    assert "age (no such attribute)" in said[0] and "fire as written: gender.female" in said[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_teachers(["heuristic", "knowledge"], load_taxonomy())  # the built-in taxonomy: all rules on


def test_teachers_at_chance_on_one_attribute_get_a_warning_naming_it():
    import numpy as np
    import pandas as pd

    from confprofile import monitor

    tax = load_taxonomy(EXAMPLE / "taxonomy.yaml")
    gen = np.random.default_rng(0)
    truth = gen.choice(["female", "male"], 300)
    rows = [{"user_id": f"u{i}", "attribute": attr, "teacher": t, "sample": 0, "ok": True,
             "label": (truth[i] if gen.random() < 0.9 else "female") if attr == "gender"  # agree: they read the truth
             else gen.choice(tax[attr].labels)}  # independent guesses: chance
            for i in range(300) for t in ("a", "b", "c") for attr in ("gender", "occupation")]
    agreement = monitor.teacher_agreement(pd.DataFrame(rows), [tax["gender"], tax["occupation"]])
    assert agreement["gender"]["ci"][0] > 0.5
    assert [w.split(":")[0] for w in monitor.health_warnings(agreement)] == ["occupation"]


def test_every_command_runs_on_the_example_with_and_without_gold(tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(REPO / "notebooks" / "params", root / "notebooks" / "params")  # smoke.yaml: the defaults
    prof = str(PROFILE)
    run("confprofile.dataset", "--profile", prof, root=root)
    fast = "lexicon,heuristic"  # the embedding teacher works the same and costs a model load per call
    for teacher in fast.split(","):  # one teacher a call: the table grows
        out = run("confprofile.synthesis", "--profile", prof, "--split", "pool", "--teachers", teacher,
                  "--no-progress", root=root)
        assert "read 70 users from" in out.stderr
    assert "teachers heuristic, lexicon" in out.stdout
    run("confprofile.synthesis", "--profile", prof, "--split", "test", "--teachers", fast, "--no-progress", root=root)
    out = run("confprofile.pseudo_labelling", "--profile", prof, root=root)
    assert re.search(r"warning: (age_band|gender|occupation): the teachers agree no more than chance", out.stderr)
    pool = (root / "runs" / "own_data" / "pseudo_labels" / "pool.jsonl").read_text().splitlines()
    assert len(pool) == 70 and set(json.loads(pool[0])["attributes"]) == {"age_band", "gender", "occupation"}
    out = run("confprofile.evaluation", "--profile", prof, "--json", str(tmp_path / "r.json"), root=root)
    report = json.loads((tmp_path / "r.json").read_text())["pseudo_labels"]
    assert report["n_users"] == 30 and 0 <= report["avg_f1"] <= 100
    # without gold: the same commands, and evaluation says there is nothing to score
    nog = str(no_gold_profile(tmp_path))
    run("confprofile.dataset", "--profile", nog, root=root)
    for split in ("pool", "test"):
        run("confprofile.synthesis", "--profile", nog, "--split", split, "--teachers", fast, "--no-progress", root=root)
    run("confprofile.pseudo_labelling", "--profile", nog, root=root)
    assert (root / "runs" / "own_data_no_gold" / "pseudo_labels" / "pool.jsonl").is_file()
    assert "no gold labels" in run("confprofile.evaluation", "--profile", nog, root=root).stdout
    assert not (root / "runs" / "own_data_no_gold" / "data" / "gold").exists()


@pytest.mark.slow
def test_notebooks_01_to_03_run_on_the_example_without_gold(tmp_root, tmp_path, capsys):
    profile = no_gold_profile(tmp_path)
    assert reproduce.main(["--profile", str(profile), "--only", "01", "--only", "02", "--only", "03"]) == 0
    res = tmp_root / "runs" / "own_data_no_gold" / "results"  # a profile of your own: outputs git-ignored
    r3 = json.loads((res / "03_voting_and_calibration.json").read_text())["results"]
    assert r3["table"] == {} and r3["claims"] == {} and r3["pseudo_labels"]["n_users"] == 70
    assert any(w.startswith("occupation: ") for w in r3["health"]["warnings"])
    assert set(r3["health"]["teacher_agreement_pool"]) == {"age_band", "gender", "occupation"}
    text = (res / "notebooks" / "03_voting_and_calibration.ipynb").read_text()
    assert "no gold labels for the test split: the comparison table skipped" in text
    assert "warning: occupation: the teachers agree" in text
    r2 = json.loads((res / "02_label_synthesis.json").read_text())["results"]
    assert r2["teacher_f1"] == {} and r2["n_users"] == {"pool": 70, "test": 30}
    assert (tmp_root / "runs" / "own_data_no_gold" / "pseudo_labels" / "pool.jsonl").is_file()


@pytest.mark.slow
def test_every_notebook_runs_on_the_example_with_gold(tmp_root):
    """The README's one command, `reproduce --profile examples/own_data/own_data.yaml`: 01-06 at
    smoke scale (about 3.5 minutes on 2 busy cores: SFT 200 steps, RL 2 steps per variant)."""
    ids = [json.loads(line)["user_id"] for line in (EXAMPLE / "data" / "pool.jsonl").read_text().splitlines()]
    assert ids != sorted(ids)  # records in their natural order (1, 2, ..., 10), not sorted as strings
    assert reproduce.main(["--profile", str(PROFILE)]) == 0
    res, p = tmp_root / "runs" / "own_data" / "results", load_params(PROFILE)

    def results(name):
        return json.loads((res / f"{name}.json").read_text())["results"]

    assert results("01_taxonomy_exploration")["n_users"] == {"pool": 70, "test": 30}
    assert set(results("02_label_synthesis")["teacher_f1"]) == set(p["teachers"])
    r3 = results("03_voting_and_calibration")
    assert r3["pseudo_labels"]["n_users"] == 70 and "chosen_minus_majority_f1_ci" in r3["claims"]
    r4 = results("04_sft_distillation")
    assert r4["training"]["sft"]["steps"] == p["sft_steps"] and r4["table"]["sft"]["n_users"] == 30
    assert r4["pool_parts"] == {"heldout": p["heldout_users"], "rl": p["rl_users"],
                                "sft": 70 - p["heldout_users"] - p["rl_users"]}
    r5 = results("05_confidence_guided_rl")
    assert r5["n_users"] == {"train": p["rl_users"], "heldout": p["rl_heldout_users"], "test": 30}
    for name in ("sft", *(f"rl_{v}" for v in p["rl_variants"])):
        assert (tmp_root / "runs" / "own_data" / "predictions" / f"{name}.parquet").is_file(), name
    r6 = results("06_f1_analysis")
    assert r6["f1_by_clue"]["SFT student"]["f1"] == {}  # the example's gold records no clue strengths
    assert set(r6["per_attribute_f1"]["SFT student"]) == {"age_band", "gender", "occupation", "average"}
    assert (res / "tables" / "06_main.csv").is_file()
