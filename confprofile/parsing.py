"""Parse teacher outputs: strict about the taxonomy, forgiving about format, never raising.

A teacher answers with one JSON object ``{attribute: {"label", "confidence", "rationale"}}``
(see ``confprofile.prompts``). Real model output wraps it in code fences, prefixes it with a
Qwen3 ``<think>`` block, trails it with chatter, uses single quotes or trailing commas, a 0-100
confidence scale, or words ("high") for confidence. All of that is accepted. What is never
accepted is a label outside the taxonomy: it becomes a failure for that attribute, with the
reason, and is counted downstream, never guessed into a nearby label.

>>> from confprofile.taxonomy import load_taxonomy
>>> tax = load_taxonomy()
>>> out = parse_output('<think>hmm</think>```json\\n{"gender": {"label": "Female", '
...                    '"confidence": "80%"}}\\n```', tax)
>>> out["gender"]
Parsed(label='female', confidence=0.8, rationale='', ok=True, error=None)
>>> out["age"].error
'missing attribute'
>>> parse_output("no idea", tax)["gender"].error
'no JSON object found'
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import asdict, dataclass

from confprofile.prompts import CONFIDENCE_LEVELS
from confprofile.taxonomy import UNKNOWN, Attribute, Taxonomy

ANNOTATION_COLUMNS = ("user_id", "attribute", "teacher", "sample", "label", "confidence",
                      "rationale", "ok", "error")
"""Columns of the annotation table (docs/CONTRACTS.md), in order."""


@dataclass(frozen=True)
class Parsed:
    """One attribute of one output: a valid label and confidence, or a failure with its reason."""

    label: str | None
    confidence: float
    rationale: str
    ok: bool
    error: str | None = None

    @classmethod
    def fail(cls, error: str, rationale: str = "") -> "Parsed":
        return cls(None, math.nan, rationale, False, error)


_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WORDS = {**CONFIDENCE_LEVELS, "very high": 0.95, "very low": 0.1, "moderate": 0.6, "certain": 0.95}


def _strip_think(text: str) -> str:
    text = _THINK.sub("", text)
    if "</think>" in text.lower():  # opening tag cut off (e.g. put in the prompt): keep the tail
        text = re.split(r"</think>", text, flags=re.I)[-1]
    elif re.search(r"<think>", text, re.I):  # never closed: the answer, if any, follows it
        text = re.split(r"<think>", text, flags=re.I)[-1]
    return text


def _balanced_objects(text: str):
    """Yield every top-level ``{...}`` span, honouring strings (either quote) and escapes."""
    i, n = 0, len(text)
    while i < n:
        start = text.find("{", i)
        if start < 0:
            return
        depth, quote, j = 0, None, start
        while j < n:
            ch = text[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == quote:
                    quote = None
            elif ch in "\"'":
                # an apostrophe inside a word ("don't") does not open a string
                if ch == '"' or not (j > 0 and text[j - 1].isalnum()):
                    quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    yield text[start:j + 1]
                    break
            j += 1
        else:  # unbalanced: try the rest as-is (a truncated answer fails below, with a reason)
            yield text[start:]
            return
        i = j + 1


def _loads(blob: str) -> object | None:
    for attempt in (blob, _TRAILING_COMMA.sub(r"\1", blob)):
        try:
            return json.loads(attempt)
        except (json.JSONDecodeError, RecursionError):
            pass
    try:  # single quotes, trailing commas, True/False/None
        py = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", blob)))
        return ast.literal_eval(py)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _norm(name: object) -> str:
    s = str(name).strip().strip("\"'`.").strip().lower()
    s = re.sub(r"\+$", "_plus", s)
    s = re.sub(r"[\s\-/]+", "_", s)
    return s


def _find_object(text: str, taxonomy: Taxonomy) -> tuple[dict | None, str | None]:
    names = set(taxonomy.names)
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    first_dict = None
    for cand in candidates:
        for blob in _balanced_objects(cand):
            obj = _loads(blob)
            if not isinstance(obj, dict):
                continue
            if any(_norm(k) in names for k in obj):
                return obj, None
            for v in obj.values():  # wrapped: {"profile": {...}}
                if isinstance(v, dict) and any(_norm(k) in names for k in v):
                    return v, None
            first_dict = first_dict if first_dict is not None else obj
    if first_dict is not None:
        return first_dict, None
    salvaged = _salvage(text, taxonomy)  # e.g. an answer cut off by max_tokens: keep whole entries
    if salvaged:
        return salvaged, None
    if "{" in text:
        return None, "malformed JSON"
    return None, "no JSON object found"


def _salvage(text: str, taxonomy: Taxonomy) -> dict:
    out = {}
    for name in taxonomy.names:
        m = re.search(r"[\"']" + re.escape(name) + r"[\"']\s*:\s*(?=\{)", text, re.I)
        if m:
            blob = next(_balanced_objects(text[m.end():]), None)
            obj = _loads(blob) if blob and blob.endswith("}") else None
            if isinstance(obj, dict):
                out[name] = obj
    return out


def parse_confidence(value: object) -> float | None:
    """A confidence in [0, 1] from a number (0-1 or 0-100), a numeric string, a percentage or a
    word (high/medium/low); None when it cannot be read.

    >>> [parse_confidence(v) for v in (0.7, 85, "0.8", "80%", "High", "maybe", -1)]
    [0.7, 0.85, 0.8, 0.8, 0.9, None, None]
    """
    if isinstance(value, bool):
        return None
    pct = False
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _WORDS:
            return _WORDS[s]
        if s.endswith("%"):
            s, pct = s[:-1].strip(), True
        try:
            value = float(s)
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    x = float(value)
    if pct or 1.0 < x <= 100.0:
        x /= 100.0
    return x if 0.0 <= x <= 1.0 else None


def parse_attribute(value: object, attr: Attribute) -> Parsed:
    """One attribute's entry: ``{"label", "confidence", "rationale"}``."""
    if not isinstance(value, dict):
        return Parsed.fail(f"expected an object with label and confidence, got {type(value).__name__}")
    entry = {_norm(k): v for k, v in value.items()}
    rationale = entry.get("rationale", entry.get("reason", entry.get("evidence", "")))
    if isinstance(rationale, list):
        rationale = "; ".join(map(str, rationale))
    rationale = "" if rationale is None else str(rationale)
    raw_label = entry.get("label", entry.get("value"))
    if raw_label is None or isinstance(raw_label, (dict, list, bool)):
        return Parsed.fail("missing label", rationale)
    label = _norm(raw_label)
    if label not in attr.labels:
        if label == UNKNOWN and attr.allow_unknown:
            pass
        elif label == UNKNOWN:
            return Parsed.fail(f"'{UNKNOWN}' is not allowed for '{attr.name}'", rationale)
        else:
            return Parsed.fail(f"off-taxonomy label '{str(raw_label)[:40]}'", rationale)
    if "confidence" not in entry:
        return Parsed.fail("missing confidence", rationale)
    conf = parse_confidence(entry["confidence"])
    if conf is None:
        return Parsed.fail(f"unreadable confidence '{str(entry['confidence'])[:20]}'", rationale)
    return Parsed(label, conf, rationale, True, None)


