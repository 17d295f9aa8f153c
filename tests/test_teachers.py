import ast
import builtins
import importlib.util
import io
import json
import pathlib
from pathlib import Path

import pytest

from confprofile.parsing import parse_output
from confprofile.prompts import build_messages
from confprofile.taxonomy import load_taxonomy
from confprofile.teachers import TEACHERS, Teacher, get_teacher
from confprofile.teachers.cpu import parse_sections

TAX = load_taxonomy()
require_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm not installed")
CPU = ("lexicon", "heuristic", "embedding")

# Hand-written users with obvious clues, and what a careful human would answer.
OBVIOUS = [
    ({"user_id": "a", "nickname": "grandma_wang", "bio": "retired, love tai chi and square dance",
      "comments": ["my grandchild visited today", "pension day!"], "device": "old Redmi phone"},
     {"age": "55_plus", "occupation": "retired", "life_stage": "empty_nest", "gender": "female"}),
    ({"user_id": "b", "bio": "nurse on night shift at the ward", "comments": ["my husband cooked for me"],
      "searches": ["hospital shift schedule"]},
     {"occupation": "healthcare", "gender": "female"}),
    ({"user_id": "c", "bio": "freshman, living in the dorm", "posts": [{"title": "campus tour", "tags": ["college"]}],
      "searches": ["exam week tips", "roommate drama"]},
     {"age": "18_24", "occupation": "student", "life_stage": "student"}),
    ({"user_id": "d", "bio": "programmer, fixing a bug before deploy", "comments": ["overtime 996 again", "my wife says hi"],
      "device": "iPhone 15 Pro Max", "searches": ["luxury watch", "first class flights"]},
     {"occupation": "it_internet", "gender": "male", "consumption_level": "high", "life_stage": "couple_no_kids"}),
    ({"user_id": "e", "bio": "mom of a newborn", "searches": ["diapers coupon", "cheapest formula", "group buy"],
      "comments": ["save money tips please"]},
     {"life_stage": "parent_young_kids", "consumption_level": "low", "gender": "female"}),
    ({"user_id": "f", "bio": "harvest season on the farm", "posts": [{"title": "new tractor in the village"}],
      "comments": ["crops look good this year"]},
     {"occupation": "agriculture"}),
]


@pytest.fixture(scope="module")
def teachers():
    return {n: get_teacher(n, taxonomy=TAX) for n in CPU}


def _answers(t, temperature=0.0, seed=0, n=1):
    msgs = [build_messages(r, TAX) for r, _ in OBVIOUS]
    return t.generate(msgs, n=n, temperature=temperature, seed=seed)


@pytest.mark.parametrize("name", CPU)
def test_cpu_teachers_beat_chance_on_obvious_users(teachers, name):
    outs = _answers(teachers[name])
    hits = total = 0
    for (rec, truth), texts in zip(OBVIOUS, outs):
        parsed = parse_output(texts[0], TAX)
        assert all(p.ok for p in parsed.values()), "CPU teachers must speak the LLM output format"
        for attr, lab in truth.items():
            total += 1
            hits += parsed[attr].label == lab
            assert parsed[attr].rationale
    # chance is well under 30% here (2-11 labels per attribute)
    assert hits / total >= 0.6, f"{name}: {hits}/{total}"


@pytest.mark.parametrize("name", CPU)
def test_cpu_teachers_are_seeded_and_temperature_driven(teachers, name):
    t = teachers[name]
    a = _answers(t, temperature=1.0, seed=1, n=6)
    assert a == _answers(t, temperature=1.0, seed=1, n=6)
    assert a[0][:3] == _answers(t, temperature=1.0, seed=1, n=3)[0]  # sample i does not depend on n
    assert a != _answers(t, temperature=1.0, seed=2, n=6)
    assert any(len(set(samples)) > 1 for samples in a)  # samples can differ
    greedy = _answers(t, temperature=0.0, n=4)
    assert all(len(set(s)) == 1 for s in greedy)


