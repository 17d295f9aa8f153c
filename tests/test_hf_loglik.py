"""The transformers teacher answering by label log-likelihood (``teachers/hf.py``, method ``loglik``).

With a tiny Qwen3 built here (no weights downloaded): every answer parses and is a taxonomy label;
the scores equal scoring each full sequence from scratch, for every attribute and label (so the
packed prefix-tree mask and positions are right); the prompt is encoded once per user; samples are
seeded per user and sample; the cache key is not the free-text method's. The shipped SmolLM2
runs once (slow) on a few users of the built-in benchmark.
"""

import json

import numpy as np
import pytest

from confprofile import student
from confprofile.parsing import parse_output
from confprofile.prompts import build_messages
from confprofile.records import render_record
from confprofile.synthesis import synthesize
from confprofile.taxonomy import load_taxonomy
from confprofile.teachers import get_teacher
from confprofile.teachers.hf import HFTeacher, label_logliks, label_question, softmax

TAX = load_taxonomy()
USERS = [
    {"user_id": "a", "bio": "retired, love tai chi and square dance", "comments": ["my grandchild visited today"]},
    {"user_id": "b", "bio": "nurse on night shift at the ward", "searches": ["hospital shift schedule"]},
    {"user_id": "c", "bio": "freshman, living in the dorm", "searches": ["exam week tips", "roommate drama"]},
    {"user_id": "d", "bio": "programmer, fixing a bug before deploy", "comments": ["my wife says hi"]},
    {"user_id": "e"},
]


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    texts = [render_record(r) for r in USERS] * 10
    path, _ = student.base_student(tmp_path_factory.mktemp("tiny"), None, texts, TAX, vocab_size=400,
                                   hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=1,
                                   intermediate_size=64, max_positions=4096, seed=0)
    return path


@pytest.fixture(scope="module")
def teacher(tiny_path):
    """Loaded here, so a test reading its model does not depend on another having generated first."""
    t = HFTeacher(tiny_path, name="tiny", taxonomy=TAX)
    t._load()
    return t


def _messages():
    return [build_messages(r, TAX) for r in USERS]


def test_every_answer_parses_and_is_a_taxonomy_label(teacher):
    outs = teacher.generate(_messages(), n=3, temperature=0.7, seed=0)
    assert len(outs) == len(USERS) and all(len(o) == 3 for o in outs)
    for texts in outs:
        for text in texts:
            parsed = parse_output(text, TAX)
            assert set(parsed) == set(TAX.names)
            for attr, p in parsed.items():
                assert p.ok and p.label in TAX[attr].labels, (attr, p)
                assert 0 < p.confidence <= 1  # the sampled label's share (below 1/n when a rare one is drawn)


def test_confidence_is_the_label_share_and_greedy_takes_the_argmax(teacher):
    msgs = _messages()[1]
    scores = label_logliks(teacher._model, teacher._tok, teacher.scoring_messages(msgs), TAX)
    answer = json.loads(teacher.generate([msgs], n=1, temperature=0.0, seed=0)[0][0])
    for attr in TAX:
        share = softmax(scores[attr.name])
        k = int(np.argmax(share))
        assert answer[attr.name]["label"] == attr.labels[k]
        assert answer[attr.name]["confidence"] == pytest.approx(share[k], abs=1e-3)


def test_samples_are_seeded_per_user_and_sample_not_by_n_or_batch(teacher):
    msgs = _messages()
    four = teacher.generate(msgs, n=4, temperature=1.0, seed=3)
    assert teacher.generate(msgs[2:3], n=2, temperature=1.0, seed=3)[0] == four[2][:2]  # alone, and fewer samples
    assert four == teacher.generate(msgs, n=4, temperature=1.0, seed=3)
    labels = {json.loads(t)["age"]["label"] for o in teacher.generate(msgs, n=8, temperature=5.0, seed=0) for t in o}
    assert len(labels) > 1  # a hot temperature spreads the samples
    assert teacher.independent_samples


