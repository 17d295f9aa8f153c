"""Simulated LLM teachers ("personas"): models of the simulated world with stated coverage and noise.

WHAT THEY ARE. The paper's stage 1 pools several advanced LLMs of broadly similar strength whose
errors differ. On CPU we cannot run such models, so each persona stands in for one: it reads a
PARTIAL, NOISY, SEEDED VIEW of the simulated world's associations (phrase -> label evidence),
the ones ProfileBench-Synth renders from. They are models of the generator's world, not
independent annotators; what keeps them from being the generator's lookup table is what they
are denied, and that is stated in their parameters:

- What they read: the record (as every CPU teacher does), and at construction time four tables
  of the generator's world in ``confprofile/bench_tables.yaml``: its phrase banks and phone list
  (first-person statements, behaviour signals, phones by price: the associations), its groups of
  confusable occupations (where a persona's confusions go) and its life stage given age (the
  shortcut below). So their "LLM-like" confusions and shortcut are the generator's own, not
  learned from any data. No phrase is copied into this file (``tests/test_teacher_phrases.py``);
  nothing else of the generator is read (not its clue mixes, sarcasm or spam templates, or any
  record's hidden profile).
- ``coverage``: the share of associations the persona knows, drawn per association from
  ``derive_seed(seed, persona, phrase)``; ``surface_coverage``: the share of known signals it
  also recognises when rendered as an account name ("LeetcodeDaily").
- ``confusion``: the share of known associations it files under a neighbouring label, the
  errors LLMs make: adjacent age brackets and education levels, related occupations (the
  world's confusable groups), neighbouring consumption levels and life stages.
- ``life_stage_from_age``: weight of the shortcut "life stage from age" (the most common life
  stage of the age bracket it believes in), applied whether or not the record says anything.
- ``shared_blind_spot`` (the mix's, with ``shared_seed``): what the personas get wrong TOGETHER,
  as LLMs trained on overlapping data do. A share of the world's associations, drawn from
  ``shared_seed`` alone, that no persona of the mix knows, and another share (the same size)
  that every persona knowing it files under the same wrong neighbouring label. With 0 the
  personas' blind spots are independent and their union knows nearly the whole world
  (``mix_view`` measures it); notebook 02 prints the union and how often their plurality is right.
- ``style``: confidence behaviour: ``overconfident`` (high whatever the evidence),
  ``calibrated`` (its belief), ``cautious`` (its belief, shrunk).

It does not know irony or reposts: sarcastic and forwarded statements fool it as they would a
literal reader. Several personas with different seeds and settings are the cpu profile's
comparable, imperfect teachers; their coverage and noise are profile parameters
(``teachers: {p1: {backend: persona, seed: 1, coverage: 0.5}}``).

>>> from confprofile.prompts import build_messages
>>> from confprofile.parsing import parse_output
>>> tax = load_taxonomy()
>>> t = PersonaTeacher(tax, coverage=1.0, surface_coverage=1.0, confusion=0.0)
>>> msgs = build_messages({"user_id": "u1", "follows": ["LeetcodeDaily"]}, tax)
>>> parse_output(t.generate([msgs], n=1, temperature=0.0, seed=0)[0][0], tax)["occupation"].label
'it_internet'
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from confprofile.provenance import derive_seed
from confprofile.taxonomy import load_taxonomy
from confprofile.teachers.cpu import (
    SECTION_WEIGHT,
    CPUTeacher,
    Judgement,
    age_from_birth_year,
    age_label,
)

WORLD_PATH = Path(__file__).parents[1] / "bench_tables.yaml"
"""The simulated world's associations (the same file the generator renders from)."""
STYLES = ("overconfident", "calibrated", "cautious")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def world(path: str = str(WORLD_PATH)) -> dict:
    """The world's association tables: phrase banks, phones, confusable occupation groups."""
    with open(path, encoding="utf-8") as f:
        w = yaml.safe_load(f)
    return {k: w[k] for k in ("explicit", "signals", "devices", "confusable_occupations", "life_stage_given_age")}


