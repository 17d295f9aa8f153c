"""The Blog Authorship Corpus converter (``confprofile.blogs``) on a tiny dump of the same format.

A few INSERT statements like mysqldump's (escaped quotes, backslashes and newlines, multi-row
VALUES, a ``;`` and parentheses inside strings, NULL, a second statement for the same table) sit
in a tiny .tar.gz under the sdist's member path, so the converter runs end to end with no
network: records, gold with a gap for ``indUnk``, the split sizes, determinism. The download is
checked against a local ``file://`` URL and a closed port.
"""

import io
import json
import tarfile
from pathlib import Path

import pytest

from confprofile import blogs, records
from confprofile.dataset import import_data
from confprofile.params import load_params
from confprofile.taxonomy import load_taxonomy

REPO = Path(__file__).resolve().parent.parent
TAX = load_taxonomy(blogs.DEFAULT_TAXONOMY)

HEADER = """-- MySQL dump 10.13
DROP TABLE IF EXISTS `msgs`;
CREATE TABLE `msgs` (
  `message_id` int(11) NOT NULL AUTO_INCREMENT,
  `user_id` int(10) unsigned DEFAULT NULL,
  `date` varchar(64) DEFAULT NULL,
  `created_time` datetime DEFAULT NULL,
  `message` text,
  PRIMARY KEY (`message_id`),
  KEY `user_id` (`user_id`)
) ENGINE=MyISAM AUTO_INCREMENT=31675 DEFAULT CHARSET=latin1;
LOCK TABLES `msgs` WRITE;
"""
# users 1-12 (ages and industries chosen to hit every rule); user 13 has outcomes but no post
MSGS = [
    r"""INSERT INTO `msgs` VALUES (1,1,'31,July,2004','2004-07-31 00:00:00',"""
    r"""'   my mom wouln\'t let me go out; (really)  '),"""
    r"""(2,1,'01,August,2004','2004-08-01 00:00:00','a \"quoted\" word,\\ a backslash\nand a newline&nbsp;here'),"""
    "(3,2,'02,June,2004','2004-06-02 00:00:00','%s, it''s over'),(4,2,'02,June,2004',NULL,'');"
    % "Mi último día".encode("utf-8").decode("cp1252"),  # UTF-8 read as cp1252: "Mi Ãºltimo dÃ\xada"
    "INSERT INTO `msgs` VALUES " + ",".join(
        f"({100 + u},{u},'01,May,2004','2004-05-0{u % 9 + 1} 00:00:00','post of user {u} about (things), ok')"
        for u in range(3, 13)) + ";",
]
OUTCOMES = """CREATE TABLE `blog_outcomes` (
  `user_id` int(11) NOT NULL,
  `gender` int(2) DEFAULT NULL,
  `age` int(3) unsigned DEFAULT NULL,
  `occu` varchar(32) DEFAULT NULL,
  `sign` varchar(16) DEFAULT NULL,
  PRIMARY KEY (`user_id`)
) ENGINE=MyISAM DEFAULT CHARSET=latin1;
INSERT INTO `blog_outcomes` VALUES (1,1,15,'indUnk','Leo'),(2,0,25,'Student','Aries'),(3,1,35,'Technology','Virgo'),
(4,0,17,'Arts','Libra'),(5,1,24,'Banking','Leo'),(6,0,40,'Government','Leo'),(7,1,13,'Education','Leo'),
(8,0,27,'Internet','Leo'),(9,1,48,'Law','Leo'),(10,0,16,'indUnk','Leo'),(11,1,23,'Fashion','Leo'),
(12,0,33,'Student',NULL),
(13,1,14,'Student','Leo');
UNLOCK TABLES;
"""
USERS_CSV = "user_id,gender,age,occu,is_indUnk\n1,female,15,indUnk,1\n2,male,25,Student,0\n999,male,30,Arts,0\n"


