"""The shared base of the CPU teachers (smoke and cpu profiles), one module per teacher beside it.

Each CPU teacher reads the rendered record inside the prompt (``prompts.record_text``) and the
taxonomy file (labels, descriptions, cue words), and answers in the JSON format an LLM is asked
for, so its output goes through ``parsing.parse_output`` like any model's. What each one knows
beyond that, and where that knowledge came from, is said in its own module:

- ``lexicon`` (``teachers/lexicon.py``): the taxonomy's cue words only; abstains without a cue.
- ``heuristic`` (``teachers/heuristic.py`` + ``heuristic.yaml``): a persona's stereotypes about
  phones, night activity, nicknames and what people watch; prior-biased and overconfident.
- ``embedding`` (``teachers/embedding.py``): the shipped all-MiniLM-L6-v2, cosine similarity
  between record items and label descriptions + cues.
- ``knowledge`` (``teachers/knowledge.py`` + ``knowledge.yaml``): A MODEL OF THE GENERATOR. Its
  phrase lists mirror ProfileBench-Synth's phrase banks, so it is near the supervised ceiling by
  lookup; it is not an independent teacher (``tests/test_teacher_phrases.py`` bounds the overlap).
- ``persona`` (``teachers/persona.py``): A SIMULATED LLM TEACHER, a model of the generator's world
  by design: a seeded, partial, noisy view of the world's associations, read at run time from
  ``confprofile/bench_tables.yaml`` (coverage, confusions and confidence style are parameters).

This module holds what they share: section parsing, the taxonomy cue index, sampling and JSON
writing, reading the activity summary, and age brackets.

Sampling: a teacher scores every label (logits), then for sample ``i`` draws the label from
``softmax(logits / temperature)`` with a seed from ``derive_seed(seed, teacher, user, i)``;
temperature 0 is argmax. Sample ``i`` does not depend on ``n`` or on batching.

>>> from confprofile.prompts import build_messages
>>> from confprofile.parsing import parse_output
>>> from confprofile.teachers.lexicon import LexiconTeacher
>>> tax = load_taxonomy()
>>> msgs = build_messages({"user_id": "u1", "bio": "nurse on night shift at the ward"}, tax)
>>> out = LexiconTeacher(tax).generate([msgs], n=1, temperature=0.0, seed=0)[0][0]
>>> parse_output(out, tax)["occupation"].label
'healthcare'
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from confprofile.prompts import record_text
from confprofile.provenance import rng
from confprofile.taxonomy import UNKNOWN, Taxonomy, load_taxonomy
from confprofile.teachers.base import Teacher

CPU_TEACHER_VERSION = 1
"""Bumped whenever a CPU teacher's rules change; part of its ``cache_id``."""

# Where a clue appears says how much an annotator trusts it (self-description beats a follow).
SECTION_WEIGHT = {"bio": 2.0, "nickname": 1.5, "comments": 1.5, "posted videos": 1.2, "searches": 1.0,
                  "watched": 0.7, "follows": 0.7, "device": 1.0, "location": 1.0, "activity": 1.0}


@dataclass
class Judgement:
    """A teacher's belief about one attribute: a logit per label and the evidence behind each."""

    logits: np.ndarray
    evidence: dict[str, str] = field(default_factory=dict)
    strength: float = 0.0  # total evidence weight; 0 = nothing found


