import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import json

import pandas as pd
import pytest

from confprofile.parsing import ANNOTATION_COLUMNS
from confprofile.records import load_annotations, save_annotations, write_jsonl
from confprofile import monitor
from confprofile.synthesis import OutputCache, main, shard_of, synthesize
from confprofile.taxonomy import load_taxonomy
from confprofile.teachers import get_teacher

TAX = load_taxonomy()
REPO = pathlib.Path(__file__).resolve().parent.parent

FAKE = '''
import json, time
from confprofile.prompts import record_text
from confprofile.provenance import derive_seed
from confprofile.teachers import Teacher

class Fake(Teacher):
    """Deterministic per (user, sample); optionally slow; every 7th output is malformed."""
    name, cache_id, batch_size, independent_samples = "fake", "fake-v1", 8, True
    def __init__(self, delay=0.0):
        self.delay = delay
    def generate(self, messages_batch, n, temperature, seed):
        time.sleep(self.delay)
        out = []
        for m in messages_batch:
            uid = record_text(m).splitlines()[0][5:]
            row = []
            for i in range(n):
                s = derive_seed(seed, uid, i)
                if s % 7 == 0:
                    row.append("sorry, no JSON")
                    continue
                row.append(json.dumps({"gender": {"label": ["female", "male"][s % 2], "confidence": (s % 100) / 100,
                                                  "rationale": f"sample {i}"},
                                       "age": {"label": "18_24", "confidence": "high"}}))
            out.append(row)
        return out
'''
exec(FAKE)  # noqa: S102 - the same class the subprocess uses


def users(n):
    return [{"user_id": f"u{i:04d}", "bio": f"user number {i}", "searches": ["coupon"] if i % 3 else ["luxury"]}
            for i in range(n)]


def test_table_contract_and_determinism(tmp_path):
    recs = users(12)
    t = [Fake(), get_teacher("lexicon", taxonomy=TAX)]
    a = synthesize(recs, TAX, t, n_samples=3, temperature=0.8, seed=5, cache_dir=tmp_path / "a", progress=False)
    b = synthesize(recs, TAX, t, n_samples=3, temperature=0.8, seed=5, cache_dir=tmp_path / "b", progress=False)
    assert tuple(a.columns) == ANNOTATION_COLUMNS
    assert len(a) == 12 * 2 * 3 * len(TAX)
    pd.testing.assert_frame_equal(a, b)
    assert not a.duplicated(["user_id", "attribute", "teacher", "sample"]).any()
    fails = a[~a.ok]
    assert fails.label.isna().all() and fails.confidence.isna().all() and fails.error.notna().all()
    assert (a[a.ok].confidence.between(0, 1)).all()
    c = synthesize(recs, TAX, t, n_samples=3, temperature=0.8, seed=6, cache_dir=tmp_path / "a", progress=False)
    assert not c.equals(a)
    assert 0 < monitor.failure_rates(a)["fake"] < 1


def test_rerun_is_free_and_more_samples_reuse_cache(tmp_path):
    recs = users(10)

    class Counting(Fake):
        calls = 0

        def generate(self, mb, n, temperature, seed):
            Counting.calls += len(mb)
            return super().generate(mb, n, temperature, seed)

    a = synthesize(recs, TAX, [Counting()], n_samples=2, temperature=0.5, seed=0, cache_dir=tmp_path, progress=False)
    assert Counting.calls == 10
    b = synthesize(recs, TAX, [Counting()], n_samples=2, temperature=0.5, seed=0, cache_dir=tmp_path, progress=False)
    assert Counting.calls == 10
    pd.testing.assert_frame_equal(a, b)
    lines = (tmp_path / "fake.jsonl").read_text().splitlines()
    assert len(lines) == 20