def parse_output(text: str | None, taxonomy: Taxonomy) -> dict[str, Parsed]:
    """``{attribute: Parsed}`` for every taxonomy attribute; never raises on model output."""
    try:
        obj, err = _find_object(_strip_think(text or ""), taxonomy)
    except Exception as e:  # noqa: BLE001 - a parser bug must not kill a long run
        obj, err = None, f"parser error: {type(e).__name__}"
    if not (text or "").strip():
        obj, err = None, "empty output"
    out = {}
    entries = {_norm(k): v for k, v in obj.items()} if obj is not None else {}
    for attr in taxonomy:
        if obj is None:
            out[attr.name] = Parsed.fail(err or "no JSON object found")
        elif attr.name not in entries:
            out[attr.name] = Parsed.fail("missing attribute")
        else:
            try:
                out[attr.name] = parse_attribute(entries[attr.name], attr)
            except Exception as e:  # noqa: BLE001
                out[attr.name] = Parsed.fail(f"parser error: {type(e).__name__}")
    return out


def annotation_rows(user_id: str, teacher: str, sample: int, text: str | None, taxonomy: Taxonomy) -> list[dict]:
    """Rows of the annotation table for one raw output (one per taxonomy attribute)."""
    rows = []
    for attr, p in parse_output(text, taxonomy).items():
        d = asdict(p)
        rows.append({"user_id": user_id, "attribute": attr, "teacher": teacher, "sample": int(sample),
                     "label": d["label"], "confidence": d["confidence"], "rationale": d["rationale"],
                     "ok": d["ok"], "error": d["error"]})
    return rows
