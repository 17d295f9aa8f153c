"""Committed artifacts are current: every committed figure and table has a notebook that saves
it, and every committed results file was written with the current profile file's parameters and
by the current code (``provenance.code_hash``: its notebook's code cells, the confprofile modules they
load and the package's YAML data), and states every difference it claims with its interval.

A notebook with no committed results yet (a profile not yet run that far) is skipped, not failed;
a results file that a parameter change or a code change left behind fails until it is
regenerated. ``test_the_checks_catch_*`` run the same checks on tampered copies.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from confprofile import paths
from confprofile.params import load_params
from confprofile.provenance import code_hash, portable, rounded

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SAVERS = {"figures": "save_figure", "tables": "save_table"}
COMMAND_RESULTS = {"04_sft_trials": "python -m confprofile.sft --trials", "05_rl_trials": "python -m confprofile.rl --trials"}
"""Results files a command writes (through the same ``provenance.save_results``), not a notebook: the
label-free trials that chose a profile's values, which notebooks 04 and 05 then read."""
TRIALS_SHOWN_BY = {"04_sft_trials": ("04_sft_distillation", "sft_trials"), "05_rl_trials": ("05_confidence_guided_rl", "rl_trials")}
"""The notebook that shows each trials file, and the field of its results that holds the copy it read."""


def committed(root: Path) -> list[str]:
    """Paths under results/ and figures/ that git tracks (what a clean checkout holds); all files
    on disk where ``root`` is not a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "--", "results", "figures"], cwd=root, check=True,
                             capture_output=True, text=True).stdout
        return sorted(out.split())
    except (OSError, subprocess.CalledProcessError):
        return sorted(p.relative_to(root).as_posix() for d in ("results", "figures") for p in (root / d).rglob("*")
                      if p.is_file())


def _code(root: Path, stem: str) -> list[ast.AST]:
    nb = json.loads((root / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return [ast.parse("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"]


def saved_names(root: Path, stem: str) -> dict[str, set[str]]:
    """String constants in a notebook's code, per saver it calls (``figures``: save_figure,
    ``tables``: save_table); a name a notebook saves is one of them (literal or a dict key)."""
    calls, strings = set(), set()
    for tree in _code(root, stem):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                calls.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return {kind: strings if saver in calls else set() for kind, saver in SAVERS.items()}


def orphans(root: Path, files: list[str]) -> list[str]:
    """Committed figures, tables, executed copies and results files that no notebook produces."""
    stems = {p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    by_number = {s[:2]: s for s in stems}
    problems = []
    for f in files:
        parts = Path(f).parts
        if parts[0] == "results" and len(parts) >= 4 and parts[2] in ("results", "figures"):
            # a profile file's ``outputs:`` folder (examples/blogs: results/blogs/{results,figures}/): same layout
            parts = ("results" if parts[2] == "results" else "figures", parts[1], *parts[3:])
        name = Path(f).stem
        if parts[0] == "figures" and len(parts) == 3 or parts[0] == "results" and len(parts) == 4 and parts[2] == "tables":
            kind = "figures" if parts[0] == "figures" else "tables"
            owner = by_number.get(name[:2])
            if owner is None or name not in saved_names(root, owner)[kind]:
                problems.append(f"{f}: no notebook {name[:2]}_* saves {kind[:-1]} {name!r}")
        elif parts[0] == "results" and len(parts) == 4 and parts[2] == "notebooks":
            if name not in stems:
                problems.append(f"{f}: executed copy of a notebook that does not exist")
        elif parts[0] == "results" and len(parts) == 3 and f.endswith(".json"):
            if name not in stems and name not in COMMAND_RESULTS:
                problems.append(f"{f}: results of a notebook that does not exist")
        else:
            problems.append(f"{f}: not a figure, table, executed copy or results file of a notebook")
    return problems


def where(root: Path, profile: str) -> tuple[Path, Path]:
    """A committed profile's results folder and its profile file: ``results/<p>/`` and
    ``notebooks/params/<p>.yaml`` for a built-in one; for an example whose ``outputs`` is
    ``results/<p>`` (``examples/<p>/<p>.yaml``, e.g. blogs), ``results/<p>/results/`` and that file."""
    if profile in paths.BUILTIN_PROFILES:
        return root / "results" / profile, root / "notebooks" / "params" / f"{profile}.yaml"
    return root / "results" / profile / "results", root / "examples" / profile / f"{profile}.yaml"


def profile_values(root: Path, profile: str) -> dict:
    """The profile file's values merged onto the defaults, as the runner passes them."""
    file = where(root, profile)[1]
    return load_params(profile, file) if profile in paths.BUILTIN_PROFILES else load_params(str(file))


