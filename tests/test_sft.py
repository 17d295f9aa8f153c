"""SFT data builder, label sources, and training (a few steps of a tiny Qwen3; resume; reuse)."""

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from confprofile import bench, choices, paths, pseudo_labelling, records, rules, sft, student, synthesis, voting
from confprofile.errors import ParamsError
from confprofile.parsing import parse_output
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()
GENDER = replace(TAX, attributes=(TAX["gender"],))


def _pseudo(uid, **attrs):
    return {"user_id": uid, "attributes": attrs}


# -- data ------------------------------------------------------------------------------------


def test_targets_turn_dropped_pairs_into_unknown_and_parse_back():
    attrs = {"gender": {"label": "female", "confidence": 0.91, "kept": True, "rationales": ["makeup", "x"]},
             "age": {"label": "25_34", "confidence": 0.33, "kept": False, "rationales": ["rent"]},
             "education": {"label": None, "confidence": None, "kept": False, "rationales": []}}
    text = sft.target_text(attrs, TAX, rationale_chars=0, confidence=True)
    obj = json.loads(text)
    assert list(obj) == list(TAX.names)  # every attribute, in taxonomy order
    assert obj["gender"] == {"label": "female", "confidence": 0.9}
    assert obj["age"] == {"label": "unknown", "confidence": 0.3}  # dropped: an abstention
    assert obj["education"] == {"label": "unknown", "confidence": 0.0}  # no vote at all
    parsed = parse_output(text, TAX)  # the teachers' parser reads it
    assert all(p.ok for p in parsed.values())
    assert parsed["gender"].label == "female" and parsed["age"].label == "unknown"


def test_target_variants_are_one_parameter_away():
    attrs = {"gender": {"label": "male", "confidence": 0.64, "kept": True, "rationales": ["beard and football"]},
             "age": {"label": "18_24", "confidence": 0.2, "kept": False, "rationales": ["dorm"]}}
    two = replace(TAX, attributes=(TAX["gender"], TAX["age"]))
    plain = json.loads(sft.target_text(attrs, two, 0, True))
    rat = json.loads(sft.target_text(attrs, two, 4, True))
    noconf = json.loads(sft.target_text(attrs, two, 0, False))
    assert rat["gender"] == {**plain["gender"], "rationale": "bear"}
    assert "rationale" not in rat["age"]  # no rationale for an abstention
    assert noconf["gender"]["confidence"] == noconf["age"]["confidence"] == 1.0
    assert {k: v["label"] for k, v in noconf.items()} == {k: v["label"] for k, v in plain.items()}
    # an attribute that allows no abstention leaves a dropped pair out
    strict = replace(two, attributes=(TAX["gender"], replace(TAX["age"], allow_unknown=False)))
    assert list(json.loads(sft.target_text(attrs, strict, 0, True))) == ["gender"]


def test_examples_pair_records_with_pseudo_labels():
    recs = [{"user_id": "u1", "bio": "nurse"}, {"user_id": "u2", "bio": "student"}]
    pseudo = [_pseudo("u2", gender={"label": "male", "confidence": 0.7, "kept": True, "rationales": []})]
    ex = sft.sft_examples(recs, pseudo, TAX, max_chars=200, max_items=2, system_prompt=False,
                          rationale_chars=0, confidence=True)
    assert [e["user_id"] for e in ex] == ["u2"]
    assert ex[0]["prompt"] == [{"role": "user", "content": "User u2\nBio: student"}]
    assert ex[0]["completion"][0]["role"] == "assistant"
    with_sys = sft.sft_examples(recs, pseudo, TAX, 200, 2, True, 0, True)
    assert with_sys[0]["prompt"][0]["role"] == "system" and "gender" in with_sys[0]["prompt"][0]["content"]
    with pytest.raises(KeyError, match="u9"):
        sft.sft_examples(recs, [_pseudo("u9")], TAX, 200, 2, False, 0, True)


def _ann():
    # three teachers, two samples each; teacher c disagrees with a and b on every user
    rows = []
    for u, (good, bad) in {"u1": ("male", "female"), "u2": ("female", "male"), "u3": ("male", "female")}.items():
        for t, lab in (("a", good), ("b", good), ("c", bad)):
            for s in (0, 1):
                rows.append({"user_id": u, "attribute": "gender", "teacher": t, "sample": s, "label": lab,
                             "confidence": (0.9 if u != "u3" else 0.3) if t == "c" else 0.6, "rationale": f"{t} says {lab}", "ok": True})
    return pd.DataFrame(rows)


