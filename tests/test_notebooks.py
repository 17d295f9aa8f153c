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


def check_01(root: Path) -> None:
    r = results(root, "01_taxonomy_exploration")
    assert r["n_users"] == {"pool": 300, "test": 200}
    for attr, dist in r["label_distribution_test"].items():
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-5)
    for name in ("01_label_distributions", "01_field_coverage", "01_clue_strength"):
        assert (root / "figures" / "smoke" / f"{name}.png").stat().st_size > 5000


def check_02(root: Path) -> None:
    r = results(root, "02_label_synthesis")
    floor = max(r["reference_f1"]["uniform_random"]["avg_f1"], r["reference_f1"]["majority_class"]["avg_f1"])
    assert set(r["teacher_f1"]) == {"lexicon", "heuristic", "embedding", "knowledge"}
    for teacher, s in r["teacher_f1"].items():
        assert floor + 5 < s["avg_f1"] < 90, teacher  # above chance, far from perfect
        assert r["format"][teacher]["parse_failure_rate"] == 0.0
        c = r["confidence"][teacher]
        assert c["accuracy_highest_bin"] > c["accuracy_lowest_bin"], teacher
    assert r["n_annotations"] == {"pool": 300 * 6 * 4 * 3, "test": 200 * 6 * 4 * 3}
    for split in ("pool", "test"):
        assert (root / "runs" / "smoke" / "synthesis" / f"{split}.parquet").is_file()


def check_03(root: Path) -> None:
    r = results(root, "03_voting_and_calibration")
    t = r["table"]
    singles = [v["avg_f1"] for k, v in t.items() if k.startswith("single sample")]
    assert t[r["chosen_rule"]]["avg_f1"] > sum(singles) / len(singles)
    assert t[r["chosen_rule"]]["avg_f1"] > t["majority vote"]["avg_f1"]
    assert r["chosen_rule"] == max(r["heldout_agreement_pool"], key=r["heldout_agreement_pool"].get)
    final = t[r["final_method"]]
    assert abs(final["coverage"] - 0.8) < 0.05 and final["balance_pool"] > t[r["chosen_rule"]]["balance_pool"]
    assert t["chosen + class thresholds"]["avg_f1_kept"] > t[r["chosen_rule"]]["avg_f1"]
    lines = (root / "runs" / "smoke" / "pseudo_labels" / "pool.jsonl").read_text().splitlines()
    assert len(lines) == 300 and all(len(json.loads(x)["attributes"]) == 6 for x in lines)


def check_04(root: Path) -> None:
    r = results(root, "04_sft_distillation")
    c = r["claims"]
    for key in ("sft_minus_base_f1", "sft_minus_classical_f1", "sft_minus_pseudo_labels_f1"):
        lo, hi = c[f"{key}_ci"]
        assert lo <= c[key] <= hi, key
    assert c["best_label_source"] in ("best_single", "majority", "weighted", "weighted_calibrated")
    assert r["rule_agreement_with_03"] == 1.0
    assert set(r["training"]) == {"sft"} | {f"ablation_{s}" for s in ("best_single", "majority", "weighted",
                                                                       "weighted_calibrated")}
    for name, t in r["training"].items():
        assert t["curves"]["loss"][-1] < t["curves"]["loss"][0], name
    assert r["training"]["sft"]["steps"] == 300
    for name in ("base", "sft", "classical", "pseudo_labels"):
        assert (root / "runs" / "smoke" / "predictions" / f"{name}.parquet").is_file()
        assert r["table"][name]["n_users"] == 200
    assert r["table"]["sft"]["parse_failure_rate"] < 0.2 and c["sft_minus_base_f1_ci"][0] > 0
    for name in ("04_training_curves", "04_comparison", "04_reliability"):
        assert (root / "figures" / "smoke" / f"{name}.png").stat().st_size > 5000


CHECKS = {"01_taxonomy_exploration": check_01, "02_label_synthesis": check_02, "03_voting_and_calibration": check_03,
          "04_sft_distillation": check_04}


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
def test_runner_is_deterministic_and_names_failures(smoke_root, tmp_path, monkeypatch, capsys):
    import shutil

    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    assert reproduce.main(["--profile", "smoke", "--only", "01"]) == 0
    for sub in ("results/smoke/01_taxonomy_exploration.json", "runs/smoke/data/pool.jsonl",
                "runs/smoke/data/gold/test.jsonl", "figures/smoke/01_label_distributions.png"):
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
