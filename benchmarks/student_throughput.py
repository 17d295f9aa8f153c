"""Training throughput of the student: the trl path (``sft.train``, the two-means loss) beside a
plain torch loop on the same model, batch, examples and threads, in one run; then generation.

    python benchmarks/student_throughput.py [--profile cpu] [--steps 40] [--users 200]

Prints tokens/s and s/step of each loop, their ratio (trl / plain; the goal is >= 0.8), the
plain loop once more at glibc's default malloc settings before ``student.keep_freed_memory`` (run
first, so any slowing of the machine over the run favours it), the plain loop on length-grouped
batches (``sft_group_by_length``) beside the pool's order (random as to length; both loops above
take that order, the trl path with ``group_by_length`` off) with the padded share of each, and
greedy generation users/s at the harness's batch size. Both loops time the same steps after the
same warm-up steps, so start-up (dataset preparation, trainer construction) is timed apart.
Needs notebook 03's outputs for the profile (``runs/<p>/pseudo_labels/pool.jsonl``). Builds a
fresh tokenizer and model in a temporary folder; writes nothing under ``runs/``. Run it on an
idle machine: numbers taken beside other jobs are inflated, say so when reporting them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from confprofile import paths, records, sft, student# noqa: E402
from confprofile.params import load_params  # noqa: E402
from confprofile.taxonomy import load_taxonomy  # noqa: E402


class StepClock:
    """A trainer callback timing each optimizer step (wall clock between step begin and end)."""

    def __new__(cls, warmup: int):
        from transformers import TrainerCallback

        class _Clock(TrainerCallback):
            def __init__(self):
                self.times, self.t0 = [], None

            def on_step_begin(self, args, state, control, **kw):
                self.t0 = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                if state.global_step > warmup:
                    self.times.append(time.perf_counter() - self.t0)

        return _Clock()


def tokenized(tok, examples):
    """``(input_ids, prompt length)`` of each example, as trl's dataset preparation makes them."""
    out = []
    for e in examples:
        full = tok.apply_chat_template(e["prompt"] + e["completion"], tokenize=False)
        prompt = tok.apply_chat_template(e["prompt"], tokenize=False, add_generation_prompt=True)
        out.append((tok(full, add_special_tokens=False)["input_ids"], len(tok(prompt, add_special_tokens=False)["input_ids"])))
    return out


def padded_share(data, batch_size: int) -> float:
    """The share of padding tokens when ``data`` is cut into batches in its order."""
    cells = pad = 0
    for s in range(0, len(data) - batch_size + 1, batch_size):
        lens = [len(ids) for ids, _ in data[s:s + batch_size]]
        cells += len(lens) * max(lens)
        pad += len(lens) * max(lens) - sum(lens)
    return pad / cells


