import pytest

from confprofile.parsing import parse_output
from confprofile.prompts import build_messages
from confprofile.taxonomy import load_taxonomy
from confprofile.teachers import TEACHERS, Teacher, get_teacher
from confprofile.teachers.cpu import parse_sections

TAX = load_taxonomy()
CPU = ("lexicon", "heuristic", "embedding", "knowledge")

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
    for name in ("lexicon", "heuristic", "knowledge"):
        t = teachers[name]
        c = parse_output(t.generate([build_messages(clear, TAX)], 1, 0.0, 0)[0][0], TAX)["age"].confidence
        v = parse_output(t.generate([build_messages(vague, TAX)], 1, 0.0, 0)[0][0], TAX)["age"].confidence
        assert c > v, name


def _greedy(teacher, rec):
    return parse_output(teacher.generate([build_messages(rec, TAX)], 1, 0.0, 0)[0][0], TAX)


def test_knowledge_is_confident_only_with_evidence(teachers):
    t = teachers["knowledge"]
    blank = _greedy(t, {"user_id": "k0", "comments": ["nice video"]})
    assert all(p.ok and p.label != "unknown" for p in blank.values())  # it guesses from priors...
    assert max(p.confidence for p in blank.values()) < 0.35  # ...and says so
    clear = _greedy(t, {"user_id": "k1", "bio": "ER doctor here", "comments": ["my wife picked the restaurant again"]})
    assert clear["occupation"].label == "healthcare" and clear["occupation"].confidence > 0.6
    assert clear["gender"].label == "male" and "my wife" in clear["gender"].rationale
    assert clear["occupation"].confidence > blank["occupation"].confidence + 0.4


def test_knowledge_reasons_across_attributes_and_discounts_irony(teachers):
    t = teachers["knowledge"]
    retired = _greedy(t, {"user_id": "k2", "bio": "retired last spring"})
    assert retired["occupation"].label == "retired"
    assert retired["age"].label == "55_plus" and retired["life_stage"].label == "empty_nest"
    pupil = _greedy(t, {"user_id": "k3", "comments": ["ninth grade is destroying me"]})
    assert (pupil["age"].label, pupil["occupation"].label, pupil["education"].label) == ("under_18", "student", "secondary_or_below")
    ironic = _greedy(t, {"user_id": "k4", "bio": "me pretending: ER doctor here"})
    assert ironic["occupation"].label != "healthcare" and ironic["occupation"].confidence < 0.3
    own = _greedy(t, {"user_id": "k5", "bio": "ER doctor here"})
    shared = _greedy(t, {"user_id": "k6", "bio": "ER doctor here, this is my dad's phone"})
    assert shared["occupation"].label == "healthcare" and shared["occupation"].confidence < own["occupation"].confidence


def test_knowledge_reads_ages_and_account_names(teachers):
    t = teachers["knowledge"]
    assert _greedy(t, {"user_id": "k7", "comments": ["just turned 47 today"]})["age"].label == "45_54"
    assert _greedy(t, {"user_id": "k8", "bio": "born in 1958, feeling it already"})["age"].label == "55_plus"
    follows = _greedy(t, {"user_id": "k9", "follows": ["CropsFertilizerGuide", "TractorRepair", "PigFeedPrices"]})
    assert follows["occupation"].label == "agriculture"


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


def test_unknown_teacher_is_one_clear_line(capsys):
    from confprofile.errors import ConfProfileError, run_cli
    from confprofile.synthesis import build_teachers
    from confprofile.teachers import UnknownTeacherError

    with pytest.raises(UnknownTeacherError) as err:
        build_teachers({"mine": {"backend": "lexicn"}}, TAX)
    assert isinstance(err.value, ConfProfileError)
    assert str(err.value) == ("unknown teacher backend 'lexicn'; known: embedding, heuristic, hf, knowledge, "
                              "lexicon, openai, persona, smollm2, vllm")
    assert run_cli(lambda argv: get_teacher("lexicn")) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {err.value}"]


