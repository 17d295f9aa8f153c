"""The runner's output: cell progress in a terminal, one line per notebook in CI logs, and a
timing table at the end (the notebooks themselves run in test_notebooks.py)."""

import io
import pathlib

import pytest

from confprofile import paths, reproduce


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty, ci, shown", [(True, None, True), (True, "true", False), (False, None, False)])
def test_progress_only_in_a_terminal_outside_ci(monkeypatch, tty, ci, shown):
    monkeypatch.setattr("sys.stderr", _Terminal() if tty else io.StringIO())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert reproduce.show_progress() is shown


@pytest.mark.parametrize("progress", [True, False])
def test_run_notebook_hands_papermill_its_progress_bar(tmp_root, monkeypatch, progress):
    import papermill

    seen = {}
    monkeypatch.setattr(papermill, "execute_notebook", lambda src, out, **kw: seen.update(kw))
    nb = reproduce.notebooks()[0]
    reproduce.run_notebook(nb, "smoke", {"profile": "smoke", "seed": 0}, progress=progress)
    assert seen["parameters"] == {"profile": "smoke"}  # the notebook reads every value from the profile
    if progress:
        assert seen["progress_bar"]["desc"] == nb.stem and seen["progress_bar"]["leave"] is True
    else:
        assert seen["progress_bar"] is False


def test_main_prints_one_line_per_notebook_and_a_timing_table(tmp_root, monkeypatch, capsys):
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a CI log: no bars
    calls = []

    def fake_run(nb, profile, params, progress):
        calls.append(progress)
        return paths.results_dir(params["profile"]) / "notebooks" / nb.name

    monkeypatch.setattr(reproduce, "run_notebook", fake_run)
    assert reproduce.main(["--profile", "smoke", "--only", "01", "--only", "02"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert calls == [False, False]
    assert [line.split(" done in ")[0] for line in out[:2]] == [f"[smoke] {nb.name}" for nb in reproduce.notebooks()[:2]]
    assert out[2].split() == ["notebook", "wall", "time"] and out[-1].startswith("total") and len(out) == 6


def test_a_failure_still_prints_the_timing_table(tmp_root, monkeypatch, capsys):
    def failing(nb, profile, params, progress):
        raise RuntimeError("boom")

    monkeypatch.setattr(reproduce, "run_notebook", failing)
    assert reproduce.main(["--profile", "smoke", "--only", "01"]) == 1
    captured = capsys.readouterr()
    assert "FAILED 01_" in captured.err and "boom" in captured.err
    assert captured.out.splitlines()[1].split()[-1] == "FAILED"


# --------------------------------------------------------------------------------------------
# a tiny notebook under a temporary root: what a failure and a stop leave behind

TINY = '''import os, pathlib, signal, time
mode, beat = os.environ.get("TINY_MODE", "ok"), os.environ.get("TINY_BEAT", "")  # the test's knobs, not profile keys
from confprofile.params import for_notebook
print("root:", os.environ["CONFPROFILE_ROOT"], "data:", for_notebook(profile, overrides).data)  # local paths, written out of the copy
if beat:  # a long cell deaf to interrupts (a C call): it writes a beat every 50 ms
    pathlib.Path(beat + ".pid").write_text(str(os.getpid()))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for _ in range(1200):
        with open(beat, "a") as fh:
            fh.write(".")
        time.sleep(0.05)
assert mode == "ok", "told to fail"
'''


def _tiny_root(root):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('profile: str = "smoke"\noverrides: dict = {}',
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(TINY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "notebooks" / "params").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / "notebooks" / "01_tiny.ipynb")
    (root / "mine").mkdir(exist_ok=True)
    (root / "notebooks" / "params" / "t.yaml").write_text("profile: t\ndata: {pool: mine/pool.jsonl, test: mine/test.jsonl}\n")
    return root / "runs" / "t" / "results" / "notebooks"


def test_a_failing_notebook_keeps_the_last_good_copy(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONFPROFILE_ROOT", str(tmp_path))
    executed = _tiny_root(tmp_path)
    assert reproduce.main(["--profile", "t"]) == 0
    good = (executed / "01_tiny.ipynb").read_bytes()
    assert b'"ename": "AssertionError"' not in good
    assert str(tmp_path).encode() not in good  # no local paths: root written out, data paths relative
    assert b"mine/pool.jsonl" in good  # printed by the notebook from the profile it was given
    monkeypatch.setenv("TINY_MODE", "fail")
    capsys.readouterr()
    assert reproduce.main(["--profile", "t"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("FAILED 01_tiny.ipynb, cell [") and err[0].endswith("AssertionError: told to fail")
    assert err[1] == ("  executed copy up to the error: runs/t/results/notebooks/01_tiny.failed.ipynb; "
                      "last good executed copy kept: runs/t/results/notebooks/01_tiny.ipynb")
    assert (executed / "01_tiny.ipynb").read_bytes() == good
    assert '"ename": "AssertionError"' in (executed / "01_tiny.failed.ipynb").read_text()
    assert sorted(p.name for p in executed.iterdir()) == ["01_tiny.failed.ipynb", "01_tiny.ipynb"]
    monkeypatch.setenv("TINY_MODE", "ok")
    assert reproduce.main(["--profile", "t"]) == 0
    assert sorted(p.name for p in executed.iterdir()) == ["01_tiny.ipynb"]  # the stale failed copy is gone


def test_stopping_the_runner_kills_its_kernel_at_once(tmp_path):
    """SIGTERM to the runner's process group (what a scheduler or `kill -- -PGID` sends): the
    kernel, deaf to interrupts in a long cell, is dead when the runner has exited, and writes
    nothing more."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    beat = tmp_path / "beat"
    executed = _tiny_root(tmp_path)
    repo = pathlib.Path(reproduce.__file__).resolve().parent.parent
    env = {**os.environ, "CONFPROFILE_ROOT": str(tmp_path), "PYTHONPATH": str(repo), "TINY_BEAT": str(beat)}
    log = tmp_path / "runner.log"  # a file, not a pipe: the kernel inherits it, and a pipe would wait for the kernel
    runner = subprocess.Popen([sys.executable, "-m", "confprofile.reproduce", "--profile", "t"], env=env,
                              stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    while not (beat.with_name("beat.pid").exists() and beat.exists()) and time.time() < deadline:
        time.sleep(0.05)
    assert beat.exists(), log.read_text()
    kernel = int(beat.with_name("beat.pid").read_text())
    os.killpg(runner.pid, signal.SIGTERM)
    runner.wait(timeout=30)
    alive = psutil.pid_exists(kernel) and psutil.Process(kernel).status() != psutil.STATUS_ZOMBIE
    size = beat.stat().st_size
    time.sleep(0.5)
    if alive:  # leave nothing running behind a failed test
        os.kill(kernel, signal.SIGKILL)
    assert not alive, "the kernel outlived the runner"
    assert beat.stat().st_size == size
    assert runner.returncode == 128 + signal.SIGTERM, log.read_text()
    assert "stopped by SIGTERM: the kernel of 01_tiny.ipynb was killed" in log.read_text()
    assert not executed.exists() or not list(executed.iterdir())  # no copy of an unfinished run


