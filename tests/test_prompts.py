from confprofile.prompts import (build_messages, json_schema, prompt_hash, record_text)
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()
REC = {"user_id": "u1", "bio": "nurse, night owl", "searches": [f"s{i}" for i in range(20)]}


def test_messages_hold_record_taxonomy_and_confidence_hints():
    msgs = build_messages(REC, TAX)
    system, user = msgs[0]["content"], msgs[1]["content"]
    assert [m["role"] for m in msgs] == ["system", "user"]
    for attr in TAX:
        assert attr.name in system
        for lab in attr.label_specs:
            assert lab.name in system and lab.description in system
    for word in ("high", "medium", "low", "[0, 1]", "explicit", "unknown", "confidence", "rationale"):
        assert word in system
    assert "Bio: nurse, night owl" in user and "(+12 more)" in user  # truncation is stated


def test_record_is_bounded_and_recoverable():
    rec = {"user_id": "u2", "bio": "x" * 5000}
    text = record_text(build_messages(rec, TAX, max_chars=300))
    assert len(text) < 400 and "truncated at 300" in text
    assert record_text([{"role": "user", "content": "no record"}]) == ""


def test_prompt_hash_is_stable_and_sensitive():
    a, b = build_messages(REC, TAX), build_messages(REC, TAX)
    assert prompt_hash(a) == prompt_hash(b) and len(prompt_hash(a)) == 64
    assert prompt_hash(a) != prompt_hash(build_messages({**REC, "bio": "teacher"}, TAX))


def test_json_schema_lists_labels_and_unknown():
    s = json_schema(TAX)
    assert set(s["required"]) == set(TAX.names)
    assert s["properties"]["gender"]["properties"]["label"]["enum"] == ["female", "male", "unknown"]
