"""The papermill runner: execute the numbered notebooks in order for one run profile.

    python -m confprofile.reproduce --profile cpu            # all notebooks
    python -m confprofile.reproduce --profile smoke --only 01
    python -m confprofile.reproduce --profile cpu --from 03
    python -m confprofile.reproduce --profile examples/own_data/own_data.yaml   # your own data

``--profile`` is a built-in name (smoke, cpu, gpu: ``notebooks/params/<name>.yaml``) or the path
of a profile file naming its own data (``confprofile.params``); outputs go under the name its
``profile:`` key gives.

Each notebook gets the profile (its ``profile`` parameter: the name, or the profile file's
absolute path) and reads every value from it (``params.for_notebook``); executed
copies go to ``results/<profile>/notebooks/`` (a profile of your own: ``runs/<profile>/results/
notebooks/``, git-ignored; see ``confprofile.paths``), without timestamps or local paths, so a
rerun with the same seed changes no byte of them unless a number changed. The first failure
stops the run with a non-zero exit naming the notebook and cell; the last good executed copy
is kept and the failed one written beside it as ``<name>.failed.ipynb``. SIGTERM, SIGINT or
SIGHUP (a scheduler killing the process group, Ctrl-C) kill the running notebook's kernel at
once, before the runner exits (code 128 + the signal's number).

In a terminal each notebook shows papermill's cell progress bar (cells done, elapsed time); in CI
logs (stderr not a terminal, or ``CI`` set) each notebook prints one line. Either way the run
ends with a table of each notebook's wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from confprofile import paths
from confprofile.errors import run_cli
from confprofile.params import PATH_KEYS, load_params
from confprofile.params import source as params_source

REPO = Path(__file__).resolve().parent.parent
"""The repository holding this package (the root unless CONFPROFILE_ROOT moves it)."""

KERNEL = "python3"


def notebooks() -> list[Path]:
    """The numbered notebooks, in order (``NN_name.ipynb``)."""
    return sorted(p for p in paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def select(nbs: list[Path], only: list[str] | None = None, start: str | None = None) -> list[Path]:
    """Filter by two-digit prefix: ``only`` keeps those listed, ``start`` keeps that one onwards."""
    if only:
        missing = sorted(set(only) - {p.name[:2] for p in nbs})
        if missing:
            raise SystemExit(f"no notebook numbered {', '.join(missing)} under {paths.notebooks_dir()}")
        nbs = [p for p in nbs if p.name[:2] in only]
    if start:
        nbs = [p for p in nbs if p.name[:2] >= start]
    return nbs


def show_progress() -> bool:
    """Cell progress bars only in a terminal: not when stderr is piped to a log, nor in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class NotebookFailed(Exception):
    """A notebook stopped with an error; ``failed_copy``: its executed copy up to the error
    (``<name>.failed.ipynb``, or None when nothing was written), beside the last good one."""

    def __init__(self, nb: Path, failed_copy: Path | None):
        self.nb, self.failed_copy = nb, failed_copy
        super().__init__(f"{nb.name} failed" + (f"; executed copy up to the error: {failed_copy}" if failed_copy else ""))