def _squash(text: str) -> str:
    """Lower-case letters and digits only, so an account name ("CamelCaseName") and its phrase meet."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _template_regex(phrase: str) -> re.Pattern:
    """A statement template as a regex on lower-cased text; ``{n}``/``{year}`` captured as numbers."""
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(phrase):
        out.append(re.escape(phrase[pos:m.start()].lower()))
        out.append(r"(?P<%s>\d{1,4})" % m.group(1) if m.group(1) in ("n", "year") else r"\w+")
        pos = m.end()
    out.append(re.escape(phrase[pos:].lower()))
    return re.compile("".join(out))


class PersonaTeacher(CPUTeacher):
    """A simulated LLM teacher over a seeded, partial, noisy view of the world's associations."""

    name = "persona"
    abstains = True  # no association found: "unknown", as an LLM allowed to say so would

    def __init__(self, taxonomy=None, name=None, max_users=None, seed: int = 0, coverage: float = 0.5,
                 surface_coverage: float = 0.5, confusion: float = 0.15, life_stage_from_age: float = 0.5,
                 style: str = "calibrated", shared_blind_spot: float = 0.0, shared_seed: int = 0,
                 world_path: str | Path = WORLD_PATH):
        super().__init__(taxonomy, name, max_users)
        if style not in STYLES:
            raise ValueError(f"persona {self.name!r}: style must be one of {STYLES}, got {style!r}")
        for key, v in (("coverage", coverage), ("surface_coverage", surface_coverage), ("confusion", confusion),
                       ("shared_blind_spot", shared_blind_spot)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"persona {self.name!r}: {key} must be in [0, 1], got {v}")
        self.seed, self.coverage, self.surface_coverage, self.confusion = seed, coverage, surface_coverage, confusion
        self.life_stage_from_age, self.style = life_stage_from_age, style
        self.shared_blind_spot, self.shared_seed = shared_blind_spot, shared_seed
        self.settings = dict(seed=seed, coverage=coverage, surface_coverage=surface_coverage, confusion=confusion,
                             life_stage_from_age=life_stage_from_age, style=style,
                             shared_blind_spot=shared_blind_spot, shared_seed=shared_seed, world_path=world_path)
        self.cache_id += (f"-persona-s{seed}-c{coverage}-f{surface_coverage}-x{confusion}"
                          f"-l{life_stage_from_age}-{style}")
        if shared_blind_spot:
            self.cache_id += f"-b{shared_blind_spot}-m{shared_seed}"
        self.view: dict[tuple, str] = {}  # association -> the label it is filed under (what mix_view reads)
        self._attr = {a.name: i for i, a in enumerate(self.taxonomy)}
        self._labels = [a.labels for a in self.taxonomy]
        self._signals: list[tuple[str, bool, int, int, float]] = []  # (squashed phrase, as account, attr, label, w)
        self._statements: list[tuple[re.Pattern, int, int, float]] = []
        self._build(world(str(world_path)))

    # -- the persona's view of the world ---------------------------------------------------------
    def _draw(self, *keys) -> float:
        return np.random.default_rng(derive_seed(self.seed, "persona", *keys)).random()

    def _shared(self, *keys) -> float:
        """A draw every persona of the mix makes alike (``shared_seed``, not its own seed)."""
        return np.random.default_rng(derive_seed(self.shared_seed, "persona mix", *keys)).random()

    def _knows(self, *association) -> bool:
        if self._shared("blind", *association) < self.shared_blind_spot:
            return False  # nobody in the mix knows it
        return self._draw("knows", *association) < self.coverage

    def _neighbours(self, attr: str, label: str, w: dict) -> list[str]:
        labels = list(self.taxonomy[attr].labels)
        if attr == "occupation":
            group = next((g for g in w["confusable_occupations"] if label in g), [label])
            return [lab for lab in group if lab != label and lab in labels]
        if attr == "gender":
            return []  # LLMs rarely swap an explicit gender
        i = labels.index(label)
        return [labels[j] for j in (i - 1, i + 1) if 0 <= j < len(labels)]

    def _believed(self, attr: str, label: str, phrase: str, w: dict) -> str:
        """The label this persona files an association under (its confusions, seeded)."""
        near = self._neighbours(attr, label, w)
        if near and self._shared("confuse", attr, label, phrase) < self.shared_blind_spot:
            return near[int(self._shared("which", attr, label, phrase) * len(near))]  # the mix's shared error
        if near and self._draw("confuse", attr, label, phrase) < self.confusion:
            return near[int(self._draw("which", attr, label, phrase) * len(near))]
        return label

    def _build(self, w: dict) -> None:
        for kind, weight in (("explicit", 2.0), ("signals", 1.0)):
            for attr, by_label in w[kind].items():
                if attr not in self._attr:
                    continue
                for label, phrases in by_label.items():
                    if label != "*" and label not in self.taxonomy[attr].labels:
                        continue
                    for phrase in phrases:
                        if not self._knows(kind, attr, label, phrase):
                            continue
                        ai = self._attr[attr]
                        believed = label if label == "*" else self._believed(attr, label, phrase, w)
                        self.view[(kind, attr, label, phrase)] = believed
                        if "{" in phrase:  # a template: "{n} this year ..." (label "*": from the number)
                            li = -1 if label == "*" else self.taxonomy[attr].labels.index(believed)
                            self._statements.append((_template_regex(phrase), ai, li, weight))
                            continue
                        li = self.taxonomy[attr].labels.index(believed)
                        as_account = self._draw("surface", phrase) < self.surface_coverage
                        self._signals.append((_squash(phrase), as_account, ai, li, weight))
        if "consumption_level" in self._attr:
            ai = self._attr["consumption_level"]
            for level, phones in w["devices"].items():
                for phone in phones:
                    if level in self._labels[ai] and self._knows("device", phone):
                        believed = self._believed("consumption_level", level, phone, w)
                        self.view[("devices", "consumption_level", level, phone)] = believed
                        self._signals.append((_squash(phone), False, ai, self._labels[ai].index(believed), 1.0))
        self._stage_of_age = {}
        if "life_stage" in self._attr and "age" in self._attr:
            for age, dist in w["life_stage_given_age"].items():
                stage = max(dist, key=dist.get)
                if age in self.taxonomy["age"].labels and stage in self.taxonomy["life_stage"].labels:
                    self._stage_of_age[self.taxonomy["age"].labels.index(age)] = \
                        self.taxonomy["life_stage"].labels.index(stage)

    # -- reading a record --------------------------------------------------------------------
    def judge(self, items):
        logits = [np.zeros(len(a.labels)) for a in self.taxonomy]
        strength = np.zeros(len(self.taxonomy))
        ev: list[dict[int, str]] = [{} for _ in self.taxonomy]

        def add(ai, li, w, why):
            logits[ai][li] += w
            strength[ai] += w
            ev[ai].setdefault(li, why)

        for section, item in items:
            sw = SECTION_WEIGHT.get(section, 1.0)
            squashed, low = _squash(item), item.lower()
            account = section == "follows"
            for phrase, as_account, ai, li, w in self._signals:
                if phrase in squashed and (as_account or not account):
                    add(ai, li, w * sw, f'{section} "{item[:60]}"')
            for rx, ai, li, w in self._statements:
                m = rx.search(low)
                if not m:
                    continue
                if li < 0:
                    said = m.groupdict()
                    age = (age_from_birth_year(int(said["year"])) if said.get("year") else
                           int(said["n"]) if said.get("n") else None)
                    lab = age_label(age) if age is not None else None
                    if lab is None or lab not in self._labels[ai]:
                        continue
                    li = self._labels[ai].index(lab)
                add(ai, li, w * sw, f'{section} "{item[:60]}"')
        if self._stage_of_age and self.life_stage_from_age > 0:
            age_i, stage_i = self._attr["age"], self._attr["life_stage"]
            if strength[age_i] > 0:
                li = self._stage_of_age.get(int(np.argmax(logits[age_i])))
                if li is not None:
                    add(stage_i, li, self.life_stage_from_age, "typical for the age it looks like")
        return {attr.name: Judgement(logits[ai], {attr.labels[li]: why for li, why in ev[ai].items()},
                                     float(strength[ai]))
                for ai, attr in enumerate(self.taxonomy)}

    def confidence(self, p, margin, strength):
        if self.style == "overconfident":
            return 0.75 + 0.24 * p
        if self.style == "cautious":
            return 0.8 * p * strength / (strength + 1.0)
        return p


