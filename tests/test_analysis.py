"""Notebook 06's analysis: tables and series from saved predictions, checked on hand-built data."""

import pandas as pd
import pytest

from confprofile.evaluation import analysis, intervals, references, scores
from confprofile.taxonomy import parse_taxonomy

TAX = parse_taxonomy({"attributes": {
    "g": {"labels": {"x": {"description": "x"}, "y": {"description": "y"}}},
    "h": {"labels": {"p": {"description": "p"}, "q": {"description": "q"}, "r": {"description": "r"}}}}})
USERS = [f"u{i}" for i in range(8)]
GOLD = pd.DataFrame([{"user_id": u, "attribute": a, "gold": lab, "clue": clue}
                     for i, u in enumerate(USERS)
                     for a, lab, clue in [("g", "xy"[i % 2], "explicit" if i < 4 else "weak"),
                                          ("h", "pqr"[i % 3], "none")]])


def _pred(g_right: bool, h_right: bool, **extra) -> pd.DataFrame:
    flip = {"x": "y", "y": "x", "p": "q", "q": "r", "r": "p"}
    right = {"g": g_right, "h": h_right}
    return GOLD.assign(label=[lab if right[a] else flip[lab] for a, lab in zip(GOLD["attribute"], GOLD["gold"])],
                       confidence=0.8, ok=True, abstained=False, **extra
                       )[["user_id", "attribute", "label", "confidence", "ok", "abstained", *extra]]


def test_delta_table_bootstraps_the_average_and_each_attribute_alone():
    pred = {"good": _pred(True, True), "half": _pred(True, False)}
    d = intervals.delta_table(pred, {"good_minus_half_f1": ("good", "half")}, GOLD, TAX, n_boot=50, seed=0)
    boots = d["good_minus_half_f1"]
    assert set(boots) == {"average", "g", "h"}
    assert boots["g"]["delta"] == 0.0 and boots["g"]["ci"] == [0.0, 0.0]
    assert boots["h"]["delta"] == 100.0 and boots["average"]["delta"] == 50.0
    assert boots["average"] == intervals.paired_bootstrap(pred["good"], pred["half"], GOLD, TAX, n_boot=50, seed=0)
    claims = intervals.claims_from(d)
    assert claims == {"good_minus_half_f1": 50.0, "good_minus_half_f1_ci": boots["average"]["ci"]}
    frame = intervals.delta_frame(d, {"good_minus_half_f1": "good - half"})
    assert frame.loc["good - half", "h"] == "+100.00 [+100.00, +100.00]" and list(frame.columns) == ["average", "g", "h"]


def test_report_table_has_one_row_per_model_in_the_papers_shape():
    reports = {k: scores.prediction_report(p, GOLD, TAX) for k, p in
               {"base": _pred(False, False), "sft": _pred(True, False)}.items()}
    t = analysis.report_table(reports, TAX, names={"sft": "SFT student"})
    assert list(t.index) == ["base", "SFT student"]
    assert list(t.columns[:5]) == ["g", "h", "avg F1", "precision", "recall"]
    assert t.loc["SFT student", "g"] == 100.0 and t.loc["SFT student", "avg F1"] == 50.0 and t.loc["base", "avg F1"] == 0.0


def test_teacher_answers_keep_complete_teachers_and_mark_unknown_as_abstention():
    rows = []
    for t, n_users in (("full", 8), ("partial", 3)):
        for u in USERS[:n_users]:
            for s in (0, 1):
                rows.append({"user_id": u, "attribute": "g", "teacher": t, "sample": s,
                             "label": "unknown" if u == "u0" else "x", "confidence": 0.5, "ok": True})
    out = analysis.teacher_answers(pd.DataFrame(rows))
    assert list(out) == ["full"] and len(out["full"]) == 8
    first = out["full"].set_index("user_id")
    assert first.loc["u0", "abstained"] and first.loc["u0", "label"] is None and not first.loc["u1", "abstained"]
    assert scores.prediction_report(out["full"], GOLD[GOLD["attribute"] == "g"],
                                      parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
                                                                                     "y": {"description": "y"}}}}})
                                      )["abstention_rate"] == pytest.approx(1 / 8)


