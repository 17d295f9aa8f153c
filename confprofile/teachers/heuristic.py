"""The ``heuristic`` teacher: a "persona" annotator with its own stereotypes.

What it reads: the record and the taxonomy's cue words (trusted less than its own judgement),
plus its persona in ``heuristic.yaml``: stereotypes about phone prices, city tiers, nicknames
("mama", "bro"), and what people of an age or occupation watch, as a human annotator might
hold them. They are mostly single topical words ("nurse", "harvest", "coupon"), not the
generator's phrases, but the generator's phrases use the same everyday words: 151 of the 271
alternatives of its rule regexes occur inside some generator statement or signal, and 3 are a
whole generator phrase ("grandchild", "pension", "school district"; ``tests/test_teacher_phrases.py``
bounds that count). It also reads birth years in nicknames, night activity and early rising. It
always answers, leans toward the classes it believes common, and is overconfident.
"""

from __future__ import annotations

import re

import numpy as np

from confprofile.teachers.cpu import (
    AGE_BRACKETS,
    SECTION_WEIGHT,
    CPUTeacher,
    Judgement,
    age_from_birth_year,
    age_label,
    load_table,
    parse_activity,
)

_PERSONA = load_table("heuristic")
"""``rules``: (regex, attribute, label, weight, why); ``prior``: the class it believes most common."""

# what it reads into activity hours: (attribute, label, weight)
_NIGHT = (("occupation", "healthcare", 1.0), ("occupation", "manufacturing", 0.7), ("occupation", "student", 0.7),
          ("age", "18_24", 0.6), ("life_stage", "student", 0.5))
_EARLY = (("age", "55_plus", 0.6), ("occupation", "retired", 0.6))
_DAYTIME = (("occupation", "homemaker", 0.4), ("occupation", "retired", 0.4))


class HeuristicTeacher(CPUTeacher):
    """A persona annotator: own world knowledge plus the taxonomy cues; prior-biased, overconfident."""

    name = "heuristic"
    prior_bias = 1.0  # logit added to the persona's believed-majority class
    cue_weight = 0.6  # it read the annotation guidelines, but trusts its own judgement more

    def __init__(self, taxonomy=None, name=None, max_users=None):
        super().__init__(taxonomy, name, max_users)
        self._rules = []
        names = set(self.taxonomy.names)
        for pat, attr, lab, w, why in _PERSONA["rules"]:
            if attr in names and lab in self.taxonomy[attr].labels:
                self._rules.append((re.compile(pat, re.I), attr, self.taxonomy[attr].labels.index(lab), w, why))
        for attr in self.taxonomy:
            for li, lab in enumerate(attr.label_specs):
                for cue in lab.cues:
                    pat = re.compile(r"(?<![\w'])" + re.escape(cue) + r"(?![\w'])", re.I)
                    self._rules.append((pat, attr.name, li, self.cue_weight, f'"{cue}"'))
        self._year = re.compile(r"(?<!\d)(19[5-9]\d|20[01]\d)(?!\d)")
        self.report_unknown_labels([(attr, lab) for _, attr, lab, _, _ in _PERSONA["rules"]]
                                   + list(_PERSONA["prior"].items())
                                   + [(attr, lab) for attr, lab, _ in _NIGHT + _EARLY + _DAYTIME]
                                   + [("age", lab) for _, lab in AGE_BRACKETS])

    def judge(self, items):
        logits = {a.name: np.zeros(len(a.labels)) for a in self.taxonomy}
        ev: dict[str, dict[int, list[str]]] = {a.name: {} for a in self.taxonomy}
        strength = {a.name: 0.0 for a in self.taxonomy}

        def add(attr, li, w, why):
            if attr not in logits:
                return
            logits[attr][li] += w
            strength[attr] += abs(w)
            q = ev[attr].setdefault(li, [])
            if len(q) < 2 and why not in q:
                q.append(why)

        for section, item in items:
            sw = SECTION_WEIGHT.get(section, 1.0)
            for pat, attr, li, w, why in self._rules:
                if pat.search(item):
                    add(attr, li, w * sw ** 0.5, f'{section} "{item[:50]}": {why}')
            if section == "nickname" and "age" in logits:
                y = self._year.search(item)
                if y:
                    lab = age_label(age_from_birth_year(int(y.group(1))))
                    if lab in self.taxonomy["age"].labels:
                        add("age", self.taxonomy["age"].labels.index(lab), 2.0, f'nickname "{item}" looks like birth year {y.group(1)}')
            if section == "activity":
                night, hours = parse_activity(item)
                if night >= 0.2:
                    why = f"activity: {night:.0%} of sessions at night"
                    for attr, lab, w in _NIGHT:
                        if attr in logits and lab in self.taxonomy[attr].labels:
                            add(attr, self.taxonomy[attr].labels.index(lab), w, why)
                if hours and all(5 <= h <= 8 for h in hours[:1]) and night < 0.05:
                    for attr, lab, w in _EARLY:
                        if attr in logits and lab in self.taxonomy[attr].labels:
                            add(attr, self.taxonomy[attr].labels.index(lab), w, "early riser")
                if hours and sum(9 <= h <= 16 for h in hours) >= 2:
                    for attr, lab, w in _DAYTIME:
                        if attr in logits and lab in self.taxonomy[attr].labels:
                            add(attr, self.taxonomy[attr].labels.index(lab), w, "active during office hours")
        out = {}
        for attr in self.taxonomy:
            lg = logits[attr.name]
            prior = _PERSONA["prior"].get(attr.name)
            if prior in attr.labels:
                lg[attr.labels.index(prior)] += self.prior_bias
            evidence = {attr.labels[li]: "; ".join(q) for li, q in ev[attr.name].items()}
            out[attr.name] = Judgement(lg, evidence, strength[attr.name])
        return out

    def confidence(self, p, margin, strength):
        return 0.62 + 0.35 * p  # overconfident: never says below ~0.65, but still monotone in belief