def make_archive(folder: Path, users_csv: str = USERS_CSV) -> Path:
    path = folder / "dlatk-1.3.15.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for member, text in ((blogs.DUMP_MEMBER, HEADER + "\n".join(MSGS) + "\n" + OUTCOMES),
                             (blogs.USERS_CSV_MEMBER, users_csv)):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("body, value", [
    (r"it\'s", "it's"), (r"it''s", "it's"), (r'say \"hi\"', 'say "hi"'), (r"a\\b", "a\\b"),
    (r"a\nb\rc\td", "a\nb\rc\td"), (r"nul\0", "nul\0"), (r"z\Z", "z\x1a"), (r"\b", "\b"),
    (r"100\%", "100\\%"), (r"a\_b", "a\\_b"), (r"\q", "q"), (r"\\'", "\\'"),
])
def test_mysql_string_escapes(body, value):
    assert blogs.unescape(body) == value


def test_sql_rows_reads_multi_row_values_and_strings_with_syntax_inside():
    text = HEADER + "\n".join(MSGS)
    rows = list(blogs.sql_rows(text, "msgs"))
    assert len(rows) == 4 + 10 and rows[0][0] == 1 and rows[3][3] is None
    assert rows[0][4] == "   my mom wouln't let me go out; (really)  "
    assert rows[1][4] == 'a "quoted" word,\\ a backslash\nand a newline&nbsp;here'
    assert blogs.sql_columns(text, "msgs") == ["message_id", "user_id", "date", "created_time", "message"]
    with pytest.raises(blogs.BlogsError, match="cannot parse"):
        list(blogs.sql_rows("INSERT INTO `t` VALUES (1,'unterminated);", "t"))


def test_convert_end_to_end(tmp_path, monkeypatch):
    out = tmp_path / "data"
    c = blogs.convert(make_archive(tmp_path), out, n_test=3, seed=0)
    assert c["split"] == {"pool": 9, "test": 3} and c["users"] == 12  # user 13 has no post: left out
    assert c["gender_checked"] == 2 and c["posts"] == 14 and c["posts_kept"] == 13  # the empty post dropped
    recs = {r["user_id"]: r for s in ("pool", "test") for r in records.read_records(out / f"{s}.jsonl")}
    assert set(recs) == {str(u) for u in range(1, 13)}
    assert recs["1"]["comments"] == ['a "quoted" word,\\ a backslash and a newline here',  # newest first, cleaned
                                     "my mom wouln't let me go out; (really)"]
    assert recs["2"]["comments"] == ["Mi último día, it's over"]  # mojibake repaired
    assert "Comments: " in records.render_record(recs["1"])
    gold = {g["user_id"]: g["labels"] for s in ("pool", "test")
            for _, g in records.read_jsonl(out / "gold" / f"{s}.jsonl")}
    assert gold["1"] == {"gender": "female", "age": "13_17", "industry": None}  # indUnk: a gap
    assert gold["2"] == {"gender": "male", "age": "23_27", "industry": "student"}
    assert gold["9"] == {"gender": "female", "age": "33_48", "industry": "public_service"}
    assert [gold[u]["industry"] for u in ("3", "4", "5", "7", "11")] == \
        ["technology", "arts_media", "business", "education", "arts_media"]
    assert c["gaps"] == {"industry": 2}
    # the pipeline's own import reads what was written (records, and gold against the taxonomy)
    data = {s: str(out / f"{s}.jsonl") for s in ("pool", "test")}
    gold_files = {s: str(out / "gold" / f"{s}.jsonl") for s in ("pool", "test")}
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path / "root"))
    assert "gold_test" in import_data("blogs_t", data, gold_files, str(blogs.DEFAULT_TAXONOMY))


