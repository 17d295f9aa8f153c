"""Confidence-guided RL: quasi ground truth, difficulty band, rewards, and trl's GRPO end to end."""

import json

import numpy as np
import pytest

from confprofile import rewards, rl, rules
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()


def _answer(**labels) -> str:
    return json.dumps({a: {"label": lab, "confidence": c} for a, (lab, c) in labels.items()})


def test_weighted_and_majority_quasi_labels_differ_where_confidence_decides():
    outs = [_answer(gender=("male", 0.95)), _answer(gender=("female", 0.3)), _answer(gender=("female", 0.3)),
            "not json at all"]
    r = rl.rollout_table(["u"], [outs], TAX)
    assert len(r) == 4 * len(TAX) and r["ok"].sum() == 3  # one gender vote per valid rollout
    w = rl.quasi_ground_truth(r, rules.WEIGHTED).set_index("attribute").loc["gender"]
    m = rl.quasi_ground_truth(r, rules.MAJORITY).set_index("attribute").loc["gender"]
    assert (w["label"], m["label"]) == ("male", "female")
    assert w["agreement"] == pytest.approx(1 / 4) and m["agreement"] == pytest.approx(2 / 4)  # failures count
    assert w["mean_confidence"] == pytest.approx((0.95 + 0.3 + 0.3) / 3)
    age = rl.quasi_ground_truth(r, rules.WEIGHTED).set_index("attribute").loc["age"]
    assert age["label"] is None and not age["kept"] and age["agreement"] == 0


def test_stage1_vote_only_counts_kept_pairs():
    r = rl.rollout_table(["u"], [[_answer(gender=("male", 0.6)), _answer(gender=("female", 0.5))]], TAX)
    s1 = [{"user_id": "u", "attributes": {"gender": {"label": "female", "confidence": 0.9, "kept": True}}}]
    assert rl.quasi_ground_truth(r, rules.WEIGHTED, s1, stage1_votes=1.0).set_index("attribute").loc["gender", "label"] == "female"
    s1[0]["attributes"]["gender"]["kept"] = False
    assert rl.quasi_ground_truth(r, rules.WEIGHTED, s1, stage1_votes=1.0).set_index("attribute").loc["gender", "label"] == "male"
    assert rl.quasi_ground_truth(r, rules.WEIGHTED, s1, stage1_votes=0.0).equals(rl.quasi_ground_truth(r, rules.WEIGHTED))


def test_ttrl_votes_from_rollouts_alone_and_the_full_recipe_with_stage1():
    r = rl.rollout_table(["u"], [[_answer(gender=("male", 0.6)), _answer(gender=("male", 0.5)),
                                  _answer(gender=("female", 0.5))]], TAX)
    s1 = [{"user_id": "u", "attributes": {"gender": {"label": "female", "confidence": 0.9, "kept": True}}}]
    label = {name: rl.variant_votes(rl.variant(name), r, s1, 2.0, 0.5, 0.97, rules.WEIGHTED)[0].set_index("attribute").loc["gender", "label"]
             for name in ("ttrl", "conf_profile", "majority_quasi_gt")}
    assert label == {"ttrl": "male", "conf_profile": "female", "majority_quasi_gt": "female"}
    baselines = ("ttrl", "vote_share")  # the student's own rollouts alone, as published
    assert not any(rl.variant(n).stage1 for n in baselines) and all(v.stage1 for v in rl.VARIANTS if v.name not in baselines)
    q, band = rl.variant_votes(rl.variant("no_filter"), r, s1, 2.0, 0.5, 0.97, rules.WEIGHTED)
    rows = rl.variant_rows(rl.variant("no_filter"), {"u": "P"}, q, band.assign(status="noise"), ["u"])
    assert len(rows) == 1  # no band: every user is kept whatever its consensus