def parse_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``(user_id, [(section, item), ...])`` from a rendered record; lists split into items.

    >>> parse_sections('User u1\\nBio: a nurse\\nSearches: x | y ... (+3 more)')
    ('u1', [('bio', 'a nurse'), ('searches', 'x'), ('searches', 'y')])
    """
    uid, items = "", []
    for line in text.splitlines():
        if line.startswith("User ") and not uid:
            uid = line[5:].strip()
            continue
        if ": " not in line:
            continue
        section, content = line.split(": ", 1)
        section = section.strip().lower()
        content = re.sub(r" \.\.\. \(\+\d+ more\)$", "", content)
        parts = content.split(" | ") if section in ("posted videos", "watched", "comments", "searches", "follows") else [content]
        items.extend((section, p.strip().strip('"')) for p in parts if p.strip())
    return uid, items


def cue_index(taxonomy: Taxonomy) -> tuple[dict[str, list[tuple[int, int]]], re.Pattern]:
    """The taxonomy's cue words: ``({cue: [(attr index, label index)]}, one regex matching any cue)``.

    >>> where, rx = cue_index(load_taxonomy())
    >>> rx.search("long night shift").group(1), where["night shift"]
    ('night shift', [(2, 4)])
    """
    where: dict[str, list[tuple[int, int]]] = {}
    for ai, attr in enumerate(taxonomy):
        for li, lab in enumerate(attr.label_specs):
            for cue in lab.cues:
                where.setdefault(cue.lower(), []).append((ai, li))
    cues = sorted(where, key=len, reverse=True)  # longest first: "night shift" before "shift"
    return where, re.compile(r"(?<![\w'])(" + "|".join(map(re.escape, cues)) + r")(?![\w'])", re.I)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


class CPUTeacher(Teacher):
    """Shared sampling and JSON writing; subclasses implement ``judge`` (one record's beliefs)."""

    batch_size = 256
    independent_samples = True
    abstains = False  # answer "unknown" when no evidence was found (where allowed)

    def __init__(self, taxonomy: Taxonomy | str | Path | None = None, name: str | None = None,
                 max_users: int | None = None):
        self.max_users = max_users
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        if name:
            self.name = name
        self.cache_id = f"{type(self).__name__}-v{CPU_TEACHER_VERSION}-{self.taxonomy.name}-v{self.taxonomy.version}"

    # -- to implement -------------------------------------------------------------------------
    def judge(self, items: list[tuple[str, str]]) -> dict[str, Judgement]:
        raise NotImplementedError

    def judge_batch(self, batch: list[list[tuple[str, str]]]) -> list[dict[str, Judgement]]:
        return [self.judge(items) for items in batch]

    def confidence(self, p: float, margin: float, strength: float) -> float:
        """Reported confidence for a chosen label with belief ``p`` (softmax at T=1)."""
        return p

    # -- shared -------------------------------------------------------------------------------
    def report_unknown_labels(self, refs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Warn once (at construction, so once per run) about the ``(attribute, label)`` names of
        this teacher's built-in rules that the taxonomy lacks: those rules are off. Returns them.

        Rules match by name, so on a taxonomy of your own a rule whose names happen to exist there
        (say ``gender``/``female``) still fires as written, whatever the label means in your data:
        a known limitation, said in the warning; rename the label to switch such a rule off.

        >>> from confprofile.taxonomy import parse_taxonomy
        >>> tax = parse_taxonomy({"attributes": {"gender": {"labels": {
        ...     "female": {"description": "f"}, "other": {"description": "o"}}}}})
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     off = CPUTeacher(tax).report_unknown_labels([("gender", "female"), ("gender", "male"), ("age", "55_plus")])
        >>> off
        [('age', '55_plus'), ('gender', 'male')]
        >>> print(w[0].message)  # doctest: +NORMALIZE_WHITESPACE
        teacher: 2 of 3 built-in rule targets are not in taxonomy 'taxonomy' and are off: age (no such
        attribute), gender.male; 1 that match by name fire as written: gender.female
        """
        refs = list(refs)
        off = sorted({(a, lab) for a, lab in refs if a not in self.taxonomy.names or lab not in self.taxonomy[a].labels})
        if off:
            firing = sorted({(a, lab) for a, lab in refs} - set(off))
            gone = sorted({a for a, _ in off if a not in self.taxonomy.names})
            what = [f"{a} (no such attribute)" for a in gone] + [f"{a}.{lab}" for a, lab in off if a not in gone]
            n_off = sum(1 for r in refs if r in set(off))
            warnings.warn(f"{self.name}: {n_off} of {len(refs)} built-in rule targets are not in taxonomy "
                          f"'{self.taxonomy.name}' and are off: {', '.join(what)}; {len(firing)} that match by name "
                          f"fire as written: {', '.join(f'{a}.{lab}' for a, lab in firing) or 'none'}",
                          UserWarning, stacklevel=3)
        return off

    def generate(self, messages_batch, n, temperature, seed):
        parsed = [parse_sections(record_text(m)) for m in messages_batch]
        judgements = self.judge_batch([items for _, items in parsed])
        out = []
        for (uid, _), judged in zip(parsed, judgements):
            out.append([self._answer(judged, temperature, rng(seed, self.name, uid, i))
                        for i in range(n)])
        return out

    def _answer(self, judged: dict[str, Judgement], temperature: float, gen: np.random.Generator) -> str:
        answer = {}
        for attr in self.taxonomy:
            j = judged[attr.name]
            if j.strength <= 0 and self.abstains and attr.allow_unknown:
                answer[attr.name] = {"label": UNKNOWN, "confidence": 0.1, "rationale": "no evidence in the record"}
                continue
            belief = softmax(j.logits)
            if temperature <= 0:
                k = int(np.argmax(j.logits))
            else:
                k = int(gen.choice(len(belief), p=softmax(j.logits / temperature)))
            others = np.delete(j.logits, k)
            margin = float(j.logits[k] - others.max()) if len(others) else 0.0
            conf = float(np.clip(self.confidence(float(belief[k]), margin, j.strength), 0.01, 0.99))
            lab = attr.labels[k]
            answer[attr.name] = {"label": lab, "confidence": round(conf, 2),
                                 "rationale": j.evidence.get(lab) or "no direct evidence; a guess from what is typical"}
        return json.dumps(answer, ensure_ascii=False)


CURRENT_YEAR: int = yaml.safe_load((Path(__file__).parents[1] / "today.yaml").read_text(encoding="utf-8"))["year"]
""""Today" in the simulated world (``confprofile/today.yaml``, the one place it is set; the
generator reads the same file). Birth years in records are read against it."""

AGE_BRACKETS = ((18, "under_18"), (25, "18_24"), (35, "25_34"), (45, "35_44"), (55, "45_54"), (200, "55_plus"))
"""``(upper bound, age label)``: the taxonomy's age brackets, as any reader of its descriptions knows them."""


def age_label(age: int) -> str | None:
    """The age bracket of an age in years (None outside 5-100: not a person's age).

    >>> age_label(34), age_label(35), age_label(101)
    ('25_34', '35_44', None)
    """
    if not 5 <= age <= 100:
        return None
    return next(name for bound, name in AGE_BRACKETS if age < bound)


def age_from_birth_year(year: int) -> int:
    """Age in years of someone born in ``year``, this year (``CURRENT_YEAR``: an LLM knows the date).

    >>> age_from_birth_year(CURRENT_YEAR - 30)
    30
    """
    return CURRENT_YEAR - year


def parse_activity(text: str) -> tuple[float, list[int]]:
    """``(share of sessions 00-06h, peak hours)`` from the rendered activity summary.

    >>> parse_activity("most active at 06h, 07h, 19h; 3% of sessions 00-06h")
    (0.03, [6, 7, 19])
    """
    m = re.search(r"(\d+)% of sessions 00-06h", text)
    night = int(m.group(1)) / 100 if m else 0.0
    return night, [int(h) for h in re.findall(r"(\d\d)h", text.split(";")[0])]


def load_table(name: str) -> dict:
    """A teacher's data file ``teachers/<name>.yaml`` (its rules and priors)."""
    with open(Path(__file__).with_name(f"{name}.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


__all__ = ["CPUTeacher", "Judgement", "SECTION_WEIGHT", "parse_sections", "cue_index", "softmax", "age_label",
           "age_from_birth_year", "parse_activity", "load_table"]
