"""ProfileBench-Synth: determinism, valid records, the joint distribution, clue mix, no leaks."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from confprofile import bench, paths, records
from confprofile.errors import TaxonomyError
from confprofile.taxonomy import load_taxonomy, parse_taxonomy

N = 3000  # users in the shared sample: enough for 2-3 point tolerances, about a second to make


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


@pytest.fixture(scope="module")
def sample(tax):
    recs, gold = bench.generate(N, seed=7, split="test", taxonomy=tax)
    texts = [records.render_record(r, max_items=10_000, max_chars=10**9) for r in recs]
    return recs, gold, texts


def share(gold, attr, label, given=None):
    rows = [g for g in gold if given is None or all(g["labels"][a] == v for a, v in given.items())]
    return sum(g["labels"][attr] == label for g in rows) / max(len(rows), 1)


# ------------------------------------------------------------------ determinism and files

def test_build_is_byte_identical_for_a_seed_and_differs_across_seeds(tmp_path, monkeypatch):
    def build(where, seed):
        monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path / where))
        written = bench.build_benchmark("t", n_pool=60, n_test=40, seed=seed)
        assert set(written) == {"pool", "test", "gold_pool", "gold_test"}
        assert written["test"] == paths.records_path("t", "test")
        assert written["gold_test"] == paths.gold_path("t", "test")
        return {k: p.read_bytes() for k, p in written.items()}

    a, b, c = build("a", 0), build("b", 0), build("c", 1)
    assert a == b
    assert all(a[k] != c[k] for k in a)
    assert a["pool"] != a["test"]  # pool and test are different users


def test_written_files_read_back(tmp_path, monkeypatch, tax):
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    written = bench.build_benchmark("t", n_pool=30, n_test=20, seed=3)
    assert [r["user_id"] for r in records.read_records(written["test"])] == [f"test-{i:05d}" for i in range(20)]
    from confprofile.evaluation import gold_labels  # the one reader of gold files

    gold = gold_labels.read_gold(written["gold_pool"], tax)
    assert len(gold) == 30 * len(tax) and set(gold["clue"]) <= set(bench.STRENGTHS)


def test_cli_prints_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    bench.main(["--profile", "cli", "--n-pool", "5", "--n-test", "4", "--seed", "0"])
    out = capsys.readouterr().out
    assert str(paths.records_path("cli", "pool")) in out and str(paths.gold_path("cli", "test")) in out


def test_users_depend_only_on_seed_split_and_index(tax):
    short, _ = bench.generate(5, seed=0, split="pool", taxonomy=tax)
    long, _ = bench.generate(10, seed=0, split="pool", taxonomy=tax)
    other, _ = bench.generate(5, seed=1, split="pool", taxonomy=tax)
    assert long[:5] == short
    assert sum(a == b for a, b in zip(short, other)) == 0


def test_rejects_a_taxonomy_it_cannot_generate(tax):
    raw = {"attributes": {"age": {"labels": {"young": {"description": "y"}, "old": {"description": "o"}}}}}
    with pytest.raises(TaxonomyError, match="generates"):
        bench.generate(1, 0, "test", parse_taxonomy(raw))


# ------------------------------------------------------------------ records

def test_every_record_validates_and_fields_go_missing(sample):
    recs, gold, _ = sample
    for i, r in enumerate(recs):
        records.validate_record(r, "generated", i + 1)
    assert [g["user_id"] for g in gold] == [r["user_id"] for r in recs]
    assert len({r["user_id"] for r in recs}) == N
    for field, p_missing in bench.W.missing.items():
        if field == "comments":  # explicit statements may create a comments list
            continue
        missing = sum(field not in r for r in recs) / N
        assert abs(missing - p_missing) < 0.04, field
    assert all(r.get("watch_history") for r in recs)  # filler: everyone watches something


# ------------------------------------------------------------------ the joint distribution

def test_marginals_match_the_tables(sample, tax):
    _, gold, _ = sample
    expected = bench.label_marginals()
    for attr in tax:
        assert set(expected[attr.name]) <= set(attr.labels)
        assert abs(sum(expected[attr.name].values()) - 1) < 1e-9
        for label in attr.labels:
            assert abs(share(gold, attr.name, label) - expected[attr.name].get(label, 0.0)) < 0.03, (attr.name, label)
    assert abs(expected["gender"]["female"] - 0.55) < 1e-9
    assert expected["age"]["18_24"] + expected["age"]["25_34"] > 0.5
    assert max(expected["consumption_level"], key=expected["consumption_level"].get) == "medium"


def test_attributes_are_correlated(sample):
    _, gold, _ = sample
    assert share(gold, "life_stage", "student", {"age": "under_18"}) > 0.95
    assert share(gold, "occupation", "retired", {"age": "55_plus"}) > 0.4
    assert share(gold, "occupation", "retired", {"age": "25_34"}) == 0
    young = [g for g in gold if g["labels"]["occupation"] == "student"]
    assert sum(g["labels"]["age"] in ("under_18", "18_24") for g in young) / len(young) > 0.8
    assert share(gold, "education", "postgraduate", {"occupation": "agriculture"}) < 0.02
    assert share(gold, "education", "secondary_or_below", {"age": "under_18"}) == 1
    assert share(gold, "occupation", "homemaker", {"gender": "female"}) > 3 * share(
        gold, "occupation", "homemaker", {"gender": "male"})
    rich = [share(gold, "consumption_level", "high", {"occupation": o}) for o in ("finance", "it_internet")]
    assert min(rich) > 2 * share(gold, "consumption_level", "high", {"occupation": "agriculture"})


def test_device_price_follows_shown_consumption(sample):
    recs, gold, _ = sample
    tier = {d: lvl for lvl, ds in bench.W.devices.items() for d in ds}
    clear = [(tier[r["device"]], g["labels"]["consumption_level"]) for r, g in zip(recs, gold)
             if "device" in r and g["clues"]["consumption_level"] in ("explicit", "strong")]
    assert clear and all(t == lab for t, lab in clear)
    silent = [(tier[r["device"]], g["labels"]["consumption_level"]) for r, g in zip(recs, gold)
              if "device" in r and g["clues"]["consumption_level"] == "none"]
    assert 0.3 < sum(t == lab for t, lab in silent) / len(silent) < 0.6  # no better than the marginal


# ------------------------------------------------------------------ clue strengths

def test_clue_mix_matches_the_table(sample, tax):
    _, gold, _ = sample
    for attr in tax.names:
        counts = Counter(g["clues"][attr] for g in gold)
        for strength, p in zip(bench.STRENGTHS, bench.W.clue_mix[attr]):
            assert abs(counts[strength] / N - p) < 0.03, (attr, strength)


def test_stronger_clues_render_more_cue_words(sample, tax):
    """Evidence is real: the true label's cue words are commoner the stronger the clue."""
    _, gold, texts = sample
    rate = {}
    for s in ("explicit", "strong", "none"):
        hits = [_hits(tax, a, g["labels"][a], t) > 0 for g, t in zip(gold, texts) for a in tax.names
                if g["clues"][a] == s]
        rate[s] = sum(hits) / len(hits)
    assert rate["strong"] > rate["none"] + 0.25 and rate["explicit"] > rate["none"] + 0.2