def test_f1_by_clue_scores_each_strength_apart_and_skips_dropped_pairs():
    pred = _pred(True, False, kept=True)
    pred.loc[(pred["attribute"] == "g") & pred["user_id"].isin(USERS[4:]), "kept"] = False  # weak clues dropped
    out = scores.f1_by_clue(pred, GOLD, TAX, ["explicit", "weak", "none", "misleading"])
    assert out["n"] == {"explicit": 4, "weak": 4, "none": 8, "misleading": 0}
    assert out["f1"]["explicit"] == 100.0 and out["f1"]["weak"] == 0.0 and out["f1"]["none"] == 0.0
    assert out["f1"]["misleading"] != out["f1"]["misleading"]  # NaN


def test_confusion_rows_sum_to_100_and_hardest_attribute_is_the_lowest():
    pred = _pred(True, False)
    pred.loc[0, "label"] = None  # u0, g: no answer
    m = analysis.confusion(pred, GOLD, "h", ["p", "q", "r"])
    assert all(sum(row.values()) == pytest.approx(100.0) for row in m.values())
    assert m["p"]["q"] == 100.0 and m["p"]["no answer"] == 0.0
    assert analysis.confusion(pred, GOLD, "g", ["x", "y"])["x"]["no answer"] == 25.0
    assert analysis.hardest_attribute(scores.prediction_report(pred, GOLD, TAX)) == "h"


def test_pipeline_steps_count_what_each_stage_kept_and_dropped():
    ann = pd.DataFrame({"label": ["x", "unknown", None, "y"], "ok": [True, True, False, True]})
    pseudo = [{"attributes": {"g": {"kept": True}, "h": {"kept": False}}},
              {"attributes": {"g": {"kept": True}, "h": {"kept": True}}}]
    final = _pred(True, True)
    final.loc[:2, "label"] = None
    steps = analysis.pipeline_steps(10, ann, pseudo, 10, {"drawn": 4, "heldout": 2, "trained": 3}, final)
    assert steps["02 teacher answers (pool)"] == {"kept": 2, "dropped": 2}
    assert steps["03 pseudo-labels (pool pairs)"] == {"kept": 3, "dropped": 1}
    assert steps["05 RL users drawn (+ held out)"] == {"kept": 6, "dropped": 4}
    assert steps["05 RL users trained on (band)"] == {"kept": 3, "dropped": 1}
    assert steps["05 final student answers (test pairs)"] == {"kept": 13, "dropped": 3}
    assert list(steps)[0] == "01 pool users" and steps["04 SFT examples (users)"]["dropped"] == 0


def test_rl_ablation_table_states_every_delta_as_row_minus_full():
    rep = {"avg_f1": 50.0, "avg_precision": 60.0, "avg_recall": 40.0, "parse_failure_rate": 0.0, "ece": 0.1}
    results05 = {"table": {k: rep for k in ("sft", "rl_conf_profile", "rl_ttrl", "rl_no_filter")},
                 "claims": {"rl_minus_sft_f1": 2.0, "rl_minus_sft_f1_ci": [1.0, 3.0],
                            "rl_minus_ttrl_f1": -0.5, "rl_minus_ttrl_f1_ci": [-1.5, 0.5],
                            "no_filter_minus_full_f1": -1.0, "no_filter_minus_full_f1_ci": [-2.0, -0.25]}}
    t = analysis.rl_ablation_table(results05, ["conf_profile", "ttrl", "no_filter"])
    col = "minus rl_conf_profile [95% CI]"
    assert list(t.index) == ["sft", "rl_conf_profile", "rl_ttrl", "rl_no_filter"]
    assert t.loc["sft", col] == "-2.00 [-3.00, -1.00]" and t.loc["rl_ttrl", col] == "+0.50 [-0.50, +1.50]"
    assert t.loc["rl_no_filter", col] == "-1.00 [-2.00, -0.25]" and t.loc["rl_conf_profile", col] == ""


