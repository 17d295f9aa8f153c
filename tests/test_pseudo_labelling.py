"""``pseudo_labelling.label_free``'s calibration choice on hand-made pools: the guard compares every candidate's
kept label shares with the uncalibrated vote's, every candidate competes on equal terms, and
candidates with identical kept labels are reported as one choice."""

from __future__ import annotations

import pandas as pd
import pytest

from confprofile import calibration, monitor, pseudo_labelling
from confprofile.calibration import Candidate
from confprofile.errors import ConfProfileError
from confprofile.taxonomy import parse_taxonomy

TAX = parse_taxonomy({"attributes": {"g": {"labels": {"f": {"description": "f"}, "m": {"description": "m"}}}}})


def three_kinds(n_split=40, n_male=30, n_female=30, teachers="abc"):
    """Users of three kinds, every teacher at 0.8: split (f, m, m) -> the vote says m; all m; all f.
    The teachers say f 43% of the time, the vote says f for 30% of users; class thresholds at
    coverage 0.6 keep 30 f and 30 m: 50% f, near the teachers' 43% but 20 points from the vote."""
    rows, i = [], 0
    for kind, n in (("fmm", n_split), ("mmm", n_male), ("fff", n_female)):
        for _ in range(n):
            rows += [{"user_id": f"u{i:03d}", "attribute": "g", "teacher": t, "sample": 0, "label": lab,
                      "confidence": 0.8, "ok": True, "rationale": "", "error": None}
                     for t, lab in zip(teachers, kind)]
            i += 1
    return pd.DataFrame(rows)


def run(ann, max_share_shift=0.15):
    return pseudo_labelling.label_free({"pool": ann}, TAX, vote_temperatures=[0.3], aggregators={}, coverage=0.6,
                           prior_strength=0.5, max_share_shift=max_share_shift)


def test_the_guard_compares_every_candidate_with_the_uncalibrated_vote():
    lf = run(three_kinds())
    thresholds, shown = lf.candidates["thresholds"].id, lf.candidates["thresholds"].name
    assert lf.vote_shares == {"g": {"f": 0.3, "m": 0.7}}
    assert lf.teacher_shares["g"]["f"] == pytest.approx(13 / 30)
    for c in lf.candidates.values():  # every candidate, against the vote's kept shares
        assert lf.shifts[c.id] == monitor.share_shift(pseudo_labelling.kept_shares(c.votes["pool"], TAX), lf.vote_shares)
    # thresholds keep 50% f: 0.07 from the teachers' shares (the old guard let it through), 0.2 from the vote's
    assert lf.shifts_from_teachers[thresholds]["g"] == pytest.approx(0.066667)
    assert lf.shifts[thresholds]["g"] == pytest.approx(0.2) and lf.balance[thresholds] == 1.0
    assert lf.final is lf.candidates["none"]
    assert f"g: '{shown}' (so not chosen) moved a label share 0.20 from the uncalibrated vote's kept shares " \
           "(more than 0.15)" in lf.warnings
    assert run(three_kinds(), max_share_shift=0.25).final.id == thresholds  # allowed: the most balanced


def test_candidates_with_identical_kept_labels_are_reported_as_one_choice():
    lf = run(three_kinds())
    names = {k: c.id for k, c in lf.candidates.items()}
    # confidence calibrations only rescore; prior correction at 0.5 flips no split user here (f's weight 1.42 < 2)
    assert lf.identical == [[names[k] for k in ("isotonic", "isotonic_teacher", "temperature", "prior", "none")],
                            [names["thresholds"], names["prior_thresholds"]]]
    assert calibration.identical_candidates(lf.candidates) == lf.identical


