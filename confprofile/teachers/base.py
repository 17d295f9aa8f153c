"""The one interface every teacher backend implements.

A teacher turns chat prompts into raw text, ``n`` samples per prompt, batched:

>>> class Echo(Teacher):
...     name, cache_id = "echo", "echo-v1"
...     def generate(self, messages_batch, n, temperature, seed):
...         return [[m[-1]["content"][:5]] * n for m in messages_batch]
>>> Echo().generate([[{"role": "user", "content": "hello world"}]], n=2, temperature=0.0, seed=0)
[['hello', 'hello']]

Outputs are parsed later (``confprofile.parsing``), the same way for every backend, so a CPU
annotator and a 70B model are compared on equal terms.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Teacher(ABC):
    """Base class for teachers.

    Attributes:
        name: short stable name, used in the annotation table and cache file names.
        cache_id: everything that changes outputs (model id, version, decoding options); part of
            every cache key. Never holds secrets.
        batch_size: how many prompts ``synthesis`` hands to one ``generate`` call (one cache
            flush per call).
        independent_samples: True when sample ``i`` does not depend on ``n`` (each sample has its
            own seed), so raising ``n`` later reuses samples ``0..n-1`` from the cache.
        max_users: annotate only this many users (slow teachers on CPU); None = all.
    """

    name: str = "teacher"
    cache_id: str = "teacher"
    batch_size: int = 64
    independent_samples: bool = False
    max_users: int | None = None

    @abstractmethod
    def generate(self, messages_batch: list[list[dict]], n: int, temperature: float, seed: int) -> list[list[str]]:
        """Raw text outputs: one list of ``n`` strings per prompt, in prompt order."""

    def close(self) -> None:
        """Release models, engines or connections (optional)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, cache_id={self.cache_id!r})"
