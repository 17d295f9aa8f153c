"""Simulated LLM teachers (``teachers/persona.py``): seeded, partial, noisy views of the world."""

import json

import numpy as np
import pytest

from confprofile import bench, voting
from confprofile.evaluation import scores
from confprofile.parsing import parse_output
from confprofile.prompts import build_messages
from confprofile.synthesis import build_teachers
from confprofile.taxonomy import load_taxonomy
from confprofile.config import defaults
from confprofile.teachers.persona import PersonaTeacher, mix_view

TAX = load_taxonomy()


@pytest.fixture(scope="module")
def users():
    recs, gold = bench.generate(150, seed=5, split="test", taxonomy=TAX)
    rows = [{"user_id": g["user_id"], "attribute": a, "gold": lab, "clue": g["clues"][a]}
            for g in gold for a, lab in g["labels"].items()]
    import pandas as pd
    return recs, pd.DataFrame(rows)


def _annotate(teacher, recs, n=1, temperature=0.0, seed=0):
    msgs = [build_messages(r, TAX) for r in recs]
    outs = teacher.generate(msgs, n=n, temperature=temperature, seed=seed)
    rows = []
    for r, samples in zip(recs, outs):
        for s, text in enumerate(samples):
            for attr, p in parse_output(text, TAX).items():
                rows.append({"user_id": r["user_id"], "attribute": attr, "teacher": teacher.name, "sample": s,
                             "label": p.label, "confidence": p.confidence, "ok": p.ok})
    import pandas as pd
    return pd.DataFrame(rows)


def _f1(teacher, users):
    recs, gold = users
    return scores.vote_report(voting.first_sample(_annotate(teacher, recs)), gold, TAX)["avg_f1"]


def test_same_seed_same_answers_other_seed_other_view(users):
    recs = users[0][:40]
    a = PersonaTeacher(TAX, seed=1, coverage=0.6).generate([build_messages(r, TAX) for r in recs], 2, 0.7, 0)
    b = PersonaTeacher(TAX, seed=1, coverage=0.6).generate([build_messages(r, TAX) for r in recs], 2, 0.7, 0)
    c = PersonaTeacher(TAX, seed=2, coverage=0.6).generate([build_messages(r, TAX) for r in recs], 2, 0.7, 0)
    assert a == b and a != c


def test_lower_coverage_lowers_accuracy(users):
    full = _f1(PersonaTeacher(TAX, seed=0, coverage=1.0, confusion=0.0), users)
    half = _f1(PersonaTeacher(TAX, seed=0, coverage=0.5, confusion=0.0), users)
    little = _f1(PersonaTeacher(TAX, seed=0, coverage=0.2, confusion=0.0), users)
    assert full > half + 5 > little + 5, (full, half, little)


def test_confusions_go_to_neighbouring_labels():
    t = PersonaTeacher(TAX, seed=0, coverage=1.0, confusion=1.0)
    age = TAX.names.index("age")
    labels = TAX["age"].labels
    # with confusion 1, every known age association is filed one bracket away
    known = [(li, p) for p, _, ai, li, _ in t._signals if ai == age]
    assert known
    own = PersonaTeacher(TAX, seed=0, coverage=1.0, confusion=0.0)
    truth = {p: li for p, _, ai, li, _ in own._signals if ai == age}
    assert all(abs(li - truth[p]) == 1 for li, p in known), labels


def test_life_stage_from_age_shortcut():
    msgs = build_messages({"user_id": "u", "bio": "retired last spring"}, TAX)
    for weight, expect_stage in ((0.0, "unknown"), (3.0, "empty_nest")):
        t = PersonaTeacher(TAX, coverage=1.0, confusion=0.0, life_stage_from_age=weight)
        out = json.loads(t.generate([msgs], 1, 0.0, 0)[0][0])
        assert out["age"]["label"] == "55_plus" and out["life_stage"]["label"] == expect_stage


def test_styles_differ_in_confidence_not_labels():
    msgs = build_messages({"user_id": "u", "searches": ["python tutorial"]}, TAX)
    conf = {}
    for style in ("overconfident", "calibrated", "cautious"):
        out = json.loads(PersonaTeacher(TAX, coverage=1.0, confusion=0.0, style=style).generate([msgs], 1, 0.0, 0)[0][0])
        assert out["occupation"]["label"] == "it_internet"
        conf[style] = out["occupation"]["confidence"]
    assert conf["overconfident"] > conf["calibrated"] > conf["cautious"]


def test_parameters_come_from_the_profile_and_bad_ones_are_clear():
    (t,) = build_teachers({"p1": {"backend": "persona", "seed": 3, "coverage": 0.4}}, TAX)
    assert (t.name, t.seed, t.coverage) == ("p1", 3, 0.4) and "s3-c0.4" in t.cache_id
    with pytest.raises(ValueError, match="coverage must be in"):
        PersonaTeacher(TAX, coverage=1.5)
    with pytest.raises(ValueError, match="style must be one of"):
        PersonaTeacher(TAX, style="smug")


def test_no_generator_phrase_is_held_in_source():
    from confprofile.teachers import persona
    src = open(persona.__file__, encoding="utf-8").read().lower()
    assert "python tutorial" not in src and np.all([w not in src for w in ("retired last spring", "er doctor here")])


def test_the_default_mix_does_not_rebuild_the_generators_table():
    """The default personas share a blind spot (``persona_shared_blind_spot``): together they know
    at most ~90% of the world's associations and their plurality is right well below the 90% that
    independent blind spots give (issue 22); each alone still knows most of it."""
    d = defaults()
    team = build_teachers(d["teachers"], TAX, persona_shared=d["persona_shared_blind_spot"], seed=d["seed"])
    mix, apart = mix_view(team), mix_view(team, shared_blind_spot=0.0)
    assert set(mix["coverage"]) == {"persona_a", "persona_b", "persona_c"}
    assert mix["union_coverage"] <= 0.90 < 0.99 < apart["union_coverage"]
    assert mix["plurality_correct"] < 0.75 < apart["plurality_correct"]
    assert all(0.7 < c < 0.85 for c in mix["coverage"].values()), mix["coverage"]


def test_a_shared_blind_spot_is_shared():
    """What one persona misses because of the mix, every persona misses; the shared confusions
    go to the same wrong label in every persona; with no shared blind spot nothing changes."""
    a, b = (PersonaTeacher(TAX, seed=s, coverage=1.0, confusion=0.0, shared_blind_spot=0.3, shared_seed=7)
            for s in (1, 2))
    assert a.view == b.view  # full coverage, no own confusion: only the mix's draws differ from the world
    full = PersonaTeacher(TAX, coverage=1.0, confusion=0.0)
    missed = set(full.view) - set(a.view)
    assert 0.2 < len(missed) / len(full.view) < 0.4
    wrong = {k for k in a.view if a.view[k] != full.view[k]}
    assert 0.1 < len(wrong) / len(a.view) < 0.4  # 30% drawn, fewer where no neighbour exists (gender)
    plain = PersonaTeacher(TAX, seed=1, coverage=0.8)
    assert PersonaTeacher(TAX, seed=1, coverage=0.8, shared_blind_spot=0.0).view == plain.view
    assert "-b" not in plain.cache_id and "-b0.3-m7" in a.cache_id  # old caches stay valid at 0
