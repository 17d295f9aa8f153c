"""Every notebook runs at smoke scale through the real runner, and its numbers are checked.

The whole smoke pipeline runs once per test session into a temporary root (so the repo's
results/ are never touched); each notebook then has a test that reads back what it recorded.
A completeness test makes sure no notebook can drop out of this file or out of the runner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from confprofile import choices, reproduce, rl_runs
from confprofile.evaluation import analysis
from confprofile.evaluation.intervals import with_interval

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


def figure(root: Path, name: str) -> list[dict]:
    """The axes of ``figures/smoke/<name>.png``: the PNG is there, and the numbers it draws
    (``provenance.figure_data``, saved beside it as ``<name>.json``) are not empty."""
    png = root / "figures" / "smoke" / f"{name}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: not a PNG"
    axes = json.loads(png.with_suffix(".json").read_text())["axes"]
    assert any(a["lines"] or a["bars"] or a["stairs"] or a["images"] or a["collections"] for a in axes), \
        f"{name}: the figure draws nothing"
    return axes


def bars(ax: dict) -> dict[str, dict[str, float]]:
    """``{series: {category: value}}`` of an axes' bars (a vertical bar's height, a horizontal
    one's width); the i-th bar of a series stands on the i-th tick."""
    out = {}
    for b in ax["bars"]:
        vertical = b["orientation"] == "vertical"
        ticks = ax["xticklabels" if vertical else "yticklabels"]
        out[b["label"]] = {ticks[i]: r["height" if vertical else "width"] for i, r in enumerate(b["rects"])}
    return out


def cells(ax: dict) -> dict[str, dict[str, float]]:
    """``{row: {column: value}}`` of an axes' one heatmap image, named by its tick labels."""
    (image,) = ax["images"]
    return {row: dict(zip(ax["xticklabels"], values)) for row, values in zip(ax["yticklabels"], image)}


def lines(ax: dict) -> dict[str, dict[str, list]]:
    """``{label: {"x": [...], "y": [...]}}`` of an axes' labelled lines."""
    return {ln["label"]: {"x": ln["x"], "y": ln["y"]} for ln in ax["lines"] if ln["label"]}


def check_01(root: Path) -> None:
    r, p = results(root, "01_taxonomy_exploration"), smoke()
    assert r["n_users"] == {"pool": p["n_pool"], "test": p["n_test"]}
    for attr, dist in r["label_distribution_test"].items():
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-5)
    # the figures draw the recorded numbers
    by_title = {ax["title"]: bars(ax)["gold"] for ax in figure(root, "01_label_distributions")}
    assert by_title.keys() == r["label_distribution_test"].keys()
    for attr, dist in r["label_distribution_test"].items():
        assert by_title[attr] == pytest.approx(dist, abs=1e-5), attr
    (coverage,) = figure(root, "01_field_coverage")
    assert bars(coverage)[""] == pytest.approx({f: s["coverage"] for f, s in r["field_stats_test"].items()}, abs=1e-5)
    (clue,) = figure(root, "01_clue_strength")
    for strength, by_attr in bars(clue).items():
        assert by_attr == pytest.approx({a: s.get(strength, 0.0) for a, s in r["clue_strength_test"].items()},
                                        abs=1e-5), strength


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
    (heat,) = figure(root, "02_teacher_f1")  # the figures draw the recorded numbers
    scores = {**r["teacher_f1"], **r["reference_f1"]}
    assert cells(heat).keys() == scores.keys()
    for who, row in cells(heat).items():
        assert row == pytest.approx({**scores[who]["f1"], "average": scores[who]["avg_f1"]}, abs=1e-4), who
    dist = r["label_distribution"]
    for ax in figure(root, "02_label_distribution"):
        for who, shares in bars(ax).items():
            assert shares == pytest.approx({lab: dist[who][ax["title"]].get(lab, 0.0) for lab in shares}, abs=1e-5), who
    hist, _ = figure(root, "02_confidence")
    for s in hist["stairs"]:
        counts = r["confidence_histogram"][s["label"]]
        assert s["values"] == pytest.approx([c / sum(counts) for c in counts], abs=1e-5), s["label"]


