"""Every notebook runs at smoke scale through the real runner, and its numbers are checked.

The whole smoke pipeline runs once per test session into a temporary root (so the repo's
results/ are never touched); each notebook then has a test that reads back what it recorded.
A completeness test makes sure no notebook can drop out of this file or out of the runner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from confprofile import reproduce

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory):
    import shutil

    root = tmp_path_factory.mktemp("smoke_root")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONFPROFILE_ROOT", str(root))
        rc = reproduce.main(["--profile", "smoke"])
    assert rc == 0, "the smoke pipeline failed (see the runner's message above)"
    return root


def results(root: Path, name: str) -> dict:
    return json.loads((root / "results" / "smoke" / f"{name}.json").read_text())["results"]


def smoke() -> dict:
    from confprofile.params import load_params

    return load_params("smoke")


def check_01(root: Path) -> None:
    r, p = results(root, "01_taxonomy_exploration"), smoke()
    assert r["n_users"] == {"pool": p["n_pool"], "test": p["n_test"]}
    for attr, dist in r["label_distribution_test"].items():
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-5)
    for name in ("01_label_distributions", "01_field_coverage", "01_clue_strength"):
        assert (root / "figures" / "smoke" / f"{name}.png").stat().st_size > 5000


def check_02(root: Path) -> None:
    r, p = results(root, "02_label_synthesis"), smoke()
    floor = max(r["reference_f1"]["uniform_random"]["avg_f1"], r["reference_f1"]["majority_class"]["avg_f1"])
    assert set(r["teacher_f1"]) == set(p["teachers"])
    for teacher, s in r["teacher_f1"].items():
        assert floor + 5 < s["avg_f1"] < 90, teacher  # above chance, far from perfect
        assert r["format"][teacher]["parse_failure_rate"] == 0.0
        c = r["confidence"][teacher]
        assert c["accuracy_highest_bin"] > c["accuracy_lowest_bin"], teacher
    per_user = 6 * len(p["teachers"]) * p["n_samples"]  # attributes x teachers x samples
    assert r["n_annotations"] == {"pool": p["n_pool"] * per_user, "test": p["n_test"] * per_user}
    for split in ("pool", "test"):
        assert (root / "runs" / "smoke" / "synthesis" / f"{split}.parquet").is_file()


def check_03(root: Path) -> None:
    r, p = results(root, "03_voting_and_calibration"), smoke()
    t = r["table"]
    singles = [v["avg_f1"] for k, v in t.items() if k.startswith("single sample")]
    assert t[r["chosen_rule"]]["avg_f1"] > sum(singles) / len(singles)
    assert r["chosen_rule"] == max(r["heldout_agreement_pool"], key=r["heldout_agreement_pool"].get)
    final = t[r["final_method"]]
    assert abs(final["coverage"] - p["coverage"]) < 0.05 and final["balance_pool"] > t[r["chosen_rule"]]["balance_pool"]
    assert t["chosen + class thresholds"]["avg_f1_kept"] > t[r["chosen_rule"]]["avg_f1"]
    deltas = [k for k in r["claims"] if "_minus_" in k and not k.endswith("_ci")]
    assert {"chosen_minus_majority_f1", "vote_minus_best_single_f1", "final_minus_chosen_f1"} <= set(deltas)
    for claim in deltas:
        lo, hi = r["claims"][claim + "_ci"]
        assert lo <= r["claims"][claim] <= hi, claim
    assert len(r["voting_sweep"]["grid"]) == len(p["sweep_views"]) * len(p["sweep_gaps"])
    assert (root / "figures" / "smoke" / "03_voting_sweep.png").is_file()
    lines = (root / "runs" / "smoke" / "pseudo_labels" / "pool.jsonl").read_text().splitlines()
    assert len(lines) == p["n_pool"] and all(len(json.loads(x)["attributes"]) == 6 for x in lines)


def check_04(root: Path) -> None:
    r, p = results(root, "04_sft_distillation"), smoke()
    c = r["claims"]
    for key in ("sft_minus_base_f1", "sft_minus_classical_f1", "sft_minus_pseudo_labels_f1", "sft_minus_uniform_f1",
                "best_minus_worst_label_source_f1"):
        lo, hi = c[f"{key}_ci"]
        assert lo <= c[key] <= hi, key
    assert c["best_label_source"] in p["sft_ablation_sources"] and c["label_source_student"] == "llm"
    arms = {f"ablation_{s}" for s in p["sft_ablation_sources"]}  # the main student trains longer than the arms
    assert set(r["training"]) == {"sft"} | arms and r["label_source_ablation"].keys() == set(p["sft_ablation_sources"])
    for name, t in r["training"].items():
        assert t["curves"]["loss"][-1] < t["curves"]["loss"][0], name
    assert r["training"]["sft"]["steps"] == p["sft_steps"]
    assert r["pool_parts"] == {"heldout": p["heldout_users"], "rl": p["rl_users"],
                               "sft": p["n_pool"] - p["heldout_users"] - p["rl_users"]}
    assert r["n_examples"][p["sft_label_source"]] == r["pool_parts"]["sft"]
    curve = r["learning_curve"]  # every checkpoint scored without labels; the choice is its best
    assert set(curve["heldout"]) == set(curve["test_f1"]) and str(p["sft_steps"]) in curve["heldout"]
    assert curve["heldout"][str(c["chosen_step"])]["f1"] == max(v["f1"] for v in curve["heldout"].values())
    assert c["sft_heldout_f1"] == curve["heldout"][str(c["chosen_step"])]["f1"]
    assert r["table"]["sft"]["avg_f1"] == pytest.approx(curve["test_f1"][str(c["chosen_step"])], abs=1e-6)
    for name in ("base", "sft", "classical", "pseudo_labels"):
        assert (root / "runs" / "smoke" / "predictions" / f"{name}.parquet").is_file()
        assert r["table"][name]["n_users"] == p["n_test"]
    assert r["table"]["uniform_random"]["avg_f1"] < r["table"]["pseudo_labels"]["avg_f1"]
    assert r["table"]["sft"]["parse_failure_rate"] < 0.2 and c["sft_minus_base_f1_ci"][0] > 0
    assert 0 <= c["sft_abstention_rate"] <= 1 and c["sft_train_minutes"] > 0
    for name in ("04_training_curves", "04_comparison", "04_reliability"):
        assert (root / "figures" / "smoke" / f"{name}.png").stat().st_size > 5000


def check_05(root: Path) -> None:
    r, p = results(root, "05_confidence_guided_rl"), smoke()
    c = r["claims"]
    assert {"rl_minus_sft_f1", "rl_minus_ttrl_f1"} <= set(c)  # the ablation deltas come with their variants
    deltas = [k for k in c if "_minus_" in k and not k.endswith("_ci")]
    assert deltas
    for key in deltas:  # each estimate lies inside its own interval, and it is the F1 gap of the table
        lo, hi = c[f"{key}_ci"]
        assert lo <= c[key] <= hi, key
    assert c["rl_minus_sft_f1"] == pytest.approx(r["table"]["rl_" + p["rl_variants"][0]]["avg_f1"] - r["table"]["sft"]["avg_f1"],
                                                 abs=1e-3)
    assert r["n_users"] == {"train": p["rl_users"], "heldout": p["rl_heldout_users"], "test": p["n_test"]}
    assert set(r["band_counts"]) == set(p["rl_variants"])  # each variant's own vote and band
    for name, counts in r["band_counts"].items():
        assert sum(counts.values()) == p["rl_users"], name
    full = r["monitor"][p["rl_variants"][0]]
    assert 0.0 <= full["accuracy"] <= 1.0 and 0.0 <= full["reward_accuracy"] <= 1.0
    for name in p["rl_variants"]:
        assert (root / "runs" / "smoke" / "predictions" / f"rl_{name}.parquet").is_file()
        assert r["table"][f"rl_{name}"]["n_users"] == p["n_test"]
        assert r["curves"][name]["step"][-1] == p["rl_steps"]
        assert r["chosen_step"][name] in {int(s) for s in r["heldout_agreement"][name]}
    for name in ("05_band", "05_training"):
        assert (root / "figures" / "smoke" / f"{name}.png").stat().st_size > 5000


def check_06(root: Path) -> None:
    r, p = results(root, "06_f1_analysis"), smoke()
    c, final = r["claims"], f"rl_{p['rl_variants'][0]}"
    for key in ("final_minus_base_f1", "final_minus_best_teacher_f1", "final_minus_pseudo_labels_f1"):
        lo, hi = c[f"{key}_ci"]
        assert lo <= c[key] <= hi, key
    assert c["paper_gain_f1"] == 13.97 and c["final_model"] == final
    # read back, not regenerated: the same scores as the notebooks that made the predictions
    assert c["final_avg_f1"] == pytest.approx(results(root, "05_confidence_guided_rl")["table"][final]["avg_f1"], abs=1e-3)
    assert r["report"]["sft"]["avg_f1"] == pytest.approx(results(root, "04_sft_distillation")["table"]["sft"]["avg_f1"], abs=1e-3)
    assert c["final_minus_base_f1"] == pytest.approx(c["final_avg_f1"] - r["report"]["base"]["avg_f1"], abs=1e-3)
    assert set(r["main_table"]) == {"uniform random (chance)", "majority class (chance)", "base model", "SFT student",
                                    "SFT+RL student"}
    assert r["main_table"]["uniform random (chance)"]["avg F1"] == pytest.approx(
        results(root, "04_sft_distillation")["table"]["uniform_random"]["avg_f1"], abs=1e-3)
    assert r["pipeline"]["01 pool users"]["kept"] == p["n_pool"]
    tables = root / "results" / "smoke" / "tables"
    for name in ("06_main", "06_main_deltas", "06_teachers_and_voting", "06_rl_ablation"):
        assert (tables / f"{name}.csv").stat().st_size > 50 and (tables / f"{name}.md").read_text().startswith("|")
    for name in ("06_f1_by_stage", "06_thresholds", "06_reliability", "06_confusion", "06_f1_by_clue", "06_pipeline"):
        assert (root / "figures" / "smoke" / f"{name}.png").stat().st_size > 5000


CHECKS = {"01_taxonomy_exploration": check_01, "02_label_synthesis": check_02, "03_voting_and_calibration": check_03,
          "04_sft_distillation": check_04, "05_confidence_guided_rl": check_05, "06_f1_analysis": check_06}


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_smoke_results(smoke_root, name):
    assert (smoke_root / "results" / "smoke" / "notebooks" / f"{name}.ipynb").is_file()
    CHECKS[name](smoke_root)


def test_every_notebook_is_checked_here_and_run_by_the_runner():
    assert NOTEBOOKS, "no notebooks found"
    assert set(CHECKS) == set(NOTEBOOKS)
    assert [p.stem for p in reproduce.notebooks()] == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_sources_follow_house_style(name):
    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())
    cells = nb["cells"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert not any(c.get("outputs") or c.get("execution_count") for c in cells if c["cell_type"] == "code"), \
        "commit notebook sources without outputs"
    header = "".join(cells[0]["source"])
    assert header.startswith(f"# {name[:2]} · ")
    for field in ("**Reads:**", "**Writes:**", "**Paper:**", "**Deviations from the paper:**"):
        assert field in header, f"{name}: header lacks {field}"
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and params[0] is cells[1]
    for line in "".join(params[0]["source"]).splitlines():
        assert ":" in line and "#" in line, f"{name}: parameter line needs a type and a comment: {line!r}"
    last_code = [c for c in cells if c["cell_type"] == "code"][-1]
    assert "assert" in "".join(last_code["source"]), f"{name}: closes without checks"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_executed_copies_carry_no_timestamps_local_paths_or_figure_paths(smoke_root, name):
    text = (smoke_root / "results" / "smoke" / "notebooks" / f"{name}.ipynb").read_text()
    for word in ("start_time", "end_time", "duration", "iopub.", str(smoke_root), str(Path.home()) + "/"):
        assert word not in text, f"{name}: executed copy contains {word!r}"
    for cell in json.loads(text)["cells"]:
        if "save_figure(" in "".join(cell["source"]).strip().splitlines()[-1]:
            shown = [o for o in cell.get("outputs", []) if o["output_type"] == "execute_result"]
            assert not shown, f"{name}: a cell ending in save_figure shows {shown}"


def _parameter_defaults(name: str) -> dict:
    import ast

    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {node.target.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.AnnAssign)}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameter_cell_defaults_equal_the_smoke_profile(name):
    from confprofile.params import load_params

    smoke = load_params("smoke")
    defaults = _parameter_defaults(name)
    assert defaults, f"{name}: no parameters"
    for key, value in defaults.items():
        assert key in smoke, f"{name}: parameter {key!r} is not in smoke.yaml (profile files are the one source)"
        assert value == smoke[key], f"{name}: default {key}={value!r} differs from smoke.yaml's {smoke[key]!r}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_papermill_reads_every_parameter_line(name):
    """papermill infers each parameter's name and type from its line; a line it cannot parse (a
    colon or an apostrophe in the comment, say) is only warned about at every run."""
    import nbformat
    from papermill.translators import PythonTranslator

    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    read = {p.name for p in PythonTranslator.inspect(cell)}
    assert read == set(_parameter_defaults(name)), f"{name}: papermill cannot parse {set(_parameter_defaults(name)) - read}"


@pytest.mark.slow
def test_runner_is_deterministic_and_names_failures(smoke_root, tmp_path, monkeypatch, capsys):
    import shutil

    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    assert reproduce.main(["--profile", "smoke", "--only", "01"]) == 0
    for sub in ("results/smoke/01_taxonomy_exploration.json", "runs/smoke/data/pool.jsonl",
                "runs/smoke/data/gold/test.jsonl", "figures/smoke/01_label_distributions.png",
                f"results/smoke/notebooks/{NOTEBOOKS[0]}.ipynb"):  # the executed copy too, in another root
        assert (tmp_path / sub).read_bytes() == (smoke_root / sub).read_bytes(), sub

    nb = tmp_path / "notebooks" / f"{NOTEBOOKS[0]}.ipynb"
    src = json.loads(nb.read_text())
    src["cells"][-1]["source"] = ["assert 1 == 2, 'deliberate'\n"]
    nb.write_text(json.dumps(src))
    assert reproduce.main(["--profile", "smoke", "--only", "01"]) == 1
    err = capsys.readouterr().err
    assert f"FAILED {NOTEBOOKS[0]}.ipynb" in err and "AssertionError" in err and "deliberate" in err
    with pytest.raises(SystemExit, match="no notebook numbered 99"):
        reproduce.main(["--profile", "smoke", "--only", "99"])
    assert os.environ["CONFPROFILE_ROOT"] == str(tmp_path)


@pytest.mark.slow
def test_sft_trials_choose_without_opening_gold(smoke_root, monkeypatch, request):
    """04's label-free choices (the trials, the learning curve on the held-out slice) run with
    every open() of a gold file failing; their record names the split and the metric."""
    from confprofile import choices, sft

    monkeypatch.setenv("CONFPROFILE_ROOT", str(smoke_root))
    request.getfixturevalue("no_gold_reads")
    assert sft.main(["--profile", "smoke", "--trials"]) == 0
    r, p = results(smoke_root, "04_sft_trials"), smoke()
    assert [t["name"] for t in r["trials"]] == list(choices.trial_settings(p))
    assert all(t["split"] == "heldout" and 0 <= t["f1"] <= 1 and t["n_pairs"] > 0 for t in r["trials"])
    assert set(r["chosen"]) == set(p["sft_trials"])
    prep = sft.prepare("smoke", p)  # the learning curve reads only the held-out slice's pseudo-labels
    curve = choices.heldout_curve("smoke", p, prep, {"path": str(smoke_root / "runs/smoke/sft/sft/final"), "reused": True})
    saved = results(smoke_root, "04_sft_distillation")["learning_curve"]["heldout"]
    assert {str(k): v["f1"] for k, v in curve.items()} == pytest.approx({k: v["f1"] for k, v in saved.items()}, abs=1e-6)