def test_scores_equal_each_full_sequence_scored_from_scratch_for_every_attribute(teacher):
    import torch

    model, tok = teacher._model, teacher._tok
    msgs = teacher.scoring_messages(_messages()[0])
    got = label_logliks(model, tok, msgs, TAX)
    for attr in TAX:  # every branch of the packed sequence: a label seeing another's tokens would differ
        q = [*msgs[:-1], {"role": "user", "content": msgs[-1]["content"] + label_question(attr)}]
        prompt = tok(tok.apply_chat_template(q, tokenize=False, add_generation_prompt=True),
                     add_special_tokens=False)["input_ids"]
        want = []
        for lab in attr.labels:
            ids = torch.tensor([prompt + tok(lab, add_special_tokens=False)["input_ids"]])
            with torch.no_grad():
                logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
            want.append(sum(float(logp[j - 1, ids[0, j]]) for j in range(len(prompt), ids.shape[1])))
        np.testing.assert_allclose(got[attr.name], want, rtol=1e-4, atol=1e-4)


def test_the_prompt_is_encoded_once_per_user(teacher):
    seen = []
    hook = teacher._model.register_forward_pre_hook(lambda m, a, kw: seen.append(kw["input_ids"][0, 0].item()),
                                                    with_kwargs=True)
    try:
        teacher.generate(_messages()[:2], n=5, temperature=0.7, seed=0)
    finally:
        hook.remove()
    chat_start = teacher._tok.convert_tokens_to_ids("<|im_start|>")
    assert seen == [chat_start, chat_start]  # one pass per user (prompt, questions, labels), whatever n


def test_cache_key_is_not_the_free_text_methods(tiny_path, tmp_path):
    loglik = HFTeacher(tiny_path, name="tiny", taxonomy=TAX)
    free = HFTeacher(tiny_path, name="tiny")
    assert free.method == "generate" and loglik.method == "loglik"
    assert "loglik-v" in loglik.cache_id and loglik.cache_id != free.cache_id
    with pytest.raises(ValueError, match="method"):
        HFTeacher(tiny_path, taxonomy=TAX, method="beam")


def test_through_synthesis_every_row_parses(tiny_path, tmp_path):
    t = get_teacher("hf", model=tiny_path, name="tiny", taxonomy=TAX, max_users=4)
    df = synthesize(USERS, TAX, [t], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    assert len(df) == 4 * 2 * len(TAX) and df["ok"].all()
    assert all(lab in TAX[a].labels for a, lab in zip(df["attribute"], df["label"]))
    again = synthesize(USERS, TAX, [t], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    assert again[["label", "confidence"]].equals(df[["label", "confidence"]])  # from the cache


def test_the_student_table_uses_the_same_scorer(tiny_path):
    model, tok = student.load_student(tiny_path, "float32")
    msgs = [[{"role": "user", "content": render_record(USERS[1])}]]
    t = student.label_loglik_table(model, tok, msgs, ["b"], TAX).set_index("attribute")
    scores = label_logliks(model, tok, msgs[0], TAX)
    for attr in TAX:
        p = softmax(scores[attr.name])
        assert t.loc[attr.name, "label"] == attr.labels[int(np.argmax(p))]
        assert t.loc[attr.name, "confidence"] == pytest.approx(p.max())


@pytest.mark.slow
def test_smollm2_answers_every_user_within_the_taxonomy():
    """The shipped SmolLM2-135M on a few users: 100% parsed, every label a taxonomy label."""
    t = get_teacher("smollm2", taxonomy=TAX, max_users=3, threads=1)
    outs = t.generate(_messages()[:3], n=2, temperature=0.7, seed=0)
    for texts in outs:
        for text in texts:
            assert all(p.ok and p.label in TAX[a].labels for a, p in parse_output(text, TAX).items())
    t.close()
