"""The evaluation harness: parsing model answers, scoring them (sklearn's F1), paired intervals,
generation and label log-likelihood scoring with a tiny local model, and the GPU path."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from confprofile import student
from confprofile.evaluation import intervals, scores
from confprofile.taxonomy import load_taxonomy

TAX = load_taxonomy()


def _answer(labels: dict) -> str:
    return json.dumps({a: {"label": lab, "confidence": 0.7} for a, lab in labels.items()})


def test_prediction_table_tells_failures_from_abstentions():
    texts = [_answer({a.name: a.labels[0] for a in TAX}),
             _answer({"gender": "unknown", "age": "18_24"}),  # one abstention, four left out
             "I cannot tell.",                                  # no JSON: six parse failures
             _answer({"gender": "robot"})]                      # off-taxonomy label
    t = student.prediction_table(["a", "b", "c", "d"], texts, TAX)
    assert len(t) == 4 * len(TAX) and list(t.columns) == student.PREDICTION_COLUMNS
    by = t.set_index(["user_id", "attribute"])
    assert by.loc[("a", "age"), "label"] == TAX["age"].labels[0] and by.loc[("a", "age"), "ok"]
    assert by.loc[("b", "gender"), "abstained"] and pd.isna(by.loc[("b", "gender"), "label"])
    assert by.loc[("b", "occupation"), "abstained"]  # left out = abstained
    assert not by.loc[("c", "age"), "abstained"] and not by.loc[("c", "age"), "ok"]
    assert "off-taxonomy" in by.loc[("d", "gender"), "error"]


def _gold_and_pred(seed=0, n=120):
    r = np.random.default_rng(seed)
    users = [f"u{i}" for i in range(n)]
    gold = pd.DataFrame([{"user_id": u, "attribute": a.name, "gold": a.labels[r.integers(len(a.labels))], "clue": None}
                         for u in users for a in TAX])
    texts = []
    for i, u in enumerate(users):
        labs = {}
        for a in TAX:
            g = gold[(gold.user_id == u) & (gold.attribute == a.name)]["gold"].item()
            labs[a.name] = g if r.random() < 0.6 else a.labels[r.integers(len(a.labels))]
        if i % 10 == 0:
            labs["age"] = "unknown"
        texts.append("garbage" if i % 17 == 0 else _answer(labs))
    return gold, student.prediction_table(users, texts, TAX)


def test_harness_f1_is_sklearn_macro_f1():
    gold, pred = _gold_and_pred()
    rep = scores.prediction_report(pred, gold, TAX)
    j = gold.merge(pred, on=["user_id", "attribute"])
    f1s = []
    for a in TAX:
        m = j[j.attribute == a.name]
        y = m["label"].fillna("__none__").tolist()
        present = [lab for lab in a.labels if lab in set(m["gold"]) | set(y)]
        f1s.append(100 * f1_score(m["gold"], y, labels=present, average="macro", zero_division=0))
        assert rep["f1"][a.name] == pytest.approx(f1s[-1])
    assert rep["avg_f1"] == pytest.approx(np.mean(f1s))
    assert rep["parse_failure_rate"] == pytest.approx(len(range(0, 120, 17)) / 120)
    n_abst = sum(1 for i in range(120) if i % 10 == 0 and i % 17 != 0)
    assert rep["abstention_rate"] == pytest.approx(n_abst / (120 * len(TAX)))
    assert 0 <= rep["ece"] <= 1 and 0 < rep["avg_precision"] <= 100 and 0 < rep["avg_recall"] <= 100


def test_paired_bootstrap_delta_is_the_f1_gap_and_its_interval_covers_it():
    gold, a = _gold_and_pred(seed=1)
    _, b = _gold_and_pred(seed=2)
    ra, rb = scores.prediction_report(a, gold, TAX), scores.prediction_report(b, gold, TAX)
    d = intervals.paired_bootstrap(a, b, gold, TAX, n_boot=300, seed=0)
    assert d["delta"] == pytest.approx(ra["avg_f1"] - rb["avg_f1"])
    assert d["ci"][0] < d["delta"] < d["ci"][1]
    same = intervals.paired_bootstrap(a, a, gold, TAX, n_boot=50, seed=0)
    assert (same["delta"], same["ci"]) == (0.0, [0.0, 0.0])
    # a vote table's dropped rows are abstentions, as in vote_report
    votes = a.assign(kept=a["label"].notna() & (a["user_id"] != "u1"))
    assert intervals.paired_bootstrap(votes, b, gold, TAX, n_boot=10, seed=0)["delta"] == pytest.approx(
        scores.vote_report(votes, gold, TAX)["avg_f1"] - rb["avg_f1"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = ["User u1\nBio: nurse at the city hospital", "User u2\nBio: freshman, dorm life"] * 20
    path, _ = student.base_student(tmp_path_factory.mktemp("tiny"), None, texts, TAX, vocab_size=400,
                                   hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=1,
                                   intermediate_size=64, max_positions=256, seed=0)
    return student.load_student(path, "float32")


def test_tokenizer_round_trips_and_speaks_chatml(tiny):
    _, tok = tiny
    text = 'User u7\nBio: 我是护士 🌸 {"age": {"label": "25_34"}}'
    assert tok.decode(tok(text)["input_ids"]) == text
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == "<|im_end|>" and tok.pad_token_id != tok.eos_token_id


def test_an_answer_costs_five_tokens_per_attribute_and_a_record_round_trips(tiny):
    _, tok = tiny
    answer = json.dumps({a.name: {"label": a.labels[-1], "confidence": 0.7} for a in TAX})
    ids = tok(answer, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == answer and len(ids) == 5 * len(TAX) + 1  # "{" + 5 per attribute ("}}" closes)
    record = "Bio: females, 1.05 kg, studentship"  # a record round-trips; a confidence is not cut out of a number
    pieces = [tok.decode([i]) for i in tok(record, add_special_tokens=False)["input_ids"]]
    assert tok.decode(tok(record)["input_ids"]) == record and "1.0" not in pieces


def test_generation_is_batched_and_greedy_is_deterministic(tiny):
    model, tok = tiny
    msgs = [[{"role": "user", "content": f"User u{i}\nBio: nurse"}] for i in range(5)]
    a = student.generate(model, tok, msgs, batch_size=2, max_new_tokens=8)
    b = student.generate(model, tok, msgs, batch_size=5, max_new_tokens=8)
    assert len(a) == 5 and a == b  # batching and padding do not change greedy answers
    s = student.generate(model, tok, msgs, batch_size=5, max_new_tokens=8, do_sample=True, temperature=1.0, seed=3)
    assert s == student.generate(model, tok, msgs, batch_size=5, max_new_tokens=8, do_sample=True,
                                 temperature=1.0, seed=3)
    assert student.prediction_table([f"u{i}" for i in range(5)], a, TAX)["ok"].sum() == 0  # untrained: no JSON


def test_label_loglik_scoring_always_answers_within_the_taxonomy(tiny):
    model, tok = tiny
    msgs = [[{"role": "user", "content": "User u1\nBio: nurse"}], [{"role": "user", "content": "User u2\nBio: dorm"}]]
    t = student.label_loglik_table(model, tok, msgs, ["u1", "u2"], TAX)
    assert len(t) == 2 * len(TAX) and t["ok"].all()
    for row in t.itertuples():
        assert row.label in TAX[row.attribute].labels and 1 / len(TAX[row.attribute].labels) <= row.confidence <= 1


@pytest.mark.require_gpu
def test_gpu_lora_sft_on_a_small_qwen3(tmp_path):
    from confprofile import sft

    texts = ["User u1\nBio: nurse at the city hospital", "User u2\nBio: freshman, dorm life"] * 20
    path, _ = student.base_student(tmp_path / "base", None, texts, TAX, 400, 64, 2, 4, 2, 128, 256, 0)
    model, tok = student.load_student(path, "bfloat16")
    ex = [{"prompt": [{"role": "user", "content": t}], "completion": [{"role": "assistant", "content": _answer(
        {"gender": "female"})}]} for t in texts]
    r = sft.train(model.cuda(), tok, ex, tmp_path / "run", max_steps=20, batch_size=8, grad_accum=1,
                  learning_rate=1e-3, warmup_ratio=0.0, weight_decay=0.0, max_length=128, record_weight=0.0,
                  seed=0, save_steps=100, logging_steps=5, lora={"r": 8, "alpha": 16, "dropout": 0.0},
                  gradient_checkpointing=True, progress=False)
    c = sft.curves(r["log_history"])
    assert c["loss"][-1] < c["loss"][0]
    model, tok = student.load_student(r["path"], "bfloat16")
    assert len(student.generate(model.cuda(), tok, [ex[0]["prompt"]], 1, 16)) == 1


def test_label_loglik_with_a_cached_prefix_equals_scoring_each_full_sequence(tiny):
    import torch

    model, tok = tiny
    msgs = [[{"role": "user", "content": "User u1\nBio: nurse"}]]
    t = student.label_loglik_table(model, tok, msgs, ["u1"], TAX).set_index("attribute")
    attr = TAX["age"]
    q = [{"role": "user", "content": msgs[0][0]["content"] + "\n\nWhich age label fits this user? Options: "
          + ", ".join(attr.labels) + ". Answer with the label only."}]
    prefix = tok.apply_chat_template(q, tokenize=False, add_generation_prompt=True)
    n = len(tok(prefix, add_special_tokens=False)["input_ids"])
    scores = []
    for lab in attr.labels:
        ids = torch.tensor([tok(prefix, add_special_tokens=False)["input_ids"] + tok(lab, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
        scores.append(sum(float(logp[j - 1, ids[0, j]]) for j in range(n, ids.shape[1])))
    assert t.loc["age", "label"] == attr.labels[int(np.argmax(scores))]
    p = np.exp(np.array(scores) - max(scores))
    assert t.loc["age", "confidence"] == pytest.approx(p.max() / p.sum(), rel=1e-4)


def test_predict_runs_saves_each_model_under_its_name_and_answers_again_only_when_its_weights_or_users_change(
        tmp_root, tmp_path, monkeypatch):
    from confprofile import paths

    calls = []
    table = pd.DataFrame({"user_id": ["u"], "attribute": ["gender"], "label": ["male"]})
    monkeypatch.setattr(student, "predict", lambda path, *a, **kw: calls.append(Path(path).name) or table)
    runs = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"w" + name.encode())
        runs[f"rl_{name}"] = {"path": str(tmp_path / name)}
    gen = {"dtype": "float32", "batch_size": 2, "max_new_tokens": 4}
    out = student.predict_runs("t", runs, ["u"], [[]], load_taxonomy(), **gen)
    assert list(out) == ["rl_a", "rl_b"] and calls == ["a", "b"]
    assert all(paths.predictions_path("t", n).is_file() for n in runs)
    student.predict_runs("t", runs, ["u"], [[]], load_taxonomy(), **gen)  # the same weights: read back
    assert calls == ["a", "b"]
    (tmp_path / "b" / "model.safetensors").write_bytes(b"trained again")  # b's weights change: b answers again
    student.predict_runs("t", runs, ["u"], [[]], load_taxonomy(), **gen)
    assert calls == ["a", "b", "b"]
    (tmp_path / "a").rename(tmp_path / "a.old")  # another run's folder put in a's place (same bytes, another file)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "model.safetensors").write_bytes(b"wa")
    os.utime(tmp_path / "c" / "model.safetensors", ns=(1, 1))
    (tmp_path / "c").rename(tmp_path / "a")
    student.predict_runs("t", runs, ["u"], [[]], load_taxonomy(), **gen)
    assert calls == ["a", "b", "b", "a"]
    student.predict_runs("t", runs, ["u", "v"], [[], []], load_taxonomy(), **gen)  # other users: both answer
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert student.smollm2_predictions("t", [], [], load_taxonomy()) == {}  # no users: nothing loaded or saved


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_reuses_a_freed_large_block_without_faulting_its_pages_in_again():
    code = """
import resource
import torch
from confprofile import student

def faults_of_a_block_after_a_freed_one():
    a = torch.ones(64 * 2**20 // 4)  # 64 MB: over the largest block glibc ever serves from its heap by default
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = torch.ones(64 * 2**20 // 4)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

default = faults_of_a_block_after_a_freed_one()
assert student.keep_freed_memory()
faults_of_a_block_after_a_freed_one()  # the heap grows to hold the block once
print(default, faults_of_a_block_after_a_freed_one())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    default, kept = map(int, out)
    assert default > 10_000  # 16,384 pages of 4 KB faulted in afresh
    assert kept < 1_000