def test_lexicon_abstains_without_evidence_and_rationale_quotes(teachers):
    rec = {"user_id": "z", "bio": "hello world"}
    out = parse_output(teachers["lexicon"].generate([build_messages(rec, TAX)], 1, 0.0, 0)[0][0], TAX)
    assert {p.label for p in out.values()} == {"unknown"}
    rec = {"user_id": "y", "bio": "night shift at the ward"}
    out = parse_output(teachers["lexicon"].generate([build_messages(rec, TAX)], 1, 0.0, 0)[0][0], TAX)
    assert out["occupation"].label == "healthcare" and 'bio mentions "night shift"' in out["occupation"].rationale


def test_confidence_is_informative_on_clear_vs_vague(teachers):
    clear = {"user_id": "c1", "bio": "retired, pension, grandchild, tai chi, square dance"}
    vague = {"user_id": "c2", "comments": ["nice video"]}
    for name in ("lexicon", "heuristic"):
        t = teachers[name]
        c = parse_output(t.generate([build_messages(clear, TAX)], 1, 0.0, 0)[0][0], TAX)["age"].confidence
        v = parse_output(t.generate([build_messages(vague, TAX)], 1, 0.0, 0)[0][0], TAX)["age"].confidence
        assert c > v, name


def test_parse_sections_reads_rendered_record():
    from confprofile.records import render_record
    uid, items = parse_sections(render_record(OBVIOUS[2][0]))
    assert uid == "c" and ("bio", "freshman, living in the dorm") in items
    assert ("searches", "roommate drama") in items


def test_registry():
    assert set(CPU) | {"hf", "smollm2", "vllm", "openai"} <= set(TEACHERS)
    with pytest.raises(KeyError, match="unknown teacher"):
        get_teacher("nope")
    t = get_teacher("lexicon", taxonomy=TAX)
    assert isinstance(t, Teacher) and t.name == "lexicon" and "lexicon" in t.cache_id.lower()


def test_cpu_teachers_never_open_gold(monkeypatch, tmp_path, teachers):
    """Run every CPU teacher (fresh instances, so models load under the guard) with opens guarded."""
    real_open, real_io_open, real_path_open = builtins.open, io.open, pathlib.Path.open

    def guard(path):
        if "/gold/" in str(path).replace("\\", "/"):
            raise AssertionError(f"opened gold file {path}")

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (guard(f), real_open(f, *a, **k))[1])
    monkeypatch.setattr(io, "open", lambda f, *a, **k: (guard(f), real_io_open(f, *a, **k))[1])
    monkeypatch.setattr(pathlib.Path, "open", lambda self, *a, **k: (guard(self), real_path_open(self, *a, **k))[1])
    with pytest.raises(AssertionError):
        open(tmp_path / "gold" / "x.jsonl", "w")
    for name in CPU:
        t = get_teacher(name, taxonomy=TAX)
        assert len(_answers(t)) == len(OBVIOUS)


def test_teachers_and_synthesis_never_import_evaluation_or_bench():
    root = Path(__file__).resolve().parent.parent / "confprofile"
    files = sorted((root / "teachers").glob("*.py")) + [root / "synthesis.py", root / "prompts.py", root / "parsing.py"]
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            for n in names:
                assert not n.startswith(("confprofile.evaluate", "confprofile.bench")), f"{f.name} imports {n}"
        assert "gold" not in f.read_text(encoding="utf-8").replace("golden", ""), f"{f.name} mentions gold"


def test_smollm2_is_shipped():
    from confprofile.teachers.hf import smollm2_path
    folder, name = smollm2_path()
    assert (folder / name).is_file()


@pytest.mark.slow
def test_smollm2_generates_text():
    t = get_teacher("smollm2", max_new_tokens=12, max_users=2)
    msgs = [build_messages(r, TAX) for r, _ in OBVIOUS[:2]]
    out = t.generate(msgs, n=2, temperature=0.7, seed=0)
    assert len(out) == 2 and all(len(o) == 2 and all(isinstance(s, str) for s in o) for o in out)
    assert out == t.generate(msgs, n=2, temperature=0.7, seed=0)


@require_vllm
def test_vllm_structured_params_available():
    from confprofile.prompts import json_schema
    from confprofile.teachers.vllm_backend import structured_params
    assert structured_params(json_schema(TAX))
