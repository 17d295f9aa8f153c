"""Throughput of the student at a profile's size: training tokens/s and s/step, and generation
users/s (greedy, the harness's batch size), on that profile's pool records and pseudo-labels.

    python benchmarks/student_throughput.py [--profile cpu] [--steps 30] [--users 200]

Needs notebook 03's outputs for the profile (``runs/<p>/pseudo_labels/pool.jsonl``). Builds a
fresh tokenizer and model in a temporary folder; writes nothing under ``runs/``. Numbers taken
on a shared machine are inflated: say so when reporting them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from confprofile import paths, records, sft, student  # noqa: E402
from confprofile.params import load_params  # noqa: E402
from confprofile.taxonomy import load_taxonomy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--users", type=int, default=200, help="users to generate for")
    a = ap.parse_args()
    p = load_params(a.profile)
    tax = load_taxonomy()
    recs = records.read_records(paths.records_path(a.profile, "pool"))
    pseudo = [o for _, o in records.read_jsonl(paths.pseudo_labels_path(a.profile, "pool"))]
    ex = sft.sft_examples(recs, pseudo, tax, p["sft_max_chars"], p["sft_max_items"], p["sft_system_prompt"],
                          p["sft_rationale_chars"], p["sft_confidence"])
    with tempfile.TemporaryDirectory() as tmp:
        base, _ = student.base_student(Path(tmp) / "base", p["student_model"], [e["prompt"][-1]["content"] for e in ex],
                                       tax, p["student_vocab_size"], p["student_hidden"], p["student_layers"],
                                       p["student_heads"], p["student_kv_heads"], p["student_ffn"],
                                       p["sft_max_length"], p["seed"])
        model, tok = student.load_student(base, p["student_dtype"])
        n_tok = sum(len(tok(tok.apply_chat_template(e["prompt"] + e["completion"], tokenize=False))["input_ids"])
                    for e in ex[:200]) / min(len(ex), 200)
        t0 = time.perf_counter()
        sft.train(model, tok, ex, Path(tmp) / "run", max_steps=a.steps, batch_size=p["sft_batch_size"],
                  grad_accum=p["sft_grad_accum"], learning_rate=p["sft_learning_rate"], warmup_ratio=0.0,
                  weight_decay=0.0, max_length=p["sft_max_length"], completion_only_loss=p["sft_completion_only_loss"],
                  seed=p["seed"], save_steps=10**9, logging_steps=10, lora=p["sft_lora"], gradient_checkpointing=True,
                  progress=False)
        dt = time.perf_counter() - t0
        per_step = p["sft_batch_size"] * p["sft_grad_accum"] * n_tok
        print(f"{a.profile}: {student.n_params(model):,} params, {n_tok:.0f} tokens/example; "
              f"train {dt / a.steps:.2f} s/step, {per_step * a.steps / dt:,.0f} tokens/s (incl. start-up)")
        msgs = [e["prompt"] for e in ex[: a.users]]
        t0 = time.perf_counter()
        student.generate(model, tok, msgs, p["gen_batch_size"], p["gen_max_new_tokens"])
        dt = time.perf_counter() - t0
        print(f"generate (untrained: every answer runs to {p['gen_max_new_tokens']} tokens): "
              f"{len(msgs) / dt:.1f} users/s")


if __name__ == "__main__":
    main()