def test_rl_choices_are_scored_against_the_heldout_users_own_quasi_ground_truth():
    """The reference RL's checkpoints and trials are scored against: the full recipe's vote over
    the held-out users' rollouts and stage-1 labels, every held-out user (the band plays no part),
    not the stage-1 labels alone; the agreement counts those users' pairs (a hand count)."""
    from confprofile import rl_runs, splits

    held = rl.rollout_table(["h1", "h2"], [[_answer(gender=("male", 0.9)), _answer(gender=("male", 0.8)),
                                            _answer(gender=("female", 0.3))],
                                           [_answer(gender=("female", 0.9))] * 3], TAX)
    s1 = [{"user_id": u, "attributes": {"gender": {"label": "female", "confidence": 0.9, "kept": True}}}
          for u in ("h1", "h2", "r1")]  # r1: an RL user, no held-out rollouts
    p = {"rl_variants": ["conf_profile", "ttrl"], "rl_stage1_votes": 1.0, "rl_band": [0.5, 0.97]}
    ref = rl_runs.heldout_reference(p, held, s1, rules.WEIGHTED)
    gender = {r["user_id"]: r["attributes"]["gender"]["label"] for r in ref}
    assert gender == {"h1": "male", "h2": "female"}  # h1: 1.7 for male, 0.3 + the stage-1 vote for female
    band = rl.variant_votes(rl.variant("conf_profile"), held, s1, 1.0, 0.5, 0.97, rules.WEIGHTED)[1]
    assert not (band["status"] == "kept").any()  # outside the band (one attribute answered), answering all the same
    p3 = {**p, "rl_stage1_votes": 3.0}  # worth three rollouts, the stage-1 label outvotes h1's rollouts
    assert {r["user_id"]: r["attributes"]["gender"]["label"] for r in rl_runs.heldout_reference(p3, held, s1, rules.WEIGHTED)} == \
        {"h1": "female", "h2": "female"}
    import pandas as pd
    pred = pd.DataFrame({"user_id": ["h1", "h2"], "attribute": ["gender"] * 2, "label": ["male", "male"]})
    got = splits.agreement(pred, ref, {a.name: list(a.labels) for a in TAX})
    assert got["n_pairs"] == 2 and got["agreement"] == 0.5  # h1 right, h2 wrong; r1 and unanswered pairs not counted
    assert "quasi ground truth" in rl_runs.CRITERION["metric"]


def test_difficulty_band_drops_unanimous_and_split_users():
    unanimous = [_answer(gender=("male", 0.9))] * 4
    split = [_answer(gender=("male", 0.5)), _answer(gender=("female", 0.5)), "x", "y"]
    mixed = [_answer(gender=("male", 0.9))] * 3 + [_answer(gender=("female", 0.2))]
    q = rl.quasi_ground_truth(rl.rollout_table(["a", "b", "c"], [unanimous, split, mixed], TAX), rules.WEIGHTED)
    q = q[q["attribute"] == "gender"]
    band = rl.difficulty_band(q, band_low=0.6, band_high=0.99).set_index("user_id")
    assert band["status"].to_dict() == {"a": "easy", "b": "noise", "c": "kept"}
    assert band.loc["c", "consensus"] == pytest.approx(2.7 / 2.9)
    with pytest.raises(ValueError):
        rl.difficulty_band(q, band_low=0.9, band_high=0.5)


def test_rewards_on_conversational_completions_and_malformed_output():
    q = json.dumps({"gender": "female", "age": "25_34"})
    w = json.dumps({"gender": 0.5, "age": 1.0})
    good = [{"role": "assistant", "content": _answer(gender=("female", 1.0), age=("25_34", 0.5))}]
    bad = [{"role": "assistant", "content": '{"gender": {"label": "robot", "confidence": 1}}'}]
    fns = dict(zip(rewards.REWARDS, rewards.reward_funcs(rewards.REWARDS, TAX)))
    kw = dict(quasi_label=[q, q], quasi_weight=[w, w])
    assert fns["weighted_match"]([good, bad], **kw) == pytest.approx([1.5 / 6, 0.0])
    assert fns["exact_match"]([good, bad], **kw) == pytest.approx([2 / 6, 0.0])
    assert fns["format"]([good, bad], **kw) == pytest.approx([2 / 6, 0.0])
    assert fns["calibration"]([good, bad], **kw) == pytest.approx([1 - (0 + 0.25) / 2, 0.0])
    assert [f.__name__ for f in fns.values()] == list(rewards.REWARDS)