def _reliability_rule(ann) -> rules.FittedRule:
    rule = voting.VoteRule("weighted (none) + teacher reliability", "none", reliability=True)
    return rules.FittedRule(rule, rule.fit_weights(ann).to_dict(), tuple(sorted(ann["teacher"].unique())), "none")


def test_label_sources_are_computed_without_labels():
    ann = _ann()
    assert voting.most_reliable_teacher(ann) in ("a", "b")  # c agrees with nobody
    for src in ("best_single", "majority", "weighted"):
        v = sft.source_votes(ann, src, _reliability_rule(ann), rules.MAJORITY)
        assert v.set_index("user_id")["label"].to_dict() == {"u1": "male", "u2": "female", "u3": "male"}, src
        assert v["kept"].all()
    for src in ("gold", "weighted_calibrated"):  # the calibrated labels are notebook 03's file, read, not voted
        with pytest.raises(ValueError, match="label source"):
            sft.source_votes(ann, src, _reliability_rule(ann))


def test_the_weighted_source_is_03s_saved_rule_before_calibration(tmp_root):
    """04's ``weighted`` labels are notebook 03's chosen rule as 03 fitted it (``rules.load``), the
    vote 03 calibrates: one rule, decided once. For the reliability-weighted rule (the cpu
    benchmark's choice) they equal the hand-written vote 04 used before: raw confidences times
    ``voting.teacher_reliability`` fitted on the pool."""
    ann = _ann()
    with pytest.raises(rules.RuleNotFittedError, match="rule.json"):
        sft.pseudo_labels("t", ann, "weighted")
    for temps in ([0.3], [0.05]):
        lf = pseudo_labelling.label_free({"pool": ann}, GENDER, vote_temperatures=temps, aggregators={}, coverage=0.6,
                             prior_strength=0.5, max_share_shift=0.15)
        lf.fitted.save("t")
        loaded = rules.load("t")
        assert loaded.rule == lf.rules[lf.chosen] and loaded.rule.id == lf.rules[lf.chosen].id
        ours = sft.source_votes(ann, "weighted", loaded)
        pd.testing.assert_frame_equal(ours, lf.candidates["none"].votes["pool"], check_dtype=False)
        assert [r["attributes"] for r in sft.pseudo_labels("t", ann, "weighted")] == \
            [r["attributes"] for r in voting.pseudo_label_records(voting.agreeing_rationales(ann, ours, max_n=3))]
    by_hand = voting.votes_from_scores(voting.vote_scores(ann, norm="none",
                                                          teacher_weights=voting.teacher_reliability(ann, norm="none")))
    pd.testing.assert_frame_equal(sft.source_votes(ann, "weighted", _reliability_rule(ann)), by_hand)


def test_pseudo_labels_round_trip_to_votes():
    ann = _ann()
    votes = voting.majority_vote(ann)
    recs = voting.pseudo_label_records(voting.agreeing_rationales(ann, votes))
    back = voting.records_as_votes(recs)
    assert back.sort_values("user_id")[["label", "kept"]].values.tolist() == \
        votes.sort_values("user_id")[["label", "kept"]].values.tolist()


def test_sft_data_is_built_with_gold_files_locked(tmp_root, request):
    bench.build_benchmark("t", n_pool=30, n_test=5, seed=0)
    request.getfixturevalue("no_gold_reads")
    recs = records.read_records(paths.records_path("t", "pool"))
    teachers = synthesis.build_teachers(["lexicon", "heuristic"], TAX)
    ann = synthesis.synthesize(recs, TAX, teachers, n_samples=2, temperature=0.7, seed=0,
                               cache_dir=paths.synthesis_cache_dir("t"), progress=False)
    lf = pseudo_labelling.label_free({"pool": ann}, TAX, vote_temperatures=[0.3], aggregators={}, coverage=0.8, prior_strength=0.5,
                         max_share_shift=0.15)
    lf.fitted.save("t")
    records.write_jsonl(paths.pseudo_labels_path("t"), pseudo_labelling.as_records(ann, lf.final.votes["pool"]))
    sources = sft.label_sources({"sft_label_source": "weighted_calibrated", "vote_temperatures": [0.3],
                                 "sft_ablation_sources": ["weighted_softmax_0.3"], "aggregators": {}})
    for src, rule in sources.items():
        ex = sft.sft_examples(recs, sft.pseudo_labels("t", ann, src, rule), TAX, 400, 3, False, 50, True)
        assert len(ex) == 30 and all(parse_output(e["completion"][0]["content"], TAX)["age"].ok for e in ex)


