"""The data stage checks everything before it writes anything, and errors name file, line, field."""

import json

import pytest

from confprofile import dataset
from confprofile.errors import run_cli


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def mine(tmp_root, tmp_path):
    """A profile of one's own: 3 pool and 2 test users, gold for the test split, the built-in taxonomy."""
    d = tmp_path / "mine"
    (d / "gold").mkdir(parents=True)
    _jsonl(d / "pool.jsonl", [{"user_id": f"p{i}", "bio": "nurse"} for i in range(3)])
    _jsonl(d / "test.jsonl", [{"user_id": f"t{i}", "bio": "student"} for i in range(2)])
    _jsonl(d / "gold" / "test.jsonl", [{"user_id": "t0", "labels": {"gender": "female", "age": None}},
                                       {"user_id": "t1", "labels": {"gender": "male"}}])  # gaps are fine
    (d / "mine.yaml").write_text("profile: mine\ndata: {pool: pool.jsonl, test: test.jsonl}\n"
                                 "gold: {test: gold/test.jsonl}\n")
    return d


def _run(profile_dir, capsys):
    code = run_cli(dataset.main, ["--profile", str(profile_dir / "mine.yaml")])
    return code, capsys.readouterr().err


def _written(root):
    data = root / "runs" / "mine" / "data"
    return {p.relative_to(data).as_posix(): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


def test_gold_with_gaps_is_accepted(mine, tmp_root, capsys):
    assert _run(mine, capsys) == (0, "")
    assert sorted(_written(tmp_root)) == ["gold/test.jsonl", "pool.jsonl", "test.jsonl"]


def test_a_gold_label_outside_the_taxonomy_is_named(mine, tmp_root, capsys):
    gold = _jsonl(mine / "gold" / "test.jsonl", [{"user_id": "t0", "labels": {"gender": "female"}},
                                                 {"user_id": "t1", "labels": {"gender": "robot"}}])
    assert _run(mine, capsys) == (2, f"error: {gold}:2: field 'labels.gender': 'robot' is not a label of 'gender' "
                                     "(female, male)\n")
    assert not (tmp_root / "runs" / "mine").exists()  # checked before anything was written


def test_a_taxonomy_with_a_duplicate_label_is_an_error(mine, capsys):
    tax = mine / "tax.yaml"
    tax.write_text("name: t\nattributes:\n  gender:\n    labels:\n      female: {description: f}\n"
                   "      male: {description: m}\n      female: {description: again}\n")
    (mine / "mine.yaml").write_text((mine / "mine.yaml").read_text() + "taxonomy_file: tax.yaml\n")
    assert _run(mine, capsys) == (2, f"error: {tax}:7: duplicate key 'female' (the second would silently "
                                     "replace the first)\n")


def test_a_test_user_in_the_pool_is_named_by_its_line(mine, capsys):
    test = _jsonl(mine / "test.jsonl", [{"user_id": "t0"}, {"user_id": "p2"}, {"user_id": "p1"}])
    assert _run(mine, capsys) == (2, f"error: {test}:2: field 'user_id': 'p2' (and 1 more) also in the pool "
                                     f"{mine / 'pool.jsonl'}; the test users must be apart\n")


@pytest.mark.parametrize("breakage", ["gold label", "gold user", "gold twice", "overlap", "record", "taxonomy"])
def test_a_failed_run_changes_nothing_written_before(mine, tmp_root, capsys, breakage):
    assert _run(mine, capsys)[0] == 0
    before = _written(tmp_root)
    gold, test = mine / "gold" / "test.jsonl", mine / "test.jsonl"
    if breakage == "gold label":
        _jsonl(gold, [{"user_id": "t0", "labels": {"age": "teen"}}])
    elif breakage == "gold user":
        _jsonl(gold, [{"user_id": "someone", "labels": {}}])
    elif breakage == "gold twice":
        _jsonl(gold, [{"user_id": "t0", "labels": {}}, {"user_id": "t0", "labels": {}}])
    elif breakage == "overlap":
        _jsonl(test, [{"user_id": "t0", "bio": "changed"}, {"user_id": "p0"}])
    elif breakage == "record":
        _jsonl(test, [{"user_id": "t0", "bio": "changed"}, {"user_id": "t1", "posts": "not a list"}])
    else:
        (mine / "mine.yaml").write_text((mine / "mine.yaml").read_text() + "taxonomy_file: missing.yaml\n")
    code, err = _run(mine, capsys)
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1
    assert _written(tmp_root) == before