def test_reward_weights_change_advantages_only_without_group_scaling():
    rng = np.random.default_rng(0)
    match = rng.integers(0, 2, size=16).astype(float)  # 4 prompts x 4 completions
    weight = np.repeat([1.0, 0.9, 0.5, 0.2], 4)  # per-prompt quasi-label confidence
    for scale, cancels in (("group", True), ("batch", False), ("none", False)):
        a, b = rl.grpo_advantages(match, 4, scale), rl.grpo_advantages(match * weight, 4, scale)
        assert np.allclose(a, b, atol=1e-3) == cancels, scale


# --------------------------------------------------------------------------------------------
# trl end to end on a tiny model built here (random weights, a BPE tokenizer trained on the spot)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    out = tmp_path_factory.mktemp("tiny")
    texts = [_answer(gender=(g, c), age=(a, c)) for g in ("female", "male") for a in TAX["age"].labels
             for c in (0.3, 0.9)] + ["user likes hiking and finance news"] * 3
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<pad>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    fast.save_pretrained(out)
    cfg = Qwen3Config(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=256,
                      pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id, tie_word_embeddings=True)
    import torch

    torch.manual_seed(0)
    Qwen3ForCausalLM(cfg).save_pretrained(out)
    return out


def _rows(n):
    q = rl.quasi_ground_truth(rl.rollout_table(
        [f"u{i}" for i in range(n)], [[_answer(gender=("female", 0.8))] * 2] * n, TAX), rules.WEIGHTED)
    return rl.grpo_rows({f"u{i}": f"user {i} likes hiking" for i in range(n)}, q, [f"u{i}" for i in range(n)],
                        weighted=True)


GRPO_KW = dict(seed=0, learning_rate=1e-3, prompts_per_step=2, num_generations=4, max_completion_length=12,
               temperature=1.0, beta=0.0, scale_rewards="batch", save_steps=2, lora=None, use_vllm=False)


@pytest.mark.slow
def test_trl_advantages_match_the_mirror(tiny_model, tmp_path):
    """trl's own advantages for one batch equal ``rl.grpo_advantages`` of the rewards it saw."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    seen = []

    def reward(completions, quasi_weight, **_):
        r = [json.loads(w).get("gender", 0.0) * (len(c) % 3) for c, w in zip(completions, quasi_weight)]
        seen.extend(r)
        return r

    rows = _rows(2)
    rows[1]["quasi_weight"] = json.dumps({"gender": 0.25})
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=4,
                      max_completion_length=12, scale_rewards="batch", use_cpu=True, bf16=False,
                      report_to=[], seed=0)
    trainer = GRPOTrainer(model=str(tiny_model), reward_funcs=[reward], args=args,
                          train_dataset=Dataset.from_list(rows))
    batch = [rows[0]] * 4 + [rows[1]] * 4
    out = trainer._generate_and_score_completions(batch)
    assert np.allclose(out["advantages"].numpy(), rl.grpo_advantages(seen, 4, "batch"), atol=1e-5)


@pytest.mark.slow
def test_train_grpo_runs_resumes_and_reuses(tiny_model, tmp_path):
    rows = _rows(4)
    run = rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], tmp_path / "run", max_steps=2, **GRPO_KW)
    hist = run["log_history"]
    assert not run["reused"] and (tmp_path / "run" / "final" / "config.json").is_file()
    assert list(rl.checkpoints(tmp_path / "run", final_step=2)) == [2]
    steps = [h for h in hist if "reward" in h]
    assert len(steps) == 2 and all("rewards/weighted_match/mean" in h for h in steps)
    # a finished run is reused as it is, with the same recipe only
    again = rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], tmp_path / "run", max_steps=2, **GRPO_KW)
    assert again["reused"] and again["log_history"] == hist
    # another recipe (4 steps, not 2) is not passed off as this run: the folder is moved aside, kept
    import shutil

    four = rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], tmp_path / "run", max_steps=4, **GRPO_KW)
    assert not four["reused"] and (tmp_path / "run.set-aside-1" / "final" / "config.json").is_file()
    steps4 = [h for h in four["log_history"] if "reward" in h]
    # a killed run (checkpoint-2 left, no final) resumes and goes on to step 4
    shutil.rmtree(tmp_path / "run" / "final")
    shutil.rmtree(tmp_path / "run" / "checkpoint-4")
    (tmp_path / "run" / "log_history.json").unlink()
    hist2 = rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], tmp_path / "run", max_steps=4,
                          **GRPO_KW)["log_history"]
    assert rl.reward_curves(hist2)["step"] == [1, 2, 3, 4]
    steps2 = [h for h in hist2 if "reward" in h]
    assert [h["step"] for h in steps2] == [1, 2, 3, 4]
    assert steps2[:2] == steps4[:2]  # steps 1-2 come from the checkpoint, not from training again


@pytest.mark.require_gpu
def test_gpu_grpo_in_bf16_with_lora(tiny_model, tmp_path):
    """The gpu profile's path: bf16 on CUDA, LoRA adapters (student.lora_config)."""
    kw = {**GRPO_KW, "lora": {"r": 4, "alpha": 8, "dropout": 0.0}}
    run = rl.train_grpo(tiny_model, _rows(4), TAX, ["weighted_match", "format"], tmp_path / "gpu", max_steps=2, **kw)
    assert [h["step"] for h in run["log_history"] if "reward" in h] == [1, 2]