def test_voting_table_reads_notebook_03s_table():
    r = {"avg_f1": 55.0, "avg_f1_kept": 60.0, "coverage": 0.8, "ece": 0.05, "brier": 0.2, "f1": {"g": 50.0, "h": 60.0}}
    t = analysis.voting_table({"majority vote": r}, TAX)
    assert t.loc["majority vote"].to_dict() == {"avg F1": 55.0, "avg F1 kept": 60.0, "coverage": 0.8, "ECE": 0.05,
                                                "Brier": 0.2, "g": 50.0, "h": 60.0}


def test_main_table_bootstraps_its_own_rows_and_reads_04s_and_05s():
    pred = {"base": _pred(False, False), "sft": _pred(True, False), "rl_x": _pred(True, True),
            "pseudo_labels": _pred(True, False), "teacher: t": _pred(False, True),
            **references.chance_predictions(GOLD, TAX, seed=0)}
    report = {k: scores.prediction_report(p, GOLD, TAX) for k, p in pred.items()}
    stage = {"04": {"claims": {"sft_minus_base_f1": 50.0, "sft_minus_base_f1_ci": [40.0, 60.0]}},
             "05": {"claims": {"rl_minus_sft_f1": 50.0, "rl_minus_sft_f1_ci": [45.0, 55.0]}}}
    mt = analysis.main_table(pred, report, stage, GOLD, TAX, final="rl_x", best_teacher="t", n_boot=50, seed=0)
    assert list(mt.table.index) == ["uniform random (chance)", "majority class (chance)", "base model", "SFT student",
                                    "SFT+RL student"]  # no supervised reference without it
    assert set(mt.own) == set(mt.deltas) == set(mt.comparisons) - set(analysis.READ_FROM)
    assert mt.shown["sft_minus_base_f1"]["average"] == {"delta": 50.0, "ci": [40.0, 60.0]}  # read, not bootstrapped
    assert mt.interval_from["SFT+RL student − best teacher (t)"] == "06"
    assert mt.interval_from["SFT student − base model"] == "04 (sft_minus_base_f1)"
    assert mt.deltas_table.loc["SFT+RL student − SFT student", "interval from"] == "05 (rl_minus_sft_f1)"
    said = mt.said().splitlines()
    assert len(said) == len(mt.comparisons) and said[0].endswith("the SFT student is ahead of the base model.")
    claims = analysis.headline_claims(mt, report, "rl_x", "t")
    assert claims["final_minus_base_f1"] == 100.0 and claims["final_model"] == "rl_x" and claims["best_teacher"] == "t"
    assert "sft_minus_base_f1" not in claims and claims["paper_gain_f1"] == analysis.PAPER["gain_f1"]


def test_pipeline_counts_read_the_earlier_notebooks_results():
    stage = {"01": {"n_users": {"pool": 10}}, "04": {"n_examples": {"weighted_calibrated": 6}},
             "05": {"n_users": {"train": 2, "heldout": 1}, "rows_per_variant": {"full": 2}}}
    pseudo = [{"attributes": {"g": {"kept": True}}}]
    ann = pd.DataFrame({"label": ["x"], "ok": [True]})
    steps = analysis.pipeline_counts(stage, ann, pseudo, _pred(True, True), sft_label_source="weighted_calibrated",
                                     rl_variant="full")
    assert steps == analysis.pipeline_steps(10, ann, pseudo, 6, {"drawn": 2, "heldout": 1, "trained": 2},
                                            _pred(True, True))


def test_the_supervised_ceiling_needs_the_pools_gold(tmp_root):
    assert references.supervised_ceiling("t", TAX, seed=0, max_chars=100, max_items=2, system_prompt=False, c=1.0) == {}