def check_03(root: Path) -> None:
    r, p = results(root, "03_voting_and_calibration"), smoke()
    t = r["table"]
    singles = [v["avg_f1"] for k, v in t.items() if k.startswith("single_sample_")]  # keyed by id
    assert all(t[k]["name"] == r["names"][k] for k in r["names"] if k in t)  # display names beside, for prints
    assert t[r["chosen_rule"]]["avg_f1"] > sum(singles) / len(singles)
    from confprofile import pseudo_labelling

    assert r["rule_criterion"] == pseudo_labelling.CRITERION and set(r["rule_score_pool"]) == set(r["heldout_agreement_pool"])
    assert r["chosen_rule"] == pseudo_labelling.choose_rule(r["rule_score_pool"], r["heldout_agreement_pool"])
    study = r["rule_choice_study"]  # the chooser misses where weak teachers lean together; the alternative does not
    assert set(study) == {f"{s} | {c}" for s in p["rule_study_scenarios"] for c in p["rule_study_criteria"]}
    for row in study.values():
        lo, hi = row["picked_minus_best_pts_ci"]
        assert lo <= row["picked_minus_best_pts"] <= min(hi, 0) and row["within"] == (hi >= 0)
    assert study["weak over-predict one class | reliability"]["within"]
    assert not study["weak over-predict one class | heldout"]["within"]
    final = t[r["final_method"]]
    assert abs(final["coverage"] - p["coverage"]) < 0.05 and final["balance_pool"] > t[r["chosen_rule"]]["balance_pool"]
    assert t["chosen_thresholds"]["avg_f1_kept"] > t[r["chosen_rule"]]["avg_f1"]
    deltas = [k for k in r["claims"] if "_minus_" in k and not k.endswith("_ci")]
    assert {"chosen_minus_majority_f1", "vote_minus_best_single_f1", "final_minus_chosen_f1"} <= set(deltas)
    for claim in deltas:
        lo, hi = r["claims"][claim + "_ci"]
        assert lo <= r["claims"][claim] <= hi, claim
    assert len(r["voting_sweep"]["grid"]) == len(p["sweep_views"]) * len(p["sweep_shared"]) * len(p["sweep_gaps"])
    figure(root, "03_voting_sweep")
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
    curve = r["learning_curve"]  # every checkpoint scored without labels; the choice: the earliest within one SE of the best
    assert set(curve["heldout"]) == set(curve["test_f1"]) and str(p["sft_steps"]) in curve["heldout"]
    by_step = {int(k): v for k, v in sorted(curve["heldout"].items(), key=lambda kv: int(kv[0]))}
    assert c["chosen_step"] == choices.choose(by_step)
    best = max(by_step.values(), key=lambda v: v["f1"])
    assert best["f1"] - best["f1_se"] <= by_step[c["chosen_step"]]["f1"] <= best["f1"]
    assert c["sft_heldout_f1"] == curve["heldout"][str(c["chosen_step"])]["f1"]
    assert r["table"]["sft"]["avg_f1"] == pytest.approx(curve["test_f1"][str(c["chosen_step"])], abs=1e-6)
    for name in ("base", "sft", "classical", "pseudo_labels"):
        assert (root / "runs" / "smoke" / "predictions" / f"{name}.parquet").is_file()
        assert r["table"][name]["n_users"] == p["n_test"]
    assert r["table"]["uniform_random"]["avg_f1"] < r["table"]["pseudo_labels"]["avg_f1"]
    assert r["table"]["sft"]["parse_failure_rate"] < 0.2 and c["sft_minus_base_f1_ci"][0] > 0
    assert 0 <= c["sft_abstention_rate"] <= 1 and c["sft_train_minutes"] > 0
    learning, *_ = figure(root, "04_training_curves")  # the figures draw the recorded numbers
    drawn = {name: dict(zip(ln["x"], ln["y"])) for name, ln in lines(learning).items()}  # step -> value
    assert drawn["held-out F1 vs pseudo-labels (label-free)"] == pytest.approx(
        {float(k): 100 * v["f1"] for k, v in curve["heldout"].items()}, abs=1e-4)
    assert drawn["test F1 vs gold (reported only)"] == pytest.approx(
        {float(k): v for k, v in curve["test_f1"].items()}, abs=1e-4)
    (heat,) = figure(root, "04_comparison")
    table = cells(heat)
    assert {"sft", "base", "pseudo_labels"} <= table.keys()
    for name, row in table.items():
        assert row == pytest.approx({**r["table"][name]["f1"], "average": r["table"][name]["avg_f1"]}, abs=1e-4), name
    assert set(lines(figure(root, "04_reliability")[0])) == set(r["reliability_test"])