@pytest.mark.slow
def test_a_checkpoint_cut_short_is_skipped_and_totals_span_the_segments(tiny_model, tmp_path, capsys):
    """A kill during saving leaves checkpoint-4 half written beside a complete checkpoint-2: the
    rerun resumes from checkpoint-2 (it would fail loading checkpoint-4), the label-free choice
    never sees checkpoint-4, and the closing log entry's runtime is the sum over both segments."""
    import shutil

    rows, run = _rows(4), tmp_path / "run"
    first = rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], run, max_steps=2, **GRPO_KW)
    assert first["resumed_from"] is None and (run / "checkpoint-2" / ".complete").is_file()
    shutil.rmtree(run / "final")
    (run / "log_history.json").unlink()
    partial = run / "checkpoint-4"
    partial.mkdir()
    shutil.copy(run / "checkpoint-2" / "config.json", partial)
    (partial / "model.safetensors").write_bytes((run / "checkpoint-2" / "model.safetensors").read_bytes()[:100])
    capsys.readouterr()
    assert list(rl.checkpoints(run)) == [2]
    assert "skipping incomplete checkpoint-4 (no .complete marker and missing trainer_state.json, optimizer.pt)" \
        in capsys.readouterr().err
    second = rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], run, max_steps=4, **GRPO_KW)
    assert second["resumed_from"] == "checkpoint-2"
    hist = second["log_history"]
    assert [h["step"] for h in hist if "reward" in h] == [1, 2, 3, 4]
    tokens = [h["num_tokens"] for h in hist if "reward" in h]
    assert tokens == sorted(tokens) and tokens[2] > tokens[1]  # counted on from the checkpoint, not from zero
    summary = hist[-1]
    runtimes = [s["runtime"] for s in json.loads((run / "segments.json").read_text())["segments"]]
    assert len(runtimes) == 2 and summary["train_runtime"] == pytest.approx(sum(runtimes), abs=1e-3)
    assert summary["train_runtime"] > summary["train_segment_runtime"] and summary["resumed_from"] == "checkpoint-2"
    assert (partial / ".complete").is_file() and list(rl.checkpoints(run)) == [2, 4]  # saved again, whole
    assert rl.train_grpo(tiny_model, rows, TAX, ["weighted_match", "format"], run, max_steps=4, **GRPO_KW)["train_runtime"] == \
        summary["train_runtime"]