def test_any_rule_of_the_registry_is_a_label_source_and_an_unknown_one_is_named():
    p = {"sft_label_source": "weighted_calibrated", "sft_ablation_sources": ["majority", "crowdkit_DawidSkene"],
         "vote_temperatures": [0.3], "aggregators": {"DawidSkene": {"n_iter": 5}}}
    sources = sft.label_sources(p)
    assert list(sources) == [*sft.COMPARED_SOURCES, "crowdkit_DawidSkene"]
    assert sources["majority"].id == "majority" and sources["weighted"] is None
    rows = [{"user_id": f"u{i}", "attribute": "gender", "teacher": t, "sample": 0, "label": lab, "confidence": 0.9,
             "ok": True, "rationale": ""} for i in range(6) for t, lab in (("a", "male"), ("b", "male"), ("c", "female"))]
    votes = sft.source_votes(pd.DataFrame(rows), "majority", None, sources["majority"])
    assert set(votes["label"]) == {"male"}
    with pytest.raises(ParamsError, match="sft_ablation_sources: 'majorty' is not a label source"):
        sft.label_sources({**p, "sft_ablation_sources": ["majorty"]})


# -- training --------------------------------------------------------------------------------


def _tiny(tmp_path, n=8):
    recs = [{"user_id": f"u{i}", "bio": ["nurse at the hospital", "student at campus", "retired, grandchild"][i % 3]}
            for i in range(n)]
    labs = ["female", "male"]
    pseudo = [_pseudo(r["user_id"], **{a.name: {"label": a.labels[i % 2] if a.name != "gender" else labs[i % 2],
                                                  "confidence": 0.8, "kept": True, "rationales": []} for a in TAX})
              for i, r in enumerate(recs)]
    ex = sft.sft_examples(recs, pseudo, TAX, 200, 2, False, 0, True)
    path, fresh = student.base_student(tmp_path / "base", None, [e["prompt"][0]["content"] for e in ex] * 5, TAX,
                                       vocab_size=400, hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
                                       intermediate_size=128, max_positions=256, seed=0)
    assert fresh and student.base_student(tmp_path / "base", None, [], TAX, 400, 64, 2, 4, 2, 128, 256, 0) == (path, False)
    return ex, path


KW = dict(batch_size=4, grad_accum=1, learning_rate=3e-3, warmup_ratio=0.0, weight_decay=0.0, max_length=256,
          record_weight=None, seed=0, logging_steps=2, lora=None, gradient_checkpointing=False,
          progress=False)


@pytest.mark.slow
def test_a_few_sft_steps_lower_the_loss_and_the_answer_parses(tmp_path):
    ex, base = _tiny(tmp_path)
    model, tok = student.load_student(base, "float32")
    r = sft.train(model, tok, ex, tmp_path / "run", max_steps=80, save_steps=1000, **KW)
    c = sft.curves(r["log_history"])
    assert not r["reused"] and c["loss"][-1] < 0.5 * c["loss"][0]
    model, tok = student.load_student(r["path"], "float32")
    out = student.generate(model, tok, [e["prompt"] for e in ex[:4]], batch_size=4, max_new_tokens=120)
    table = student.prediction_table([e["user_id"] for e in ex[:4]], out, TAX)
    assert table["ok"].mean() > 0.5, out[0]
    again = sft.train(model, tok, ex, tmp_path / "run", max_steps=80, save_steps=1000, **KW)
    assert again["reused"] and again["log_history"] == r["log_history"]  # a finished run trains nothing


def _padding_shares(tmp_path, monkeypatch, ex, base, group_by_length: bool, real) -> list[float]:
    """The padded share of each training batch of a 6-step run (read at ``training_step``;
    ``real``: the trainer's own method, which the counting one calls)."""
    import transformers

    shares = []

    def counts_padding(self, model, inputs, *a, **k):
        shares.append(1 - float(inputs["attention_mask"].float().mean()))
        return real(self, model, inputs, *a, **k)

    monkeypatch.setattr(transformers.Trainer, "training_step", counts_padding)
    model, tok = student.load_student(base, "float32")
    sft.train(model, tok, ex, tmp_path / f"run_{group_by_length}", max_steps=6, save_steps=1000,
              group_by_length=group_by_length, **KW)
    return shares


