"""The ``lexicon`` teacher: a literal annotator that knows only the taxonomy's cue words.

It counts cue words per label, weighted by where they appear (a bio outweighs a follow);
confidence comes from the evidence margin; it answers ``unknown`` when it finds no cue (high
precision, low recall). It reads nothing but the record and the taxonomy file.
"""

from __future__ import annotations

import numpy as np

from confprofile.teachers.cpu import SECTION_WEIGHT, CPUTeacher, Judgement, cue_index


class LexiconTeacher(CPUTeacher):
    """Taxonomy cue words only, counted per label and weighted by section."""

    name = "lexicon"
    abstains = True
    beta = 1.2  # logit per unit of weighted evidence

    def __init__(self, taxonomy=None, name=None, max_users=None):
        super().__init__(taxonomy, name, max_users)
        self._where, self._re = cue_index(self.taxonomy)

    def judge(self, items):
        counts = [np.zeros(len(a.labels)) for a in self.taxonomy]
        ev: list[dict[int, list[str]]] = [{} for _ in self.taxonomy]
        for section, item in items:
            w = SECTION_WEIGHT.get(section, 1.0)
            for m in self._re.finditer(item):
                cue = m.group(1).lower()
                for ai, li in self._where[cue]:
                    counts[ai][li] += w
                    quotes = ev[ai].setdefault(li, [])
                    if len(quotes) < 2:
                        quotes.append(f'{section} mentions "{cue}"')
        out = {}
        for ai, attr in enumerate(self.taxonomy):
            evidence = {attr.labels[li]: "; ".join(q) for li, q in ev[ai].items()}
            out[attr.name] = Judgement(self.beta * counts[ai], evidence, float(counts[ai].sum()))
        return out

    def confidence(self, p, margin, strength):
        # a clear margin of explicit cues -> high; a single weak cue or a tie -> low
        return 0.35 + 0.5 * (1 - np.exp(-max(margin, 0.0) / 1.5)) + 0.1 * min(strength, 4) / 4 - (0.2 if margin < 0 else 0)
