"""Vote rules by stable id: the registry, the saved rule, and what RL's rollouts vote by."""

import json
from dataclasses import dataclass

import pandas as pd
import pytest

from confprofile import aggregation, paths, rl, rules, voting


def test_every_rule_has_one_stable_id_and_round_trips():
    reg = rules.registry([0.1, 0.3, 1.0], {"DawidSkene": {"n_iter": 5}, "OneCoinDawidSkene": None})
    assert list(reg) == ["majority", "weighted_none", "weighted_linear", "weighted_softmax_0.1", "weighted_softmax_0.3",
                         "weighted_softmax_1.0", "weighted_none_reliability", "crowdkit_DawidSkene",
                         "crowdkit_OneCoinDawidSkene"]
    assert len({r.name for r in reg.values()}) == len(reg)  # display names are unique too
    for rule in reg.values():
        assert isinstance(rule, rules.Rule)
        back = rules.from_spec(json.loads(json.dumps(rules.spec(rule))))
        assert back == rule and back.id == rule.id
    # the display names notebook 03's results are keyed by are the ones it always had
    assert [r.name for r in reg.values()][:7] == list(voting.standard_rules([0.1, 0.3, 1.0]))
    with pytest.raises(ValueError, match="kind"):
        rules.from_spec({"kind": "oracle", "name": "x"})


def _tax():
    from dataclasses import replace

    from confprofile.taxonomy import load_taxonomy

    tax = load_taxonomy()
    return replace(tax, attributes=(tax["gender"],))


def _ann():
    rows = [{"user_id": f"u{i}", "attribute": "g", "teacher": t, "sample": 0, "label": lab, "confidence": c}
            for i in range(6) for t, lab, c in (("a", "x", 0.9), ("b", "x" if i % 2 else "y", 0.6), ("c", "y", 0.3))]
    return pd.DataFrame(rows)


def test_a_saved_rule_loads_as_fitted_and_votes_only_its_teachers(tmp_root):
    ann = _ann()
    with pytest.raises(rules.RuleNotFittedError, match="rule.json.*confprofile.pseudo_labelling --profile t"):
        rules.load("t")
    rule = voting.vote_rule("none", reliability=True)
    fitted = rules.FittedRule(rule, rule.fit_weights(ann).to_dict(), ("a", "b", "c"), "chosen, no calibration")
    fitted.save("t")
    assert paths.vote_rule_path("t").is_file()
    loaded = rules.load("t")
    assert loaded == fitted
    pd.testing.assert_frame_equal(loaded.votes(ann), rule(ann, rule.fit_weights(ann)))
    extra = pd.concat([ann, ann[ann["teacher"] == "a"].assign(teacher="d", label="y")])  # a teacher 03 never saw
    pd.testing.assert_frame_equal(loaded.votes(extra), loaded.votes(ann))


def test_rollouts_vote_by_the_chosen_rules_weighting_without_its_teacher_weights():
    soft = rules.FittedRule(voting.vote_rule("softmax", 0.1), None, ("a", "b"), "none")
    assert soft.rollout_rule() == voting.vote_rule("softmax", 0.1)
    rel = rules.FittedRule(voting.vote_rule("none", reliability=True), {"a": 1.0}, ("a",), "none")
    assert rel.rollout_rule() == rules.WEIGHTED and not rel.rollout_rule().reliability
    ds = rules.FittedRule(aggregation.Aggregator("Dawid-Skene (crowd-kit)", "DawidSkene"), None, ("a",), "none")
    assert ds.rollout_rule() is ds.rule and ds.rollout_rule().score_kwargs() == {}  # no weighting to lend: raw confidence
    r = rl.rollout_table(["u"], [['{"gender": {"label": "male", "confidence": 0.9}}',
                                  '{"gender": {"label": "female", "confidence": 0.4}}',
                                  '{"gender": {"label": "female", "confidence": 0.4}}']], _tax())
    pd.testing.assert_frame_equal(rl.quasi_ground_truth(r, ds.rollout_rule()), rl.quasi_ground_truth(r, rules.WEIGHTED))
    assert rl.variant_rule(rl.variant("ttrl"), soft.rollout_rule()) == rules.MAJORITY
    assert rl.variant_rule(rl.variant("conf_profile"), soft.rollout_rule()) == voting.vote_rule("softmax", 0.1)
    with pytest.raises(ValueError, match="teacher reliability"):
        rl.quasi_ground_truth(pd.DataFrame(), voting.vote_rule("none", reliability=True))


