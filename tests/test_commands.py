"""``python -m confprofile.pseudo_labelling`` and ``python -m confprofile.evaluation`` fail with one line, never a
traceback, and say what they did not score. Run in process through ``errors.run_cli`` (what
``python -m`` runs) on hand-made files under a temporary root."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from confprofile import paths, pseudo_labelling, records, rules, voting
from confprofile.errors import run_cli
from confprofile.evaluation import outputs
from confprofile.evaluation.__main__ import main as evaluation_main

TWO_ATTRS = {"attributes": {a: {"labels": {"x": {"description": "x"}, "y": {"description": "y"}}} for a in ("g", "h")}}


@pytest.fixture
def tiny(tmp_root):
    """A profile file of one's own: two binary attributes, no crowd-kit peers (fast)."""
    (tmp_root / "tax.yaml").write_text(yaml.safe_dump(TWO_ATTRS))
    prof = tmp_root / "tiny.yaml"
    prof.write_text(yaml.safe_dump({"profile": "tiny", "taxonomy_file": "tax.yaml", "aggregators": {},
                                    "vote_temperatures": [0.3], "coverage": 0.6, "prior_strength": 0.5,
                                    "max_share_shift": 0.15}))
    return str(prof)


def cli(main, *argv, capsys):
    rc = run_cli(main, list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def ann_rows(kinds, teachers="abc", attrs=("g", "h")):
    """Annotation rows: one user per string in ``kinds``, teacher i saying its i-th letter, on every attribute."""
    return pd.DataFrame([{"user_id": f"u{i:03d}", "attribute": a, "teacher": t, "sample": 0, "label": lab,
                          "confidence": 0.8, "ok": True, "rationale": "r", "error": None}
                         for i, kind in enumerate(kinds) for a in attrs for t, lab in zip(teachers, kind)])


# -- vote --------------------------------------------------------------------------------------


def test_vote_without_annotation_tables_is_one_line(tiny, capsys):
    rc, out, err = cli(pseudo_labelling.main, "--profile", tiny, capsys=capsys)
    assert rc == 2 and out == ""
    assert err == (f"error: {paths.annotations_path('tiny', 'pool')}: no annotation table "
                   "(run notebook 02 or python -m confprofile.synthesis)\n")
    with pytest.raises(FileNotFoundError):  # what callers caught before
        records.load_annotations("tiny", "pool")


def test_vote_with_one_teacher_is_one_line(tiny, capsys):
    records.save_annotations(ann_rows(["x", "y", "x"], teachers="a"), "tiny", "pool")
    rc, out, err = cli(pseudo_labelling.main, "--profile", tiny, capsys=capsys)
    assert rc == 2 and out == ""
    assert err == (f"error: {paths.annotations_path('tiny', 'pool')}: the vote needs two or more teachers that "
                   "annotated every pool user, found 1 (teachers: a (3 of 3 users)): no (user, attribute) has two "
                   "voting units; annotate with more teachers (python -m confprofile.synthesis --teachers ...)\n")


def test_vote_prints_identical_candidates_and_the_guards_warnings(tiny, capsys):
    records.save_annotations(ann_rows(["xyy"] * 40 + ["yyy"] * 30 + ["xxx"] * 30), "tiny", "pool")
    rc, out, err = cli(pseudo_labelling.main, "--profile", tiny, capsys=capsys)
    assert rc == 0
    assert "calibration: chosen, no calibration\n" in out
    assert ("identical kept labels (one choice): chosen + confidence calibration (isotonic) = chosen + confidence "
            "calibration (isotonic, held-out teacher) = chosen + confidence calibration (temperature) = chosen + "
            "prior correction = chosen, no calibration\n") in out
    assert ("identical kept labels (one choice): chosen + class thresholds = chosen + prior correction + class "
            "thresholds\n") in out
    assert ("warning: g: 'chosen + class thresholds' (so not chosen) moved a label share 0.20 from the uncalibrated "
            "vote's kept shares (more than 0.15)\n") in err
    assert paths.pseudo_labels_path("tiny", "pool").is_file()
    chosen = out.split("rule: ")[1].split(";")[0]  # what distillation and RL load is the rule the command chose
    assert rules.load("tiny").rule.name == chosen and "pseudo_labels/rule.json" in out


# -- evaluate ----------------------------------------------------------------------------------


def write_gold(profile, rows):
    path = paths.gold_path(profile, "test")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def predictions(labels):
    """A prediction table (``student.prediction_table``'s columns) from ``{(user, attribute): label}``."""
    return pd.DataFrame([{"user_id": u, "attribute": a, "label": lab, "confidence": 0.9, "ok": True,
                          "abstained": False, "error": None} for (u, a), lab in labels.items()])


def save_predictions(profile, model, table):
    path = paths.predictions_path(profile, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path)
    return path


GOLD = [{"user_id": "u1", "labels": {"g": "x", "h": "x"}},
        {"user_id": "u2", "labels": {"g": "y"}},  # h missing
        {"user_id": "u3", "labels": {"g": "y", "h": None}},  # h null
        {"user_id": "u4", "labels": {"h": "y"}}]  # g missing


def test_evaluate_scores_gold_with_gaps_and_says_how_many_pairs_it_left_out(tiny, tmp_path, capsys):
    write_gold("tiny", GOLD)
    save_predictions("tiny", "sft", predictions({
        ("u1", "g"): "x", ("u1", "h"): "x", ("u2", "g"): "y", ("u2", "h"): "x", ("u3", "g"): "x", ("u3", "h"): "y",
        ("u4", "g"): "x", ("u4", "h"): "x"}))
    rc, out, err = cli(evaluation_main, "--profile", tiny, "--json", str(tmp_path / "r.json"), capsys=capsys)
    assert rc == 0 and err == ""
    assert out.startswith("gold: 3 of 8 (user, attribute) pairs have no label and are not scored\n")
    rep = json.loads((tmp_path / "r.json").read_text())["predictions/sft"]
    # g on u1-u3: gold x y y, predicted x y x -> F1(x) = F1(y) = 2/3; h on u1, u4: gold x y, predicted x x -> (2/3 + 0) / 2
    assert rep["f1"] == {"g": pytest.approx(200 / 3), "h": pytest.approx(100 / 3)} and rep["avg_f1"] == pytest.approx(50.0)
    assert rep["n_users"] == 4 and rep["coverage"] == 1.0 and rep["users_missing"] == rep["users_extra"] == 0


def test_evaluate_names_a_prediction_table_without_columns(tiny, capsys):
    write_gold("tiny", GOLD)
    path = save_predictions("tiny", "sft", pd.DataFrame())
    rc, out, err = cli(evaluation_main, "--profile", tiny, capsys=capsys)
    assert rc == 2 and out == ""
    assert err == (f"error: {path}: not a prediction table: lacks column(s) user_id, attribute, label, confidence, "
                   "ok or kept (has none)\n")


def test_evaluate_refuses_an_empty_prediction_table_and_leaves_the_report_alone(tiny, tmp_path, capsys):
    write_gold("tiny", GOLD)
    path = save_predictions("tiny", "sft", pd.DataFrame(columns=["user_id", "attribute", "label", "confidence", "ok",
                                                                 "abstained", "error"]))
    report = tmp_path / "r.json"
    report.write_text('{"earlier": "report"}')
    rc, out, err = cli(evaluation_main, "--profile", tiny, "--json", str(report), capsys=capsys)
    assert rc == 2 and out == "" and err == f"error: {path}: no predictions (the table has no rows)\n"
    assert report.read_text() == '{"earlier": "report"}'


def test_evaluate_counts_unmatched_users_and_fails_when_none_match(tiny, tmp_path, capsys):
    gold = write_gold("tiny", GOLD)
    save_predictions("tiny", "sft", predictions({("u1", "g"): "x", ("u2", "g"): "y", ("z9", "g"): "x"}))
    rc, out, err = cli(evaluation_main, "--profile", tiny, capsys=capsys)
    assert rc == 0
    assert ("predictions/sft: 2 of 4 gold users have no prediction (scored as misses); 1 predicted users have no gold "
            "label (not scored)\n") in out
    path = save_predictions("tiny", "sft", predictions({("z8", "g"): "x", ("z9", "g"): "x"}))
    report = tmp_path / "r.json"
    rc, out, err = cli(evaluation_main, "--profile", tiny, "--json", str(report), capsys=capsys)
    assert rc == 2 and not report.exists()
    assert err == (f"error: {path}: field 'user_id': none of its 2 users has a gold label in {gold} "
                   "(another split or dataset?)\n")


def test_evaluate_gives_the_vote_file_and_a_prediction_file_of_the_same_name_two_names(tiny, tmp_path, capsys):
    write_gold("tiny", GOLD)
    votes = pd.DataFrame({"user_id": ["u1", "u2"], "attribute": ["g", "g"], "label": ["x", "y"],
                          "confidence": [0.9, 0.8], "kept": [True, True]})
    records.write_jsonl(paths.pseudo_labels_path("tiny", "test"), voting.pseudo_label_records(votes))
    save_predictions("tiny", "pseudo_labels", votes.assign(label=["y", "x"]))  # 04's copy: another table
    assert set(outputs.saved_output_files("tiny")) == {"pseudo_labels", "predictions/pseudo_labels"}
    rc, out, err = cli(evaluation_main, "--profile", tiny, "--json", str(tmp_path / "r.json"), capsys=capsys)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rc == 0 and set(rep) == {"pseudo_labels", "predictions/pseudo_labels"}
    # the vote's file: u1, u2 right, u3 missed -> F1(x) 1, F1(y) 2/3; 04's: both wrong
    assert rep["pseudo_labels"]["f1"]["g"] == pytest.approx(250 / 3) and rep["predictions/pseudo_labels"]["f1"]["g"] == 0.0
    assert "pseudo_labels: 2 of 4 gold users have no prediction" in out


def test_vote_prints_every_rules_score_sorted_with_the_chosen_one_marked(tiny, capsys):
    records.save_annotations(ann_rows(["xyy"] * 20 + ["yyy"] * 10 + ["xxx"] * 10 + ["xyx"] * 10), "tiny", "pool")
    rc, out, err = cli(pseudo_labelling.main, "--profile", tiny, capsys=capsys)
    assert rc == 0
    chosen = out.split("; rule: ")[1].split("; calibration:")[0]
    head = f"vote rules by {pseudo_labelling.CRITERION} (pool; ± bootstrap standard error over users; then {pseudo_labelling.ALTERNATIVE}; * chosen):\n"
    assert head in out
    lines = out.split(head)[1].splitlines()
    lines = lines[:[i for i, line in enumerate(lines) if not line.startswith("  ")][0]]
    assert len(lines) == 5  # majority, none, linear, softmax T=0.3, reliability
    scores = [float(line[4:].split()[0]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert [line.split("  ")[-1] for line in lines if line.startswith("  * ")] == [chosen]
    assert "answered share of (user, attribute) pairs per teacher (pool): a 100%, b 100%, c 100%\n" in out
