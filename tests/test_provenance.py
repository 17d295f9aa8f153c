import json
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest

from confprofile import provenance


def test_derive_seed_is_the_same_in_another_process():
    code = "from confprofile.provenance import derive_seed; print(derive_seed(7, 'teacher', 'u1', 2))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(other) == provenance.derive_seed(7, "teacher", "u1", 2) < 2**63


def test_save_results_is_sorted_rounded_and_stable(tmp_root):
    name = "01_taxonomy_exploration"  # results need a producer (code_hash)
    payload = {"b": 1 / 3, "a": [float("nan"), 2.0], "n": provenance.rng(0, "x").integers(5)}
    path = tmp_root / provenance.save_results("smoke", name, payload, {"seed": 0})
    first = path.read_bytes()
    assert tmp_root / provenance.save_results("smoke", name, dict(reversed(list(payload.items()))), {"seed": 0}) == path
    assert path.read_bytes() == first
    saved = json.loads(first)
    assert list(saved) == sorted(saved) and saved["results"]["b"] == 0.333333 and saved["results"]["a"][0] is None
    assert "torch" in saved["versions"] and provenance.load_results("smoke", name)["b"] == 0.333333
    assert saved["code"] == provenance.code_hash(name)


def test_code_hash_covers_what_a_notebook_imports_and_only_that():
    files = provenance.code_hash("01_taxonomy_exploration")["files"]
    imported = ["bench", "dataset", "monitor", "paths", "plots", "records", "evaluation/gold_labels", "params",
                "provenance", "taxonomy"]  # notebook 01's import lines
    assert {f"confprofile/{m}.py" for m in imported} <= set(files)
    assert {"notebooks/01_taxonomy_exploration.ipynb", "confprofile/__init__.py", "confprofile/evaluation/__init__.py",
            "confprofile/errors.py", "confprofile/taxonomy.yaml"} <= set(files)  # packages, a module's import, data
    assert "confprofile/readme.py" not in files and not any(f.startswith("confprofile/teachers/") and f.endswith(".py")
                                                            for f in files)
    registry = {f"confprofile/teachers/{m}.py" for m in ("lexicon", "heuristic", "embedding", "knowledge", "persona",
                                                          "hf", "vllm_backend", "openai_http")}
    assert registry <= set(provenance.code_hash("02_label_synthesis")["files"])  # 02 reaches the registry's lazy strings
    assert "confprofile/sft.py" in provenance.code_hash("04_sft_trials")["files"]  # a command's results: its module
    with pytest.raises(ValueError, match="no notebook or command writes results '99_x'"):
        provenance.code_hash("99_x")


def test_save_figure_is_byte_stable(tmp_root):
    def draw():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        return fig

    a = (tmp_root / provenance.save_figure(draw(), "smoke", "99_a")).read_bytes()
    b = (tmp_root / provenance.save_figure(draw(), "smoke", "99_a")).read_bytes()
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_writes_the_numbers_it_draws_beside_it(tmp_root):
    from confprofile import plots

    fig, axes = plots.grid(5, ncols=5)
    plots.bar_shares({"vote": {"a": 50.0, "b": 60.0}, "sft": {"a": 20.0, "b": 30.0}}, axes[0], title="f1")
    plots.pipeline({"01 users": {"kept": 3, "dropped": 1}}, axes[1])
    plots.histograms({"t": [1, 3]}, axes[2])
    plots.heatmap({"x": {"x": 75.0, "y": 25.0}}, axes[3])
    plots.lines(["explicit", "weak"], {"sft": [40.0, float("nan")]}, axes[4], xlabel="clue", ylabel="F1")
    png = tmp_root / provenance.save_figure(fig, "smoke", "99_f")
    first = png.with_suffix(".json").read_bytes()
    assert provenance.save_figure(fig, "smoke", "99_f") and png.with_suffix(".json").read_bytes() == first
    bars, pipe, hist, heat, clue = provenance.load_figure_data("smoke", "99_f")["axes"]
    assert bars["title"] == "f1" and bars["xticklabels"] == ["a", "b"]
    assert {b["label"]: [r["height"] for r in b["rects"]] for b in bars["bars"]} == {"vote": [50.0, 60.0],
                                                                                   "sft": [20.0, 30.0]}
    assert [b["orientation"] for b in pipe["bars"]] == ["horizontal"] * 2 and pipe["bars"][0]["rects"][0]["width"] == 0.75
    assert pipe["yticklabels"] == ["01 users"] and pipe["texts"] == ["3 kept, 1 dropped"]
    assert clue["lines"] == [{"label": "sft", "x": ["explicit", "weak"], "y": [40.0, None]}]  # categories kept, NaN None
    assert hist["stairs"][0]["values"] == [0.25, 0.75] and heat["images"] == [[[75.0, 25.0]]]  # one image, one row


def test_save_table_writes_rounded_csv_and_markdown(tmp_root):
    import pandas as pd

    table = pd.DataFrame({"avg F1": [61.23456, 70.0], "ci": ["+1.00 [+0.10, +2.00]", ""]}, index=["base", "sft"])
    csv, md = (tmp_root / p for p in provenance.save_table(table, "smoke", "99_t", digits=2))
    assert csv.name == "99_t.csv" and csv.parent == tmp_root / "results" / "smoke" / "tables"
    assert csv.read_text().splitlines() == [",avg F1,ci", 'base,61.23,"+1.00 [+0.10, +2.00]"', "sft,70.0,"]
    lines = md.read_text().splitlines()
    assert lines[0].split("|")[2].strip() == "avg F1" and "61.23" in lines[2] and "61.2346" not in md.read_text()
    assert pd.read_csv(csv, index_col=0).loc["sft", "avg F1"] == 70.0