@dataclass(frozen=True)
class Loudest:
    """A rule of one's own: each pair's label is the one stated with the highest confidence."""

    name: str = "loudest teacher"
    is_majority = False
    reliability = False
    agreement = None

    @property
    def id(self) -> str:
        return "loudest"

    def fit_weights(self, ann):
        return None

    def score_kwargs(self, teacher_weights=None) -> dict:
        return {"norm": "softmax", "softmax_temperature": 0.01, "teacher_weights": teacher_weights}

    def scores(self, ann, teacher_weights=None):
        return voting.vote_scores(ann, **self.score_kwargs())

    def __call__(self, ann, teacher_weights=None):
        return voting.votes_from_scores(self.scores(ann))


def test_a_rule_registered_here_is_compared_by_03_and_used_by_04_and_05(tmp_root):
    """A new vote rule is one class and one ``register`` call: 03's label-free table scores it,
    and the fitted rule 03 saves for it is 04's ``weighted`` label source and 05's rollout vote."""
    from confprofile import pseudo_labelling, sft

    tax = _tax()
    loud = rules.register(Loudest())
    try:
        with pytest.raises(ValueError, match="already registered"):
            rules.register(Loudest())
        rows = [{"user_id": f"u{i}", "attribute": "gender", "teacher": t, "sample": 0, "label": lab, "confidence": c}
                for i in range(20) for t, lab, c in (("a", "male", 0.95), ("b", "female", 0.5), ("c", "female", 0.4))]
        rows = [{**row, "ok": True, "rationale": ""} for row in rows]
        ann = pd.DataFrame(rows)
        lf = pseudo_labelling.label_free({"pool": ann}, tax, vote_temperatures=[0.3], aggregators={}, coverage=0.8,
                             prior_strength=0.5, max_share_shift=0.15)
        assert "loudest" in lf.score and any(line.endswith("loudest teacher") for line in pseudo_labelling.rule_scores(lf))
        # by its id it is a label source of 04 without being 03's choice (sft.label_sources)
        sources = sft.label_sources({"sft_label_source": "loudest", "sft_ablation_sources": [], "vote_temperatures": [0.3],
                                     "aggregators": {}})
        assert sources["loudest"] is loud
        assert set(sft.source_votes(ann, "loudest", None, loud)["label"]) == {"male"}
        fitted = rules.FittedRule(loud, None, ("a", "b", "c"), "none")  # as if 03 had chosen it
        fitted.save("t")
        assert rules.load("t").rule is loud
        assert set(sft.source_votes(ann, "weighted", rules.load("t"))["label"]) == {"male"}  # 04's label source
        assert set(rules.MAJORITY(ann)["label"]) == {"female"}
        r = rl.rollout_table(["u"], [['{"gender": {"label": "male", "confidence": 0.9}}',
                                      '{"gender": {"label": "female", "confidence": 0.5}}',
                                      '{"gender": {"label": "female", "confidence": 0.5}}']], tax)
        q = rl.quasi_ground_truth(r, rl.variant_rule(rl.variant("conf_profile"), rules.load("t").rollout_rule()))
        assert q["label"].tolist() == ["male"]  # 05's quasi ground truth by it; TTRL's majority says female
        assert rl.quasi_ground_truth(r, rules.MAJORITY)["label"].tolist() == ["female"]
    finally:
        rules.unregister("loudest")
    with pytest.raises(ValueError, match="register it"):
        rules.load("t")
