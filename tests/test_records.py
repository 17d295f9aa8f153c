import json

import pytest

from confprofile.errors import RecordError
from confprofile.records import field_stats, read_records, render_record, validate_record, write_jsonl

GOOD = {
    "user_id": "u1", "nickname": "lily", "bio": "nurse on nights",
    "posts": [{"title": "ward life", "tags": ["nurse", "nightshift"]}],
    "watch_history": [{"category": "health", "title": "sleep tips", "watch_ratio": 0.9}],
    "comments": ["so tired after my shift"], "searches": ["night shift snacks"], "follows": ["@dr_wang"],
    "device": "Huawei nova 11", "location": {"province": "Sichuan", "city_tier": "tier-2"},
    "activity_hours": [3] * 6 + [0] * 18,
}


def test_good_record_validates_and_renders_every_field():
    assert validate_record(GOOD) is GOOD
    text = render_record(GOOD)
    for needle in ("Bio: nurse on nights", "#nightshift", "health: sleep tips (90% watched)", "Device: Huawei",
                   "Sichuan, tier-2", "100% of sessions 00-06h", '"so tired after my shift"', "@dr_wang"):
        assert needle in text


def test_minimal_record_only_needs_user_id():
    assert render_record(validate_record({"user_id": "x"})) == "User x"


@pytest.mark.parametrize("record, field, problem", [
    ({}, "user_id", "missing"),
    ({"user_id": ""}, "user_id", "non-empty string"),
    ({"user_id": "u", "comments": "hi"}, "comments", "expected a list, got str"),
    ({"user_id": "u", "comments": ["ok", 5]}, "comments[1]", "expected a string, got int"),
    ({"user_id": "u", "posts": [{"title": "t", "tags": [1]}]}, "posts[0].tags[0]", "expected a string"),
    ({"user_id": "u", "watch_history": [{"category": "x", "watch_ratio": 1.5}]}, "watch_history[0].watch_ratio", "[0, 1]"),
    ({"user_id": "u", "location": {"province": 3}}, "location.province", "expected a string"),
    ({"user_id": "u", "activity_hours": [1] * 23}, "activity_hours", "24 non-negative integers"),
])
def test_bad_record_names_file_line_and_field(record, field, problem):
    with pytest.raises(RecordError) as e:
        validate_record(record, "users.jsonl", 12)
    msg = str(e.value)
    assert msg.startswith("users.jsonl:12: ") and f"field '{field}'" in msg and problem in msg


def test_read_records_names_bad_json_duplicates_and_missing_files(tmp_path):
    path = tmp_path / "users.jsonl"
    path.write_text(json.dumps({"user_id": "a"}) + "\n\n" + "{not json\n")
    with pytest.raises(RecordError, match=r"users.jsonl:3: not valid JSON"):
        read_records(path)
    path.write_text(json.dumps({"user_id": "a"}) + "\n" + json.dumps({"user_id": "a"}) + "\n")
    with pytest.raises(RecordError, match=r"users.jsonl:2: field 'user_id': duplicate 'a' \(first on line 1\)"):
        read_records(path)
    with pytest.raises(RecordError, match="nope.jsonl: file not found"):
        read_records(tmp_path / "nope.jsonl")


def test_write_jsonl_is_byte_stable_and_roundtrips(tmp_path):
    rows = [GOOD, {"user_id": "u2", "bio": "héllo"}]
    a, b = write_jsonl(tmp_path / "a.jsonl", rows), write_jsonl(tmp_path / "b.jsonl", [dict(reversed(list(r.items()))) for r in rows])
    assert a.read_bytes() == b.read_bytes()
    assert read_records(a) == rows


def test_render_states_truncation():
    rec = {"user_id": "u", "searches": [f"s{i}" for i in range(20)], "bio": "x" * 5000}
    text = render_record(rec, max_items=3, max_chars=200)
    assert text.endswith("[record truncated at 200 characters]")
    assert "(+17 more)" in render_record({"user_id": "u", "searches": rec["searches"]}, max_items=3)


def test_field_stats_coverage():
    stats = field_stats([GOOD, {"user_id": "b"}])
    assert stats["bio"] == {"coverage": 0.5, "mean_length": len("nurse on nights")}
    assert stats["posts"]["coverage"] == 0.5 and stats["posts"]["mean_length"] == 1


def test_command_lines_print_one_line_errors(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("attributes: {}\n")
    env = {**__import__("os").environ, "CONFPROFILE_ROOT": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "confprofile.bench", "--taxonomy", str(bad), "--n-pool", "2",
                          "--n-test", "2"], capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {bad}: 'attributes' must be a non-empty mapping"
    out = subprocess.run([sys.executable, "-m", "confprofile.synthesis", "--profile", "nothing"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert "params/nothing.yaml: parameter file for profile 'nothing' not found" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_invalid_utf8_and_empty_files_name_the_file_and_line(tmp_path):
    bad = tmp_path / "users.jsonl"
    bad.write_bytes(b'{"user_id": "u1"}\n{"user_id": "u2", "bio": "caf\xe9"}\n')
    with pytest.raises(RecordError, match=r"users\.jsonl:2: not valid UTF-8 \(byte 30 of the line\)"):
        read_records(bad)
    bad.write_text("\n\n")
    with pytest.raises(RecordError, match=r"users\.jsonl: no records \(the file is empty\)"):
        read_records(bad)