def test_resume_after_sigkill_equals_clean_run(tmp_path):
    recs = users(200)
    data = tmp_path / "users.jsonl"
    write_jsonl(data, recs)
    cache = tmp_path / "cache"
    script = FAKE + textwrap.dedent(f'''
        from confprofile.records import read_records
        from confprofile.synthesis import synthesize
        from confprofile.taxonomy import load_taxonomy
        synthesize(read_records({str(data)!r}), load_taxonomy(), [Fake(delay=0.05)], n_samples=3,
                   temperature=0.7, seed=3, cache_dir={str(cache)!r}, progress=False)
    ''')
    env = {**os.environ, "CONFPROFILE_ROOT": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    target = cache / "fake.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if target.exists() and target.read_text().count("\n") >= 150:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = target.read_text().count("\n")
    assert 0 < done < 600, "kill must land mid-run"
    with target.open("a") as fh:  # as if the kill tore the last write in half
        fh.write('{"key": "torn", "text": "half a li')
    with pytest.warns(UserWarning, match=r"fake\.jsonl:\d+: dropped a corrupt cache line"):
        resumed = synthesize(recs, TAX, [Fake()], n_samples=3, temperature=0.7, seed=3, cache_dir=cache, progress=False)
    clean = synthesize(recs, TAX, [Fake()], n_samples=3, temperature=0.7, seed=3, cache_dir=tmp_path / "clean",
                       progress=False)
    pd.testing.assert_frame_equal(resumed, clean)
    assert len(resumed) == 200 * 3 * len(TAX)
    keys = [json.loads(l)["key"] for l in target.read_text().splitlines() if l.startswith('{"cache_id"')]
    assert len(keys) == len(set(keys)) == 600


def test_duplicates_and_corrupt_lines_in_cache(tmp_path):
    c = OutputCache(tmp_path, "fake")
    c.append([{"key": "k1", "text": "a"}, {"key": "k2", "text": "b"}])
    (tmp_path / "fake.shard0of2.jsonl").write_text('{"key": "k1", "text": "a"}\nnot json\n{"key": "k3", "text": "c"}\n')
    with pytest.warns(UserWarning, match=r"fake\.shard0of2\.jsonl:2"):
        c2 = OutputCache(tmp_path, "fake")
    assert sorted(c2.entries) == ["k1", "k2", "k3"]
    (tmp_path / "fake.jsonl").write_text('{"key": "k1", "text": "a"}\n{"key": "k4", "te')  # torn tail
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        c3 = OutputCache(tmp_path, "fake")
    c3.append([{"key": "k5", "text": "e"}])  # closes the torn line before appending
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert "k5" in OutputCache(tmp_path, "fake").entries


def test_shards_merge_to_the_unsharded_table(tmp_path):
    recs = users(40)
    assert {shard_of(r["user_id"], 3) for r in recs} == {0, 1, 2}
    parts = [synthesize(recs, TAX, [Fake()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path / "s",
                        shard=f"{i}/3", progress=False) for i in range(3)]
    assert sum(len(p) for p in parts) == 40 * 2 * len(TAX)
    assert len(list((tmp_path / "s").glob("fake.shard*of3.jsonl"))) == 3

    class Never(Fake):
        def generate(self, *a, **k):
            raise AssertionError("everything should be cached by the shards")

    merged = synthesize(recs, TAX, [Never()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path / "s",
                        progress=False)
    clean = synthesize(recs, TAX, [Fake()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path / "c",
                       progress=False)
    pd.testing.assert_frame_equal(merged, clean)


def test_failed_generation_is_not_cached_and_retried(tmp_path):
    class Flaky(Fake):
        independent_samples = False

        def generate(self, mb, n, temperature, seed):
            return [[None] * n for _ in mb]

    df = synthesize(users(3), TAX, [Flaky()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    assert (~df.ok).all() and df.error.str.startswith("no output").all()
    assert not (tmp_path / "fake.jsonl").exists()


def test_max_users_subset(tmp_path):
    t = Fake()
    t.max_users = 4
    df = synthesize(users(10), TAX, [t], n_samples=1, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    assert df.user_id.nunique() == 4


def _cli_profile(tmp_path, monkeypatch, n_users=15):
    """A profile ``t`` under a temporary root: a parameter file and a pool of ``n_users``."""
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    params = tmp_path / "notebooks" / "params" / "t.yaml"
    params.parent.mkdir(parents=True)
    params.write_text("profile: t\nseed: 0\nn_samples: 2\nteacher_temperature: 0.7\n"
                      "teachers: {lexicon: {}, heuristic: {}}\n")
    write_jsonl(tmp_path / "runs" / "t" / "data" / "pool.jsonl", users(n_users))
    return tmp_path / "runs" / "t" / "data"


def test_cli_save_load_and_no_gold_reads(tmp_path, monkeypatch, request):
    data = _cli_profile(tmp_path, monkeypatch)
    write_jsonl(data / "gold" / "pool.jsonl", [{"user_id": "u0000", "labels": {}, "clues": {}}])
    request.getfixturevalue("no_gold_reads")
    assert main(["--profile", "t", "--split", "pool", "--teachers", "lexicon,heuristic", "--samples", "2",
                 "--shard", "0/2", "--no-progress"]) == 0
    assert not (tmp_path / "runs" / "t" / "synthesis" / "pool.parquet").exists()
    assert main(["--profile", "t", "--split", "pool", "--teachers", "lexicon,heuristic", "--samples", "2",
                 "--no-progress"]) == 0
    df = load_annotations("t", "pool")
    assert len(df) == 15 * 2 * 2 * len(TAX) and tuple(df.columns) == ANNOTATION_COLUMNS
    save_annotations(df, "t", "again")
    pd.testing.assert_frame_equal(load_annotations("t", "again"), df)


def test_generation_time_is_cached_so_warm_reruns_report_cold_throughput(tmp_path):
    recs = users(6)
    cold = synthesize(recs, TAX, [Fake(delay=0.05)], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path,
                      progress=False)
    warm = synthesize(recs, TAX, [Fake()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    spent = cold.attrs["generation_seconds"]["fake"]
    assert spent >= 0.05 and warm.attrs["generation_seconds"]["fake"] == pytest.approx(spent)


def test_cli_takes_its_defaults_from_the_profile(tmp_path, monkeypatch):
    _cli_profile(tmp_path, monkeypatch, n_users=4)
    assert main(["--profile", "t", "--no-progress"]) == 0
    df = load_annotations("t", "pool")
    assert sorted(df["teacher"].unique()) == ["heuristic", "lexicon"] and df["sample"].max() == 1


@pytest.mark.parametrize("args, message", [
    (["--shard", "3/2"], "--shard 3/2: need 0 <= i < n"),
    (["--shard", "x"], "--shard must look like 'i/n'"),
    (["--samples", "0"], "--samples must be at least 1"),
    (["--teachers", "lexicon,nosuch"], "nosuch"),
    (["--set", "lexicon.nosuch_arg=3"], "nosuch_arg"),
    (["--set", "other.max_users=3"], "teacher 'other' is not among the teachers run"),
    (["--set", "lexicon"], "--set expects teacher.key=value"),
])
def test_cli_bad_arguments_are_one_line_errors(tmp_path, monkeypatch, capsys, args, message):
    from confprofile.errors import run_cli

    _cli_profile(tmp_path, monkeypatch, n_users=3)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert run_cli(main, ["--profile", "t", "--no-progress", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, no table replaced


def test_cli_empty_records_file_is_an_error(tmp_path, monkeypatch, capsys):
    from confprofile.errors import run_cli

    data = _cli_profile(tmp_path, monkeypatch)
    (data / "pool.jsonl").write_text("\n")
    assert run_cli(main, ["--profile", "t", "--no-progress"]) == 2
    assert "pool.jsonl: no records (the file is empty)" in capsys.readouterr().err


def test_a_torn_cache_line_is_repaired_once(tmp_path):
    recs = users(3)
    first = synthesize(recs, TAX, [Fake()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    path = tmp_path / "fake.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + lines[2][:25] + "\n" + "".join(lines[3:]))  # a line torn by a kill
    with pytest.warns(UserWarning, match="fake.jsonl:3: dropped a corrupt cache line"):
        again = synthesize(recs, TAX, [Fake()], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path,
                           progress=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: the next run reads a clean file
        OutputCache(tmp_path, "fake")
    keys = sorted(json.loads(x)["key"] for x in path.read_text().splitlines())
    assert keys == sorted(json.loads(x)["key"] for x in lines)  # the torn output was regenerated, once
    pd.testing.assert_frame_equal(again, first)


def test_generate_missing_then_rows_from_cache(tmp_path):
    from confprofile.synthesis import NO_OUTPUT, _Prompts, generate_missing, rows_from_cache

    recs, teacher, prompts = users(3), Fake(), _Prompts(TAX)
    cache = OutputCache(tmp_path, teacher.name)
    kw = {"n_samples": 2, "temperature": 0.7, "seed": 0}
    rows, _ = rows_from_cache(recs, teacher, cache, prompts, TAX, **kw)  # nothing generated yet
    assert len(rows) == 3 * 2 * len(TAX) and {r["error"] for r in rows} == {NO_OUTPUT}
    assert generate_missing(recs, teacher, cache, prompts, **kw) == 3
    assert generate_missing(recs, teacher, cache, prompts, **kw) == 0  # all cached: nothing to do
    rows, seconds = rows_from_cache(recs, teacher, cache, prompts, TAX, **kw)
    assert NO_OUTPUT not in {r["error"] for r in rows} and seconds >= 0
    table = synthesize(recs, TAX, [teacher], cache_dir=tmp_path, progress=False, **kw)
    expect = pd.DataFrame(rows, columns=list(ANNOTATION_COLUMNS))
    for col in ("user_id", "sample", "label", "error", "ok"):  # synthesize = the two steps
        assert table[col].fillna("-").tolist() == expect[col].fillna("-").tolist(), col


@pytest.mark.parametrize("value", ["abc", "-3", "0", "2.5"])
def test_a_bad_max_users_is_a_one_line_error_and_the_table_stays(tmp_path, monkeypatch, capsys, value):
    from confprofile.errors import run_cli

    _cli_profile(tmp_path, monkeypatch, n_users=20)
    assert main(["--profile", "t", "--teachers", "lexicon,heuristic", "--no-progress"]) == 0
    table = tmp_path / "runs" / "t" / "synthesis" / "pool.parquet"
    before = table.read_bytes()
    capsys.readouterr()
    assert run_cli(main, ["--profile", "t", "--teachers", "lexicon", "--set", f"lexicon.max_users={value}",
                          "--no-progress"]) == 2
    shown = {"abc": "'abc'", "-3": "-3", "0": "0", "2.5": "2.5"}[value]
    assert capsys.readouterr().err == ("error: lexicon.max_users: expected a positive whole number of users "
                                       f"(or null: every user), got {shown}\n")
    assert table.read_bytes() == before


CONCURRENT = FAKE + '''
import os, sys, time
from confprofile import synthesis
from confprofile.errors import run_cli
from confprofile.teachers import register_teacher

register_teacher("fake", lambda name="fake", max_users=None: Fake())
merge = synthesis.merge_teachers

def slow_merge(old, new):  # widen the read-merge-write window: without a lock both runs read before either writes
    time.sleep(0.6)
    return merge(old, new)

synthesis.merge_teachers = slow_merge
go, me = sys.argv[1], sys.argv[2]
open(me + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
sys.exit(run_cli(synthesis.main, sys.argv[3:]))
'''


def test_two_runs_at_once_keep_both_tables_and_cache_each_output_once(tmp_path, monkeypatch):
    """Two synthesis runs on one profile and split, started together five times: both runs'
    teachers end up in a readable table every time, the shared teacher's cache holds each key
    once, and the run that found the table locked says it waited."""
    import pandas as pd

    _cli_profile(tmp_path, monkeypatch, n_users=16)
    env = {**os.environ, "CONFPROFILE_ROOT": str(tmp_path), "PYTHONPATH": str(REPO)}
    runs = {"a": "fake,lexicon", "b": "fake,heuristic"}  # fake: shared cache; lexicon/heuristic: one run each
    waited = []
    for trial in range(5):
        synth = tmp_path / "runs" / "t" / "synthesis"
        if synth.exists():
            import shutil

            shutil.rmtree(synth)
        go = tmp_path / f"go{trial}"
        procs = {name: subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(go), str(tmp_path / f"{name}{trial}"), "--profile", "t",
             "--teachers", teachers, "--samples", "2", "--no-progress"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name, teachers in runs.items()}
        deadline = time.time() + 120
        while not all((tmp_path / f"{n}{trial}.ready").exists() for n in runs) and time.time() < deadline:
            time.sleep(0.01)
        go.touch()
        outs = {n: p.communicate(timeout=120) for n, p in procs.items()}
        for n, p in procs.items():
            assert p.returncode == 0, outs[n][1]
        waited.append(any("waiting for another run writing pool.parquet" in err for _, err in outs.values()))
        table = pd.read_parquet(synth / "pool.parquet")
        assert sorted(table["teacher"].unique()) == ["fake", "heuristic", "lexicon"], f"trial {trial}"
        assert len(table) == 3 * 16 * 2 * len(TAX)
        keys = [json.loads(line)["key"] for line in (synth / "cache" / "fake.jsonl").read_text().splitlines()]
        assert len(keys) == len(set(keys)) == 16 * 2, f"trial {trial}: duplicated cache entries"
        assert not list(synth.glob("*.tmp*")), "a temporary file was left behind"
    assert any(waited), "no run said it waited for the table's lock"
