"""vLLM offline engine backend (gpu profile): ``LLM.chat`` with ``SamplingParams(n, temperature, seed)``.

Structured JSON output constrains every answer to the taxonomy's schema (``prompts.json_schema``)
where the installed vLLM supports it: ``StructuredOutputsParams(json=...)`` (vLLM >= 0.10.2; the
only API from 0.12), else ``GuidedDecodingParams(json=...)`` (older releases), else free text
(parsing still copes). vLLM is imported only when the engine is built.

>>> t = VLLMTeacher("Qwen/Qwen3-8B", taxonomy=tax, tensor_parallel_size=2)   # doctest: +SKIP
>>> t.generate([messages], n=5, temperature=0.7, seed=0)                      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from confprofile.prompts import json_schema, prompt_hash
from confprofile.provenance import derive_seed
from confprofile.taxonomy import Taxonomy, load_taxonomy
from confprofile.teachers.base import Teacher


def structured_params(schema: dict) -> dict:
    """SamplingParams kwargs that constrain output to ``schema`` on the installed vLLM ({} if none)."""
    try:
        from vllm.sampling_params import StructuredOutputsParams

        return {"structured_outputs": StructuredOutputsParams(json=schema)}
    except ImportError:
        pass
    try:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(json=schema)}
    except ImportError:
        return {}


class VLLMTeacher(Teacher):
    """A model served by the vLLM offline engine.

    Args:
        model: hub id or local path (from the gpu profile's parameter file).
        structured: constrain output to the taxonomy's JSON schema where supported.
        enable_thinking: passed to the chat template (Qwen3); False keeps answers short.
        engine_kwargs: anything else for ``vllm.LLM`` (tensor_parallel_size, gpu_memory_utilization,
            max_model_len, dtype, ...).
    """

    independent_samples = False

    def __init__(self, model: str | Path, taxonomy: Taxonomy | str | Path | None = None, name: str | None = None,
                 max_tokens: int = 768, top_p: float = 0.95, structured: bool = True,
                 enable_thinking: bool = False, batch_size: int = 512, max_users: int | None = None,
                 **engine_kwargs):
        self.model = str(model)
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.name = name or Path(self.model).name.lower().replace("/", "_")
        self.max_tokens, self.top_p, self.structured = int(max_tokens), float(top_p), bool(structured)
        self.enable_thinking, self.batch_size, self.max_users = enable_thinking, int(batch_size), max_users
        self.engine_kwargs = engine_kwargs
        self._llm = None
        self._version = None
        self.cache_id = (f"vllm:{self.model}:max{self.max_tokens}:top_p{self.top_p}:structured{self.structured}"
                         f":think{self.enable_thinking}")

    def _load(self):
        if self._llm is None:
            import vllm

            self._llm = vllm.LLM(model=self.model, **self.engine_kwargs)
            self._version = vllm.__version__

    def sampling_params(self, n: int, temperature: float, seed: int):
        from vllm import SamplingParams

        kw = structured_params(json_schema(self.taxonomy)) if self.structured else {}
        return SamplingParams(n=n, temperature=float(temperature), top_p=self.top_p if temperature > 0 else 1.0,
                              max_tokens=self.max_tokens, seed=seed, **kw)

    def generate(self, messages_batch, n, temperature, seed):
        self._load()
        # one seed per prompt (not per batch): a prompt's samples do not depend on its batch
        params = [self.sampling_params(n, temperature, derive_seed(seed, self.cache_id, prompt_hash(m)) % 2**31)
                  for m in messages_batch]
        outs = self._llm.chat(messages_batch, params, use_tqdm=False,
                              chat_template_kwargs={"enable_thinking": self.enable_thinking})
        return [[c.text for c in o.outputs] for o in outs]

    def close(self):
        self._llm = None