def committed_results(profile: str, stem: str) -> bool:
    return (where(REPO, profile)[0] / f"{stem}.json").relative_to(REPO).as_posix() in COMMITTED


def stale(root: Path, profile: str, stem: str) -> list[str]:
    """Why ``results/<profile>/<stem>.json`` is not what the current profile file and code would
    write: a parameter it read (``Config.used``) recorded with another value than the profile
    file's now (or no parameters recorded at all), another code hash
    (``code_hash`` of the files under ``root``), or another name or profile inside."""
    folder, profile_file = where(root, profile)
    path = folder / f"{stem}.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    if not profile_file.is_file():
        return [f"{path.name}: no profile file {profile_file.name}"]
    values = profile_values(root, profile)  # the file's values merged onto the defaults
    problems = [f"{path.name}: field {k} is {saved.get(k)!r}, expected {want!r}"
                for k, want in (("name", stem), ("profile", profile)) if saved.get(k) != want]
    if "profile" not in saved.get("params", {}):
        problems.append(f"{path.name}: no parameters recorded (a notebook always reads its profile)")
    for key, got in saved.get("params", {}).items():
        want = portable(rounded(values[key]), root) if key in values else "<not a profile key>"
        if got != want:
            problems.append(f"{path.name}: parameter {key} recorded as {got!r}, {profile_file.name} says {want!r}")
    recorded, current = saved.get("code", {}).get("sha256"), code_hash(stem, root)["sha256"]
    if recorded != current:
        problems.append(f"{path.name}: written by other code (sha256 {str(recorded)[:12]} != {current[:12]}); "
                        "rerun its notebook")
    return problems


def unbacked_claims(saved: dict) -> list[str]:
    """Claims that are differences (``*_minus_*``) recorded without their ``*_ci`` interval."""
    claims = saved.get("results", {}).get("claims", {})
    return [f"claim {k} has no {k}_ci" for k in claims if "_minus_" in k and not k.endswith("_ci")
            and f"{k}_ci" not in claims]


COMMITTED = committed(REPO)
PROFILES = sorted({Path(f).parts[1] for f in COMMITTED})


def test_every_committed_artifact_has_a_producing_notebook():
    assert orphans(REPO, COMMITTED) == []


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_committed_results_match_the_profile_file_and_code(profile, stem):
    if not committed_results(profile, stem):
        pytest.skip(f"no committed results of {stem} at {profile} yet")
    assert stale(REPO, profile, stem) == []
    assert unbacked_claims(json.loads((where(REPO, profile)[0] / f"{stem}.json").read_text(encoding="utf-8"))) == []


def test_a_difference_without_its_interval_is_caught():
    saved = {"results": {"claims": {"a_minus_b_f1": 1.0, "a_minus_b_f1_ci": [0.5, 1.5], "c_minus_d_f1": 2.0,
                                    "final_avg_f1": 50.0}}}
    assert unbacked_claims(saved) == ["claim c_minus_d_f1 has no c_minus_d_f1_ci"]


