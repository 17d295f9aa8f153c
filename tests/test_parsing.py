import math

import pytest

from confprofile.parsing import ANNOTATION_COLUMNS, annotation_rows, parse_confidence, parse_output
from confprofile.taxonomy import load_taxonomy, parse_taxonomy

TAX = load_taxonomy()
GOOD = ('{"age": {"label": "25_34", "confidence": 0.7, "rationale": "bio says wedding"}, '
        '"gender": {"label": "female", "confidence": 0.9, "rationale": "my husband"}, '
        '"occupation": {"label": "healthcare", "confidence": 0.8, "rationale": "ward"}, '
        '"life_stage": {"label": "couple_no_kids", "confidence": 0.6, "rationale": "wedding"}, '
        '"education": {"label": "unknown", "confidence": 0.2, "rationale": ""}, '
        '"consumption_level": {"label": "medium", "confidence": 0.5, "rationale": "phone"}}')


def labels(text):
    return {k: v.label for k, v in parse_output(text, TAX).items()}


@pytest.mark.parametrize("text", [
    GOOD,
    "```json\n" + GOOD + "\n```",
    "Sure! Here is the profile:\n" + GOOD + "\nLet me know if you need more.",
    "<think>The bio mentions {a wedding}. Hmm.</think>\n" + GOOD,
    "<think>unclosed reasoning... " + GOOD,
    GOOD.replace('"', "'"),                       # single quotes
    GOOD[:-1] + ",}",                            # trailing comma
    '{"profile": ' + GOOD + "}",                  # wrapped
])
def test_forgiving_about_format(text):
    out = parse_output(text, TAX)
    assert all(p.ok for p in out.values()), {k: p.error for k, p in out.items()}
    assert out["gender"].label == "female" and out["education"].label == "unknown"
    assert out["age"].confidence == pytest.approx(0.7)


def test_label_normalisation_and_confidence_forms():
    text = ('{"Age": {"label": "25-34", "confidence": 70}, "gender": {"label": " Female ", "confidence": "80%"},'
            '"occupation": {"label": "IT internet", "confidence": "high"}, "life_stage": {"label": "single young",'
            '"confidence": "0.55"}, "education": {"label": "Bachelor", "confidence": "low"},'
            '"consumption_level": {"label": "HIGH", "confidence": 1}}')
    out = parse_output(text, TAX)
    assert {k: v.label for k, v in out.items()} == {
        "age": "25_34", "gender": "female", "occupation": "it_internet", "life_stage": "single_young",
        "education": "bachelor", "consumption_level": "high"}
    assert [round(out[a].confidence, 2) for a in TAX.names] == [0.7, 0.8, 0.9, 0.55, 0.3, 1.0]
    assert all(v.rationale == "" for v in out.values())


@pytest.mark.parametrize("text,reason", [
    ("", "empty output"),
    ("   \n", "empty output"),
    ("I cannot help with that.", "no JSON object found"),
    ('{"age": {"label": "18_24", "confidence": 0.5', None),  # torn answer: nothing whole to keep
    ("{{{{ not json", "malformed JSON"),
])
def test_failures_are_recorded_never_raised(text, reason):
    out = parse_output(text, TAX)
    assert set(out) == set(TAX.names)
    assert not any(p.ok for p in out.values())
    assert all(math.isnan(p.confidence) and p.label is None and p.error for p in out.values())
    if reason:
        assert {p.error for p in out.values()} == {reason}


def test_strict_about_the_taxonomy():
    text = ('{"age": {"label": "teenager", "confidence": 0.9}, "gender": {"label": "male"},'
            '"occupation": {"label": "nurse", "confidence": 0.9, "rationale": "ward"},'
            '"life_stage": {"label": "student", "confidence": "very sure"},'
            '"education": "bachelor", "consumption_level": {"label": "high", "confidence": 170}}')
    out = parse_output(text, TAX)
    assert out["age"].error == "off-taxonomy label 'teenager'"
    assert out["gender"].error == "missing confidence"
    assert out["occupation"].error.startswith("off-taxonomy") and out["occupation"].rationale == "ward"
    assert out["life_stage"].error.startswith("unreadable confidence")
    assert out["education"].error.startswith("expected an object")
    assert out["consumption_level"].error.startswith("unreadable confidence")
    assert not any(p.ok for p in out.values())


def test_missing_attribute_and_truncated_answer_keeps_whole_entries():
    out = parse_output('{"gender": {"label": "male", "confidence": 0.7}, "age": {"label": "18_24", "conf', TAX)
    assert out["gender"].ok and out["gender"].label == "male"
    assert out["occupation"].error == "missing attribute"


def test_unknown_only_where_allowed():
    raw = {"name": "t", "attributes": {"g": {"unknown": False, "labels": {
        "a": {"description": "A"}, "b": {"description": "B"}}}}}
    tax = parse_taxonomy(raw)
    assert parse_output('{"g": {"label": "unknown", "confidence": 0.2}}', tax)["g"].error == \
        "'unknown' is not allowed for 'g'"


def test_parse_confidence():
    assert parse_confidence(True) is None and parse_confidence(float("nan")) is None
    assert parse_confidence("Medium") == 0.6 and parse_confidence(0) == 0.0


def test_annotation_rows_match_the_contract():
    rows = annotation_rows("u1", "lexicon", 3, GOOD, TAX)
    assert len(rows) == len(TAX) and all(tuple(r) == ANNOTATION_COLUMNS for r in rows)
    assert rows[0]["user_id"] == "u1" and rows[0]["sample"] == 3 and rows[0]["teacher"] == "lexicon"
    bad = annotation_rows("u1", "x", 0, None, TAX)
    assert all(r["ok"] is False and r["label"] is None and r["error"] for r in bad)


def test_never_raises_on_garbage():
    for text in ["{" * 5000, "}{" * 100, '{"age": [1, 2]}', '{"age": {"label": {"x": 1}, "confidence": 1}}',
                 "\x00\xff", '{"age": null}', "[1, 2, 3]", '"just a string"']:
        out = parse_output(text, TAX)
        assert set(out) == set(TAX.names)