def test_a_candidate_that_keeps_every_pair_can_be_the_final_choice():
    c = {k: Candidate(k, k, {}, None, k in ("thresholds", "prior_thresholds"))
         for k in ("isotonic", "thresholds", "prior", "prior_thresholds", "none")}
    balance = {"isotonic": 0.7, "thresholds": 0.8, "prior": 0.9, "prior_thresholds": 0.95, "none": 0.7}
    shifts = {"isotonic": {"g": 0.0}, "thresholds": {"g": 0.1}, "prior": {"g": 0.12}, "prior_thresholds": {"g": 0.3},
              "none": {"g": 0.0}}
    assert pseudo_labelling.choose_calibration(c, balance, shifts, 0.15).id == "prior"  # keeps every pair, most balanced
    assert pseudo_labelling.choose_calibration(c, balance, shifts, 0.11).id == "thresholds"
    # a confidence calibration ties with no calibration on balance: no calibration is chosen
    assert pseudo_labelling.choose_calibration(c, balance, shifts, 0.05).id == "none"


def test_one_teacher_is_a_one_line_error():
    ann = three_kinds(teachers="a")
    with pytest.raises(pseudo_labelling.NotEnoughTeachersError) as e:
        run(ann)
    assert isinstance(e.value, ConfProfileError) and isinstance(e.value, ValueError)
    assert str(e.value) == ("the vote needs two or more teachers, the pool has 1 (a): no (user, attribute) has two "
                            "voting units; annotate with more teachers (python -m confprofile.synthesis --teachers ...)")
    with pytest.raises(calibration.CalibrationError, match=r"^no \(user, attribute\) has two voting units \(held out "
                                                           r"by teacher\): nothing to calibrate against"):
        calibration.fit_confidence_calibrator(ann, holdout="teacher")


# -- the rule choice, reported: every rule's score, its noise, near-ties and unequal teachers -------


def _old_heldout_agreement(ann, vote_fn):
    """``voting.heldout_agreement`` as it was before it read ``voting.heldout_table``: the
    chooser must return exactly what it returned (a long experiment depends on its choice)."""
    import numpy as np

    from confprofile import voting

    v = voting.valid_votes(ann)
    rates = []
    for t in sorted(pd.unique(ann["teacher"].dropna()).tolist(), key=str):
        mine = v.loc[v["teacher"] == t, voting.KEYS + ["label"]]
        rest = ann.loc[ann["teacher"] != t]
        if mine.empty or rest.empty:
            continue
        cons = vote_fn(rest)[voting.KEYS + ["label"]].rename(columns={"label": "_cons"})
        m = mine.merge(cons, on=voting.KEYS, how="inner")
        rates.append(float((m["label"] == m["_cons"]).mean()) if len(m) else np.nan)
    return float(np.nanmean(rates)) if rates else float("nan")


def noisy_pool(n=80, seed=0, abstain=None):
    """Three teachers right 70/60/55% of the time on a three-label attribute, confidences spread;
    ``abstain``: {teacher: share of pairs it answers 'unknown'}."""
    import numpy as np

    gen = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        truth = gen.choice(["f", "m", "x"])
        for t, acc in (("a", 0.7), ("b", 0.6), ("c", 0.55)):
            for s in range(2):
                lab = truth if gen.random() < acc else gen.choice([k for k in "fmx" if k != truth])
                if abstain and gen.random() < abstain.get(t, 0.0):
                    lab = "unknown"
                rows.append({"user_id": f"u{i:03d}", "attribute": "g", "teacher": t, "sample": s, "label": lab,
                             "confidence": float(gen.uniform(0.3, 1.0)), "ok": True, "rationale": "", "error": None})
    return pd.DataFrame(rows)


TAX3 = parse_taxonomy({"attributes": {"g": {"labels": {k: {"description": k} for k in ("f", "m", "x")}}}})


