"""The generator's phrases do not leak into the teachers beyond a stated, documented allowance.

ProfileBench-Synth renders evidence from phrase banks (``confprofile/bench_tables.yaml``). A
teacher whose own files contain those phrases reads the generator, not the record: it is a
model of the generator and must be called one. This test counts, per teacher, the generator's
whole evidence phrases (first-person statements, behaviour signals, phone names) that appear
verbatim (case-insensitive, as whole words) anywhere in the teacher's source and data files,
comments included, and fails when a count exceeds its allowance below.

Allowances (raise one only together with the docs that say why):
- ``knowledge``: a MODEL OF THE GENERATOR (see ``teachers/knowledge.py``): its phrase table
  mirrors the generator's banks. Its allowance, 138 of the 420 phrases counted here, is what it
  holds today, so the overlap cannot grow silently; a rebuilt, independent teacher should bring
  it down.
- ``heuristic``: a persona's stereotypes; 3, words of general vocabulary that are also whole
  generator signals ("grandchild", "pension", "school district").
- ``lexicon``, ``embedding`` and the shared code: nothing of the generator's.
- ``persona``: none in its source. It is a model of the generator's world by design and says so:
  it reads ``bench_tables.yaml``'s phrase banks at run time, through a seeded partial and noisy
  view (coverage, confusions), never from phrases copied into its file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from confprofile import bench

TEACHERS_DIR = Path(bench.__file__).parent / "teachers"

FILES = {  # teacher -> its source and data files (every file under teachers/ belongs to one entry)
    "lexicon": ("lexicon.py",),
    "heuristic": ("heuristic.py", "heuristic.yaml"),
    "embedding": ("embedding.py",),
    "knowledge": ("knowledge.py", "knowledge.yaml"),
    "persona": ("persona.py",),
    "shared": ("__init__.py", "base.py", "cpu.py", "hf.py", "openai_http.py", "vllm_backend.py"),
}
ALLOWANCE = {"lexicon": 0, "heuristic": 3, "embedding": 0, "knowledge": 138, "persona": 0, "shared": 0}


def generator_phrases(tables=bench.W) -> list[str]:
    """Every whole evidence phrase the generator can render (templates with placeholders left out)."""
    banks = [p for bank in (tables.explicit, tables.signals) for by_label in bank.values()
             for phrases in by_label.values() for p in phrases]
    banks += [d for devices in tables.devices.values() for d in devices]
    return sorted({p.lower() for p in banks if "{" not in p})


def phrases_in(text: str, phrases: list[str]) -> list[str]:
    """The phrases that occur in ``text`` as whole words (case-insensitive).

    >>> phrases_in("r'dorm room|single life'  # see also: Single Life", ["single life", "dorm room makeover", "life"])
    ['single life', 'life']
    """
    low = text.lower()
    return [p for p in phrases if re.search(r"(?<![a-z0-9])" + re.escape(p) + r"(?![a-z0-9])", low)]


def counts(files: dict[str, tuple[str, ...]] = FILES, folder: Path = TEACHERS_DIR) -> dict[str, list[str]]:
    phrases = generator_phrases()
    return {who: phrases_in("\n".join((folder / f).read_text(encoding="utf-8") for f in names), phrases)
            for who, names in files.items()}


def over_allowance(found: dict[str, list[str]], allowance: dict[str, int]) -> dict[str, int]:
    """``{teacher: count}`` for each teacher whose count exceeds its allowance.

    >>> over_allowance({"a": ["x", "y"], "b": ["x"]}, {"a": 1, "b": 1})
    {'a': 2}
    """
    return {who: len(ps) for who, ps in found.items() if len(ps) > allowance[who]}


def test_every_teacher_file_is_counted():
    on_disk = {p.name for p in TEACHERS_DIR.iterdir() if p.suffix in (".py", ".yaml")}
    listed = {f for names in FILES.values() for f in names}
    assert on_disk == listed, f"add new teacher files to FILES: {sorted(on_disk ^ listed)}"


def test_generator_phrases_are_read_from_the_tables():
    phrases = generator_phrases()
    assert len(phrases) > 300 and "er doctor here" in phrases and "iphone 15 pro max" in phrases


def test_teachers_hold_no_more_generator_phrases_than_allowed():
    found = counts()
    over = over_allowance(found, ALLOWANCE)
    assert not over, "generator phrases in teacher files beyond the allowance: " + "; ".join(
        f"{who}: {n} > {ALLOWANCE[who]} ({', '.join(found[who][:8])} ...)" for who, n in over.items())


def test_the_check_can_fail(tmp_path):
    """A teacher file that copies generator phrases is caught."""
    (tmp_path / "copycat.py").write_text('RULES = r"ER doctor here|python tutorial|just married!"\n')
    found = counts({"copycat": ("copycat.py",)}, tmp_path)
    assert found["copycat"] == ["er doctor here", "just married!", "python tutorial"]
    assert over_allowance(found, {"copycat": 0}) == {"copycat": 3}


@pytest.mark.parametrize("who", ["lexicon", "embedding", "persona", "shared"])
def test_independent_teachers_hold_none(who):
    assert counts()[who] == []
