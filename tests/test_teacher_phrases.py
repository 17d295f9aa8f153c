"""The generator's phrases and tables do not leak into the teachers beyond a stated allowance.

ProfileBench-Synth renders evidence from phrase banks (``confprofile/bench_tables.yaml``). A
teacher whose own files contain those phrases, or that opens those tables, reads the generator,
not the record: it is a model of the generator and must be called one. Three checks:

1. Phrases. Per teacher, the generator's whole evidence phrases (first-person statements,
   behaviour signals, phone names) that appear (case-insensitive, as whole words) in any file the
   teacher reads: its source and data files under ``teachers/`` of every type (``.py``,
   ``.yaml``, ``.json``, anything else), and the package's modules and data files it imports or
   opens (``PACKAGE``; the test finds them by import closure and by watching ``open``). A copy is
   found however it is written: comments included; whitespace runs collapsed; regex escapes
   undone (``ER\\ doctor\\ here``, ``ER\\s+doctor``); adjacent and ``+``-joined string literals
   joined (``"ER doctor " "here"``); string escapes and YAML/JSON values decoded
   (``"ER doctor\\u0020here"``, folded YAML). The count must not exceed its allowance below.
2. Tables, statically. No teacher module but ``persona.py`` imports ``confprofile.bench`` or the
   persona's ``world``/``WORLD_PATH``, or names ``bench_tables`` in a string (docstrings aside;
   split and joined strings joined first).
3. Tables, at run time. Every CPU teacher but the personas is built and answers records while
   any open of ``bench_tables.yaml``, ``bench.load_tables``, ``bench.W`` and ``persona.world``
   fails; the same guard catches a persona (which may) and a tampered teacher (which may not).

Each check is shown failing on a tampered copy written to a temporary folder.

Allowances (raise one only together with the docs that say why):
- ``knowledge``: a MODEL OF THE GENERATOR (see ``teachers/knowledge.py``): its phrase table
  mirrors the generator's banks. Its allowance, 138 of the 420 phrases counted here, is what it
  holds today, so the overlap cannot grow silently; a rebuilt, independent teacher should bring
  it down.
- ``heuristic``: a persona's stereotypes; 3, words of general vocabulary that are also whole
  generator signals ("grandchild", "pension", "school district").
- ``lexicon``, ``embedding``, the shared teacher code and the package code teachers import:
  nothing of the generator's.
- ``taxonomy`` (``taxonomy.yaml``): the task's definition, cue words included, which every teacher
  is given, as an LLM would be in its prompt; the generator's phrase banks overlap its cue words
  in part by design (README, "The data"). Its allowance, 8 ("empty nest", "grandchild", "kids
  moved out", "my son at university", "pension", "school district", "school run", "tutoring
  class"), is what it holds today.
- ``persona``: none in its source. It is a model of the generator's world by design and says so:
  it reads ``bench_tables.yaml``'s phrase banks at run time, through a seeded partial and noisy
  view (coverage, confusions), never from phrases copied into its file.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import io
import json
import pathlib
import re
import sys
import tokenize
from pathlib import Path

import pytest
import yaml

from confprofile import bench

PKG = Path(bench.__file__).parent
TEACHERS_DIR = PKG / "teachers"
TABLES = "bench_tables.yaml"

FILES = {  # teacher -> the files it reads, relative to confprofile/ (every file under teachers/ belongs to one entry)
    "lexicon": ("teachers/lexicon.py",),
    "heuristic": ("teachers/heuristic.py", "teachers/heuristic.yaml"),
    "embedding": ("teachers/embedding.py",),
    "knowledge": ("teachers/knowledge.py", "teachers/knowledge.yaml"),
    "persona": ("teachers/persona.py",),
    "shared": ("teachers/__init__.py", "teachers/base.py", "teachers/cpu.py", "teachers/hf.py",
               "teachers/openai_http.py", "teachers/vllm_backend.py"),
    "package": ("errors.py", "files.py", "paths.py", "prompts.py", "records.py", "provenance.py", "taxonomy.py",
                "today.yaml"),
    "taxonomy": ("taxonomy.yaml",),
}
ALLOWANCE = {"lexicon": 0, "heuristic": 3, "embedding": 0, "knowledge": 138, "persona": 0, "shared": 0, "package": 0,
             "taxonomy": 8}
TABLE_READERS = ("teachers/persona.py",)
"""The only teacher files that may open the generator's tables."""
CPU_TEACHERS = ("lexicon", "heuristic", "knowledge", "embedding")
"""The registry's CPU teachers other than the personas (run under the tables guard)."""


