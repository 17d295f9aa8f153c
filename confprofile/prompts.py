"""Confidence-hint prompts: what every teacher (LLM or CPU annotator) is asked.

A prompt is two chat messages. The system message holds the task, the taxonomy (every
attribute with its labels and one-line descriptions), the CONFIDENCE HINTS (a rubric saying what
high, medium and low confidence mean, on a numeric [0, 1] scale) and the output schema. The user
message holds the rendered record (``records.render_record``, bounded; truncation is stated in
the text) between ``<record>`` tags, so a teacher can find it again with ``record_text``.

The rubric and the output format are OUR CHOICE (the paper says only that teachers are prompted
with confidence hints and return label, rationale and confidence per attribute).

>>> from confprofile.taxonomy import load_taxonomy
>>> msgs = build_messages({"user_id": "u1", "bio": "nurse, night shift"}, load_taxonomy())
>>> [m["role"] for m in msgs]
['system', 'user']
>>> record_text(msgs)
'User u1\\nBio: nurse, night shift'
>>> len(prompt_hash(msgs))
64
"""

from __future__ import annotations

import hashlib
import json
import re

from confprofile.records import MAX_ITEMS, MAX_RECORD_CHARS, render_record
from confprofile.taxonomy import UNKNOWN, Taxonomy

PROMPT_VERSION = "confhint-v1"
"""Bumped whenever the wording changes; part of every cache key through ``prompt_hash``."""

CONFIDENCE_LEVELS = {"high": 0.9, "medium": 0.6, "low": 0.3}
"""Verbal confidence words and the number the rubric ties them to (parsing maps them back)."""

RECORD_OPEN, RECORD_CLOSE = "<record>", "</record>"

_RUBRIC = """\
Confidence hints (a number in [0, 1]: how likely your label is the true one):
- high (0.8-1.0): the user states it explicitly (e.g. bio "retired teacher", a comment "as a
  nurse on night shift"), or several independent clues agree.
- medium (0.5-0.8): behavioural evidence points to it (what they post, watch, search, follow,
  their device, location or activity hours) but nothing is stated outright.
- low (0.0-0.5): a guess from weak, indirect or conflicting evidence, or from what is typical.
Use the whole scale; do not inflate. If there is no evidence at all and "unknown" is allowed,
answer "unknown" with a low confidence rather than inventing a label."""


def render_taxonomy(taxonomy: Taxonomy) -> str:
    """Attributes, their labels and descriptions, in taxonomy order (cue words are not shown:
    they are a hint for CPU annotators and the generator, not part of the LLM prompt)."""
    lines = []
    for attr in taxonomy:
        extra = f' (or "{UNKNOWN}")' if attr.allow_unknown else ""
        lines.append(f"{attr.name}: {attr.description} One of{extra}:")
        for lab in attr.label_specs:
            lines.append(f"  - {lab.name}: {lab.description}")
    return "\n".join(lines)


def output_example(taxonomy: Taxonomy) -> str:
    body = ",\n".join(
        f'  "{a.name}": {{"label": "<one of the {a.name} labels>", "confidence": <0..1>, '
        f'"rationale": "<the evidence, quoted>"}}' for a in taxonomy)
    return "{\n" + body + "\n}"


def system_prompt(taxonomy: Taxonomy) -> str:
    return (
        f"You are an expert annotator building user profiles for {taxonomy.domain}. "
        "From one user's public activity, infer each attribute below. Judge only from the "
        "record; quote the evidence you used.\n\n"
        f"Attributes and labels:\n{render_taxonomy(taxonomy)}\n\n{_RUBRIC}\n\n"
        "Answer with ONE JSON object and nothing else, exactly one entry per attribute, "
        "labels spelled as listed:\n" + output_example(taxonomy))


def build_messages(record: dict, taxonomy: Taxonomy, max_chars: int = MAX_RECORD_CHARS,
                   max_items: int = MAX_ITEMS) -> list[dict]:
    """System + user chat messages for one user record (the record bounded by ``max_chars``, each
    list field by ``max_items``; the profile's ``teacher_max_items``)."""
    text = render_record(record, max_items=max_items, max_chars=max_chars)
    user = (f"Profile this user.\n{RECORD_OPEN}\n{text}\n{RECORD_CLOSE}\n"
            "Return the JSON object now.")
    return [{"role": "system", "content": system_prompt(taxonomy)},
            {"role": "user", "content": user}]


_RECORD_RE = re.compile(re.escape(RECORD_OPEN) + r"\n(.*?)\n" + re.escape(RECORD_CLOSE), re.S)


def record_text(messages: list[dict]) -> str:
    """The rendered record inside a prompt (what a CPU annotator reads); '' if absent."""
    for m in messages:
        if m.get("role") == "user":
            found = _RECORD_RE.search(m.get("content", ""))
            if found:
                return found.group(1)
    return ""


def prompt_hash(messages: list[dict]) -> str:
    """sha256 of the messages (canonical JSON) and the prompt version."""
    blob = json.dumps({"v": PROMPT_VERSION, "messages": messages}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def json_schema(taxonomy: Taxonomy) -> dict:
    """JSON schema of the answer, for structured decoding (vLLM, OpenAI-compatible servers)."""
    props = {}
    for a in taxonomy:
        labels = list(a.labels) + ([UNKNOWN] if a.allow_unknown else [])
        props[a.name] = {
            "type": "object",
            "properties": {"label": {"type": "string", "enum": labels},
                           "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                           "rationale": {"type": "string"}},
            "required": ["label", "confidence", "rationale"],
            "additionalProperties": False,
        }
    return {"type": "object", "properties": props, "required": list(taxonomy.names),
            "additionalProperties": False}