# ------------------------------------------------------------------ no leaks

LEAK_TOKENS = ("postgraduate", "female", "male", "homemaker", "healthcare", "manufacturing", "agriculture",
               "finance", "secondary", "consumption", "life stage", "occupation")


def test_label_names_never_appear_verbatim(sample, tax):
    _, _, texts = sample
    names = {lab for attr in tax for lab in attr.labels if "_" in lab} | set(LEAK_TOKENS)
    pattern = re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, names)) + r")(?![a-z0-9])", re.I)
    leaks = [m.group(0) for t in texts for m in [pattern.search(t)] if m]
    assert not leaks, Counter(leaks).most_common(5)


def _hits(tax, attr, label, text):
    pat = bench._cue_pattern(tuple(tax[attr].label(label).cues))
    return len(pat.findall(text)) if pat else 0


def test_silent_attributes_carry_no_cue_words_of_the_true_label(sample, tax):
    _, gold, texts = sample
    for attr in tax:
        silent = [(g["labels"][attr.name], t) for g, t in zip(gold, texts) if g["clues"][attr.name] == "none"]
        true_hits = sum(_hits(tax, attr.name, lab, t) for lab, t in silent) / len(silent)
        other_hits = sum(_hits(tax, attr.name, o, t) for lab, t in silent for o in attr.labels if o != lab)
        other_hits /= len(silent) * (len(attr.labels) - 1)
        assert true_hits <= other_hits + 1e-9, attr.name


def test_records_hold_no_gold_in_any_structured_form(sample, tax):
    recs, gold, texts = sample
    assert all(set(r) <= set(records.KNOWN_FIELDS) for r in recs)
    dumped = json.dumps(recs)
    for key in ("labels", "clues", *bench.STRENGTHS[:2], "misleading"):
        assert f'"{key}"' not in dumped
    structured = re.compile(r"\b(" + "|".join(tax.names) + r")\s*[:=]", re.I)
    assert not any(structured.search(t) for t in texts)
    for g, r in zip(gold[:50], recs[:50]):
        assert json.dumps(g["labels"], sort_keys=True) not in json.dumps(r, sort_keys=True)


def test_filler_is_free_of_every_cue_word(tax):
    pat = bench._cue_pattern(bench.cue_words(tax, tax.names))
    watch = [t for titles in bench.W.filler_watch.values() for t in titles] + list(bench.W.filler_watch)
    filler = (*watch, *bench.W.filler_comments, *bench.W.filler_searches, *bench.W.filler_posts, *bench.W.filler_tags,
              *bench.W.filler_follows, *bench.W.filler_bios, *bench.W.nicknames, *bench.W.evidence_categories)
    assert not [t for t in filler if pat.search(t)]
