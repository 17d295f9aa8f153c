"""The profiling taxonomy: attributes, their labels, cue words and how "unknown" is treated.

The taxonomy is data (``confprofile/taxonomy.yaml`` for ProfileBench-Synth); this module loads
and validates it so that every later stage can trust label names.

>>> tax = load_taxonomy()
>>> tax.names
('age', 'gender', 'occupation', 'life_stage', 'education', 'consumption_level')
>>> tax["gender"].labels
('female', 'male')
>>> tax["occupation"].group_of("finance")
'white_collar'
>>> tax.domain
'a short-video platform'

A file of your own has the same shape (``examples/own_data/taxonomy.yaml``); ``domain`` is the
prompt's wording for where the users are (default: "an online platform").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from confprofile.errors import TaxonomyError

DEFAULT_DOMAIN = "an online platform"
"""The prompt's wording for where users are, when a taxonomy file has no ``domain``."""

UNKNOWN = "unknown"
"""The abstention label. Never a gold label; a teacher may emit it where ``unknown`` is allowed."""

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.yaml")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    cues: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class Attribute:
    name: str
    description: str
    label_specs: tuple[Label, ...]
    allow_unknown: bool = True

    @property
    def labels(self) -> tuple[str, ...]:
        """Label names in taxonomy order (gold labels are always one of these)."""
        return tuple(lab.name for lab in self.label_specs)

    def label(self, name: str) -> Label:
        for lab in self.label_specs:
            if lab.name == name:
                return lab
        raise KeyError(f"attribute '{self.name}' has no label '{name}'")

    def group_of(self, name: str) -> str | None:
        return self.label(name).group

    def is_valid(self, name: str) -> bool:
        """True for a taxonomy label, or for ``unknown`` where it is allowed."""
        return name in self.labels or (self.allow_unknown and name == UNKNOWN)


@dataclass(frozen=True)
class Taxonomy:
    name: str
    version: int
    attributes: tuple[Attribute, ...]
    path: str = field(default="", compare=False)
    domain: str = DEFAULT_DOMAIN

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)

    def __getitem__(self, name: str) -> Attribute:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(f"taxonomy '{self.name}' has no attribute '{name}'")

    def __iter__(self):
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def to_rows(self) -> list[dict]:
        """One row per (attribute, label) for display: group, description, cues."""
        return [{"attribute": a.name, "label": lab.name, "group": lab.group or "",
                 "description": lab.description, "cues": ", ".join(lab.cues)}
                for a in self.attributes for lab in a.label_specs]


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int):
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (a duplicated attribute or
    label would otherwise replace the first without a word)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy YAML file; errors name the file, attribute and problem."""
    path = Path(path) if path is not None else DEFAULT_TAXONOMY
    if not path.is_file():
        raise TaxonomyError(f"{path}: taxonomy file not found")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as e:
        raise TaxonomyError(f"{path}:{e.line}: duplicate key '{e.key}' (the second would silently replace the first)") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TaxonomyError(f"{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    return parse_taxonomy(raw, source=str(path))


def parse_taxonomy(raw: object, source: str = "<taxonomy>") -> Taxonomy:
    """Validate an already-parsed taxonomy mapping (see ``taxonomy.yaml`` for the shape)."""

    def fail(problem: str, attr: str | None = None) -> TaxonomyError:
        where = f"{source}: attribute '{attr}'" if attr else source
        return TaxonomyError(f"{where}: {problem}")

    if not isinstance(raw, dict):
        raise fail("expected a mapping with 'name', 'version' and 'attributes'")
    attrs = raw.get("attributes")
    if not isinstance(attrs, dict) or not attrs:
        raise fail("'attributes' must be a non-empty mapping")
    out = []
    for aname, spec in attrs.items():
        if not isinstance(aname, str) or not _NAME.match(aname):
            raise fail("name must be lower_snake_case", aname)
        if not isinstance(spec, dict):
            raise fail("expected a mapping with 'description' and 'labels'", aname)
        unknown = spec.get("unknown", True)
        if not isinstance(unknown, bool):
            raise fail("'unknown' must be true or false", aname)
        labels = spec.get("labels")
        if not isinstance(labels, dict) or len(labels) < 2:
            raise fail("'labels' must map at least two label names to specs", aname)
        specs = []
        for lname, lspec in labels.items():
            if not isinstance(lname, str):  # YAML reads 18_24 as the integer 1824
                raise fail(f"label {lname!r}: name must be a string (quote it in YAML)", aname)
            if lname == UNKNOWN:
                raise fail(f"'{UNKNOWN}' is reserved; set 'unknown: true' instead", aname)
            if not _NAME.match(lname):
                raise fail(f"label '{lname}': name must be lower_snake_case", aname)
            if not isinstance(lspec, dict) or not isinstance(lspec.get("description"), str):
                raise fail(f"label '{lname}': needs a one-line 'description'", aname)
            cues = lspec.get("cues", [])
            if not isinstance(cues, list):
                raise fail(f"label '{lname}': 'cues' must be a list of strings", aname)
            for i, c in enumerate(cues):
                if not isinstance(c, str):
                    hint = " (a cue containing ': ' must be quoted)" if isinstance(c, dict) else ""
                    raise fail(f"label '{lname}': cue {i + 1} ({c!r}) is not a string{hint}", aname)
            group = lspec.get("group")
            if group is not None and not isinstance(group, str):
                raise fail(f"label '{lname}': 'group' must be a string", aname)
            specs.append(Label(lname, lspec["description"].strip(), tuple(cues), group))
        out.append(Attribute(aname, str(spec.get("description", "")).strip(), tuple(specs), unknown))
    version = raw.get("version", 1)
    if not isinstance(version, int):
        raise fail("'version' must be an integer")
    domain = raw.get("domain", DEFAULT_DOMAIN)
    if not isinstance(domain, str) or not domain.strip():
        raise fail("'domain' must be a phrase such as 'a short-video platform'")
    return Taxonomy(str(raw.get("name", "taxonomy")), version, tuple(out), path=source, domain=domain.strip())
