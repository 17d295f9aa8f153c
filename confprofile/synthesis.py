"""Label synthesis (notebook 02): teachers annotate users; raw outputs cached; an annotation table.

Every teacher sees the same confidence-hint prompt (``confprofile.prompts``) and returns raw text,
``n_samples`` per user. Raw outputs are appended to a JSONL cache per teacher, keyed by (teacher
``cache_id``, prompt hash, sampling parameters, sample index), and flushed after every batch, so:

- a rerun costs nothing (everything is found in the cache);
- a run killed at any point resumes where it stopped, with nothing lost or duplicated (a torn
  last line is skipped with a warning and redone; a key found twice is kept once);
- ``shard=(i, n)`` splits users deterministically; each shard appends to its own cache file
  (``<teacher>.shard<i>of<n>.jsonl``) and all files of a teacher merge on read;
- two runs may share a cache and a table (two commands at once on one profile and split):
  each append holds the cache file's lock and skips keys another run wrote meanwhile, and the
  command merges its teachers into the table holding the split's lock (``records.annotations_lock``;
  the second run waits, saying so), so no run's teachers are lost and no output is cached twice.

The table (one row per user x attribute x teacher x sample; columns in docs/CONTRACTS.md) is then
built from the cache by ``parsing.annotation_rows``: format problems are counted, never raised.

>>> import tempfile
>>> from confprofile.taxonomy import load_taxonomy
>>> from confprofile.teachers import get_teacher
>>> tax = load_taxonomy()
>>> recs = [{"user_id": "u1", "bio": "retired teacher, grandchild visits on weekends"}]
>>> df = synthesize(recs, tax, [get_teacher("lexicon", taxonomy=tax)], n_samples=2,
...                 temperature=0.5, seed=0, cache_dir=tempfile.mkdtemp(), progress=False)
>>> df.shape, df.loc[df.attribute == "age", "label"].tolist()
((12, 9), ['55_plus', '55_plus'])

CLI (writes ``runs/<profile>/synthesis/<split>.parquet`` unless ``--shard`` is given; run once
more without ``--shard`` to merge shard caches into the table at no cost; teachers already in
the table and not run now are kept; ``--help`` says what is read and written):

    python -m confprofile.synthesis --profile smoke --split pool --teachers lexicon,heuristic --samples 5

Every option not given comes from the profile's parameter file (teachers, n_samples,
teacher_temperature, teacher_max_items, seed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from confprofile import paths
from confprofile.errors import UsageError, run_cli
from confprofile.files import atomic_path, locked
from confprofile.params import load_params
from confprofile.parsing import ANNOTATION_COLUMNS, annotation_rows
from confprofile.prompts import build_messages, prompt_hash
from confprofile.records import MAX_ITEMS, annotations_lock, load_annotations, read_records, save_annotations
from confprofile.provenance import derive_seed
from confprofile.taxonomy import Taxonomy, load_taxonomy
from confprofile.teachers import Teacher, backend, get_teacher

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
NO_OUTPUT = "no output (generation failed)"


# -- sharding ------------------------------------------------------------------------------------
def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"1/4"`` or ``(1, 4)`` -> ``(1, 4)``; None -> None.

    >>> parse_shard("1/4")
    (1, 4)
    """
    if shard is None:
        return None
    if isinstance(shard, str):
        try:
            i, n = (int(x) for x in shard.split("/"))
        except ValueError:
            raise UsageError(f"--shard must look like 'i/n' (e.g. 0/4), got {shard!r}") from None
    else:
        i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise UsageError(f"--shard {i}/{n}: need 0 <= i < n")
    return i, n


def shard_of(user_id: str, n: int) -> int:
    """Which of ``n`` shards a user belongs to (stable across processes and machines)."""
    return derive_seed(0, "shard", user_id) % n