def test_convert_is_deterministic_and_the_split_follows_the_seed(tmp_path):
    archive = make_archive(tmp_path)
    for name in ("a", "b"):
        blogs.convert(archive, tmp_path / name, n_test=3, seed=0)
    for f in ("pool.jsonl", "test.jsonl", "gold/pool.jsonl", "gold/test.jsonl"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    tests = set()
    for seed in range(4):
        blogs.convert(archive, tmp_path / "s", n_test=3, seed=seed)
        tests.add(tuple(json.loads(line)["user_id"] for line in (tmp_path / "s" / "test.jsonl").open()))
    assert len(tests) > 1


def test_post_limits(tmp_path):
    blogs.convert(make_archive(tmp_path), tmp_path / "o", n_test=3, max_posts=1, post_chars=10)
    recs = {r["user_id"]: r for s in ("pool", "test") for r in records.read_records(tmp_path / "o" / f"{s}.jsonl")}
    assert recs["1"]["comments"] == ['a "quoted…']  # the newest post only, cut to 10 characters


def test_a_wrong_gender_code_is_an_error(tmp_path):
    archive = make_archive(tmp_path, USERS_CSV.replace("1,female", "1,male"))
    with pytest.raises(blogs.BlogsError, match="gender code 1 of user 1"):
        blogs.convert(archive, tmp_path / "o", n_test=3)


def test_industry_grouping_covers_the_corpus_and_names_taxonomy_labels():
    assert len(blogs.INDUSTRY) == 37  # the corpus's industries, indUnk included
    used = {v for v in blogs.INDUSTRY.values() if v is not None}
    assert used == set(TAX["industry"].labels) and 5 <= len(used) <= 7
    assert [k for k, v in blogs.INDUSTRY.items() if v is None] == ["indUnk"]
    assert set(TAX["age"].labels) == {name for _, _, name in blogs.AGE_BANDS}
    assert set(TAX["gender"].labels) == set(blogs.GENDER.values())


def test_download_is_checked_and_kept_once(tmp_path):
    src = tmp_path / "src" / "x.tar.gz"
    src.parent.mkdir()
    src.write_bytes(b"payload")
    sha = blogs.sha256_of(src)
    cache = tmp_path / "cache"
    got = blogs.fetch(src.as_uri(), sha, cache, log=lambda s: None)
    assert got == cache / "x.tar.gz" and got.read_bytes() == b"payload"
    src.unlink()  # present in the cache: no download
    assert blogs.fetch(src.as_uri(), sha, cache, log=lambda s: None) == got
    with pytest.raises(blogs.BlogsError, match="sha256 .* is not the expected"):
        blogs.fetch(src.as_uri(), "0" * 64, cache, log=lambda s: None)


def test_download_failures_are_one_line_errors(tmp_path):
    src = tmp_path / "y.tar.gz"
    src.write_bytes(b"other")
    with pytest.raises(blogs.BlogsError, match="checksum mismatch"):
        blogs.fetch(src.as_uri(), "0" * 64, tmp_path / "cache", log=lambda s: None)
    assert not list((tmp_path / "cache").glob("*"))  # nothing kept
    with pytest.raises(blogs.BlogsError, match="cannot download") as e:
        blogs.fetch("http://127.0.0.1:9/z.tar.gz", "0" * 64, tmp_path / "cache", log=lambda s: None)
    assert "\n" not in str(e.value)


def test_cli_prints_one_summary_line(tmp_path, capsys):
    rc = blogs.main(["--archive", str(make_archive(tmp_path)), "--out", str(tmp_path / "o"), "--n-test", "3"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(out) == 1 and out[0].startswith("blogs: 12 users (pool 9, test 3)")


def test_the_profile_names_the_data_and_only_taxonomy_driven_teachers():
    p = load_params(REPO / "examples" / "blogs" / "blogs.yaml")
    assert p["profile"] == "blogs"
    assert p["data"]["pool"].endswith("examples/blogs/data/pool.jsonl")
    assert p["gold"]["test"].endswith("examples/blogs/data/gold/test.jsonl")
    assert Path(p["taxonomy_file"]) == blogs.DEFAULT_TAXONOMY
    backends = {(spec or {}).get("backend", name) for name, spec in p["teachers"].items()}
    assert backends <= {"lexicon", "heuristic", "embedding", "smollm2", "hf", "openai", "vllm"}
    assert not backends & {"persona", "knowledge"}  # models of the built-in generator's world
    assert p["teachers"]["smollm2"]["max_users"] >= 1
    assert p["sweep_users"] == 0  # the voting sweep's teachers are simulated from the generator's world