def test_registry_says_who_takes_the_taxonomy(monkeypatch):
    """build_teachers gives the taxonomy to the backends whose entry says so, max_users to all."""
    from confprofile.synthesis import build_teachers
    from confprofile.teachers import register_teacher

    seen = {}

    class Fake(Teacher):
        def generate(self, messages_batch, n, temperature, seed):
            return [["{}"] * n for _ in messages_batch]

    def fake(name, **kw):
        seen[name] = kw
        t = Fake()
        t.name, t.max_users = name, kw["max_users"]
        return t

    monkeypatch.setattr("confprofile.teachers.TEACHERS", dict(TEACHERS))
    register_teacher("reads_taxonomy", fake, takes_taxonomy=True)
    register_teacher("reads_none", fake)
    team = build_teachers({"a": {"backend": "reads_taxonomy", "max_users": 3}, "b": {"backend": "reads_none"}}, TAX)
    assert seen == {"a": {"taxonomy": TAX, "max_users": 3}, "b": {"max_users": None}}
    assert [t.max_users for t in team] == [3, None]
    assert {n for n, b in TEACHERS.items() if b.takes_taxonomy} == {*CPU, "persona", "vllm", "hf", "smollm2"}


def test_smollm2_max_users_comes_from_the_profile():
    """No default that can drift from the profile files: callers pass max_users."""
    import inspect

    from confprofile.params import load_params
    from confprofile.teachers.hf import smollm2_teacher

    assert inspect.signature(smollm2_teacher).parameters["max_users"].default is inspect.Parameter.empty
    assert "max_users" in load_params("cpu")["teachers"]["smollm2"]


def test_cpu_teachers_never_open_gold(no_gold_reads, teachers):
    """Run every CPU teacher (fresh instances, so models load under the guard) with opens guarded."""
    for name in CPU:
        t = get_teacher(name, taxonomy=TAX)
        assert len(_answers(t)) == len(OBVIOUS)


def test_smollm2_is_shipped():
    from confprofile.teachers.hf import smollm2_path
    folder, name = smollm2_path()
    assert (folder / name).is_file()


@pytest.mark.slow
def test_hf_backend_generates_reproducible_samples_with_a_tiny_local_model(tmp_path):
    """The transformers path (chat template, left padding, n samples, per-batch seeds) on a tiny
    Qwen3 built here; the real SmolLM2 runs in `make reproduce` (notebook 02 at cpu)."""
    from confprofile import student
    from confprofile.teachers.hf import HFTeacher

    from confprofile.records import render_record

    texts = [render_record(r, max_items=8, max_chars=2400) for r, _ in OBVIOUS] * 10
    path, _ = student.base_student(tmp_path / "tiny", None, texts, TAX, vocab_size=400,
                                   hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=1,
                                   intermediate_size=64, max_positions=8192, seed=0)
    t = HFTeacher(path, name="tiny", max_new_tokens=8, max_users=2)
    msgs = [build_messages(r, TAX) for r, _ in OBVIOUS[:2]]
    out = t.generate(msgs, n=2, temperature=0.7, seed=0)
    assert len(out) == 2 and all(len(o) == 2 and all(isinstance(s, str) for s in o) for o in out)
    assert out == t.generate(msgs, n=2, temperature=0.7, seed=0)
    assert [o[0] == o[1] for o in t.generate(msgs, n=2, temperature=0.0, seed=0)] == [True, True]  # greedy


def test_smollm2_ships_inside_its_package():
    from confprofile.teachers.hf import SMOLLM2_GGUF, smollm2_path

    folder, name = smollm2_path()
    assert name == SMOLLM2_GGUF and (folder / name).stat().st_size > 50_000_000


@pytest.mark.require_vllm
def test_vllm_structured_params_available():
    from confprofile.prompts import json_schema
    from confprofile.teachers.vllm_backend import structured_params
    assert structured_params(json_schema(TAX))
