"""The gold side's scoring (``confprofile.evaluation``: ``gold_labels``, ``scores``, ``references``,
``intervals``, the voting sweep of ``votes_vs_gold``) on hand-built data and small generated benchmarks."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from confprofile import monitor
from confprofile.evaluation import gold_labels, intervals, references, scores, votes_vs_gold
from confprofile.errors import RecordError
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()


def _gold_rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return [{"user_id": f"u{i}", "labels": {a.name: a.labels[rng.integers(len(a.labels))] for a in TAX},
             "clues": {a.name: "weak" for a in TAX}} for i in range(n)]


def _write(tmp_path, rows):
    path = tmp_path / "gold" / "test.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_gold_long_table(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(3)), TAX)
    assert len(gold) == 3 * len(TAX) and set(gold.columns) == {"user_id", "attribute", "gold", "clue"}


def test_read_gold_names_line_and_field_of_a_bad_label(tmp_path):
    rows = _gold_rows(3)
    rows[1]["labels"]["gender"] = "unknown"
    with pytest.raises(RecordError, match=r"test.jsonl:2: field 'labels.gender': 'unknown' is not a label"):
        gold_labels.read_gold(_write(tmp_path, rows), TAX)


def test_score_perfect_and_abstaining_predictions(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows()), TAX)
    perfect = gold.rename(columns={"gold": "label"})
    s = scores.score(perfect, gold, TAX)
    assert s["avg_f1"] == pytest.approx(100.0) and s["n_users"] == 40
    half = perfect[perfect["user_id"].isin([f"u{i}" for i in range(20)])]  # other users missing = abstain
    assert scores.score(half, gold, TAX)["avg_f1"] < 80


def _ann(gold, teacher, flip, conf_right=0.9, conf_wrong=0.3, seed=0):
    rng = np.random.default_rng(seed)
    ann = gold.rename(columns={"gold": "label"})[["user_id", "attribute", "label"]].copy()
    wrong = rng.random(len(ann)) < flip
    labels = {a.name: a.labels for a in TAX}
    ann.loc[wrong, "label"] = [next(l for l in labels[a] if l != g) for a, g in
                              zip(ann.loc[wrong, "attribute"], ann.loc[wrong, "label"])]
    ann["confidence"] = np.where(wrong, conf_wrong, conf_right)
    return ann.assign(teacher=teacher, sample=0, ok=True, error=None, rationale="")


def test_teacher_scores_rank_teachers_and_confidence_report_sees_informative_confidence(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(200)), TAX)
    ann = pd.concat([_ann(gold, "good", 0.1), _ann(gold, "bad", 0.6, seed=1)])
    s = scores.teacher_scores(ann, gold, TAX)
    assert s["good"]["avg_f1"] > s["bad"]["avg_f1"] + 20
    rep = scores.confidence_report(ann, gold)
    assert rep["good"]["accuracy_highest_bin"] == 1.0 and rep["good"]["accuracy_lowest_bin"] == 0.0
    assert rep["bad"]["accuracy"] == pytest.approx(0.4, abs=0.05)


def test_monitor_counts_failures_abstentions_and_agreement():
    ann = pd.DataFrame({
        "user_id": ["u"] * 4, "attribute": ["age"] * 4, "teacher": ["t"] * 4, "sample": [0, 1, 2, 3],
        "label": ["18_24", "25_34", "unknown", None], "confidence": [0.9, 0.5, 0.1, np.nan],
        "ok": [True, True, True, False], "error": [None, None, None, "off-taxonomy: 'teen'"]})
    assert monitor.failure_rates(ann) == {"t": 0.25}
    assert monitor.failure_reasons(ann) == {"t": {"off-taxonomy": 1}}
    assert monitor.abstention_rates(ann)["t"] == pytest.approx(1 / 3)
    assert monitor.sample_agreement(ann)["t"] == pytest.approx(1 / 3)
    assert sum(monitor.confidence_histogram(ann)["t"]) == 3


def test_baselines_are_weak_and_majority_predicts_one_class(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(300)), TAX)
    b = references.baselines(gold, TAX, seed=0)
    assert 10 < b["uniform_random"]["avg_f1"] < 40
    # majority: F1 of one class only, averaged over the classes present
    assert b["majority_class"]["f1"]["gender"] == pytest.approx(100 * (2 * 0.5 * 1 / 1.5) / 2, abs=6)


def test_vote_report_separates_kept_quality_from_coverage(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(100)), TAX)
    votes = _ann(gold, "vote", 0.3)[["user_id", "attribute", "label", "confidence"]]
    votes["kept"] = votes["confidence"] > 0.5  # keeps exactly the correct ones
    rep = scores.vote_report(votes, gold, TAX)
    assert rep["avg_f1_kept"] == pytest.approx(100.0)
    assert rep["coverage"] == pytest.approx(0.7, abs=0.06)
    assert rep["avg_f1"] < rep["avg_f1_kept"] and rep["ece"] == pytest.approx(0.1, abs=1e-9)


def test_threshold_curve_trades_recall_for_precision(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(200)), TAX)
    votes = _ann(gold, "vote", 0.4)
    curve = scores.threshold_curve(votes, gold, TAX, [0.0, 0.5, 0.95])
    assert curve["coverage"] == pytest.approx([1.0, 0.6, 0.0], abs=0.06)
    assert curve["precision"][1] == pytest.approx(1.0) and curve["precision"][0] < 0.8
    # dropping only wrong labels costs no recall; dropping everything costs all of it
    assert curve["recall"][1] == pytest.approx(curve["recall"][0]) and curve["recall"][2] == 0.0
    assert np.isnan(curve["precision"][2])  # nothing predicted: precision undefined, not 0


def _votes(gold, rng, p_right):
    labels = {a.name: a.labels for a in TAX}
    wrong = [labels[a][rng.integers(len(labels[a]))] for a in gold["attribute"]]
    right = rng.random(len(gold)) < p_right
    return gold.assign(label=np.where(right, gold["gold"], wrong), confidence=0.5, kept=True)


def test_paired_bootstrap_estimate_equals_the_score_difference(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(120)), TAX)
    rng = np.random.default_rng(0)
    a, b = _votes(gold, rng, 0.7), _votes(gold, rng, 0.5)
    out = intervals.paired_bootstrap(a, b, gold, TAX, n_boot=300, seed=1)
    expect = scores.score(a, gold, TAX)["avg_f1"] - scores.score(b, gold, TAX)["avg_f1"]
    assert out["delta"] == pytest.approx(expect, abs=1e-9)
    lo, hi = out["ci"]
    assert lo < expect < hi and lo > 0  # 70% right against 50% right on 120 users: a clear difference
    assert out == intervals.paired_bootstrap(a, b, gold, TAX, n_boot=300, seed=1)  # seeded
    assert out["ci"] != intervals.paired_bootstrap(a, b, gold, TAX, n_boot=300, seed=2)["ci"]
    same = intervals.paired_bootstrap(a, a.sample(frac=1, random_state=0), gold, TAX, n_boot=100, seed=0)
    assert same["delta"] == 0 and same["ci"] == [0.0, 0.0]  # paired: identical predictions never differ


def test_paired_bootstrap_counts_missing_users_and_abstentions_as_misses(tmp_path):
    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(30)), TAX)
    right = gold.assign(label=gold["gold"])
    half = right[right["user_id"].isin([f"u{i}" for i in range(15)])]
    abstain = right.assign(label=np.where(right["user_id"].isin(half["user_id"]), right["label"], None))
    out = intervals.paired_bootstrap(half, abstain, gold, TAX, n_boot=50, seed=0)
    assert out["delta"] == 0 and out["ci"] == [0.0, 0.0]
    expect = scores.score(right, gold, TAX)["avg_f1"] - scores.score(half, gold, TAX)["avg_f1"]
    assert intervals.paired_bootstrap(right, half, gold, TAX, n_boot=50, seed=0)["delta"] == pytest.approx(expect)


def test_cost_curve_uses_the_first_k_samples(tmp_path):
    from confprofile import voting

    gold = gold_labels.read_gold(_write(tmp_path, _gold_rows(20)), TAX)
    rng = np.random.default_rng(3)
    ann = pd.concat([_votes(gold, rng, 0.6).assign(teacher=t, sample=s, ok=True)
                     for t in ("a", "b") for s in range(3)], ignore_index=True)
    rule = voting.VoteRule("majority vote", "count")
    curve = scores.cost_curve(ann, {"m": rule}, {"m": None}, gold, TAX, [1, 3])
    assert curve["m"][1] == pytest.approx(scores.score(voting.majority_vote(ann), gold, TAX)["avg_f1"])
    first = voting.majority_vote(ann[ann["sample"] == 0])
    assert curve["m"][0] == pytest.approx(scores.score(first, gold, TAX)["avg_f1"])


def test_voting_sweep_scores_every_cell_on_the_same_users(tmp_path):
    from confprofile import bench
    from confprofile.taxonomy import load_taxonomy

    tax = load_taxonomy()
    recs, gold_rows = bench.generate(60, seed=2, split="test", taxonomy=tax)
    gold = pd.DataFrame([{"user_id": g["user_id"], "attribute": a, "gold": lab, "clue": g["clues"][a]}
                         for g in gold_rows for a, lab in g["labels"].items()])
    rows = votes_vs_gold.voting_sweep(recs, gold, tax, views=[1, 3], gaps=[0.0, 0.6], coverage=0.6, n_samples=2,
                                 temperature=0.7, seed=0, cache_dir=tmp_path, shared=[0.0, 0.3])
    assert [(r["views"], r["shared"], r["gap"]) for r in rows] == [
        (v, b, g) for v in (1, 3) for b in (0.0, 0.3) for g in (0.0, 0.6)]
    rows = [r for r in rows if r["shared"] == 0.0]
    for r in rows:
        assert r["weighted_minus_majority"] == pytest.approx(r["weighted"] - r["majority"])
        assert r["weighted_minus_best_single"] == pytest.approx(r["weighted"] - r["best_single"])
        assert 0 < r["best_single"] < 100
    assert rows[0]["weighted"] != rows[2]["weighted"]  # distinct views are different teachers


# -- gold with gaps: a pair without a label is not scored, anywhere ---------------------------


def _gappy_gold(tmp_path, n=60, seed=0):
    """Every third user lacks ``gender`` (missing), every fifth has ``age`` null; a bad label stays an error."""
    rows = _gold_rows(n, seed)
    for i, r in enumerate(rows):
        if i % 3 == 0:
            del r["labels"]["gender"]
        if i % 5 == 0:
            r["labels"]["age"] = None
    return gold_labels.read_gold(_write(tmp_path, rows), TAX), rows


def test_read_gold_leaves_out_missing_and_null_labels_and_counts_them(tmp_path):
    gold, rows = _gappy_gold(tmp_path)
    assert gold.attrs == {"n_users": 60, "unscored_pairs": 20 + 12}
    assert len(gold) == 60 * len(TAX) - 32 and gold["gold"].notna().all()
    assert not ((gold["user_id"] == "u0") & (gold["attribute"].isin(["gender", "age"]))).any()
    rows[4]["labels"]["gender"] = "femail"
    with pytest.raises(RecordError, match=r"test.jsonl:5: field 'labels.gender': 'femail' is not a label of 'gender'"):
        gold_labels.read_gold(_write(tmp_path, rows), TAX)


def test_score_with_gaps_is_exact_on_a_hand_made_example(tmp_path):
    from confprofile.taxonomy import parse_taxonomy

    tax = parse_taxonomy({"attributes": {a: {"labels": {"x": {"description": "x"}, "y": {"description": "y"}}}
                                         for a in ("g", "h", "k")}})
    rows = [{"user_id": "u1", "labels": {"g": "x", "h": "x"}}, {"user_id": "u2", "labels": {"g": "y"}},
            {"user_id": "u3", "labels": {"g": "y", "h": None}}, {"user_id": "u4", "labels": {"h": "y"}}]
    gold = gold_labels.read_gold(_write(tmp_path, rows), tax)
    assert gold.attrs["unscored_pairs"] == 3 + 4  # k: nobody has a label
    pred = pd.DataFrame([(u, a, lab) for u in ("u1", "u2", "u3", "u4") for a, lab in
                         zip("ghk", {"u1": "xxx", "u2": "yxx", "u3": "xyx", "u4": "xxx"}[u])],
                        columns=["user_id", "attribute", "label"])
    s = scores.score(pred, gold, tax)
    # g on u1-u3: gold x y y, predicted x y x: F1(x) = F1(y) = 2/3; h on u1, u4: gold x y, predicted x x: (2/3 + 0) / 2
    assert s["f1"]["g"] == pytest.approx(200 / 3) and s["f1"]["h"] == pytest.approx(100 / 3)
    assert np.isnan(s["f1"]["k"]) and s["avg_f1"] == pytest.approx(50.0) and s["n_users"] == 4
    # the same number through every reader of gold
    assert scores.prediction_report(pred.assign(confidence=0.9, ok=True, abstained=False), gold, tax)["avg_f1"] == \
        pytest.approx(50.0)
    votes = pred.assign(confidence=0.9, kept=True)
    rep = scores.vote_report(votes, gold, tax)
    assert rep["avg_f1"] == pytest.approx(50.0) and rep["coverage"] == 1.0
    curve = scores.threshold_curve(votes, gold, tax, [0.0, 0.95])
    assert curve["f1"] == pytest.approx([50.0, 0.0]) and curve["coverage"] == [1.0, 0.0]
    teachers = scores.teacher_scores(votes.assign(teacher="t", sample=0), gold, tax)
    assert teachers["t"]["avg_f1"] == pytest.approx(50.0)
    assert intervals.paired_bootstrap(pred, pred.assign(label="y"), gold, tax, n_boot=20, seed=0)["delta"] == \
        pytest.approx(50.0 - scores.score(pred.assign(label="y"), gold, tax)["avg_f1"])


def test_paired_bootstrap_works_with_gaps(tmp_path):
    gold, _ = _gappy_gold(tmp_path, n=120)
    rng = np.random.default_rng(0)
    a, b = _votes(gold, rng, 0.7), _votes(gold, rng, 0.5)
    out = intervals.paired_bootstrap(a, b, gold, TAX, n_boot=200, seed=1)
    expect = scores.score(a, gold, TAX)["avg_f1"] - scores.score(b, gold, TAX)["avg_f1"]
    assert out["delta"] == pytest.approx(expect, abs=1e-9) and out["n_users"] == 120
    lo, hi = out["ci"]
    assert np.isfinite([lo, hi]).all() and 0 < lo < expect < hi
    # an attribute nobody has a gold label for is left out, not a NaN
    no_gender = gold[gold["attribute"] != "gender"]
    d = intervals.paired_bootstrap(a, b, no_gender, TAX, n_boot=50, seed=1)
    assert d["delta"] == pytest.approx(scores.score(a, no_gender, TAX)["avg_f1"]
                                       - scores.score(b, no_gender, TAX)["avg_f1"])
    assert np.isfinite(d["ci"]).all()
    claims = intervals.delta_claims({"a": a, "b": b}, {"a_minus_b_f1": ("a", "b")}, gold, TAX, n_boot=50, seed=0)
    assert claims["a_minus_b_f1"] == pytest.approx(expect)


def test_reports_with_gaps_score_only_labelled_pairs(tmp_path):
    gold, _ = _gappy_gold(tmp_path, n=200)
    votes = _ann(gold, "vote", 0.4)
    rep = scores.vote_report(votes.assign(kept=True), gold, TAX)
    assert rep["coverage"] == 1.0 and np.isfinite(rep["avg_f1"])
    ann = pd.concat([_ann(gold, "good", 0.1), _ann(gold, "bad", 0.6, seed=1)])
    s = scores.teacher_scores(ann, gold, TAX)
    assert s["good"]["avg_f1"] > s["bad"]["avg_f1"] + 20
    b = references.baselines(gold, TAX, seed=0)
    assert np.isfinite(b["uniform_random"]["avg_f1"]) and np.isfinite(b["majority_class"]["avg_f1"])
    curve = scores.threshold_curve(votes, gold, TAX, [0.0, 0.5])
    assert curve["coverage"] == pytest.approx([1.0, 0.6], abs=0.06) and curve["precision"][1] == pytest.approx(1.0)


def test_answer_reliability_keeps_a_vote_tables_kept_pairs_and_every_answered_prediction():
    gold = pd.DataFrame({"user_id": ["u", "v", "w"], "attribute": ["g"] * 3, "gold": ["x", "y", "x"]})
    votes = gold.drop(columns="gold").assign(label=["x", "x", "x"], confidence=[0.9, 0.8, 0.2], kept=[True, False, True])
    def same(a, b):  # empty bins hold NaN, which no == matches
        return json.dumps(a) == json.dumps(b)

    assert same(scores.answer_reliability(votes, gold, 5), scores.reliability(votes[votes["kept"]], gold, 5))
    pred = votes.drop(columns="kept").assign(label=["x", "x", None])  # a prediction table: every pair with a label
    assert same(scores.answer_reliability(pred, gold, 5), scores.reliability(pred.iloc[:2], gold, 5))
    assert sum(scores.answer_reliability(pred, gold, 5)["count"]) == 2


def test_f1_by_step_scores_each_checkpoints_table():
    tax = load_taxonomy()
    gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["gender"] * 2, "gold": ["male", "female"]})
    one = dataclasses.replace(tax, attributes=(tax["gender"],))
    out = scores.f1_by_step({5: gold.assign(label=gold["gold"]), 10: gold.assign(label=None)}, gold, one)
    assert list(out) == [5, 10] and out[5] == 100.0 and out[10] == 0.0
