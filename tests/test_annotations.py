"""Bring your own annotations: ``python -m confprofile.annotations import`` checks a CSV or parquet
table against the taxonomy and the split's records, writes it where the vote reads it, and names
the file, row and column of the first problem in one line (exit 2). ``records.save_annotations``
refuses a table that breaks the contract."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from confprofile import annotations, bench, paths, pseudo_labelling, records, synthesis
from confprofile.errors import run_cli
from confprofile.parsing import ANNOTATION_COLUMNS
from confprofile.records import AnnotationTableError
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()


@pytest.fixture
def bench_t(tmp_root):
    """A tiny built-in benchmark under profile ``t`` (30 pool users) and a profile file for it."""
    bench.build_benchmark("t", n_pool=30, n_test=5, seed=0)
    prof = tmp_root / "t.yaml"
    prof.write_text(yaml.safe_dump({"profile": "t", "aggregators": {}, "vote_temperatures": [0.3], "coverage": 0.8,
                                    "prior_strength": 0.5, "max_share_shift": 0.15}))
    return str(prof)


def cli(main, *argv, capsys):
    rc = run_cli(main, list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def teachers_answers() -> pd.DataFrame:
    """What two CPU teachers answer on the pool, as an outside tool would write it: the
    required columns and a rationale (no ``ok``/``error``: the importer fills them)."""
    recs = records.read_records(paths.records_path("t", "pool"))
    ann = synthesis.synthesize(recs, TAX, synthesis.build_teachers(["lexicon", "heuristic"], TAX), n_samples=2,
                               temperature=0.7, seed=0, cache_dir=paths.synthesis_cache_dir("t"), progress=False)
    return ann[list(annotations.REQUIRED) + ["rationale"]]


def test_an_imported_table_runs_through_the_vote(bench_t, tmp_path, capsys):
    answers = teachers_answers()
    csv = tmp_path / "answers.csv"
    answers.to_csv(csv, index=False)
    rc, out, err = cli(annotations.main, "import", "--profile", bench_t, "--split", "pool", str(csv), capsys=capsys)
    assert rc == 0, err
    table = records.load_annotations("t", "pool")
    assert tuple(table.columns) == ANNOTATION_COLUMNS and len(table) == len(answers) == 30 * 2 * 2 * len(TAX)
    assert (table["ok"] == table["label"].notna()).all() and set(table.loc[~table["ok"], "error"]) <= {"no label"}
    assert f"wrote {paths.annotations_path('t', 'pool')} ({len(answers)} rows; teachers heuristic, lexicon)" in out
    rc, out, err = cli(pseudo_labelling.main, "--profile", bench_t, capsys=capsys)
    assert rc == 0, err
    assert "teachers: heuristic, lexicon; rule: " in out
    assert len(list(records.read_jsonl(paths.pseudo_labels_path("t", "pool")))) == 30
    # a parquet of a third teacher is merged in: its rows added, the others kept
    third = answers[answers["teacher"] == "lexicon"].assign(teacher="copy")
    third.to_parquet(tmp_path / "third.parquet")
    assert cli(annotations.main, "import", "--profile", bench_t, str(tmp_path / "third.parquet"), capsys=capsys)[0] == 0
    assert sorted(records.load_annotations("t", "pool")["teacher"].unique()) == ["copy", "heuristic", "lexicon"]
    assert cli(annotations.main, "import", "--profile", bench_t, "--replace", str(tmp_path / "third.parquet"),
               capsys=capsys)[0] == 0
    assert sorted(records.load_annotations("t", "pool")["teacher"].unique()) == ["copy"]


GOOD = {"user_id": "pool-00000", "attribute": "gender", "teacher": "a", "sample": "0", "label": "female",
        "confidence": "0.9", "rationale": "", "ok": "true", "error": ""}


def _csv(tmp_path, rows, columns=None):
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, message", [
    ({"attribute": "height"}, "row 2, column 'attribute': unknown attribute 'height' (taxonomy: age, gender, occupation, "
                              "life_stage, education, consumption_level)"),
    ({"label": "woman"}, "row 2, column 'label': 'woman' is not a label of attribute 'gender' (female, male; or unknown, "
                         "or empty for a failed answer)"),
    ({"confidence": "high"}, "row 2, column 'confidence': 'high' is not a number in [0, 1]"),
    ({"confidence": "1.5"}, "row 2, column 'confidence': '1.5' is outside [0, 1]"),
    ({"confidence": ""}, "row 2, column 'confidence': empty beside a label (a number in [0, 1]; 1.0 where the teacher "
                         "states none)"),
    ({"sample": "0.5"}, "row 2, column 'sample': '0.5' is not a whole number >= 0"),
    ({"user_id": ""}, "row 2, column 'user_id': empty (every row names a user)"),
    ({"ok": "maybe"}, "row 2, column 'ok': 'maybe' is not true or false"),
    ({"ok": "false"}, "row 2, column 'ok': false, but the label is 'female' (a failed answer has an empty label)"),
    ({"sample": "1", "teacher": "a"}, None),  # a good row: another sample
    ({}, "row 2, column 'sample': duplicate of row 1 (user 'pool-00000', attribute 'gender', teacher 'a', sample 0)"),
    ({"user_id": "someone"}, "row 2, column 'user_id': user 'someone' is not in {records} (30 users)"),
])
def test_a_bad_row_is_one_line_naming_file_row_and_column(bench_t, tmp_path, capsys, change, message):
    path = _csv(tmp_path, [GOOD, {**GOOD, **change}])
    rc, out, err = cli(annotations.main, "import", "--profile", bench_t, str(path), capsys=capsys)
    if message is None:
        assert rc == 0 and len(records.load_annotations("t", "pool")) == 2
        return
    message = message.format(records=paths.records_path("t", "pool"))
    assert (rc, out, err) == (2, "", f"error: {path}: {message}\n")
    assert not paths.annotations_path("t", "pool").exists()  # nothing written


def test_missing_and_unknown_columns_are_named(bench_t, tmp_path, capsys):
    path = _csv(tmp_path, [{k: v for k, v in GOOD.items() if k not in ("sample", "confidence")}])
    rc, _, err = cli(annotations.main, "import", "--profile", bench_t, str(path), capsys=capsys)
    assert rc == 2 and err == (f"error: {path}: missing column(s) sample, confidence (required: user_id, attribute, "
                               "teacher, sample, label, confidence; optional: rationale, ok, error)\n")
    path = _csv(tmp_path, [{**GOOD, "confidance": "0.8"}])
    rc, _, err = cli(annotations.main, "import", "--profile", bench_t, str(path), capsys=capsys)
    assert rc == 2 and err.startswith(f"error: {path}: unknown column(s) confidance (required: ")
    rc, _, err = cli(annotations.main, "import", "--profile", bench_t, str(tmp_path / "nothing.csv"), capsys=capsys)
    assert rc == 2 and err == f"error: {tmp_path / 'nothing.csv'}: file not found\n"


def test_optional_columns_default_sensibly_and_unknown_is_an_abstention(bench_t, tmp_path):
    rows = [{**GOOD, "label": "unknown", "confidence": "0.3"}, {**GOOD, "sample": "1", "label": "", "confidence": ""}]
    path = _csv(tmp_path, [{k: v for k, v in r.items() if k not in ("ok", "error", "rationale")} for r in rows])
    out = annotations.validate(annotations.read_table(path), TAX, path)
    assert out[["label", "confidence", "ok", "error", "rationale"]].to_dict("records")[0] == {
        "label": "unknown", "confidence": 0.3, "ok": True, "error": None, "rationale": ""}
    assert out["ok"].tolist() == [True, False] and out["error"].tolist() == [None, "no label"]


@pytest.mark.parametrize("change, message", [
    ({"confidence": [0.8, 1.2]}, "row 2, column 'confidence': 1.2 is outside [0, 1]"),
    ({"ok": [True, "yes"]}, "row 2, column 'ok': expected true or false, got 'yes'"),
    ({"user_id": ["u1", None]}, "row 2, column 'user_id': expected a non-empty string, got null"),
    ({"sample": [0, 0]}, "row 2, column 'sample': duplicate of row 1 (user 'u1', attribute 'age', teacher 'a', sample 0)"),
    ({"sample": [0.0, 1.0]}, "column 'sample': expected whole numbers >= 0 (an integer column), got float64"),
])
def test_save_annotations_refuses_a_table_that_breaks_the_contract(tmp_root, change, message):
    good = pd.DataFrame({"user_id": ["u1", "u1"], "attribute": ["age", "age"], "teacher": ["a", "a"], "sample": [0, 1],
                         "label": ["18_24", None], "confidence": [0.8, float("nan")], "rationale": ["", ""],
                         "ok": [True, False], "error": [None, "not JSON"]})
    assert records.save_annotations(good, "t", "pool").is_file()
    where = f"annotation table for {paths.annotations_path('t', 'x')}"
    with pytest.raises(AnnotationTableError) as e:
        records.save_annotations(good.assign(**change), "t", "x")
    assert str(e.value) == f"{where}: {message}"
    with pytest.raises(AnnotationTableError, match=r"missing column\(s\) error \(an annotation table has user_id, "):
        records.save_annotations(good.drop(columns="error"), "t", "x")
    assert not paths.annotations_path("t", "x").exists()


def test_the_contracts_columns_are_one_list():
    assert tuple(records.ANNOTATION_TYPES) == ANNOTATION_COLUMNS
