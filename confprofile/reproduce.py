"""The papermill runner: execute the numbered notebooks in order for one run profile.

    python -m confprofile.reproduce --profile cpu            # all notebooks
    python -m confprofile.reproduce --profile smoke --only 01
    python -m confprofile.reproduce --profile cpu --from 03
    python -m confprofile.reproduce --profile examples/own_data/own_data.yaml   # your own data

``--profile`` is a built-in name (smoke, cpu, gpu: ``notebooks/params/<name>.yaml``) or the path
of a profile file naming its own data (``confprofile.params``); outputs go under the name its
``profile:`` key gives.

Each notebook gets the profile's parameters that its ``parameters`` cell declares; executed
copies go to ``results/<profile>/notebooks/``, without timestamps or local paths, so a rerun
with the same seed changes no byte of them unless a number changed. The first failure stops the run with a non-zero
exit naming the notebook and cell.

In a terminal each notebook shows papermill's cell progress bar (cells done, elapsed time); in CI
logs (stderr not a terminal, or ``CI`` set) each notebook prints one line. Either way the run
ends with a table of each notebook's wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from confprofile import paths
from confprofile.errors import run_cli
from confprofile.params import load_params

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


def declared_parameters(nb: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(nb)))


def show_progress() -> bool:
    """Cell progress bars only in a terminal: not when stderr is piped to a log, nor in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def run_notebook(nb: Path, profile: str, params: dict, progress: bool = False) -> Path:
    """Execute one notebook with the parameters it declares; return the executed copy's path.
    ``progress``: papermill's tqdm bar on stderr (cells done, elapsed), left on screen after."""
    import papermill

    out = paths.results_dir(profile) / "notebooks" / nb.name
    out.parent.mkdir(parents=True, exist_ok=True)
    wanted = {k: v for k, v in params.items() if k in declared_parameters(nb)}
    bar = {"desc": nb.stem, "leave": True, "file": sys.stderr} if progress else False
    try:
        papermill.execute_notebook(str(nb), str(out), parameters=wanted, kernel_name=KERNEL,
                                   cwd=str(nb.parent), progress_bar=bar, log_output=False)
    finally:
        clean_executed(out)
    return out


_TIMING_KEYS = ("start_time", "end_time", "duration")


def clean_executed(executed: Path) -> None:
    """Make an executed copy diff cleanly: drop papermill's and the kernel's timestamps and
    durations, number the cells instead of papermill's random cell ids, record notebook paths relative to the root, and replace the root (and the home
    folder) in every output text, so a rerun changes only what the numbers change."""
    import nbformat

    if not executed.is_file():
        return
    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in _TIMING_KEYS:
        meta.pop(key, None)
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = Path(meta[key]).resolve().relative_to(paths.root()).as_posix()
    for i, cell in enumerate(nb.cells):
        if "id" in cell:  # nbformat 4.5 ids are random per run; the position names a cell as well
            cell["id"] = f"cell-{i:02d}"
        cell.metadata.pop("execution", None)
        for key in _TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _local_paths_out(out["text"])
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    out["data"][mime] = _local_paths_out(value)
            if "traceback" in out:
                out["traceback"] = [_local_paths_out(line) for line in out["traceback"]]
    nbformat.write(nb, executed)


def _local_paths_out(text: str | list[str]) -> str | list[str]:
    """``text`` with the repository root removed and the home folder written ``~``."""
    if isinstance(text, list):
        return [_local_paths_out(t) for t in text]
    text = text.replace(str(paths.root()) + "/", "")
    home = str(Path.home())
    return text.replace(home + "/", "~/") if home not in ("/", "") else text


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
    args.profile = params["profile"]  # a profile file names the folder its outputs go under
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no weight-loading bars in executed notebooks
    todo = select(notebooks(), args.only, args.start)
    if not todo:
        print("no notebooks to run", file=sys.stderr)
        return 1
    progress, times = show_progress(), {}
    for nb in todo:
        t0 = time.perf_counter()
        try:
            out = run_notebook(nb, args.profile, params, progress)
        except Exception as exc:  # papermill raises PapermillExecutionError with the cell
            times[nb.name] = None
            print(f"FAILED {nb.name}, {_failed_cell(exc)}\n  executed copy: "
                  f"{paths.results_dir(args.profile) / 'notebooks' / nb.name}", file=sys.stderr)
            print(timing_table(times), flush=True)
            return 1
        times[nb.name] = time.perf_counter() - t0
        print(f"[{args.profile}] {nb.name} done in {times[nb.name]:.0f}s -> "
              f"{out.relative_to(paths.root())}", flush=True)
    print(timing_table(times), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