def check_05(root: Path) -> None:
    r, p = results(root, "05_confidence_guided_rl"), smoke()
    c = r["claims"]
    assert {"rl_minus_sft_f1", "rl_minus_ttrl_f1", "rl_minus_vote_share_f1", "rl_minus_random_reward_f1",
            "random_reward_minus_sft_f1"} <= set(c)  # the ablation deltas come with their variants
    deltas = [k for k in c if "_minus_" in k and not k.endswith("_ci") and not k.endswith("_seeds")]
    assert deltas
    for key in deltas:  # each estimate lies inside its own interval, and it is the F1 gap of the table
        lo, hi = c[f"{key}_ci"]
        assert lo <= c[key] <= hi, key
    # one training seed per run at smoke (rl_seeds is empty): the per-seed list is the main delta and its interval
    assert c["rl_minus_sft_f1_seeds"] == [c["rl_minus_sft_f1"]] and c["rl_minus_sft_f1_seeds_ci"] == [c["rl_minus_sft_f1_ci"]]
    assert 0 < r["reward_p"]["random_reward"] < 1  # the coin's mean: the full recipe's mean match reward
    assert c["rl_minus_sft_f1"] == pytest.approx(r["table"]["rl_" + p["rl_variants"][0]]["avg_f1"] - r["table"]["sft"]["avg_f1"],
                                                 abs=1e-3)
    assert r["n_users"] == {"train": p["rl_users"], "heldout": p["rl_heldout_users"], "test": p["n_test"]}
    assert set(r["band_counts"]) == set(p["rl_variants"])  # each variant's own vote and band
    for name, counts in r["band_counts"].items():
        assert sum(counts.values()) == p["rl_users"], name
    full = r["monitor"][p["rl_variants"][0]]  # the smoke pool has gold: monitored
    assert 0.0 <= full["accuracy"] <= 1.0 and 0.0 <= full["reward_accuracy"] <= 1.0
    assert r["rl_trials"]["trials"] == [] or set(r["rl_trials"]["chosen"]) == set(p["rl_trials"])
    for name in p["rl_variants"]:
        assert (root / "runs" / "smoke" / "predictions" / f"rl_{name}.parquet").is_file()
        assert r["table"][f"rl_{name}"]["n_users"] == p["n_test"]
        assert r["curves"][name]["step"][-1] == p["rl_steps"]
        assert r["chosen_step"][name] in {int(s) for s in r["heldout_agreement"][name]}
    # every held-out score, the SFT student's too, is against the held-out users' quasi labels
    assert r["heldout_criterion"] == rl_runs.CRITERION and r["heldout_agreement_sft"]["n_pairs"] > 0
    assert 0.0 <= r["heldout_agreement_sft"]["f1"] <= 1.0
    for name in ("05_band", "05_training"):
        figure(root, name)