def generator_phrases(tables=bench.W) -> list[str]:
    """Every whole evidence phrase the generator can render (templates with placeholders left out)."""
    banks = [p for bank in (tables.explicit, tables.signals) for by_label in bank.values()
             for phrases in by_label.values() for p in phrases]
    banks += [d for devices in tables.devices.values() for d in devices]
    return sorted({" ".join(p.lower().split()) for p in banks if "{" not in p})


# -- 1. phrases, however they are written ------------------------------------------------------

_JOINERS = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}


def _literal(tok: str) -> str:
    """A string token's value (escapes decoded); an f-string's text between its quotes."""
    try:
        value = ast.literal_eval(tok)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    except (ValueError, SyntaxError):
        body = tok.lstrip("rRbBuUfF")
        q = body[:3] if body[:3] in ('"""', "'''") else body[:1]
        return body[len(q):-len(q) or None]


def joined_strings(source: str) -> list[str]:
    """The string literals of Python ``source``, adjacent ones (and ones joined by ``+``) joined,
    escapes decoded.

    >>> joined_strings('X = ("ER doctor " "here")\\nY = "python " + r"tutorial"\\nZ = ["a", "b"]')
    ['ER doctor here', 'python tutorial', 'a', 'b']
    """
    out, run, plus = [], [], False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return out
    for tok in tokens:
        if tok.type == tokenize.STRING:
            run.append(_literal(tok.string))
            plus = False
        elif run and (tok.type in _JOINERS or (tok.type == tokenize.OP and tok.string == "+" and not plus)):
            plus = plus or tok.string == "+"
        else:
            if run:
                out.append("".join(run))
            run, plus = [], False
    if run:
        out.append("".join(run))
    return out


