"""SFT data builder, label sources, and training (a few steps of a tiny Qwen3; resume; reuse)."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from confprofile import bench, paths, records, sft, student, synthesis, voting
from confprofile.parsing import parse_output
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()


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


def test_label_sources_are_computed_without_labels():
    ann = _ann()
    assert sft.best_teacher(ann) in ("a", "b")  # c agrees with nobody
    for src in ("best_single", "majority", "weighted"):
        v = sft.source_votes(ann, ann, src, coverage=0.8, prior_strength=0.5)
        assert v.set_index("user_id")["label"].to_dict() == {"u1": "male", "u2": "female", "u3": "male"}, src
        assert v["kept"].all()
    # the confident outlier c (2 x 0.9 against 4 x 0.6) loses; without prior correction the
    # calibrated vote keeps the weighted vote's labels, and the class thresholds only drop pairs
    cal = sft.source_votes(ann, ann, "weighted_calibrated", coverage=0.5, prior_strength=0.0)
    assert cal.set_index("user_id")["label"].to_dict() == {"u1": "male", "u2": "female", "u3": "male"}
    assert cal.loc[cal["kept"], "user_id"].tolist() == ["u2", "u3"]  # one per class, the surer male
    with pytest.raises(ValueError, match="label source"):
        sft.source_votes(ann, ann, "gold", 0.8, 0.5)


def test_pseudo_labels_round_trip_to_votes():
    ann = _ann()
    votes = voting.majority_vote(ann)
    recs = voting.pseudo_label_records(voting.agreeing_rationales(ann, votes))
    back = sft.records_as_votes(recs)
    assert back.sort_values("user_id")[["label", "kept"]].values.tolist() == \
        votes.sort_values("user_id")[["label", "kept"]].values.tolist()


def test_sft_data_is_built_with_gold_files_locked(tmp_root, request):
    bench.build_benchmark("t", n_pool=30, n_test=5, seed=0)
    request.getfixturevalue("no_gold_reads")
    recs = records.read_records(paths.records_path("t", "pool"))
    teachers = synthesis.build_teachers(["lexicon", "heuristic"], TAX)
    ann = synthesis.synthesize(recs, TAX, teachers, n_samples=2, temperature=0.7, seed=0,
                               cache_dir=paths.synthesis_cache_dir("t"), progress=False)
    votes = sft.source_votes(ann, ann, "weighted_calibrated", 0.8, 0.5)
    records.write_jsonl(paths.pseudo_labels_path("t"), voting.pseudo_label_records(voting.agreeing_rationales(ann, votes)))
    for src in sft.LABEL_SOURCES:
        ex = sft.sft_examples(recs, sft.pseudo_labels("t", ann, src, 0.8, 0.5), TAX, 400, 3, False, 50, True)
        assert len(ex) == 30 and all(parse_output(e["completion"][0]["content"], TAX)["age"].ok for e in ex)


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
          completion_only_loss=False, seed=0, logging_steps=2, lora=None, gradient_checkpointing=False,
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


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
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
        sft.train(model, tok, ex, tmp_path / "run", max_steps=8, save_steps=2, **KW)
    assert (tmp_path / "run" / "checkpoint-4").is_dir() and not (tmp_path / "run" / "final").exists()
    monkeypatch.setattr(transformers.Trainer, "training_step", real)
    model, tok = student.load_student(base, "float32")
    r = sft.train(model, tok, ex, tmp_path / "run", max_steps=8, save_steps=2, **KW)
    assert r["resumed_from"] == "checkpoint-4" and not r["reused"]
    assert sft.curves(r["log_history"])["step"][-1] == 8
    state = json.loads((tmp_path / "run" / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["global_step"] == 8
