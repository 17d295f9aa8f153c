"""The runner's output: cell progress in a terminal, one line per notebook in CI logs, and a
timing table at the end (the notebooks themselves run in test_notebooks.py)."""

import io

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
    reproduce.run_notebook(nb, "smoke", {"seed": 0, "not_declared": 1}, progress=progress)
    assert seen["parameters"] == {"seed": 0}
    if progress:
        assert seen["progress_bar"]["desc"] == nb.stem and seen["progress_bar"]["leave"] is True
    else:
        assert seen["progress_bar"] is False


def test_main_prints_one_line_per_notebook_and_a_timing_table(tmp_root, monkeypatch, capsys):
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a CI log: no bars
    calls = []

    def fake_run(nb, profile, params, progress):
        calls.append(progress)
        return paths.results_dir(profile) / "notebooks" / nb.name

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