def _results_01(root: Path, **tamper) -> None:
    """Notebook 01's results at smoke as the runner would write them now, then ``tamper``ed."""
    from confprofile.provenance import save_results

    smoke = load_params("smoke")
    save_results("smoke", "01_taxonomy_exploration", {"n_users": {}},
                 {k: smoke[k] for k in ("profile", "seed", "n_pool", "n_test", "data", "gold", "taxonomy_file")})
    path = root / "results" / "smoke" / "01_taxonomy_exploration.json"
    saved = json.loads(path.read_text())
    for dotted, value in tamper.items():
        *parents, last = dotted.split("__")
        node = saved
        for p in parents:
            node = node[p]
        node[last] = value
    path.write_text(json.dumps(saved))


def test_the_checks_pass_a_current_results_file(tmp_root):
    _results_01(tmp_root)
    assert stale(tmp_root, "smoke", "01_taxonomy_exploration") == []


@pytest.mark.parametrize("tamper, message", [
    ({"params__n_pool": 12345}, "parameter n_pool recorded as 12345"),
    ({"params__seed": "<gone>"}, "parameter seed recorded as '<gone>'"),
    ({"code__sha256": "0123456789abcdef"}, "written by other code (sha256 0123456789ab != "),
    ({"code": {}}, "written by other code (sha256 None != "),
    ({"profile": "cpu"}, "field profile is 'cpu'"),
])
def test_the_checks_catch_a_stale_results_file(tmp_root, tamper, message):
    _results_01(tmp_root, **tamper)
    problems = stale(tmp_root, "smoke", "01_taxonomy_exploration")
    assert len(problems) == 1 and message in problems[0], problems


def test_the_checks_catch_a_profile_file_change(tmp_root):
    _results_01(tmp_root)
    params = tmp_root / "notebooks" / "params" / "smoke.yaml"
    params.write_text(params.read_text() + "n_test: 201\n")  # smoke.yaml holds no values: n_test was the default
    assert ["parameter n_test recorded as 200" in p for p in stale(tmp_root, "smoke", "01_taxonomy_exploration")] == [True]