def run_notebook(nb: Path, source: str, params: dict, progress: bool = False) -> Path:
    """Execute one notebook for a profile; return the executed copy's path. ``source``: the
    profile as the notebook's ``profile`` parameter takes it (a built-in name, or the absolute
    path of a profile file), ``params``: its values (``load_params``; outputs go under
    ``params["profile"]``). ``progress``: papermill's tqdm bar on stderr (cells done, elapsed),
    left on screen after.

    The notebook executes into a temporary file beside the executed copy, which is replaced
    only on success: a failure keeps the last good copy and leaves the failed one beside it as
    ``<name>.failed.ipynb`` (``NotebookFailed``, raised from papermill's error, names it); a
    success removes a stale ``.failed.ipynb``. Papermill runs in a thread of its own and the
    kernel is killed as soon as anything (SIGTERM, Ctrl-C) stops this process, so it cannot
    write anything after the runner is gone."""
    import papermill

    out = paths.results_dir(params["profile"]) / "notebooks" / nb.name
    failed = out.with_name(f"{nb.stem}.failed.ipynb")
    running = out.with_name(f".{nb.stem}.running-{os.getpid()}.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    bar = {"desc": nb.stem, "leave": True, "file": sys.stderr} if progress else False
    local = _local_folders(params)
    try:
        _kill_kernels_if_stopped(lambda: papermill.execute_notebook(
            str(nb), str(running), parameters={"profile": source}, kernel_name=KERNEL, cwd=str(nb.parent),
            progress_bar=bar, log_output=False))
    except Exception as exc:
        written = running.is_file() and running.stat().st_size > 0
        if written:
            clean_executed(running, shown_as=failed, local=local)
            os.replace(running, failed)
        running.unlink(missing_ok=True)
        raise NotebookFailed(nb, failed if written else None) from exc
    except BaseException:  # stopped (a signal, Ctrl-C): the kernel is dead; keep the last good copy
        running.unlink(missing_ok=True)
        raise
    if running.is_file():  # papermill always writes it (a stand-in for papermill may not)
        clean_executed(running, shown_as=out, local=local)
        os.replace(running, out)
    failed.unlink(missing_ok=True)
    return out


def _kill_kernels_if_stopped(execute):
    """Run ``execute()`` in a thread while this (main) thread waits, so that a signal handler
    raising here (see ``main``) interrupts the wait; then every process started meanwhile (the
    kernel and its children) is killed before the exception goes on. In the main thread
    nbclient would install signal handlers of its own that shut the kernel down gracefully,
    seconds later; outside it, it does not."""
    import threading

    import psutil  # installed with ipython, accelerate, peft and trl

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    result: dict = {}

    def target():
        try:
            result["value"] = execute()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            result["error"] = e

    worker = threading.Thread(target=target, name="papermill", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except BaseException:
        kernels = [p for p in me.children(recursive=True) if p.pid not in before]
        for p in kernels:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(kernels, timeout=5)
        raise
    if "error" in result:
        raise result["error"]
    return result.get("value")


_TIMING_KEYS = ("start_time", "end_time", "duration")


def clean_executed(executed: Path, shown_as: Path | None = None, local: Sequence[str] = ()) -> None:
    """Make an executed copy diff cleanly and carry no local paths: drop papermill's and the
    kernel's timestamps and durations, number the cells instead of papermill's random cell ids,
    record the notebook's paths relative to the root (``shown_as``: the path the copy is
    recorded under, when it runs under a temporary name), and in every output text, in the
    injected parameters and in their record in the metadata write the root (and the repository)
    as nothing, the home folder as ``~`` and each folder of ``local`` (the profile's data
    elsewhere) as ``<local>``, so a rerun changes only what the numbers change."""
    import nbformat

    if not executed.is_file() or not executed.stat().st_size:
        return
    scrub = _scrubber(local)
    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in _TIMING_KEYS:
        meta.pop(key, None)
    if shown_as is not None:
        meta["output_path"] = str(shown_as)
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = scrub(str(Path(meta[key]).resolve()))
    if meta.get("parameters"):
        meta["parameters"] = _scrub_values(meta["parameters"], scrub)
    for i, cell in enumerate(nb.cells):
        if "id" in cell:  # nbformat 4.5 ids are random per run; the position names a cell as well
            cell["id"] = f"cell-{i:02d}"
        cell.metadata.pop("execution", None)
        for key in _TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["source"] = scrub(cell["source"])
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = scrub(out["text"])
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    out["data"][mime] = scrub(value)
            if "traceback" in out:
                out["traceback"] = [scrub(line) for line in out["traceback"]]
    nbformat.write(nb, executed)


def _local_folders(params: dict) -> list[str]:
    """The folders of a profile's files (data, gold, taxonomy, outputs) that are neither under
    the root nor under the home folder: written ``<local>`` in executed copies."""
    found = []
    for key in (*PATH_KEYS, "outputs"):
        value = params.get(key)
        for v in (value.values() if isinstance(value, dict) else [value]):
            if isinstance(v, str) and os.path.isabs(v):
                folder = os.path.dirname(v) if key != "outputs" else v
                if not any(_under(folder, base) for base in _bases()):
                    found.append(folder)
    return sorted(set(found), key=len, reverse=True)


def _bases() -> list[str]:
    home = str(Path.home())
    return [str(paths.root()), str(REPO)] + ([home] if home not in ("/", "") else [])


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _scrubber(local: Sequence[str] = ()):
    """A function writing local paths out of a text (or a list of texts): the root and the
    repository as nothing, each ``local`` folder as ``<local>``, the home folder as ``~``."""
    pairs = sorted({str(paths.root()): "", str(REPO): ""}.items(), key=lambda kv: -len(kv[0]))
    pairs += [(folder, "<local>") for folder in local]
    home = str(Path.home())
    if home not in ("/", ""):
        pairs.append((home, "~"))

    patterns = [(re.compile(re.escape(folder) + r"(/|(?![\w.-]))"), shown) for folder, shown in pairs]

    def scrub(text):
        if isinstance(text, list):
            return [scrub(t) for t in text]
        for pattern, shown in patterns:  # "/root/x" -> "x", "/root" -> ".", never "/root2"
            text = pattern.sub(lambda m, shown=shown: (f"{shown}/" if shown else "") if m.group(1) else shown or ".",
                               text)
        return text

    return scrub


def _scrub_values(value, scrub):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_values(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_values(v, scrub) for v in value]
    return value


def _local_paths_out(text: str | list[str]) -> str | list[str]:
    """``text`` with the repository root removed and the home folder written ``~``.

    >>> out = _local_paths_out([f"{paths.root()}/runs/x.json", f"{paths.root()}2/y"])
    >>> out[0], out[1].startswith("2/")  # a folder whose name only starts like the root's is not it
    ('runs/x.json', False)
    """
    return _scrubber()(text)


def timing_table(times: dict[str, float | None]) -> str:
    """Each notebook's wall time, and the total (None: the notebook failed).

    >>> print(timing_table({"01_a.ipynb": 9.6, "02_bb.ipynb": 754.2, "03_c.ipynb": None}))
    notebook     wall time
    01_a.ipynb         10s
    02_bb.ipynb    12m 34s
    03_c.ipynb      FAILED
    total          12m 44s
    """
    def fmt(s: float | None) -> str:
        if s is None:
            return "FAILED"
        m, sec = divmod(round(s), 60)
        return f"{m}m {sec:02d}s" if m else f"{sec}s"

    rows = [("notebook", "wall time"), *((name, fmt(s)) for name, s in times.items()),
            ("total", fmt(sum(s for s in times.values() if s is not None)))]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {t:>9}" for name, t in rows)


def _failed_cell(exc: Exception) -> str:
    if isinstance(exc, NotebookFailed) and exc.__cause__ is not None:
        exc = exc.__cause__
    cell = getattr(exc, "exec_count", None)
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    where = f"cell [{cell}]" if cell is not None else "a cell"
    return f"{where}: {ename}: {str(evalue).splitlines()[0] if evalue else ''}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m confprofile.reproduce", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu", metavar="NAME|PATH",
                    help="smoke, cpu, gpu or the path of a profile file (default: cpu)")
    ap.add_argument("--only", action="append", metavar="NN", help="run only notebook NN (repeatable)")
    ap.add_argument("--from", dest="start", metavar="NN", help="start at notebook NN")
    args = ap.parse_args(argv)
    params = load_params(args.profile)
    source = params_source(args.profile)  # what each notebook's profile parameter gets
    args.profile = params["profile"]  # a profile file names the folder its outputs go under
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no weight-loading bars in executed notebooks
    todo = select(notebooks(), args.only, args.start)
    if not todo:
        print("no notebooks to run", file=sys.stderr)
        return 1
    progress, times, nb = show_progress(), {}, todo[0]
    previous = _catch_stop_signals()
    try:
        for nb in todo:
            t0 = time.perf_counter()
            times[nb.name] = None
            try:
                out = run_notebook(nb, source, params, progress)
            except Exception as exc:  # papermill raises PapermillExecutionError with the cell
                print(f"FAILED {nb.name}, {_failed_cell(exc)}\n  {_failure_files(exc, nb, args.profile)}",
                      file=sys.stderr)
                print(timing_table(times), flush=True)
                return 1
            times[nb.name] = time.perf_counter() - t0
            print(f"[{args.profile}] {nb.name} done in {times[nb.name]:.0f}s -> {paths.relative(out)}", flush=True)
    except Stopped as stop:
        print(f"stopped by {stop}: the kernel of {nb.name} was killed; its last good executed copy is kept",
              file=sys.stderr)
        print(timing_table(times), flush=True)
        return 128 + stop.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(timing_table(times), flush=True)
    return 0


class Stopped(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived: the run stops (its kernel killed first, see
    ``_kill_kernels_if_stopped``). A BaseException, so no ``except Exception`` holds it up."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _raise_stopped(signum, frame):
    for s in STOP_SIGNALS:  # a second signal (the group's SIGTERM, then Ctrl-C) must not cut the cleanup short
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


def _catch_stop_signals() -> dict:
    """Make the stop signals raise ``Stopped`` (in the main thread only, where Python delivers
    them); returns the handlers to put back."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, _raise_stopped) for s in STOP_SIGNALS}


def _failure_files(exc: Exception, nb: Path, profile: str) -> str:
    """Where a failed notebook's copies are, for the error message."""
    out = paths.results_dir(profile) / "notebooks" / nb.name
    kept = f"last good executed copy kept: {paths.relative(out)}" if out.is_file() else "no earlier executed copy"
    failed = getattr(exc, "failed_copy", None)
    return (f"executed copy up to the error: {paths.relative(failed)}; " if failed else "") + kept

if __name__ == "__main__":
    sys.exit(run_cli(main))