def check_06(root: Path) -> None:
    r, p = results(root, "06_f1_analysis"), smoke()
    c, final = r["claims"], f"rl_{p['rl_variants'][0]}"
    for key in ("final_minus_base_f1", "final_minus_best_teacher_f1", "final_minus_pseudo_labels_f1"):
        lo, hi = c[f"{key}_ci"]
        assert lo <= c[key] <= hi, key
    assert c["final_model"] == final
    # the paper's numbers are recorded under paper_* only, and are the paper's (analysis.PAPER), not ours
    assert {k: v for k, v in c.items() if k.startswith("paper_")} == {
        "paper_gain_f1": analysis.PAPER["gain_f1"], "paper_avg_f1_secondary": analysis.PAPER["avg_f1_secondary"]}
    assert c["paper_gain_f1"] != pytest.approx(c["final_minus_base_f1"], abs=0.01)
    # one interval per comparison: 06 bootstraps only its own rows and shows 04's and 05's as they recorded them
    r4, r5 = results(root, "04_sft_distillation"), results(root, "05_confidence_guided_rl")
    intervals = [k for nb in NOTEBOOKS[2:] for k in results(root, nb).get("claims", {}) if k.endswith("_ci")]
    assert len(intervals) == len(set(intervals)), sorted({k for k in intervals if intervals.count(k) > 1})
    assert not {"sft_minus_base_f1", "final_minus_sft_f1"} & set(c) and set(r["deltas"]) == {
        k.removesuffix("_ci") for k in c if k.endswith("_ci")}
    shown = pd.read_csv(root / "results" / "smoke" / "tables" / "06_main_deltas.csv", index_col=0)
    for row, (owner, key) in {"SFT student − base model": (r4, "sft_minus_base_f1"),
                              "SFT+RL student − SFT student": (r5, "rl_minus_sft_f1")}.items():
        assert shown.loc[row, "average"] == with_interval(owner["claims"][key], owner["claims"][key + "_ci"])
        assert shown.loc[row, "interval from"].startswith(("04", "05")) and r["interval_from"][row] == shown.loc[row, "interval from"]
    assert set(shown["interval from"]) == {"06", "04 (sft_minus_base_f1)", "05 (rl_minus_sft_f1)"}
    # the per-attribute guard: RL − SFT per attribute from the reports, and every fall over 3 points named
    guard = r["rl_vs_sft_by_attribute"]
    assert guard["change"] == pytest.approx({a: r["report"][final]["f1"][a] - r["report"]["sft"]["f1"][a]
                                             for a in r["report"]["sft"]["f1"]}, abs=1e-4)
    assert sorted(guard["fell"]) == c["rl_fell_attributes"] == sorted(a for a, d in guard["change"].items() if d < -3)
    # read back, not regenerated: the same scores as the notebooks that made the predictions
    assert c["final_avg_f1"] == pytest.approx(results(root, "05_confidence_guided_rl")["table"][final]["avg_f1"], abs=1e-3)
    assert r["report"]["sft"]["avg_f1"] == pytest.approx(results(root, "04_sft_distillation")["table"]["sft"]["avg_f1"], abs=1e-3)
    assert c["final_minus_base_f1"] == pytest.approx(c["final_avg_f1"] - r["report"]["base"]["avg_f1"], abs=1e-3)
    assert set(r["main_table"]) == {"uniform random (chance)", "majority class (chance)", "base model", "SFT student",
                                    "SFT+RL student", "supervised reference (TF-IDF + LR on pool gold)"}
    assert r["main_table"]["uniform random (chance)"]["avg F1"] == pytest.approx(
        results(root, "04_sft_distillation")["table"]["uniform_random"]["avg_f1"], abs=1e-3)
    assert r["pipeline"]["01 pool users"]["kept"] == p["n_pool"]
    tables = root / "results" / "smoke" / "tables"
    for name in ("06_main", "06_main_deltas", "06_teachers_and_voting", "06_rl_ablation"):
        assert (tables / f"{name}.csv").stat().st_size > 50 and (tables / f"{name}.md").read_text().startswith("|")
    # the figures draw the recorded numbers
    (by_stage,) = figure(root, "06_f1_by_stage")
    assert bars(by_stage).keys() == r["per_attribute_f1"].keys()
    for stage, heights in bars(by_stage).items():
        assert heights == pytest.approx(r["per_attribute_f1"][stage], abs=1e-4), stage
    for stage in ("base model", "SFT student", "SFT+RL student"):
        assert bars(by_stage)[stage]["average"] == pytest.approx(r["main_table"][stage]["avg F1"], abs=1e-4), stage
    final_curve, pr, by_threshold = figure(root, "06_thresholds")
    curve = r["threshold_curves"]["SFT+RL student"]
    drawn = lines(final_curve)["F1"]
    assert drawn["x"] == pytest.approx(curve["threshold"]) and drawn["y"] == pytest.approx(curve["f1"], abs=1e-4)
    assert lines(by_threshold).keys() == r["threshold_curves"].keys()
    for name, drawn in lines(by_threshold).items():
        assert drawn["y"] == pytest.approx(r["threshold_curves"][name]["f1"], abs=1e-4), name
    (confusion,) = figure(root, "06_confusion")
    for label, row in cells(confusion).items():
        assert row == pytest.approx(r["confusion"]["shares"][label], abs=1e-4), label
    (pipe,) = figure(root, "06_pipeline")
    assert bars(pipe)["kept"] == pytest.approx({k: v["kept"] / (v["kept"] + v["dropped"]) for k, v in r["pipeline"].items()},
                                               abs=1e-5)
    for name in ("06_reliability", "06_f1_by_clue"):
        figure(root, name)


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



