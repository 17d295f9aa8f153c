"""Vote rules by stable id: the registry, the saved rule, and what RL's rollouts vote by."""

import json

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


def _ann():
    rows = [{"user_id": f"u{i}", "attribute": "g", "teacher": t, "sample": 0, "label": lab, "confidence": c}
            for i in range(6) for t, lab, c in (("a", "x", 0.9), ("b", "x" if i % 2 else "y", 0.6), ("c", "y", 0.3))]
    return pd.DataFrame(rows)


def test_a_saved_rule_loads_as_fitted_and_votes_only_its_teachers(tmp_root):
    ann = _ann()
    with pytest.raises(rules.RuleNotFittedError, match="rule.json.*confprofile.vote --profile t"):
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
    assert ds.rollout_rule() == rules.WEIGHTED  # a latent-class model has no confidence weighting to lend
    assert rl.variant_rule(rl.variant("ttrl"), soft.rollout_rule()) == rules.MAJORITY
    assert rl.variant_rule(rl.variant("conf_profile"), soft.rollout_rule()) == voting.vote_rule("softmax", 0.1)
    with pytest.raises(ValueError, match="teacher reliability"):
        rl.quasi_ground_truth(pd.DataFrame(), voting.vote_rule("none", reliability=True))