def mix_view(teachers, shared_blind_spot: float | None = None) -> dict:
    """How much of the world the personas among ``teachers`` reconstruct together, over every
    association of the world file their taxonomy has (phrases and phones); ``{}`` without a
    persona. ``shared_blind_spot``: the same personas rebuilt with this shared blind spot
    instead of their own (0: what independent blind spots would give).

    - ``union_coverage``: the share that at least one persona knows;
    - ``plurality_correct``: the share whose plurality among the personas that know it is the
      world's own label, alone at the top (an association nobody knows counts as not correct);
    - ``coverage``: each persona's own share.

    What a vote of these teachers could at best recover; measured in notebook 02.

    >>> tax = load_taxonomy()
    >>> one = mix_view([PersonaTeacher(tax, coverage=1.0, confusion=0.0)])
    >>> one["union_coverage"] == one["plurality_correct"] == 1.0
    True
    >>> together = [PersonaTeacher(tax, seed=s, coverage=0.8, shared_blind_spot=0.2) for s in (1, 2, 3)]
    >>> mix_view(together, shared_blind_spot=0.0)["union_coverage"] > 0.98 > 0.85 > mix_view(together)["union_coverage"]
    True
    >>> mix_view([])
    {}
    """
    personas = [t for t in teachers if isinstance(t, PersonaTeacher)]
    if not personas:
        return {}
    if shared_blind_spot is not None:
        personas = [PersonaTeacher(p.taxonomy, p.name, **{**p.settings, "shared_blind_spot": shared_blind_spot})
                    for p in personas]
    w = world(str(personas[0].settings["world_path"]))
    tax = personas[0].taxonomy
    truth = {(kind, attr, label, phrase): label for kind in ("explicit", "signals")
             for attr, by_label in w[kind].items() if attr in tax.names
             for label, phrases in by_label.items() if label == "*" or label in tax[attr].labels
             for phrase in phrases}
    if "consumption_level" in tax.names:
        truth.update({("devices", "consumption_level", level, phone): level for level, phones in w["devices"].items()
                      if level in tax["consumption_level"].labels for phone in phones})
    known = correct = 0
    for key, label in truth.items():
        votes = [p.view[key] for p in personas if key in p.view]
        known += bool(votes)
        top = sorted(((votes.count(v), v) for v in set(votes)), reverse=True)
        correct += bool(top) and top[0][1] == label and (len(top) == 1 or top[1][0] < top[0][0])
    n = len(truth)
    return {"associations": n, "union_coverage": known / n, "plurality_correct": correct / n,
            "coverage": {p.name: sum(k in p.view for k in truth) / n for p in personas}}


__all__ = ["PersonaTeacher", "STYLES", "WORLD_PATH", "mix_view", "world"]