def _edit_cell(path: Path, kind: str) -> None:
    """Append a line to the first ``kind`` cell (code or markdown) of a notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == kind)
    cell["source"] = [*cell["source"], "\nx = 1" if kind == "code" else "\nOne more line."]
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


@pytest.mark.parametrize("edit, caught", [
    ("confprofile/taxonomy.py", True),  # a module 01 imports
    ("confprofile/errors.py", True),  # one it reaches through another
    ("confprofile/taxonomy.yaml", True),  # data the code reads
    ("code cell", True),
    ("markdown cell", False),
    ("confprofile/readme.py", False),  # outside 01's closure
    ("confprofile/teachers/lexicon.py", False),  # 01 never reaches the teachers
])
def test_the_checks_catch_a_code_change(tmp_root, edit, caught):
    shutil.copytree(REPO / "confprofile", tmp_root / "confprofile", ignore=shutil.ignore_patterns("__pycache__"))
    _results_01(tmp_root)
    assert stale(tmp_root, "smoke", "01_taxonomy_exploration") == []
    if edit.endswith(" cell"):
        _edit_cell(tmp_root / "notebooks" / "01_taxonomy_exploration.ipynb", edit.split()[0])
    else:
        file = tmp_root / edit
        file.write_text(file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    problems = stale(tmp_root, "smoke", "01_taxonomy_exploration")
    assert [p.split(" (")[0] for p in problems] == (["01_taxonomy_exploration.json: written by other code"] if caught else [])


def test_the_checks_catch_artifacts_no_notebook_produces(tmp_root):
    files = ["figures/cpu/01_label_distributions.png", "figures/cpu/01_renamed_since.png", "figures/cpu/09_gone.png",
             "results/cpu/tables/06_main.csv", "results/cpu/tables/06_nowhere.md",
             "results/cpu/notebooks/07_none.ipynb", "results/cpu/07_none.json", "results/cpu/stray.txt"]
    problems = orphans(tmp_root, files)
    flagged = [p.split(":")[0] for p in problems]
    assert flagged == files[1:3] + files[4:]


def trials_disagree(root: Path, profile: str, name: str = "04_sft_trials") -> list[str]:
    """Why a profile's committed trials file does not back its values: the trials were run with
    another grid, pool split or seed than the profile file now states, or a value the profile
    states differs from the one its trials chose."""
    path = where(root, profile)[0] / f"{name}.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    values = profile_values(root, profile)
    problems = [f"{path.name}: run with {k}={v!r}, the profile says {rounded(values.get(k))!r}"
                for k, v in saved["params"].items() if portable(rounded(values.get(k)), root) != v]
    problems += [f"{path.name}: the trials chose {k}={v!r}, the profile says {values.get(k)!r}"
                 for k, v in saved["results"]["chosen"].items() if rounded(values.get(k)) != rounded(v)]
    stem, field = TRIALS_SHOWN_BY[name]
    shown = where(root, profile)[0] / f"{stem}.json"
    if shown.is_file() and json.loads(shown.read_text(encoding="utf-8"))["results"].get(field) != saved["results"]:
        problems.append(f"{shown.name}: its {field} are not those of {path.name}; rerun its notebook")
    return problems


@pytest.mark.parametrize("name", sorted(COMMAND_RESULTS))
@pytest.mark.parametrize("profile", PROFILES)
def test_committed_trials_back_the_profile_values(profile, name):
    if not committed_results(profile, name):
        pytest.skip(f"no committed {name} at {profile}")
    assert trials_disagree(REPO, profile, name) == []


def trials_profile(root: Path) -> dict:
    """Give ``root``'s smoke profile a trial grid; returns the parameters its trials record."""
    params = root / "notebooks" / "params" / "smoke.yaml"
    params.write_text(params.read_text() + "sft_trials: {sft_learning_rate: [0.002, 0.001]}\nsft_trial_steps: 40\n")
    return {"sft_trials": {"sft_learning_rate": [0.002, 0.001]}, "sft_trial_steps": 40, "heldout_users": 30,
            "rl_users": 24, "seed": 0}


def test_the_trials_check_catches_a_value_the_trials_did_not_choose(tmp_root):
    from confprofile.provenance import save_results

    keys = trials_profile(tmp_root)
    save_results("smoke", "04_sft_trials", {"chosen": {"sft_learning_rate": 0.002}, "trials": []}, keys)
    assert trials_disagree(tmp_root, "smoke") == []
    save_results("smoke", "04_sft_trials", {"chosen": {"sft_learning_rate": 0.001}, "trials": []}, keys)
    assert trials_disagree(tmp_root, "smoke") == [
        "04_sft_trials.json: the trials chose sft_learning_rate=0.001, the profile says 0.002"]
    save_results("smoke", "04_sft_trials", {"chosen": {"sft_learning_rate": 0.002}, "trials": []}, {**keys, "seed": 1})
    assert trials_disagree(tmp_root, "smoke") == ["04_sft_trials.json: run with seed=1, the profile says 0"]


def test_the_trials_check_catches_a_notebook_showing_other_trials(tmp_root):
    from confprofile.provenance import save_results

    keys = trials_profile(tmp_root)
    ran = {"chosen": {"sft_learning_rate": 0.002}, "trials": [{"name": "base", "f1": 0.5}]}
    save_results("smoke", "04_sft_trials", ran, keys)
    save_results("smoke", "04_sft_distillation", {"sft_trials": ran}, {})
    assert trials_disagree(tmp_root, "smoke") == []
    save_results("smoke", "04_sft_trials", {**ran, "trials": [{"name": "base", "f1": 0.6}]}, keys)
    assert trials_disagree(tmp_root, "smoke") == [
        "04_sft_distillation.json: its sft_trials are not those of 04_sft_trials.json; rerun its notebook"]