@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_library_name_a_notebook_uses_exists(name):
    """A function moved to another module breaks a notebook only when it runs (slow); found here
    statically: each module a notebook imports from confprofile comes from this checkout and has
    every ``module.attr`` the notebook uses."""
    import ast
    import importlib

    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    tree = ast.parse("\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"))
    mods = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "confprofile":
            parent = importlib.import_module(node.module)
            for a in node.names:
                if not hasattr(parent, a.name) or isinstance(getattr(parent, a.name), type(parent)):
                    mods[a.asname or a.name] = importlib.import_module(f"{node.module}.{a.name}")
    assert mods, f"{name} imports nothing from confprofile"
    elsewhere = {k: m.__file__ for k, m in mods.items() if REPO not in Path(m.__file__).resolve().parents}
    assert not elsewhere, f"{name}: modules from outside this checkout (moved or deleted here?): {elsewhere}"
    missing = sorted({f"{n.value.id}.{n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                      and isinstance(n.value, ast.Name) and n.value.id in mods and not hasattr(mods[n.value.id], n.attr)})
    assert not missing, f"{name} uses names its modules do not have: {missing}"

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


def _parameter_cell(name: str) -> dict[str, tuple[str, object]]:
    """A notebook's parameters: name -> (annotated type's name, default)."""
    import ast

    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {node.target.id: (ast.unparse(node.annotation), ast.literal_eval(node.value))
            for node in tree.body if isinstance(node, ast.AnnAssign)}


def _parameter_defaults(name: str) -> dict:
    return {key: default for key, (_, default) in _parameter_cell(name).items()}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameter_cells_hold_the_profile_and_overrides_only(name):
    """Every value comes from the profile file (``params.for_notebook``), none is repeated in a
    notebook: the parameters cell names the profile and the run's overrides, nothing else."""
    assert _parameter_cell(name) == {"profile": ("str", "smoke"), "overrides": ("dict", {})}


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


@pytest.mark.slow
def test_rl_training_path_and_trials_choose_without_opening_gold(smoke_root, monkeypatch, request):
    """05's training path (rollouts, votes and bands, GRPO for every variant, the held-out
    checkpoint choice) and the RL trials run with every open() of a gold file failing; the
    trials record their split, metric, value and standard error."""
    from confprofile import choices, rl_runs, splits, student

    monkeypatch.setenv("CONFPROFILE_ROOT", str(smoke_root))
    request.getfixturevalue("no_gold_reads")
    assert rl_runs.main(["--profile", "smoke", "--trials"]) == 0
    r, p = results(smoke_root, "05_rl_trials"), smoke()
    assert [t["name"] for t in r["trials"]] == list(choices.trial_settings(p, "rl_trials"))
    assert all(t["split"] == "heldout" and 0 <= t["value"] <= 1 and t["se"] >= 0 and t["n_pairs"] > 0
               for t in r["trials"])
    assert set(r["chosen"]) == set(p["rl_trials"])
    prep = rl_runs.prepare("smoke", p)
    votes = rl_runs.variant_votes(p, prep, p["rl_variants"])
    assert {r["user_id"] for r in prep["reference"]} == set(prep["heldout_ids"])  # the held-out users' quasi labels
    labels = {a.name: list(a.labels) for a in prep["taxonomy"]}
    for name in p["rl_variants"]:  # trained afresh under the lock, beside the notebook's runs
        out = rl_runs.run("smoke", p, prep, name, *votes[name], folder=f"locked/{name}")
        assert not out["run"]["reused"] and out["chosen_step"] in out["heldout"], name
        for step, score in out["heldout"].items():  # scored against the reference, not the stage-1 labels
            pred = student.load_predictions("smoke", f"heldout_rl_locked_{name}_{step}")
            assert score["f1"] == pytest.approx(splits.agreement(pred, prep["reference"], labels)["f1"]), (name, step)


@pytest.mark.slow
def test_rl_notebook_runs_with_no_pool_gold(smoke_root, tmp_path, monkeypatch):
    """Notebook 05 on a pool without gold: the monitoring section is empty, and every trained
    model, choice and test score equals the run that had pool gold (gold never steered them)."""
    import shutil

    root = tmp_path / "root"
    shutil.copytree(smoke_root, root, ignore=shutil.ignore_patterns("locked", "trials"))
    (root / "runs" / "smoke" / "data" / "gold" / "pool.jsonl").unlink()
    (root / "results" / "smoke" / "05_rl_trials.json").unlink(missing_ok=True)
    monkeypatch.setenv("CONFPROFILE_ROOT", str(root))
    assert reproduce.main(["--profile", "smoke", "--only", "05"]) == 0
    r, before = results(root, "05_confidence_guided_rl"), results(smoke_root, "05_confidence_guided_rl")
    assert r["monitor"] == {} and r["accuracy_by_consensus"] == {}
    assert r["claims"] == before["claims"] and r["chosen_step"] == before["chosen_step"]