# -- cache ---------------------------------------------------------------------------------------
def cache_key(cache_id: str, phash: str, params: dict, sample: int) -> str:
    blob = json.dumps([cache_id, phash, params, int(sample)], sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


class OutputCache:
    """Append-only JSONL cache of raw outputs for one teacher (all shard files merge on read).

    Runs may share a cache (two ``synthesis`` commands at once): every read and append of a
    file holds ``files.locked`` on ``<file>.lock``, and an append first reads what other runs
    appended since, so a key is written to a file once. On read a key found twice (two shards,
    a cache written before this lock) is kept once."""

    def __init__(self, directory: str | Path, teacher: str, shard: tuple[int, int] | None = None):
        if not _SAFE_NAME.match(teacher):
            raise ValueError(f"teacher name {teacher!r} is not a safe file name")
        self.dir = Path(directory)
        self.teacher = teacher
        self.path = self.dir / (f"{teacher}.jsonl" if shard is None else f"{teacher}.shard{shard[0]}of{shard[1]}.jsonl")
        self.entries: dict[str, dict] = {}
        self._offset = 0  # bytes of self.path already read into entries
        self.load()

    def files(self) -> list[Path]:
        pat = re.compile(re.escape(self.teacher) + r"(\.shard\d+of\d+)?\.jsonl$")
        return sorted(p for p in self.dir.glob(f"{self.teacher}*.jsonl") if pat.fullmatch(p.name))

    @staticmethod
    def _lock(path: Path):
        return locked(path.with_name(path.name + ".lock"))

    def _read(self, fh, first_line: int = 1) -> tuple[list[str], list[int]]:
        """Add the entries of the lines of ``fh`` (keeping the first of a key seen twice);
        returns the good lines and the numbers of the corrupt ones."""
        good, bad = [], []
        for n, raw in enumerate(fh, start=first_line):
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                key = e["key"]
            except (json.JSONDecodeError, KeyError, TypeError):
                bad.append(n)
                continue
            good.append(line if line.endswith("\n") else line + "\n")
            self.entries.setdefault(key, e)  # duplicates (two shards, a rerun) kept once
        return good, bad

    def load(self) -> dict[str, dict]:
        """Read every file of the teacher. Corrupt lines (a run killed mid-write) are skipped; in
        this cache's own file they are also removed, so the warning comes once and the outputs
        they held are generated again."""
        self.entries, self._offset = {}, 0
        for f in self.files():
            with self._lock(f), f.open("rb") as fh:
                good, bad = self._read(fh)
                if f == self.path:
                    if bad:
                        with atomic_path(f) as tmp:
                            tmp.write_text("".join(good), encoding="utf-8")
                    self._offset = f.stat().st_size
            for n in bad:
                action = "dropped" if f == self.path else "skipping"
                warnings.warn(f"{f}:{n}: {action} a corrupt cache line (a run killed mid-write?)", stacklevel=2)
        return self.entries

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def append(self, entries: list[dict]) -> None:
        """Append and flush one batch, holding the file's lock: first read what other runs
        appended since this cache last read the file, then write only keys still missing (an
        output another run wrote first is taken from it). A torn last line left by a kill is
        closed off first."""
        if not entries:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock(self.path), self.path.open("a+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size < self._offset:  # rewritten by another run's repair: read it all again
                self._offset = 0
            fh.seek(self._offset)
            self._read(fh)  # other runs' entries; a torn line among them is repaired by the next load
            new = {}
            for e in entries:
                if e["key"] not in self.entries and e["key"] not in new:
                    new[e["key"]] = e
            if new:
                needs_newline = size > 0 and (fh.seek(size - 1), fh.read(1))[1] != b"\n"
                fh.seek(0, os.SEEK_END)
                text = "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in new.values())
                fh.write((("\n" if needs_newline else "") + text).encode("utf-8"))
                fh.flush()
            self._offset = fh.seek(0, os.SEEK_END)
        self.entries.update(new)


# -- synthesis -----------------------------------------------------------------------------------
def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    if os.environ.get("PAPERMILL_EXECUTION") or "papermill" in sys.modules:
        return False
    return sys.stderr.isatty()


def sampling_params(teacher: Teacher, n_samples: int, temperature: float, seed: int) -> dict:
    """The sampling part of a cache key (``n`` only where sample i depends on it)."""
    p = {"temperature": float(temperature), "seed": int(seed)}
    if not teacher.independent_samples:
        p["n"] = int(n_samples)
    return p


class _Prompts:
    """Messages and prompt hash per user, built once per synthesis run."""

    def __init__(self, taxonomy: Taxonomy, max_items: int = MAX_ITEMS):
        self.taxonomy, self.max_items, self.memo = taxonomy, max_items, {}

    def __call__(self, rec: dict) -> tuple[list[dict], str]:
        uid = rec["user_id"]
        if uid not in self.memo:
            msgs = build_messages(rec, self.taxonomy, max_items=self.max_items)
            self.memo[uid] = (msgs, prompt_hash(msgs))
        return self.memo[uid]


def check_max_users(teacher: str, value: object) -> int | None:
    """A teacher's ``max_users`` setting as given in a profile or ``--set``: a positive whole
    number, or None (every user); anything else is a one-line ``UsageError``.

    >>> check_max_users("lexicon", 40), check_max_users("lexicon", None)
    (40, None)
    >>> check_max_users("lexicon", -3)
    Traceback (most recent call last):
    ...
    confprofile.errors.UsageError: lexicon.max_users: expected a positive whole number of users (or null: every user), got -3
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{teacher}.max_users: expected a positive whole number of users "
                         f"(or null: every user), got {value!r}")
    return value


def _users(records: Sequence[dict], teacher: Teacher, shard: tuple[int, int] | None) -> list[dict]:
    """The records a teacher annotates: the first ``max_users`` (before sharding, so shards add
    up to the unsharded run), then those of the shard."""
    limit = check_max_users(teacher.name, teacher.max_users)
    users = list(records if limit is None else records[:limit])
    if shard is not None:
        users = [r for r in users if shard_of(r["user_id"], shard[1]) == shard[0]]
    return users


def _keys(teacher: Teacher, phash: str, params: dict, n_samples: int) -> list[str]:
    return [cache_key(teacher.cache_id, phash, params, i) for i in range(n_samples)]


def generate_missing(users: Sequence[dict], teacher: Teacher, cache: OutputCache, prompts: _Prompts, *,
                     n_samples: int, temperature: float, seed: int, show: bool = False,
                     log: Callable[[str], None] | None = None) -> int:
    """Generate the outputs of ``users`` that ``cache`` lacks, in the teacher's batches, and append
    them to the cache after every batch (a kill loses at most one batch). Returns the number of
    users annotated. An output the teacher gives up on (None) is not cached: the next run retries."""
    from tqdm import tqdm  # text bar: tqdm.auto would want ipywidgets inside notebooks

    params = sampling_params(teacher, n_samples, temperature, seed)
    todo = [r for r in users if any(k not in cache for k in _keys(teacher, prompts(r)[1], params, n_samples))]
    if log:
        log(f"{teacher.name}: {len(users) - len(todo)}/{len(users)} users cached, {len(todo)} to annotate")
    bar = tqdm(total=len(todo), desc=f"synthesis {teacher.name}", disable=not show, leave=False)
    bs = max(1, int(teacher.batch_size))
    for start in range(0, len(todo), bs):
        batch = todo[start:start + bs]
        t0 = time.perf_counter()
        outs = teacher.generate([prompts(r)[0] for r in batch], n_samples, temperature, seed)
        per_output = (time.perf_counter() - t0) / (len(batch) * n_samples)
        if len(outs) != len(batch) or any(len(o) != n_samples for o in outs):
            raise RuntimeError(f"teacher {teacher.name!r} returned {[len(o) for o in outs]} outputs for "
                               f"{len(batch)} prompts x {n_samples} samples")
        new = []
        for rec, texts in zip(batch, outs):
            ph = prompts(rec)[1]
            for i, (k, text) in enumerate(zip(_keys(teacher, ph, params, n_samples), texts)):
                if text is None or k in cache:  # None: failed for good this time; retried next run
                    continue
                new.append({"key": k, "user_id": rec["user_id"], "sample": i, "prompt_hash": ph,
                            "cache_id": teacher.cache_id, "params": params, "text": text, "gen_s": per_output})
        cache.append(new)
        bar.update(len(batch))
    bar.close()
    return len(todo)


def rows_from_cache(users: Sequence[dict], teacher: Teacher, cache: OutputCache, prompts: _Prompts,
                    taxonomy: Taxonomy, *, n_samples: int, temperature: float,
                    seed: int) -> tuple[list[dict], float]:
    """Annotation rows (docs/CONTRACTS.md) of ``users`` built from the cache alone, and the seconds
    the teacher spent generating those outputs (NaN where an entry lacks ``gen_s``). A missing
    output gives rows with ``error`` = ``NO_OUTPUT``; parsing problems are counted, never raised."""
    params = sampling_params(teacher, n_samples, temperature, seed)
    rows: list[dict] = []
    memo: dict[str | None, list[dict]] = {}  # identical outputs parse once (within a teacher)
    spent = 0.0
    for rec in users:
        for i, k in enumerate(_keys(teacher, prompts(rec)[1], params, n_samples)):
            e = cache.get(k)
            text = None if e is None else e["text"]
            spent += float("nan") if e is None else e.get("gen_s", float("nan"))
            if text not in memo:
                tmpl = annotation_rows("", teacher.name, 0, text, taxonomy)
                memo[text] = [{**r, "error": NO_OUTPUT} for r in tmpl] if text is None else tmpl
            rows.extend({**r, "user_id": rec["user_id"], "sample": i} for r in memo[text])
    return rows, spent


def synthesize(records: Sequence[dict], taxonomy: Taxonomy, teachers: Iterable[Teacher], *, n_samples: int,
               temperature: float, seed: int, cache_dir: str | Path, shard: str | tuple[int, int] | None = None,
               max_items: int = MAX_ITEMS, progress: bool | None = None,
               log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Annotate ``records`` with every teacher; return the annotation table (docs/CONTRACTS.md).

    Per teacher: ``generate_missing`` fills the cache, then ``rows_from_cache`` builds the rows.

    Args:
        records: user records (``records.read_records``); order fixes the row order.
        teachers: ``Teacher`` objects; a teacher with ``max_users`` annotates only the first
            ``max_users`` records (before sharding, so shards add up to the unsharded run).
        n_samples, temperature, seed: the profile's ``n_samples``, ``teacher_temperature``, ``seed``.
        cache_dir: where raw outputs are cached (``paths.synthesis_cache_dir(profile)`` in a pipeline
            run); without a cache nothing can resume.
        shard: ``"i/n"``: annotate (and return rows for) only the users of shard i.
        max_items: items per list field shown to teachers (the profile's ``teacher_max_items``).
        progress: a tqdm bar per teacher; None = only on an interactive terminal.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    shard = parse_shard(shard)
    show = _progress_enabled(progress)
    prompts = _Prompts(taxonomy, max_items)
    rows: list[dict] = []
    gen_seconds: dict[str, float] = {}
    sampling = {"n_samples": n_samples, "temperature": temperature, "seed": seed}
    for teacher in teachers:
        users = _users(records, teacher, shard)
        cache = OutputCache(cache_dir, teacher.name, shard)
        generate_missing(users, teacher, cache, prompts, show=show, log=log, **sampling)
        new, gen_seconds[teacher.name] = rows_from_cache(users, teacher, cache, prompts, taxonomy, **sampling)
        rows.extend(new)
    df = pd.DataFrame(rows, columns=list(ANNOTATION_COLUMNS))
    # seconds the teacher spent generating these outputs, whenever that was (read from the cache,
    # so a warm rerun reports the cold throughput; NaN where an entry predates the field)
    df.attrs["generation_seconds"] = gen_seconds
    return df.astype({"user_id": "object", "attribute": "object", "teacher": "object", "sample": "int64",
                      "confidence": "float64", "rationale": "object", "ok": "bool"})


# -- CLI -----------------------------------------------------------------------------------------
def build_teachers(specs: Mapping[str, Mapping | None] | Sequence[str], taxonomy: Taxonomy, *,
                   persona_shared: float = 0.0, seed: int = 0) -> list[Teacher]:
    """Teachers from named specs, as written in a profile's parameter file.

    ``{name: {"backend": registry name (default: name), "max_users": int, **constructor kwargs}}``;
    a list of names is shorthand for ``{name: {}}``. The name is the teacher's column value in
    the annotation table, so two vLLM teachers with different models get two names. Every
    constructor gets ``max_users`` (None, annotate every user, where the spec has none) and, where
    the registry says the backend takes it, the taxonomy. Persona teachers share one blind spot,
    ``persona_shared`` drawn from ``seed`` (the profile's ``persona_shared_blind_spot`` and
    ``seed``), where their spec does not set its own.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> [t.name for t in build_teachers({"lex": {"backend": "lexicon"}, "heuristic": None}, load_taxonomy())]
    ['lex', 'heuristic']
    """
    if not isinstance(specs, Mapping):
        specs = {name: {} for name in specs}
    out = []
    for name, spec in specs.items():
        kw = dict(spec or {})
        registry_name = kw.pop("backend", name)
        max_users = kw.pop("max_users", None)
        if backend(registry_name).takes_taxonomy:
            kw.setdefault("taxonomy", taxonomy)
        if registry_name == "persona":
            kw.setdefault("shared_blind_spot", persona_shared)
            kw.setdefault("shared_seed", seed)
        out.append(get_teacher(registry_name, name=name, max_users=check_max_users(name, max_users), **kw))
    return out


def _parse_settings(items: Sequence[str], teachers: Sequence[str]) -> dict[str, dict]:
    """``--set teacher.key=value`` items as ``{teacher: {key: value}}`` (values read as YAML)."""
    import yaml

    out: dict[str, dict] = {}
    for item in items:
        try:
            lhs, value = item.split("=", 1)
            name, key = lhs.split(".", 1)
        except ValueError:
            raise UsageError(f"--set expects teacher.key=value, got {item!r}") from None
        if name not in teachers:
            raise UsageError(f"--set {item!r}: teacher {name!r} is not among the teachers run ({', '.join(teachers)})")
        out.setdefault(name, {})[key] = yaml.safe_load(value)
    return out


def _teachers_from_specs(specs: Mapping[str, Mapping], taxonomy: Taxonomy, **mix) -> list[Teacher]:
    """``build_teachers`` with an unknown teacher or constructor argument as a one-line error."""
    try:
        return build_teachers(specs, taxonomy, **mix)
    except UsageError:
        raise
    except KeyError as e:  # the registry's "unknown teacher" error
        raise UsageError(f"{e.args[0] if e.args else e}") from None
    except (TypeError, ValueError) as e:  # an argument the backend does not take (a --set typo) or a bad value
        raise UsageError(f"teacher settings {dict(specs)}: {e}") from None


def merge_teachers(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """The annotation table after a run of some teachers: ``new``'s teachers replace their own
    rows in ``old``; every other teacher's rows stay (a table is built up one teacher at a time).

    >>> a = pd.DataFrame({"teacher": ["x", "y"], "user_id": ["u", "u"]})
    >>> merge_teachers(a, pd.DataFrame({"teacher": ["y", "y"], "user_id": ["u", "v"]}))["teacher"].tolist()
    ['x', 'y', 'y']
    """
    if old is None or old.empty:
        return new
    kept = old[~old["teacher"].isin(set(new["teacher"]))]
    return pd.concat([kept, new], ignore_index=True)


_CLI = """Annotate one split of a profile's users with its teachers.

Reads:  the records, runs/<profile>/data/<split>.jsonl (written by notebook 01 or
        `python -m confprofile.bench --profile P`), or --records; the taxonomy named by the
        profile (taxonomy_file; default: the built-in); runs/<profile>/synthesis/cache/.
Writes: runs/<profile>/synthesis/cache/<teacher>.jsonl (raw outputs, resumable) and, without
        --shard, the annotation table runs/<profile>/synthesis/<split>.parquet. Teachers already
        in the table and not run now are kept, so teachers can be run one call at a time.
Every option not given comes from the profile (teachers, n_samples, teacher_temperature,
teacher_max_items, seed). CONFPROFILE_ROOT moves runs/ (default: the repository root)."""


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m confprofile.synthesis", description=_CLI,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True, metavar="NAME|PATH",
                    help="smoke, cpu, gpu or a profile file; its parameters give every default below")
    ap.add_argument("--split", default="pool")
    ap.add_argument("--records", default=None, help="records JSONL to annotate (default: runs/<profile>/data/<split>.jsonl)")
    ap.add_argument("--teachers", default=None, help="comma-separated teacher names (default: the profile's)")
    ap.add_argument("--samples", type=int, default=None, help="samples per teacher and user (default: n_samples)")
    ap.add_argument("--temperature", type=float, default=None, help="default: the profile's teacher_temperature")
    ap.add_argument("--seed", type=int, default=None, help="default: the profile's seed")
    ap.add_argument("--max-items", type=int, default=None, help="items per list field shown (default: teacher_max_items)")
    ap.add_argument("--shard", default=None, help="i/n: annotate only shard i of n (caches merge on read)")
    ap.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the profile's taxonomy_file)")
    ap.add_argument("--set", action="append", default=[], metavar="TEACHER.KEY=VALUE",
                    help="teacher constructor argument, e.g. smollm2.max_users=40 or openai.model=qwen3-8b")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars (model loading's included)")
    args = ap.parse_args(argv)
    if args.no_progress:  # tqdm reads it for every bar, the ones model loaders open too
        os.environ["TQDM_DISABLE"] = "1"

    params = load_params(args.profile)
    profile = params["profile"]
    n_samples = params["n_samples"] if args.samples is None else args.samples
    if n_samples < 1:
        raise UsageError(f"--samples must be at least 1, got {n_samples}")
    shard = parse_shard(args.shard)
    profile_specs = params.get("teachers") or {}
    names = list(profile_specs) if args.teachers is None else [t for t in args.teachers.split(",") if t]
    settings = _parse_settings(args.set, names)
    specs = {t: {**(profile_specs.get(t) or {}), **settings.get(t, {})} for t in names}
    taxonomy = load_taxonomy(args.taxonomy or params.get("taxonomy_file"))
    teachers = _teachers_from_specs(specs, taxonomy, persona_shared=params["persona_shared_blind_spot"],
                                    seed=params["seed"])
    source = Path(args.records) if args.records else paths.records_path(profile, args.split)
    records = read_records(source)
    print(f"read {len(records)} users from {source}; taxonomy {taxonomy.path} ({len(taxonomy)} attributes)",
          file=sys.stderr)
    df = synthesize(records, taxonomy, teachers, n_samples=n_samples,
                    temperature=params["teacher_temperature"] if args.temperature is None else args.temperature,
                    seed=params["seed"] if args.seed is None else args.seed,
                    max_items=params.get("teacher_max_items", MAX_ITEMS) if args.max_items is None else args.max_items,
                    cache_dir=paths.synthesis_cache_dir(profile), shard=shard,
                    progress=False if args.no_progress else None, log=lambda s: print(s, file=sys.stderr))
    for t in teachers:
        t.close()
    ok = df.groupby("teacher")["ok"].mean()
    print("parse success by teacher: " + ", ".join(f"{k} {v:.1%}" for k, v in ok.items()))
    if shard is None:
        with annotations_lock(profile, args.split):  # another run's teachers are read, not overwritten
            old = load_annotations(profile, args.split) if paths.annotations_path(profile, args.split).is_file() else None
            table = merge_teachers(old, df)
            written = save_annotations(table, profile, args.split)
        print(f"wrote {written} ({len(table)} rows; teachers {', '.join(sorted(table['teacher'].unique()))})")
    else:
        print(f"shard {args.shard}: {len(df)} rows cached under {paths.synthesis_cache_dir(profile)}; "
              "run again without --shard to write the table")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