def test_vote_share_reward_on_a_hand_made_group_equals_the_hand_count():
    """Four rollouts of one user: gender female, female, male, (parse failure); age 25_34 twice, 35_44 once."""
    group = [_answer(gender=("female", 0.9), age=("25_34", 0.5)), _answer(gender=("female", 0.6), age=("25_34", 0.7)),
             _answer(gender=("male", 0.8), age=("35_44", 0.4)), "not an answer"]
    table = rl.rollout_table(["u"] * 1, [group], TAX)
    rows = rl.variant_rows(rl.variant("vote_share"), {"u": "P"}, rl.quasi_ground_truth(table, rules.MAJORITY),
                           rl.difficulty_band(rl.quasi_ground_truth(table, rules.MAJORITY), 0.0, 1.01), ["u"], table)
    shares = json.loads(rows[0]["vote_share"])
    assert shares == {"gender": {"female": 0.5, "male": 0.25}, "age": {"25_34": 0.5, "35_44": 0.25}}
    fn = rewards.reward_funcs(["vote_share"], TAX)[0]
    got = fn(group, vote_share=[rows[0]["vote_share"]] * 4)
    n = len(TAX)  # each answer earns the shares of its two labels, over the taxonomy's attributes
    assert got == pytest.approx([(0.5 + 0.5) / n, (0.5 + 0.5) / n, (0.25 + 0.25) / n, 0.0])


def test_random_reward_control_has_the_stated_mean_and_is_seeded():
    """The coin's mean is the full recipe's mean match reward over the rollouts (hand count below),
    and over many draws the control pays that mean, within sampling error; the same seed, step and
    place give the same coin (a resumed run draws alike)."""
    group = [_answer(gender=("female", 0.9)), _answer(gender=("male", 0.8)), "oops"]
    table = rl.rollout_table(["u"], [group], TAX)
    quasi = rl.quasi_ground_truth(table, rules.WEIGHTED)  # female: 0.9 of 1.7
    w = quasi.loc[quasi["attribute"] == "gender", "confidence"].item()
    p = rl.match_reward_mean(table, quasi, ["u"], weighted=True, n_attributes=len(TAX))
    assert p == pytest.approx(w / len(TAX) / 3)  # one of three rollouts matches, worth w / n_attributes
    rows = rl.variant_rows(rl.variant("random_reward"), {"u": "P"}, quasi, rl.difficulty_band(quasi, 0.0, 1.01), ["u"],
                           seed=0, reward_p=0.3)
    fn = rewards.reward_funcs(["random_match"], TAX)[0]
    n = 20000
    draws = fn(["x"] * n, reward_p=[rows[0]["reward_p"]] * n, reward_seed=[rows[0]["reward_seed"]] * n)
    assert set(draws) == {0.0, 1.0}
    assert abs(np.mean(draws) - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    assert draws[:50] == fn(["x"] * 50, reward_p=[0.3] * 50, reward_seed=[rows[0]["reward_seed"]] * 50)

    class State:
        global_step = 7

    assert draws[:50] != fn(["x"] * 50, reward_p=[0.3] * 50, reward_seed=[rows[0]["reward_seed"]] * 50,
                            trainer_state=State())


def test_every_run_has_its_predictions_name_and_seed_runs_are_named_alike():
    from confprofile import rl_runs

    p = {"rl_variants": ["conf_profile", "ttrl"], "rl_seeds": [4, 5], "rl_seed_variants": ["conf_profile"], "seed": 0}
    runs = [rl_runs.run_name(n, p, k) for n in p["rl_variants"] for k in range(rl_runs.repeats(p, n))]
    by_variant = rl_runs.seed_models(p)
    assert [m for ms in by_variant.values() for m in ms] == [rl_runs.model_name(r) for r in runs]
    assert by_variant["conf_profile"] == ["rl_conf_profile", "rl_conf_profile_seed4", "rl_conf_profile_seed5"]