def _strings_in(value: object) -> list[str]:
    """Every string (keys included) of a parsed YAML or JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings_in(k) + _strings_in(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings_in(v)]
    return []


def file_text(path: Path) -> str:
    """What a reader of ``path`` can see: its raw text, plus its string values decoded (Python:
    literals joined as ``joined_strings``; YAML, JSON: parsed)."""
    raw = path.read_bytes().decode("utf-8", "replace")
    extra: list[str] = []
    if path.suffix == ".py":
        extra = joined_strings(raw)
    elif path.suffix in (".yaml", ".yml", ".json"):
        try:
            extra = _strings_in(json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw))
        except (ValueError, yaml.YAMLError):
            pass
    return "\n".join([raw, *extra])


_REGEX_SPACE = re.compile(r"\\s[+*?]?|\[\\s[^\]]*\][+*?]?|\\x20|\\ ")
_REGEX_ZERO = re.compile(r"\\[bBAZ]|\(\?(?:[aiLmsux-]*:|[aiLmsux]+\)|P<\w+>|<?[=!])|(?<!\\)\)")
_REGEX_CASE = re.compile(r"\[([A-Za-z])([A-Za-z])\]")
_REGEX_ESCAPE = re.compile(r"\\([^A-Za-z0-9\s])")


def normalise(text: str) -> str:
    """Lower case, regex escapes undone (``\\s+`` and ``\\ `` a space, ``\\b`` nothing, ``\\.`` a
    dot), group syntax dropped (``(?:``, ``(?i:``, ``(?=``, a closing parenthesis), a one-letter case
    class (``[Ee]``) its letter, every whitespace run one space.

    >>> normalise(r"(?i)\\bER\\ doctor\\s+here\\b  and   Python\\.org")
    'er doctor here and python.org'
    >>> normalise(r"(?:ER)\\ doctor\\ (?:here)|python\\s+(?i:tutorial)|[Jj]ust\\ married\\!")
    'er doctor here|python tutorial|just married!'
    """
    text = _REGEX_SPACE.sub(" ", text)
    text = _REGEX_ZERO.sub("", text)
    text = _REGEX_CASE.sub(lambda m: m[1] if m[1].lower() == m[2].lower() else m[0], text)
    text = _REGEX_ESCAPE.sub(r"\1", text)
    return " ".join(text.lower().split())


def phrases_in(text: str, phrases: list[str]) -> list[str]:
    """The phrases that occur in ``text`` as whole words (case-insensitive, after ``normalise``).

    >>> phrases_in("r'dorm room|single life'  # see also: Single Life", ["single life", "dorm room makeover", "life"])
    ['single life', 'life']
    >>> phrases_in('RULE = r"single\\\\s+life"', ["single life"])
    ['single life']
    """
    low = normalise(text)
    return [p for p in phrases if re.search(r"(?<![a-z0-9])" + re.escape(p) + r"(?![a-z0-9])", low)]


def counts(files: dict[str, tuple[str, ...]] = FILES, folder: Path = PKG) -> dict[str, list[str]]:
    phrases = generator_phrases()
    return {who: phrases_in("\n".join(file_text(folder / f) for f in names), phrases) for who, names in files.items()}


def over_allowance(found: dict[str, list[str]], allowance: dict[str, int]) -> dict[str, int]:
    """``{teacher: count}`` for each teacher whose count exceeds its allowance.

    >>> over_allowance({"a": ["x", "y"], "b": ["x"]}, {"a": 1, "b": 1})
    {'a': 2}
    """
    return {who: len(ps) for who, ps in found.items() if len(ps) > allowance[who]}


# -- 2. the generator's tables, statically ----------------------------------------------------


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def _folded(node: ast.AST) -> str | None:
    """The value of a string built from literals (``"a" + "b"``, an f-string's literal parts)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _folded(node.left), _folded(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def reaches_for_tables(source: str) -> list[str]:
    """Why a teacher module reads the generator's tables: an import of ``confprofile.bench``
    (or of the persona's ``world``/``WORLD_PATH``), or a string (docstrings aside; joined
    literals joined) that names ``bench_tables``.

    >>> reaches_for_tables('from confprofile.bench import W')
    ['imports confprofile.bench']
    >>> reaches_for_tables('P = Path(__file__).parents[1] / ("bench_" + "tables.yaml")')
    ["names the generator's tables: 'bench_tables.yaml'"]
    >>> reaches_for_tables('\"\"\"reads nothing of bench_tables.yaml\"\"\"')
    []
    """
    tree = ast.parse(source)
    docs = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [f"imports {a.name}" for a in node.names if a.name.startswith("confprofile.bench")]
        elif isinstance(node, ast.ImportFrom):
            mod = ("." * node.level) + (node.module or "")
            names = [a.name for a in node.names]
            if mod.startswith("confprofile.bench") or (mod == "confprofile" and "bench" in names):
                out.append("imports confprofile.bench")
            if mod.endswith("persona") and {"world", "WORLD_PATH"} & set(names):
                out.append(f"imports the persona's {', '.join(sorted({'world', 'WORLD_PATH'} & set(names)))}")
            if mod in ("confprofile.teachers", ".") and "persona" in names:
                out.append("imports the persona module")
        elif isinstance(node, ast.Attribute) and (node.attr in ("WORLD_PATH", "TABLES_PATH", "load_tables") or (
                node.attr == "world" and getattr(node.value, "id", getattr(node.value, "attr", None)) == "persona")):
            out.append(f"reads .{node.attr}")
        if id(node) in docs:
            continue
        s = _folded(node) if isinstance(node, (ast.Constant, ast.BinOp, ast.JoinedStr)) else None
        if s and "bench_tables" in normalise(s).replace(" ", ""):
            out.append(f"names the generator's tables: {s!r}")
    return sorted(set(out))


# -- 3. the generator's tables, at run time ----------------------------------------------------


class TablesRead(AssertionError):
    """A teacher reached for the generator's tables."""


class _Trip:
    def __getattr__(self, name):
        raise TablesRead(f"read bench.W.{name}")


@pytest.fixture
def tables_guard(monkeypatch):
    """While active, opening ``bench_tables.yaml`` (anywhere), ``bench.load_tables``, ``bench.W``
    and a fresh ``persona.world`` raise ``TablesRead``."""
    from confprofile.teachers import persona

    real_open, real_io_open, real_path_open = builtins.open, io.open, pathlib.Path.open

    def guard(path):
        if isinstance(path, (str, Path)) and Path(path).name == TABLES:
            raise TablesRead(f"opened {path}")

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (guard(f), real_open(f, *a, **k))[1])
    monkeypatch.setattr(io, "open", lambda f, *a, **k: (guard(f), real_io_open(f, *a, **k))[1])
    monkeypatch.setattr(pathlib.Path, "open", lambda self, *a, **k: (guard(self), real_path_open(self, *a, **k))[1])
    monkeypatch.setattr(bench, "load_tables", lambda *a, **k: (_ for _ in ()).throw(TablesRead("called bench.load_tables")))
    monkeypatch.setattr(bench, "W", _Trip())
    persona.world.cache_clear()  # a persona built now opens the file again
    yield
    persona.world.cache_clear()


def annotate(teachers, cache_dir: Path) -> int:
    """Three records answered by ``teachers``: the number of annotation rows."""
    from confprofile import synthesis
    from confprofile.taxonomy import load_taxonomy

    recs = [{"user_id": "u1", "bio": "night shift nurse", "searches": ["python tutorial"], "device": "iPhone 15 Pro"},
            {"user_id": "u2", "comments": ["my grandchild visited"], "follows": ["LeetcodeDaily"]},
            {"user_id": "u3"}]
    return len(synthesis.synthesize(recs, load_taxonomy(), teachers, n_samples=1, temperature=0.7, seed=0,
                                    cache_dir=cache_dir, progress=False))


# -- tests --------------------------------------------------------------------------------------


def teacher_files_on_disk() -> set[str]:
    return {p.relative_to(PKG).as_posix() for p in TEACHERS_DIR.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def package_files_teachers_import() -> set[str]:
    """Modules of confprofile/ (outside teachers/) that teacher modules import, transitively."""
    def imports(path: Path) -> set[str]:
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("confprofile"):
                parts = node.module.split(".")[1:]
                out |= {"/".join(parts)} if parts else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                out |= {a.name.split(".", 1)[1].replace(".", "/") for a in node.names if a.name.startswith("confprofile.")}
        return out

    seen, todo = set(), sorted(TEACHERS_DIR.glob("*.py"))
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for mod in imports(path):
            f = PKG / f"{mod}.py"
            todo += [f] if f.is_file() else [PKG / mod / "__init__.py"] if (PKG / mod / "__init__.py").is_file() else []
    return {p.relative_to(PKG).as_posix() for p in seen if p.parent == PKG}


def test_every_file_a_teacher_reads_is_counted():
    listed = {f for names in FILES.values() for f in names}
    under_teachers = {f for f in listed if f.startswith("teachers/")}
    assert teacher_files_on_disk() == under_teachers, \
        f"add new teacher files (of any type) to FILES: {sorted(teacher_files_on_disk() ^ under_teachers)}"
    missing = package_files_teachers_import() - listed
    assert not missing, f"teachers import these package modules; add them to FILES['package']: {sorted(missing)}"


def test_every_file_a_teacher_opens_at_run_time_is_counted(monkeypatch, tmp_path):
    """Build every CPU teacher and answer records, recording every file of confprofile/ opened."""
    from confprofile import synthesis
    from confprofile.taxonomy import load_taxonomy
    from confprofile.teachers import persona

    opened: set[str] = set()
    real_open, real_io_open = builtins.open, io.open

    def spy(f):
        if isinstance(f, (str, Path)):
            try:
                opened.add(Path(f).resolve().relative_to(PKG.resolve()).as_posix())
            except ValueError:
                pass

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (spy(f), real_open(f, *a, **k))[1])
    monkeypatch.setattr(io, "open", lambda f, *a, **k: (spy(f), real_io_open(f, *a, **k))[1])
    persona.world.cache_clear()
    annotate(synthesis.build_teachers(["lexicon", "heuristic", "knowledge", "persona"], load_taxonomy()), tmp_path)
    opened = {f for f in opened if not f.endswith(".py") and "__pycache__" not in f}
    listed = {f for names in FILES.values() for f in names} | {TABLES}
    assert opened - listed == set(), f"teachers opened files no FILES entry counts: {sorted(opened - listed)}"
    assert TABLES in opened  # the personas read the world's tables, which is allowed (checked below)


def test_generator_phrases_are_read_from_the_tables():
    phrases = generator_phrases()
    assert len(phrases) > 300 and "er doctor here" in phrases and "iphone 15 pro max" in phrases


def test_teachers_hold_no_more_generator_phrases_than_allowed():
    found = counts()
    over = over_allowance(found, ALLOWANCE)
    assert not over, "generator phrases in teacher files beyond the allowance: " + "; ".join(
        f"{who}: {n} > {ALLOWANCE[who]} ({', '.join(found[who][:8])} ...)" for who, n in over.items())


TAMPERED = {  # a copy of three generator phrases, written so that a verbatim search misses it
    "verbatim.py": 'RULES = r"ER doctor here|python tutorial|just married!"\n',
    "regex.py": 'import re\nRULES = re.compile(r"\\bER\\ doctor\\ here\\b|python\\s+tutorial|just\\ married\\!")\n',
    "split.py": 'RULES = ("ER doctor "\n         "here", "python " + "tutorial", "just " "married!")\n',
    "spaced.py": 'RULES = ["ER  doctor\\there", "python   tutorial", "just\\nmarried!"]\n',
    "escaped.py": 'RULES = ["ER doctor\\x20here", "python\\u0020tutorial", "just married\\u0021"]\n',
    "data.json": '{"rules": ["ER doctor\\u0020here", "python tutorial", "just married!"]}\n',
    "data.yaml": 'rules:\n  - >-\n    ER doctor\n    here\n  - "python\\x20tutorial"\n  - just married!\n',
    "grouped.py": 'import re\nRULES = re.compile(r"(?:ER)\\ doctor\\ (?:here)|python\\s+(?i:tutorial)|[Jj]ust\\ married\\!")\n',
    "notes.txt": "Rules:  ER doctor\nhere; Python tutorial; just married!\n",
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_the_phrase_check_catches_a_copy_however_it_is_written(tmp_path, name):
    (tmp_path / name).write_text(TAMPERED[name], encoding="utf-8")
    found = counts({"copycat": (name,)}, tmp_path)
    assert found["copycat"] == ["er doctor here", "just married!", "python tutorial"]
    assert over_allowance(found, {"copycat": 0}) == {"copycat": 3}


@pytest.mark.parametrize("who", ["lexicon", "embedding", "persona", "shared", "package"])
def test_independent_teachers_hold_none(who):
    assert counts()[who] == []


def test_no_teacher_module_but_the_personas_names_the_generators_tables():
    found = {f: reaches_for_tables((PKG / f).read_text(encoding="utf-8"))
             for f in sorted(teacher_files_on_disk()) if f.endswith(".py") and f not in TABLE_READERS}
    assert {f: r for f, r in found.items() if r} == {}
    assert reaches_for_tables((PKG / "teachers" / "persona.py").read_text(encoding="utf-8"))  # it does, and may


@pytest.mark.parametrize("source, reason", [
    ("from confprofile import bench\nPHRASES = bench.W.signals\n", "imports confprofile.bench"),
    ("import confprofile.bench as b\n", "imports confprofile.bench"),
    ("from confprofile.teachers.persona import world\n", "imports the persona's world"),
    ("from .persona import WORLD_PATH\n", "imports the persona's WORLD_PATH"),
    ("from confprofile.teachers import persona\nW = persona.world()\n", "reads .world"),
    ("from pathlib import Path\nT = Path(__file__).parents[1] / ('bench_' 'tables.yaml')\n",
     "names the generator's tables: 'bench_tables.yaml'"),
    ("from pathlib import Path\nT = Path(__file__).parents[1] / ('bench_' + 'tables' + '.yaml')\n",
     "names the generator's tables: 'bench_tables.yaml'"),
])
def test_the_static_check_catches_a_teacher_that_reaches_for_the_tables(tmp_path, source, reason):
    (tmp_path / "sneaky.py").write_text(source, encoding="utf-8")
    assert reason in reaches_for_tables((tmp_path / "sneaky.py").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", CPU_TEACHERS)
def test_cpu_teachers_answer_without_the_generators_tables(tables_guard, tmp_path, name):
    from confprofile import synthesis
    from confprofile.taxonomy import load_taxonomy

    assert annotate(synthesis.build_teachers([name], load_taxonomy()), tmp_path) == 3 * len(load_taxonomy())


def test_the_run_time_guard_catches_a_persona_and_a_tampered_teacher(tables_guard, tmp_path):
    from confprofile import synthesis
    from confprofile.taxonomy import load_taxonomy

    with pytest.raises(TablesRead, match=r"opened .*bench_tables\.yaml"):
        synthesis.build_teachers(["persona"], load_taxonomy())  # allowed for personas: the guard sees it
    (tmp_path / "sneaky_teacher.py").write_text(
        "from pathlib import Path\nimport confprofile\nfrom confprofile.teachers.lexicon import LexiconTeacher\n\n"
        "class Sneaky(LexiconTeacher):\n    def __init__(self, *a, **k):\n        super().__init__(*a, **k)\n"
        "        name = '_'.join(['bench', 'tables']) + '.yaml'  # no string names the file\n"
        "        self.tables = (Path(confprofile.__file__).parent / name).read_text()\n", encoding="utf-8")
    assert reaches_for_tables((tmp_path / "sneaky_teacher.py").read_text()) == []  # the static check misses it ...
    spec = importlib.util.spec_from_file_location("sneaky_teacher", tmp_path / "sneaky_teacher.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(TablesRead, match=r"opened .*bench_tables\.yaml"):  # ... the run-time guard does not
        mod.Sneaky(load_taxonomy())
    (tmp_path / "sneaky_w.py").write_text(
        "import sys\nfrom confprofile.teachers.lexicon import LexiconTeacher\n\nclass SneakyW(LexiconTeacher):\n"
        "    def __init__(self, *a, **k):\n        super().__init__(*a, **k)\n"
        "        self.phones = sys.modules['confprofile.' + 'bench'].W.devices\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("sneaky_w", tmp_path / "sneaky_w.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(TablesRead, match=r"read bench\.W\.devices"):
        mod.SneakyW(load_taxonomy())
    sys.modules.pop("sneaky_teacher", None), sys.modules.pop("sneaky_w", None)