def test_the_chooser_is_reliability_weighted_agreement_and_every_rule_is_reported_with_its_noise_and_the_alternative():
    from confprofile import aggregation, voting

    ann = noisy_pool()
    lf = pseudo_labelling.label_free({"pool": ann}, TAX3, vote_temperatures=[0.1, 0.3], aggregators={}, coverage=0.6,
                         prior_strength=0.5, max_share_shift=0.15)
    skills = aggregation.teacher_skills(ann)
    for name, rule in lf.rules.items():  # the alternative, held-out agreement, bit for bit as before, printed beside it
        assert lf.agreement[name] == _old_heldout_agreement(ann, rule) == voting.heldout_agreement(ann, rule)
        assert lf.score[name] == aggregation.reliability_weighted_agreement(voting.heldout_table(ann, rule), skills)
    assert lf.chosen == pseudo_labelling.choose_rule(lf.score, lf.agreement)
    assert lf.score[lf.chosen] == max(lf.score.values())
    assert set(lf.score_se) == set(lf.rules) and all(0 < se < 0.1 for se in lf.score_se.values())
    assert lf.runner_up in lf.rules and lf.runner_up != lf.chosen
    assert lf.score_gap == pytest.approx(lf.score[lf.chosen] - lf.score[lf.runner_up]) and lf.score_gap >= 0
    tie = [w for w in lf.warnings if w.startswith("vote rule: ")]
    assert bool(tie) == (lf.score_gap < lf.score_gap_se)
    assert all(pseudo_labelling.CRITERION in w for w in tie)
    lines = pseudo_labelling.rule_scores(lf)
    scores = [float(line[2:].split()[0]) for line in lines]
    assert scores == sorted(scores, reverse=True) and lines[0].startswith(f"* {lf.score[lf.chosen]:.4f} ± ")
    assert f"  {lf.agreement[lf.chosen]:.4f}  {lf.name(lf.chosen)}" in lines[0]
    assert lines[0].endswith(f"  {lf.rules[lf.chosen].name}") and sum(line.startswith("*") for line in lines) == 1
    w = lf.teacher_weights["g"]  # a (right 70%) counts most, c (55%) least
    assert w["a"] > w["b"] > w["c"] >= 0


def test_a_near_tie_and_an_unequal_teacher_are_warned():
    ann = noisy_pool(n=40, seed=3, abstain={"c": 0.8})
    lf = pseudo_labelling.label_free({"pool": ann}, TAX3, vote_temperatures=[0.3], aggregators={}, coverage=0.6,
                         prior_strength=0.5, max_share_shift=0.15)
    assert lf.answered["c"] < 0.5 * lf.answered["a"]
    assert any(w.startswith(f"teacher 'c' answered {lf.answered['c']:.0%} of (user, attribute) pairs, under half")
               for w in lf.warnings)
    assert not any(w.startswith(("teacher 'a'", "teacher 'b'")) for w in lf.warnings)
    # a near-tie: the same margin numbers give the warning exactly when the lead is below its standard error
    assert monitor.near_tie_warning("r1", "r2", 0.004, 0.006) and not monitor.near_tie_warning("r1", "r2", 0.01, 0.006)
    assert not monitor.near_tie_warning("r1", None, float("nan"), float("nan"))


def test_the_label_free_results_and_calibration_table_name_every_candidate():
    lf = run(three_kinds())
    r = pseudo_labelling.results(lf)
    assert r["chosen_rule"] == lf.chosen and r["final_method"] == lf.final.id and r["rule_criterion"] == pseudo_labelling.CRITERION
    assert r["health"]["share_shift_pool"] == lf.shifts and r["health"]["warnings"] == lf.warnings
    assert lf.rules[lf.majority].is_majority
    table = pseudo_labelling.calibration_table(lf)
    assert set(table.index) == {c.name for c in lf.candidates.values()}  # shown by display name
    assert r["names"][lf.chosen] == lf.rules[lf.chosen].name and r["names"][lf.final.id] == lf.final.name
    assert table.loc[lf.candidates["thresholds"].name, "largest kept-share shift from the vote's"] == pytest.approx(0.2)