@pytest.mark.slow
def test_length_grouped_batches_carry_little_padding(tmp_path, monkeypatch):
    import transformers

    ex, base = _tiny(tmp_path)
    long = [{**e, "user_id": f"{e['user_id']}_{k}",  # 320 examples of widely varying record lengths
             "prompt": [{"role": "user", "content": e["prompt"][0]["content"] + " and more" * (k % 12)}]}
            for k, e in enumerate(ex * 40)]
    real = transformers.Trainer.training_step
    grouped = _padding_shares(tmp_path, monkeypatch, long, base, True, real)
    shuffled = _padding_shares(tmp_path, monkeypatch, long, base, False, real)
    assert len(grouped) == len(shuffled) == 6
    assert sum(grouped) < 0.3 * sum(shuffled), (grouped, shuffled)
    recipe = json.loads((tmp_path / "run_True" / "run.json").read_text())
    assert recipe["group_by_length"] is True  # a run of the other order is moved aside, not reused


def _killed_at_step_5(tmp_path, monkeypatch, **train_kw):
    """Train a tiny student 8 steps, checkpoint every 2, killed at its 5th step; returns the
    examples, the base model's path, and the real ``training_step`` (put back for the rerun)."""
    import transformers

    ex, base = _tiny(tmp_path)
    real, calls = transformers.Trainer.training_step, {"n": 0}

    def dies_at_step_5(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("killed")
        return real(self, *a, **k)

    monkeypatch.setattr(transformers.Trainer, "training_step", dies_at_step_5)
    model, tok = student.load_student(base, "float32")
    with pytest.raises(KeyboardInterrupt):
        sft.train(model, tok, ex, tmp_path / "run", max_steps=8, save_steps=2, **train_kw, **KW)
    return ex, base, real


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    import transformers

    ex, base, real = _killed_at_step_5(tmp_path, monkeypatch)
    assert (tmp_path / "run" / "checkpoint-4").is_dir() and not (tmp_path / "run" / "final").exists()
    monkeypatch.setattr(transformers.Trainer, "training_step", real)
    model, tok = student.load_student(base, "float32")
    r = sft.train(model, tok, ex, tmp_path / "run", max_steps=8, save_steps=2, **KW)
    assert r["resumed_from"] == "checkpoint-4" and not r["reused"]
    assert sft.curves(r["log_history"])["step"][-1] == 8
    state = json.loads((tmp_path / "run" / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["global_step"] == 8


def test_two_mean_loss_through_the_trainer_equals_a_hand_count(tmp_path):
    """The trainer's loss on a real collated batch equals the two means computed by hand from
    the model's logits, with the answer starting where the chat template's prompt ends."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig

    ex, base = _tiny(tmp_path, n=4)
    model, tok = student.load_student(base, "float32")
    cfg = SFTConfig(output_dir=str(tmp_path / "run"), per_device_train_batch_size=4, max_length=256, report_to=[],
                    use_cpu=True, bf16=False, disable_tqdm=True)
    ds = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in ex])
    trainer = sft.trainer_class()(model=model, args=cfg, train_dataset=ds, processing_class=tok, record_weight=0.5)
    batch = next(iter(trainer.get_train_dataloader()))
    assert "completion_mask" in batch
    order = [tok.decode(row[row != tok.pad_token_id]) for row in batch["input_ids"]]
    model.eval()
    with torch.no_grad():
        got = float(trainer.compute_loss(model, dict(batch)))
        ans_nll, rec_nll = [], []
        for e in ex:
            prompt = tok.apply_chat_template(e["prompt"], tokenize=False, add_generation_prompt=True)
            full = tok.apply_chat_template(e["prompt"] + e["completion"], tokenize=False)
            assert full in order  # the same examples, in the loader's order
            ids = tok(full, add_special_tokens=False, return_tensors="pt")["input_ids"]
            n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1], -1)
            nll = -logp.gather(-1, ids[0, 1:, None])[:, 0]
            rec_nll += nll[: n_prompt - 1].tolist()  # tokens 1..n_prompt-1 are record (prompt) tokens
            ans_nll += nll[n_prompt - 1:].tolist()  # tokens n_prompt.. are the answer
    want = sum(ans_nll) / len(ans_nll) + 0.5 * sum(rec_nll) / len(rec_nll)
    assert got == pytest.approx(want, rel=1e-4)


def _copy_task(n, seed):
    """Records that state their labels in words among filler, labels drawn 75/25: the student can
    only beat the marginals by reading the record."""
    import random

    rnd = random.Random(seed)
    fill = ["likes tea", "walks the dog", "plays chess", "reads at night", "cooks pasta", "watches films"]
    recs, gold = [], []
    for i in range(n):
        g = "female" if rnd.random() < 0.75 else "male"
        s = "couple_no_kids" if rnd.random() < 0.25 else "single_young"
        recs.append({"user_id": f"u{i}", "bio": ", ".join([f"{g} person", s, *rnd.sample(fill, 3)])})
        gold.append({"gender": g, "life_stage": s})
    return recs, gold


@pytest.mark.slow
def test_a_tiny_student_learns_to_copy_a_label_written_in_the_record(tmp_path):
    """The test that would have caught a student that learns only the label marginals."""
    from confprofile.metrics import macro_f1

    two = replace(TAX, attributes=(TAX["gender"], TAX["life_stage"]))
    recs, gold = _copy_task(400, seed=0)
    assert {"single_young", "couple_no_kids"} <= set(two["life_stage"].labels)
    pseudo = [_pseudo(r["user_id"], **{a: {"label": lab, "confidence": 0.9, "kept": True, "rationales": []}
                                       for a, lab in g.items()}) for r, g in zip(recs, gold)]
    train, test = slice(0, 320), slice(320, 400)
    ex = sft.sft_examples(recs[train], pseudo[train], two, 200, 2, False, 0, True)
    base, _ = student.base_student(tmp_path / "base", None, [e["prompt"][0]["content"] for e in ex], two,
                                   vocab_size=800, hidden_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                                   intermediate_size=128, max_positions=256, seed=0)
    model, tok = student.load_student(base, "float32")
    r = sft.train(model, tok, ex, tmp_path / "run", max_steps=600, save_steps=1000,
                  **{**KW, "batch_size": 16, "record_weight": 1.0, "learning_rate": 3e-3})
    msgs = [sft.student_messages(rec, two, 200, 2, False) for rec in recs[test]]
    model, tok = student.load_student(r["path"], "float32")
    table = student.prediction_table([rec["user_id"] for rec in recs[test]],
                                     student.generate(model, tok, msgs, batch_size=40, max_new_tokens=120), two)
    f1, marginal = [], []
    for attr in two:
        want = [g[attr.name] for g in gold[test]]
        got = table[table["attribute"] == attr.name]["label"].tolist()
        f1.append(macro_f1(want, got, attr.labels))
        common = max(set(want), key=want.count)
        marginal.append(macro_f1(want, [common] * len(want), attr.labels))
    assert sum(f1) / 2 > 0.9 and sum(f1) / 2 > sum(marginal) / 2 + 0.3, (f1, marginal)


@pytest.mark.slow
def test_a_checkpoint_cut_short_is_skipped_and_the_run_resumes_from_the_complete_one(tmp_path, monkeypatch, capsys):
    import transformers

    ex, base, real = _killed_at_step_5(tmp_path, monkeypatch, keep_checkpoints=True)
    cut = tmp_path / "run" / "checkpoint-4"
    for f in (".complete", "optimizer.pt", "trainer_state.json"):  # a kill while checkpoint-4 was being written
        (cut / f).unlink()
    monkeypatch.setattr(transformers.Trainer, "training_step", real)
    model, tok = student.load_student(base, "float32")
    r = sft.train(model, tok, ex, tmp_path / "run", max_steps=8, save_steps=2, keep_checkpoints=True, **KW)
    assert r["resumed_from"] == "checkpoint-2" and "checkpoint-4" in capsys.readouterr().err
    assert sft.curves(r["log_history"])["step"][-1] == 8
    assert r["train_runtime"] > 0 and list(sft.checkpoints.saved(tmp_path / "run", final_step=8)) == [2, 4, 6, 8]
    tokens = [h["num_tokens"] for h in r["log_history"] if "num_tokens" in h]
    assert tokens == sorted(tokens) and tokens[0] > 0  # counted on across the resume, not from zero


def test_the_sft_command_fails_in_one_line(tmp_root):
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "confprofile.sft", "--profile", "smoke", *args],
                              capture_output=True, text=True, env={**__import__("os").environ})

    out = run("--variant", "nosuch")
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "error: --variant nosuch: not a student of profile 'smoke' (it trains sft, ablation_majority, "
        "ablation_weighted_calibrated)"]
    out = run()  # nothing synthesised yet under this root
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "error:" in out.stderr


def test_trial_settings_change_one_axis_at_a_time_and_reject_unknown_keys():
    from confprofile.errors import ParamsError

    p = {"sft_trials": {"sft_learning_rate": [0.002, 0.001, 0.004], "sft_abstain": [True, False]},
         "sft_learning_rate": 0.001, "sft_abstain": False}  # the profile's own values do not move the grid
    s = choices.trial_settings(p)
    assert list(s) == ["base", "sft_learning_rate=0.001", "sft_learning_rate=0.004", "sft_abstain=false"]
    assert s["base"] == {"sft_learning_rate": 0.002, "sft_abstain": True}
    assert all(sum(v[k] != s["base"][k] for k in v) == 1 for n, v in s.items() if n != "base")
    with pytest.raises(ParamsError, match="not a profile parameter"):
        choices.trial_settings({"sft_trials": {"sft_lr": [1]}})


def test_arm_variants_are_the_variants_beside_the_main_student():
    p = {"sft_label_source": "weighted_calibrated", "sft_steps": 9, "sft_ablation_steps": 4,
         "sft_ablation_sources": ["majority", "weighted_calibrated"]}
    assert list(sft.variants(p)) == ["sft", *sft.arm_variants(p)]
    assert sft.arm_variants({**p, "sft_ablation_steps": 0}) == {}


def _fake_run(tmp_path):
    """A run folder holding only ``final`` (standing for the last step)."""
    final = tmp_path / "run" / "final"
    final.mkdir(parents=True)
    return {"path": str(final)}


def test_checkpoint_predictions_are_cached_by_name_and_scored_against_the_reference(tmp_root, tmp_path, monkeypatch):
    run = _fake_run(tmp_path)
    table = pd.DataFrame({"user_id": ["u", "u"], "attribute": ["gender", "age"], "label": ["female", "25_34"]})
    calls = []
    monkeypatch.setattr(student, "predict", lambda path, ids, msgs, tax, **kw: calls.append((path, kw)) or table)
    p = {"student_dtype": "float32", "gen_batch_size": 4, "gen_max_new_tokens": 8}
    ref = [_pseudo("u", gender={"label": "female", "kept": True}, age={"label": "18_24", "kept": True})]
    scores = choices.checkpoint_agreement("t", p, run, 7, ["u"], [[]], TAX, "heldout_x", ref)
    assert list(scores) == [7] and scores[7]["agreement"] == 0.5 and "f1_se" in scores[7]
    assert paths.predictions_path("t", "heldout_x_7").is_file()
    assert calls == [(Path(run["path"]), {"dtype": "float32", "batch_size": 4, "max_new_tokens": 8})]
    again = choices.checkpoint_predictions("t", p, run, 7, ["u"], [[]], TAX, cache="heldout_x")  # the same weights: read back
    assert len(calls) == 1 and again[7].equals(table)
    choices.checkpoint_predictions("t", p, run, 7, ["u"], [[]], TAX)  # no cache: generated on each call
    assert len(calls) == 2


def test_classical_students_by_source_learn_each_source_on_the_main_sources_records():
    from confprofile import classical
    from confprofile.provenance import derive_seed

    texts = {"a": "my wife and football", "b": "my husband and makeup", "c": "football with my wife", "d": "makeup haul"}
    male = {"a", "c"}
    pseudo = {src: [_pseudo(u, gender={"label": "male" if u in male else "female", "confidence": 0.9,
                                       "kept": src != "majority" or u != "d"}) for u in texts] for src in sft.COMPARED_SOURCES}
    examples = [{"user_id": u, "prompt": [{"role": "user", "content": t}]} for u, t in texts.items()]
    tax = replace(TAX, attributes=(TAX["gender"],))
    prep = {"taxonomy": tax, "pseudo": pseudo, "examples": {"weighted_calibrated": examples},
            "test": {"user_ids": ["t"], "messages": [[{"role": "user", "content": "football and my wife"}]]}}
    p = {"sft_label_source": "weighted_calibrated", "classical_c": 10.0, "seed": 3}
    out = classical.by_source(prep, p)
    assert list(out) == list(sft.COMPARED_SOURCES) and all(len(t) == 1 for t in out.values())
    direct = classical.fit_predict(list(texts.values()), list(texts), voting.records_as_votes(pseudo["majority"]),
                                   ["football and my wife"], ["t"], tax, c=10.0, seed=derive_seed(3, "classical"))
    assert out["majority"].equals(direct) and out["weighted"]["label"].tolist() == ["male"]
