"""The package's import direction runs one way: no stage imports a later stage.

The stage of every module is declared here and in docs/ARCHITECTURE.md; a new module must be
given a stage (the test fails until it is), so the layout cannot drift without a decision.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "confprofile"

# stage rank: a module may import modules of its own rank or lower
STAGES = {
    0: ["errors", "paths", "files", "provenance", "config", "params", "taxonomy", "records", "metrics", "plots", "monitor",
        "checkpoints"],                                       # core
    1: ["bench", "dataset", "splits", "blogs"],               # data: the benchmark, or your own; the pool split; a public sample
    2: ["prompts", "parsing", "teachers", "synthesis", "annotations"],  # notebook 02: label synthesis, or answers imported
    3: ["voting", "calibration", "aggregation", "rules", "pseudo_labelling"],  # notebook 03: voting, aggregation, the rule registry, its command line
    4: ["sft", "student", "classical", "choices"],            # notebook 04: distillation (SFT), the student, label-free choices
    5: ["rewards", "rl", "rl_runs"],                          # notebook 05: RL with confidence rewards; 05's runs and trials
    6: ["evaluation"],  # the package confprofile/evaluation/: every reader of gold labels (last: reads labels), 03-06's gold side
    7: ["reproduce", "readme"],                               # the runner; the README results from results files
}
RANK = {name: rank for rank, names in STAGES.items() for name in names}


def _module_name(path: Path) -> str:
    """``confprofile/teachers/hf.py`` -> ``teachers``; ``confprofile/evaluation/scores.py`` -> ``evaluation``;
    ``confprofile/voting.py`` -> ``voting``: a subpackage has one stage."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    """Top-level confprofile modules ``path`` imports (lazy imports inside functions included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "confprofile":
                continue
            if len(parts) > 1:
                out.add(parts[1])
            else:
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("confprofile."))
    return out


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_stage():
    missing = sorted({_module_name(p) for p in MODULES} - set(RANK))
    assert not missing, f"give these modules a stage in tests/test_architecture.py and docs/ARCHITECTURE.md: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_stage_imports_a_later_stage(path):
    me = _module_name(path)
    later = sorted(m for m in _imports(path) if RANK.get(m, -1) > RANK.get(me, -1))
    assert not later, f"{path.name} (stage {RANK.get(me)}) imports later stage(s): " + \
        ", ".join(f"{m} ({RANK[m]})" for m in later)


def test_the_architecture_doc_lists_every_stage_module():
    doc = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [name for name in RANK if f"`{name}" not in doc]
    assert not missing, f"docs/ARCHITECTURE.md does not mention {missing}"


def test_every_import_names_a_module_of_the_package():
    """An import of a confprofile module that no longer exists (moved or deleted) fails here, statically,
    even where an installed copy of an older checkout would still answer it at run time."""
    unknown = {p.relative_to(PACKAGE).as_posix(): sorted(_imports(p) - set(RANK)) for p in MODULES}
    unknown = {k: v for k, v in unknown.items() if v}
    assert not unknown, f"imports of modules the package does not have: {unknown}"


def test_make_test_starts_every_file_with_slow_tests_first():
    """``conftest.SLOW_FIRST`` names exactly the test files with a ``slow`` test (a new one left out
    would start late and stretch ``make test``; one that lost its slow tests would start early)."""
    from conftest import SLOW_FIRST

    have = sorted(f"tests/{p.name}" for p in Path(__file__).parent.glob("test_*.py")
                  if re.search(r"^@pytest\.mark\.slow$", p.read_text(encoding="utf-8"), re.M))
    assert sorted(SLOW_FIRST) == have
