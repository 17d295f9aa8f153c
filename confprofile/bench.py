"""ProfileBench-Synth: a seeded generator of short-video users with hidden profiles.

The paper evaluates on ProfileBench, an industrial benchmark from Douyin that was never
released. This module is OUR stand-in for it (every table and phrase, in ``bench_tables.yaml``,
is our reconstruction, not the paper's): English text so English models can read it, the same
record format (``confprofile.records``) and the six-attribute taxonomy of ``taxonomy.yaml``.
(Length: about 270 lines of code; the rest is this documentation of every modelling choice and
the doctests, which is why the module runs past the package's ~450-line guide.)

What it models
  * A realistic *joint* distribution of the six attributes: imbalanced marginals (gender about
    55/45, age skewed to 18-34, a long-tailed occupation, consumption mostly medium) and the
    correlations age -> life stage -> occupation -> education -> city tier -> consumption
    (pupils are under 18 and students, retired users are 55+, postgraduates are rare on farms).
  * Heterogeneous, partly missing fields: nickname, bio, posts, watch history, comments,
    searches, follows, device, location and hourly activity; lurkers post nothing.
  * Per user and attribute a *clue strength* that decides what evidence is rendered:
    ``explicit`` (a first-person statement), ``strong`` (several consistent behaviours),
    ``weak`` (one item, possibly beside an item pointing at a neighbouring class), ``none``
    (nothing; the taxonomy's cue words for that attribute are kept out of the whole record) and
    ``misleading`` (a shared account, sarcasm, reposted spam, or content of another class).
    Phrase banks are richer than the taxonomy's ``cues`` and only partly overlap them, and every
    user gets generic filler (food, pets, travel) that dilutes the evidence.

What it cannot model
  * Real platform noise (bots, duplicated accounts, slang drift, typos at scale), real
    distribution shift between the training pool and the questionnaire-labelled test set,
    Chinese text, and multimodal content (video frames, audio, covers). The phrase banks are
    finite, so a large model can memorise them; results here rank methods, they do not
    predict numbers on the real ProfileBench.

Gold labels and clue strengths are returned apart from the records and written to their own
files (see ``docs/CONTRACTS.md``); no record field carries them.

>>> from confprofile.taxonomy import load_taxonomy
>>> records, gold = generate(3, seed=0, split="test", taxonomy=load_taxonomy())
>>> [r["user_id"] for r in records]
['test-00000', 'test-00001', 'test-00002']
>>> sorted(gold[0]["labels"]) == sorted(gold[0]["clues"])
True

Command line: ``python -m confprofile.bench --profile smoke --n-pool 300 --n-test 200 --seed 0``.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import yaml

from confprofile import paths, provenance, records
from confprofile.errors import ConfProfileError, TaxonomyError, run_cli
from confprofile.taxonomy import Taxonomy, load_taxonomy

STRENGTHS = ("explicit", "strong", "weak", "none", "misleading")

# --------------------------------------------------------------------------------------------
# The tables (OUR reconstruction) live in ``bench_tables.yaml`` beside this module, each with a
# comment saying what it is: the joint distribution, clue mixes, missing-field rates, phrase
# banks, filler, devices and daily rhythms. ``W.<table>`` reads one; lists load as tuples.
# --------------------------------------------------------------------------------------------
TABLES_PATH = Path(__file__).with_name("bench_tables.yaml")


class _TupleLoader(yaml.SafeLoader):
    """YAML sequences as tuples: the tables are constants."""


_TupleLoader.add_constructor("tag:yaml.org,2002:seq", lambda loader, node: tuple(loader.construct_sequence(node)))


def load_tables(path: str | Path = TABLES_PATH) -> SimpleNamespace:
    """The generator's tables, one attribute per top-level key of the YAML file.

    >>> load_tables().age_years["25_34"]
    (25, 34)
    """
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_TupleLoader)  # noqa: S506 (safe loader)
    except (OSError, yaml.YAMLError) as e:
        raise ConfProfileError(f"{path}: cannot read the generator's tables: {' '.join(str(e).split())}") from None
    if not isinstance(data, dict):
        raise ConfProfileError(f"{path}: expected a mapping of tables, got {type(data).__name__}")
    return SimpleNamespace(**data)


W = load_tables()
CURRENT_YEAR: int = yaml.safe_load(Path(__file__).with_name("today.yaml").read_text(encoding="utf-8"))["year"]
"""The year the records are set in (birth years are ``CURRENT_YEAR - age``), set once in
``today.yaml``, which the CPU teachers read too (an LLM knows today's date)."""
LOWER_TIER_PROVINCES = {k: v for k, v in W.provinces.items() if k not in ("Beijing", "Shanghai")}

# -- The joint distribution as pure functions (shared by sampling and by ``label_marginals``). ---

def _normalise(weights: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Drop zero weights and normalise.

    >>> _normalise({"a": 1, "b": 3, "c": 0})
    (('a', 'b'), (0.25, 0.75))
    """
    items = [(k, float(v)) for k, v in weights.items() if v > 0]
    total = sum(v for _, v in items)
    return tuple(k for k, _ in items), tuple(v / total for _, v in items)


@cache
def p_life_stage(age: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    return _normalise(W.life_stage_given_age[age])


@cache
def p_occupation(age: str, life_stage: str, gender: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Students study; everyone else works by age, tilted by gender.

    >>> p_occupation("under_18", "student", "male")[0]
    ('student', 'service_retail')
    """
    if life_stage == "student":
        return _normalise(W.occupation_given_studying)
    tilt = W.occupation_gender_tilt[gender]
    return _normalise({k: v * tilt.get(k, 1.0) for k, v in W.occupation_given_age[age].items()})


@cache
def p_education(age: str, life_stage: str, occupation: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Current level for users in education (part-time jobs included), else by occupation.

    >>> p_education("18_24", "student", "service_retail")[0]
    ('vocational', 'bachelor', 'postgraduate')
    """
    if age == "under_18" or (life_stage == "student" and age in W.student_education_given_age):
        return _normalise(W.student_education_given_age[age])
    return _normalise(dict(zip(W.education_levels, W.education_given_occupation[occupation])))


@cache
def p_city_tier(occupation: str, education: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    row = W.city_tier_of_farmers if occupation == "agriculture" else W.city_tier_given_education[education]
    return _normalise(dict(zip(W.city_tiers, row)))


@cache
def p_consumption(occupation: str, city_tier: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    tilt = W.consumption_occupation_tilt.get(occupation, (1.0, 1.0, 1.0))
    row = W.consumption_given_city_tier[city_tier]
    return _normalise({lab: p * t for lab, p, t in zip(W.consumption_levels, row, tilt)})


def _draw(rnd: random.Random, dist: tuple[tuple[str, ...], tuple[float, ...]]) -> str:
    return rnd.choices(dist[0], weights=dist[1])[0]


# Sampling order: each attribute's distribution given the ones drawn before it.
CHAIN = (
    ("age", lambda u: _normalise(W.age)),
    ("gender", lambda u: _normalise(W.gender)),
    ("life_stage", lambda u: p_life_stage(u["age"])),
    ("occupation", lambda u: p_occupation(u["age"], u["life_stage"], u["gender"])),
    ("education", lambda u: p_education(u["age"], u["life_stage"], u["occupation"])),
    ("city_tier", lambda u: p_city_tier(u["occupation"], u["education"])),
    ("consumption_level", lambda u: p_consumption(u["occupation"], u["city_tier"])),
)


def sample_latent(rnd: random.Random) -> dict[str, str]:
    """One user's hidden profile (the six attributes) plus their city tier.

    >>> sample_latent(random.Random(0))["gender"] in W.gender
    True
    """
    latent: dict[str, str] = {}
    for name, dist in CHAIN:
        latent[name] = _draw(rnd, dist(latent))
    return latent


def label_marginals() -> dict[str, dict[str, float]]:
    """Exact marginal label distribution implied by the tables (by enumerating ``CHAIN``).

    >>> round(label_marginals()["gender"]["female"], 2)
    0.55
    """
    out: dict[str, dict[str, float]] = {a: {} for a in W.clue_mix}

    def walk(step: int, latent: dict[str, str], p: float) -> None:
        if step < len(CHAIN):
            name, dist = CHAIN[step]
            for label, q in zip(*dist(latent)):
                if name in out:
                    out[name][label] = out[name].get(label, 0.0) + p * q
                walk(step + 1, {**latent, name: label}, p * q)

    walk(0, {}, 1.0)
    return out


# -- Evidence: what each clue strength renders. ------------------------------------------------

def _neighbours(attr: str, label: str, labels: Sequence[str]) -> tuple[str, ...]:
    """Labels easily confused with ``label``: adjacent ones for ordered attributes, the same
    occupation group for occupation.

    >>> _neighbours("age", "25_34", tuple(W.age))
    ('18_24', '35_44')
    """
    if attr == "occupation":
        group = next(g for g in W.confusable_occupations if label in g)
        return tuple(lab for lab in labels if lab in group and lab != label)
    i = labels.index(label)
    return tuple(labels[j] for j in (i - 1, i + 1) if 0 <= j < len(labels))


def _statement(attr: str, label: str, latent: Mapping[str, str], clues: Mapping[str, str], rnd: random.Random) -> str:
    """A first-person statement of ``label``, placeholders filled; gendered words stay neutral
    when the user gives no gender evidence."""
    template = rnd.choice(W.explicit[attr][label] + W.explicit[attr].get("*", ()))
    lo, hi = W.age_years[latent["age"]]
    n = rnd.randint(lo, hi)
    neutral = clues.get("gender") == "none"
    female = latent["gender"] == "female"
    return template.format(
        n=n, year=CURRENT_YEAR - n,
        parent="parent" if neutral else ("mom" if female else "dad"),
        spouse="partner" if neutral else ("husband" if female else "wife"),
        kid="kid" if neutral else rnd.choice(("son", "daughter")))


def _decoy(attr: str, label: str, labels: Sequence[str], kind: str, rnd: random.Random) -> str:
    """The class a misleading clue points at (a kid on a parent's phone, or a parent on a kid's)."""
    if kind == "shared_account" and attr in ("age", "life_stage"):
        young = {"age": "under_18", "life_stage": "student"}[attr]
        old = {"age": "55_plus", "life_stage": "empty_nest"}[attr]
        return young if label != young else old
    others = [lab for lab in labels if lab != label]
    return rnd.choice(others)


def evidence(attr: str, label: str, strength: str, labels: Sequence[str], latent: Mapping[str, str],
             clues: Mapping[str, str], rnd: random.Random) -> tuple[list[tuple[str, str]], str | None]:
    """Evidence items ``(kind, text)`` for one attribute (kinds as in ``_place``), and the
    label the user *appears* to have (None for no evidence), which drives device and rhythm.

    >>> items, shown = evidence("gender", "male", "strong", ("female", "male"), {}, {}, random.Random(1))
    >>> shown, len(items) >= 2, {k for k, _ in items}
    ('male', True, {'signal'})
    """
    def signals(lab: str, k: int) -> list[tuple[str, str]]:
        bank = W.signals[attr][lab]
        return [("signal", s) for s in rnd.sample(bank, min(k, len(bank)))]

    if strength == "explicit":
        items = [("statement", _statement(attr, label, latent, clues, rnd))]
        return items + signals(label, rnd.randint(0, 2)), label
    if strength == "strong":
        return signals(label, rnd.randint(2, 4)), label
    if strength == "weak":
        items = signals(label, 1) if rnd.random() < 0.8 else []
        near = _neighbours(attr, label, labels)
        if near and (not items or rnd.random() < 0.5):
            items += signals(rnd.choice(near), 1)
        return items, (label if items and rnd.random() < 0.5 else None)
    if strength == "misleading":
        kind = rnd.choice(W.misleading_kinds[attr])
        decoy = _decoy(attr, label, labels, kind, rnd)
        if kind == "sarcasm":
            said = _statement(attr, decoy, latent, clues, rnd)
            items = [("statement", rnd.choice(W.sarcasm).format(s=said))]
        elif kind == "spam":
            items = [("repost", rnd.choice(W.spam).format(s=s)) for _, s in signals(decoy, 2)]
        else:  # a shared account or content of another class
            items = signals(decoy, rnd.randint(2, 3))
        return items + (signals(label, 1) if rnd.random() < 0.35 else []), decoy
    return [], None


@cache
def _cue_pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """One case-insensitive whole-word regex for a set of cue phrases (None for no words)."""
    if not words:
        return None
    alts = sorted({re.escape(w.lower()) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])", re.IGNORECASE)


def cue_words(taxonomy: Taxonomy, attributes: Sequence[str]) -> tuple[str, ...]:
    """Every cue word of every label of ``attributes`` (sorted, for caching)."""
    return tuple(sorted({c for a in attributes for lab in taxonomy[a].label_specs for c in lab.cues}))


# -- Assembling a record. ----------------------------------------------------------------------

def _present(rnd: random.Random) -> set[str]:
    """Which optional fields this user has."""
    return {f for f, p in W.missing.items() if rnd.random() >= p}


def _activity(schedule: str, rnd: random.Random) -> list[int]:
    weights = [0.3 if 7 <= h <= 23 else 0.05 for h in range(24)]
    for h, w in W.schedules[schedule].items():
        weights[h] += w
    counts = [0] * 24
    for h in rnd.choices(range(24), weights=weights, k=rnd.randint(20, 160)):
        counts[h] += 1
    return counts


def _schedule(shown_occupation: str | None, latent: Mapping[str, str], rnd: random.Random) -> str:
    if shown_occupation is None:
        return "generic"
    if shown_occupation == "student":
        return "school" if latent["age"] == "under_18" else "uni"
    return rnd.choice(W.schedule_of_occupation[shown_occupation])


def _device(shown_level: str | None, rnd: random.Random) -> str:
    level = shown_level or _draw(rnd, _normalise(W.device_level_mix))
    return rnd.choice(W.devices[level])


def _location(city_tier: str, rnd: random.Random) -> dict:
    provinces = W.tier_1_provinces if city_tier == "tier-1" else LOWER_TIER_PROVINCES
    province = rnd.choices(list(provinces), weights=list(provinces.values()))[0]
    return {"province": province if rnd.random() > 0.1 else None,
    "city_tier": city_tier if rnd.random() > 0.2 else None}


def _nickname(latent: Mapping[str, str], clues: Mapping[str, str], rnd: random.Random) -> str:
    if clues["gender"] in ("explicit", "strong") and rnd.random() < 0.3:
        return rnd.choice(W.gendered_nicknames[latent["gender"]])
    if clues["age"] in ("explicit", "strong") and rnd.random() < 0.3:
        lo, hi = W.age_years[latent["age"]]
        return f"{rnd.choice(W.nicknames)}_{CURRENT_YEAR - rnd.randint(lo, hi)}"
    return rnd.choice(W.nicknames) + (str(rnd.randint(1, 999)) if rnd.random() < 0.6 else "")


def _camel(text: str) -> str:
    """An account name from a phrase.

    >>> _camel("leetcode daily")
    'LeetcodeDaily'
    """
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", text.replace("'", "")))


def _filler(present: set[str], rnd: random.Random) -> dict[str, list]:
    """Generic content every user has: it dilutes evidence and says nothing about the profile."""
    cats = list(W.filler_watch)
    out: dict[str, list] = {"watch_history": []}
    for _ in range(rnd.randint(8, 18)):
        cat = rnd.choice(cats)
        out["watch_history"].append({"category": cat, "title": rnd.choice(W.filler_watch[cat]),
                                     "watch_ratio": round(rnd.uniform(0.05, 1.0), 2)})
    if "posts" in present:
        out["posts"] = [{"title": t, "tags": rnd.sample(W.filler_tags, rnd.randint(0, 2))}
                        for t in rnd.sample(W.filler_posts, rnd.randint(1, 6))]
    for channel in ("comments", "searches", "follows"):
        if channel in present:
            out[channel] = rnd.sample(getattr(W, f"filler_{channel}"), rnd.randint(1, 6))
    return out


def _place(fields: dict[str, list], kind: str, text: str, present: set[str], rnd: random.Random) -> None:
    """Put one evidence item into a channel the user has (a statement may create ``comments``).

    Kinds: "statement" (bio, comment or post title), "signal" (search, watched title, post or
    followed account), "repost" (spam the user forwarded or watched: watch history, post, comment).
    """
    if kind == "statement":
        channels = [c for c in ("bio", "comments", "posts") if c in present] or ["comments"]
    elif kind == "repost":
        channels = ["watch_history"] + [c for c in ("posts", "comments") if c in present]
    else:
        channels = ["watch_history"] + [c for c in ("searches", "searches", "posts", "follows") if c in present]
    channel = rnd.choice(channels)
    if channel == "bio":
        fields.setdefault("bio", []).append(text)
        return
    if channel == "watch_history":
        item: object = {"category": rnd.choice(W.evidence_categories), "title": text,
                        "watch_ratio": round(rnd.uniform(0.55, 1.0), 2)}
    elif channel == "posts":
        item = {"title": text, "tags": rnd.sample(W.filler_tags, rnd.randint(0, 2))}
    elif channel == "follows":
        item = _camel(text)
    else:
        item = text
    items = fields.setdefault(channel, [])
    items.insert(rnd.randint(0, len(items)), item)


def make_user(uid: str, rnd: random.Random, taxonomy: Taxonomy) -> tuple[dict, dict]:
    """One record and its gold row, from one user's own random stream."""
    latent = sample_latent(rnd)
    clues = {a: rnd.choices(STRENGTHS, weights=W.clue_mix[a])[0] for a in taxonomy.names}
    present = _present(rnd)
    # an attribute with no clue gets none by accident either: its cue words are kept out
    silent = _cue_pattern(cue_words(taxonomy, [a for a in taxonomy.names if clues[a] == "none"]))
    fields = _filler(present, rnd)
    shown = {}
    for attr in taxonomy.names:
        items, shown[attr] = evidence(attr, latent[attr], clues[attr], taxonomy[attr].labels, latent, clues, rnd)
        for kind, text in items:
            if silent is None or not silent.search(text):
                _place(fields, kind, text, present, rnd)
    rec = _assemble(uid, fields, present, latent, clues, shown, silent, rnd)
    gold = {"user_id": uid, "labels": {a: latent[a] for a in taxonomy.names}, "clues": clues}
    return records.validate_record(rec), gold


def _assemble(uid: str, fields: dict[str, list], present: set[str], latent: Mapping[str, str],
              clues: Mapping[str, str], shown: Mapping[str, str | None], silent: re.Pattern | None,
              rnd: random.Random) -> dict:
    """The record: text fields, then device and rhythm as the *shown* labels suggest."""
    rec: dict = {"user_id": uid}
    if "nickname" in present:
        nick = _nickname(latent, clues, rnd)
        rec["nickname"] = nick if silent is None or not silent.search(nick) else rnd.choice(W.nicknames)
    bio = fields.pop("bio", [])
    if "bio" in present:
        rec["bio"] = " | ".join(bio) if bio else rnd.choice(W.filler_bios)
    rec.update(fields)
    if "device" in present:
        rec["device"] = _device(shown["consumption_level"], rnd)
    if "location" in present:
        rec["location"] = _location(latent["city_tier"], rnd)
    if "activity_hours" in present:
        rec["activity_hours"] = _activity(_schedule(shown["occupation"], latent, rnd), rnd)
    return rec


def check_taxonomy(taxonomy: Taxonomy) -> None:
    """The generator's tables cover exactly this taxonomy's attributes and labels."""
    if set(taxonomy.names) != set(W.clue_mix):
        raise TaxonomyError(f"{taxonomy.path}: ProfileBench-Synth generates {sorted(W.clue_mix)}, "
                            f"the taxonomy has {sorted(taxonomy.names)}")
    for attr in taxonomy:
        if set(attr.labels) != set(W.signals[attr.name]):
            raise TaxonomyError(f"{taxonomy.path}: attribute '{attr.name}': labels {sorted(attr.labels)} "
                                f"differ from the generator's {sorted(W.signals[attr.name])}")


def generate(n_users: int, seed: int, split: str, taxonomy: Taxonomy) -> tuple[list[dict], list[dict]]:
    """``n_users`` records (ids ``f"{split}-{i:05d}"``) and their gold rows.

    User ``i`` depends only on ``(seed, split, i)``: the same arguments give the same users,
    and a longer split extends a shorter one.
    """
    check_taxonomy(taxonomy)
    recs, gold = [], []
    for i in range(n_users):
        # stdlib Random seeded by derive_seed: deterministic across processes, and its small
        # weighted draws are an order of magnitude faster than numpy's (5,000 users in ~1 s)
        rnd = random.Random(provenance.derive_seed(seed, "profilebench-synth", split, i))
        rec, g = make_user(f"{split}-{i:05d}", rnd, taxonomy)
        recs.append(rec)
        gold.append(g)
    return recs, gold


def build_benchmark(profile: str, n_pool: int, n_test: int, seed: int,
                    taxonomy_path: str | Path | None = None) -> dict[str, Path]:
    """Write the unlabeled pool, the test records and both gold files; return their paths.

    Keys: ``pool``, ``test``, ``gold_pool``, ``gold_test``. Same seed, same bytes.
    """
    taxonomy = load_taxonomy(taxonomy_path)
    out = {}
    for split, n in (("pool", n_pool), ("test", n_test)):
        recs, gold = generate(n, seed, split, taxonomy)
        out[split] = records.write_jsonl(paths.records_path(profile, split), recs)
        out[f"gold_{split}"] = records.write_jsonl(paths.gold_path(profile, split), gold)
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    ap = argparse.ArgumentParser(prog="python -m confprofile.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="smoke", help="run profile (files go to runs/<profile>/data)")
    ap.add_argument("--n-pool", type=int, default=300, help="users in the unlabeled training pool")
    ap.add_argument("--n-test", type=int, default=200, help="users in the labelled test split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in one)")
    args = ap.parse_args(argv)
    written = build_benchmark(args.profile, args.n_pool, args.n_test, args.seed, args.taxonomy)
    for name, path in written.items():
        print(f"{name}: {path}")
    return written


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