def length_grouped(data, batch_size: int, seed: int):
    """``data`` in the order transformers' ``LengthGroupedSampler`` draws (its own
    ``get_length_grouped_indices``, seeded): sorted by length within chunks of ~50 batches."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    order = get_length_grouped_indices([len(ids) for ids, _ in data], batch_size,
                                       generator=torch.Generator().manual_seed(seed))
    return [data[i] for i in order]


def plain_loop(model, pad_id: int, data, batch_size: int, steps: int, warmup: int, lr: float, record_weight: float):
    """The same work without trl, on pre-tokenized examples: right padding, full logits, the
    two-means loss, AdamW; returns the seconds of each timed step."""
    import torch

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95))
    times = []
    for step in range(warmup + steps):
        batch = [data[(step * batch_size + i) % len(data)] for i in range(batch_size)]
        t0 = time.perf_counter()
        width = max(len(ids) for ids, _ in batch)
        x = torch.full((len(batch), width), pad_id)
        attn = torch.zeros_like(x)
        answer = torch.zeros_like(x, dtype=torch.bool)
        for i, (ids, n) in enumerate(batch):
            x[i, :len(ids)] = torch.tensor(ids)
            attn[i, :len(ids)] = 1
            answer[i, n:len(ids)] = True
        logits = model(input_ids=x, attention_mask=attn).logits[:, :-1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, x[:, 1:, None])[..., 0]
        valid = attn[:, 1:].bool()
        ans = answer[:, 1:] & valid
        loss = sft.two_mean_loss(logp, ans, valid & ~ans, record_weight)
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="cpu", metavar="NAME|PATH", help="cpu, gpu or a profile file")
    ap.add_argument("--steps", type=int, default=40, help="timed steps of each loop")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
    ap.add_argument("--users", type=int, default=200, help="users to generate for")
    a = ap.parse_args()
    p = load_params(a.profile)
    import torch

    if p["torch_threads"]:
        torch.set_num_threads(p["torch_threads"])  # student.use_threads, less keep_freed_memory until below

    tax = load_taxonomy(p.get("taxonomy_file"))
    recs = records.read_records(paths.records_path(p["profile"], "pool"))
    pseudo = [o for _, o in records.read_jsonl(paths.pseudo_labels_path(p["profile"], "pool"))]
    ex = sft.sft_examples(recs, pseudo, tax, p["sft_max_chars"], p["sft_max_items"], p["sft_system_prompt"],
                          p["sft_rationale_chars"], p["sft_confidence"], p["sft_abstain"])
    bs = p["sft_batch_size"] * p["sft_grad_accum"]
    with tempfile.TemporaryDirectory() as tmp:
        base, _ = student.base_student(Path(tmp) / "base", p["student_model"], [e["prompt"][-1]["content"] for e in ex],
                                       tax, p["student_vocab_size"], p["student_hidden"], p["student_layers"],
                                       p["student_heads"], p["student_kv_heads"], p["student_ffn"],
                                       p["sft_max_length"], p["seed"])
        model, tok = student.load_student(base, p["student_dtype"])
        print(f"{p['profile']}: {student.n_params(model):,} params, batch {bs}, {torch.get_num_threads()} torch threads")
        data = tokenized(tok, ex)
        times = plain_loop(model, tok.pad_token_id, data, bs, a.steps, a.warmup, p["sft_learning_rate"],
                           p["sft_record_weight"] or 0.0)
        default_step = sum(times) / len(times)
        kept = student.keep_freed_memory()
        model, tok = student.load_student(base, p["student_dtype"])

        clock = StepClock(a.warmup)
        t0 = time.perf_counter()
        sft.train(model, tok, ex, Path(tmp) / "run", max_steps=a.warmup + a.steps, batch_size=p["sft_batch_size"],
                  grad_accum=p["sft_grad_accum"], learning_rate=p["sft_learning_rate"], warmup_ratio=0.0,
                  weight_decay=0.0, max_length=p["sft_max_length"], record_weight=p["sft_record_weight"],
                  seed=p["seed"], save_steps=10**9, logging_steps=10, lora=p["sft_lora"], gradient_checkpointing=True,
                  progress=False, callbacks=[clock])
        total = time.perf_counter() - t0
        trl_step = sum(clock.times) / len(clock.times)

        model, tok = student.load_student(base, p["student_dtype"])
        times = plain_loop(model, tok.pad_token_id, data, bs, a.steps, a.warmup, p["sft_learning_rate"],
                           p["sft_record_weight"] or 0.0)
        plain_step = sum(times) / len(times)
        grouped = length_grouped(data, bs, p["seed"])
        model, tok = student.load_student(base, p["student_dtype"])
        times = plain_loop(model, tok.pad_token_id, grouped, bs, a.steps, a.warmup, p["sft_learning_rate"],
                           p["sft_record_weight"] or 0.0)
        grouped_step = sum(times) / len(times)
        tok_per_step = bs * sum(len(ids) for ids, _ in data) / len(data)  # the same examples feed both loops
        print(f"trl path:   {trl_step:.3f} s/step, {tok_per_step / trl_step:,.0f} tokens/s "
              f"({total:.0f} s in all, start-up included)")
        print(f"plain loop: {plain_step:.3f} s/step, {tok_per_step / plain_step:,.0f} tokens/s")
        print(f"ratio (trl / plain tokens/s): {plain_step / trl_step:.2f}")
        print(f"plain loop at glibc's malloc defaults (run first): {default_step:.3f} s/step; freed memory kept "
              f"({'set' if kept else 'not available here'}): {plain_step / default_step:.2f}x the time a step")
        print(f"plain loop on length-grouped batches (sft_group_by_length): {grouped_step:.3f} s/step, "
              f"{padded_share(grouped, bs):.1%} padding against {padded_share(data, bs):.1%} in the pool's order "
              f"above: {grouped_step / plain_step:.2f}x the time a step")

        msgs = [e["prompt"] for e in ex[: a.users]]
        model.eval()
        t0 = time.perf_counter()
        student.generate(model, tok, msgs, p["gen_batch_size"], p["gen_max_new_tokens"])
        dt = time.perf_counter() - t0
        print(f"generate (untrained: every answer runs to {p['gen_max_new_tokens']} tokens): "
              f"{len(msgs) / dt:.1f} users/s")


if __name__ == "__main__":
    main()
