"""Trainer checkpoints that a kill cannot spoil, and training totals across resumed segments.

A run killed while the Trainer writes ``checkpoint-<n>`` leaves a folder that looks like a
checkpoint but is not; ``transformers.trainer_utils.get_last_checkpoint`` picks it anyway (the
highest number wins), so every rerun fails to load it. Here:

- ``marker_callback()``: a ``TrainerCallback`` that writes ``checkpoint-<n>/.complete`` in
  ``on_save``. The Trainer calls ``on_save`` only after ``_save_checkpoint`` returned (weights,
  optimizer, scheduler, RNG states and ``trainer_state.json`` all written, transformers 5.24,
  trl 1.16), so the marker is written last; a folder without it was cut short.
  Chosen over saving into a temporary folder and renaming: that means overriding
  ``Trainer._save_checkpoint``, a private method trl's trainers override in turn, and checkpoint
  rotation and ``best_model_checkpoint`` name the final folder; a callback uses public API only.
- ``is_complete``: the marker; or, for a checkpoint saved without the callback (a run started
  before it existed), the files a finished save holds: ``trainer_state.json`` that parses
  (written last by ``_save_checkpoint``), model or adapter weights, ``optimizer.pt``.
- ``last_complete(out_dir)``: what to resume from; ``complete_checkpoints(out_dir)``: every
  complete one by step (what a label-free checkpoint choice may read). Both say which
  incomplete folders they skip.
- ``segments_total``: a resumed run trains in segments; each segment's runtime is kept in
  ``out_dir/segments.json`` (the callback records it at every save, so a killed segment
  counts up to its last checkpoint), and the total is their sum.

SFT and GRPO wire it the same way::

    trainer.add_callback(checkpoints.marker_callback())
    last = checkpoints.last_complete(out_dir)
    out = trainer.train(resume_from_checkpoint=str(last) if last else None)
    runtime = checkpoints.segments_total(out_dir, out.metrics["train_runtime"])

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> for n in (2, 4):
...     (d / f"checkpoint-{n}").mkdir()
>>> mark_complete(d / "checkpoint-2")
>>> last_complete(d, log=print).name  # checkpoint-4 was cut short by a kill
skipping incomplete checkpoint-4 (no .complete marker and missing trainer_state.json, model weights, optimizer.pt)
'checkpoint-2'
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from confprofile.files import write_text

MARKER = ".complete"
SEGMENTS = "segments.json"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors", "adapter_model.bin",
           "pytorch_model.bin", "pytorch_model.bin.index.json")
"""Any one of these is a checkpoint's weights (full model, sharded, or LoRA adapter)."""

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def step_of(path: str | Path) -> int | None:
    """The step of a ``checkpoint-<n>`` folder name, else None.

    >>> step_of("out/checkpoint-120"), step_of("out/final")
    (120, None)
    """
    m = _CHECKPOINT.match(Path(path).name)
    return int(m.group(1)) if m else None


def missing_files(ckpt: str | Path) -> list[str]:
    """What a checkpoint folder lacks of a finished save (empty: it has everything)."""
    ckpt = Path(ckpt)
    missing = []
    try:
        json.loads((ckpt / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        missing.append("trainer_state.json")
    if not any((ckpt / w).is_file() for w in WEIGHTS):
        missing.append("model weights")
    if not (ckpt / "optimizer.pt").is_file():
        missing.append("optimizer.pt")
    return missing


def is_complete(ckpt: str | Path) -> bool:
    """True when the Trainer finished saving ``ckpt``: the marker, or (a checkpoint saved
    without ``marker_callback``) every file of a finished save."""
    ckpt = Path(ckpt)
    return (ckpt / MARKER).is_file() or not missing_files(ckpt)


def mark_complete(ckpt: str | Path) -> None:
    """Write ``ckpt/.complete`` (atomically: the marker itself is never half there)."""
    write_text(Path(ckpt) / MARKER, json.dumps({"step": step_of(ckpt)}) + "\n")


def complete_checkpoints(out_dir: str | Path, log: Callable[[str], None] | None = _stderr) -> dict[int, Path]:
    """Every complete ``checkpoint-<n>`` under ``out_dir`` by step, in order; each incomplete one
    is named through ``log`` (None: silently)."""
    out: dict[int, Path] = {}
    for step, p in sorted((step_of(p), p) for p in Path(out_dir).glob("checkpoint-*")
                          if step_of(p) is not None and p.is_dir()):
        if is_complete(p):
            out[step] = p
        elif log is not None:
            log(f"skipping incomplete {p.name} (no {MARKER} marker and missing {', '.join(missing_files(p))})")
    return dict(sorted(out.items()))


def last_complete(out_dir: str | Path, log: Callable[[str], None] | None = _stderr) -> Path | None:
    """The highest-step complete checkpoint under ``out_dir`` (None: none, or no folder)."""
    found = complete_checkpoints(out_dir, log) if Path(out_dir).is_dir() else {}
    return found[max(found)] if found else None


# -- segments: one entry per train() call of a resumed run ---------------------------------------
def _read_segments(out_dir: Path) -> list[dict]:
    try:
        return list(json.loads((out_dir / SEGMENTS).read_text(encoding="utf-8"))["segments"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _write_segments(out_dir: Path, segments: list[dict]) -> None:
    write_text(out_dir / SEGMENTS, json.dumps({"segments": segments}, indent=1, sort_keys=True) + "\n")


def start_segment(out_dir: str | Path, step: int) -> None:
    """A segment begins at ``step`` (0, or the checkpoint resumed from). Work of earlier
    segments after ``step`` is redone, so it stops counting: a segment that began at or after
    ``step`` is dropped, and one that went past it counts up to its save at ``step``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> start_segment(d, 0); record_save(d, 2, 10.0); record_save(d, 4, 20.0)  # killed after step 4
    >>> start_segment(d, 2)  # checkpoint-4 turned out incomplete: resumed from 2
    >>> segments_total(d, 15.0)  # 10 s to reach step 2, then this segment's 15 s
    25.0
    """
    out_dir = Path(out_dir)
    kept = []
    for seg in _read_segments(out_dir):
        if seg.get("start_step") is not None and seg["start_step"] >= step:
            continue
        saves = {int(s): t for s, t in seg.get("saves", {}).items() if int(s) <= step}
        seg = {**seg, "saves": {str(s): t for s, t in sorted(saves.items())}}
        if seg.get("end_step") is None or seg["end_step"] > step:
            seg["end_step"], seg["runtime"] = (max(saves), saves[max(saves)]) if saves else (seg.get("start_step"), 0.0)
        kept.append(seg)
    _write_segments(out_dir, [*kept, {"start_step": int(step), "end_step": int(step), "runtime": 0.0, "saves": {}}])


def record_save(out_dir: str | Path, step: int, runtime: float) -> None:
    """The current segment reached a complete checkpoint at ``step`` after ``runtime`` seconds."""
    out_dir = Path(out_dir)
    segments = _read_segments(out_dir) or [{"start_step": None, "saves": {}}]
    seg = segments[-1]
    seg["saves"] = {**seg.get("saves", {}), str(int(step)): float(runtime)}
    seg["end_step"], seg["runtime"] = int(step), float(runtime)
    _write_segments(out_dir, segments)


def segments_total(out_dir: str | Path, this_segment_runtime: float, step: int | None = None) -> float:
    """Record that the current segment ended after ``this_segment_runtime`` seconds (at
    ``step``, if given) and return the runtime of all segments together. Without a segment
    begun by ``start_segment`` (no callback), the runtime is appended as a segment of its own.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> segments_total(d, 12.5), segments_total(d, 7.5)
    (12.5, 20.0)
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    segments = _read_segments(out_dir)
    if not segments or segments[-1].get("closed"):
        segments.append({"start_step": None, "saves": {}})
    seg = segments[-1]
    seg["runtime"], seg["closed"] = float(this_segment_runtime), True
    if step is not None:
        seg["end_step"] = int(step)
    _write_segments(out_dir, segments)
    return float(sum(s.get("runtime", 0.0) for s in segments))


def totals(log_history: list[Mapping], resumed_step: int, global_step: int, segment_loss: float,
           segment_runtime: float, total_runtime: float) -> dict[str, float]:
    """The run's ``train_loss`` (mean per step over every segment: the logged losses up to the
    step resumed from, then this segment's mean) and speed over ``total_runtime``.

    >>> h = [{"step": 1, "loss": 4.0}, {"step": 2, "loss": 2.0}, {"step": 3, "loss": 9.0}]
    >>> totals(h, resumed_step=2, global_step=4, segment_loss=1.0, segment_runtime=5.0, total_runtime=10.0)
    {'train_loss': 2.0, 'train_runtime': 10.0, 'train_steps_per_second': 0.4}
    """
    before, last = 0.0, 0
    for h in sorted((h for h in log_history if "loss" in h and h.get("step", 0) <= resumed_step),
                    key=lambda h: h["step"]):
        before += float(h["loss"]) * (int(h["step"]) - last)  # a logged loss is the mean since the last log
        last = int(h["step"])
    steps = global_step - resumed_step
    loss = (before + segment_loss * steps) / max(last + steps, 1)
    return {"train_loss": loss, "train_runtime": float(total_runtime),
            "train_steps_per_second": round((last + steps) / total_runtime, 3) if total_runtime > 0 else float("nan")}


def marker_callback():
    """A ``transformers.TrainerCallback``: marks each checkpoint complete once the Trainer has
    written it (``on_save``) and records the segment's runtime at every save and at the end
    in ``<output_dir>/segments.json``. Only the main process writes."""
    from transformers import TrainerCallback

    class CheckpointMarker(TrainerCallback):
        def __init__(self):
            self.t0 = time.time()

        def on_train_begin(self, args, state, control, **kwargs):
            self.t0 = time.time()
            if state.is_world_process_zero:
                start_segment(args.output_dir, state.global_step)

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if ckpt.is_dir():
                    mark_complete(ckpt)
                    record_save(args.output_dir, state.global_step, time.time() - self.t0)

    return CheckpointMarker()


def saved(output_dir: str | Path, final_step: int | None = None) -> dict[int, Path]:
    """A run's complete checkpoints by step, in order (``complete_checkpoints``); with
    ``final_step``, the run's ``final`` model stands for that step (the same weights as a
    checkpoint saved there, and the only copy when none was). SFT's learning curve and RL's
    label-free checkpoint choice both read this."""
    out = Path(output_dir)
    found = complete_checkpoints(out)
    if final_step is not None and (out / "final").is_dir():
        found[final_step] = out / "final"
    return dict(sorted(found.items()))


def digest(obj) -> str:
    """A short stable hash of JSON-able data (a run's rows or examples)."""
    import hashlib

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def set_aside(output_dir: Path, recipe: Mapping) -> None:
    """Make ``output_dir`` hold a run of ``recipe`` only (SFT and GRPO call it before reusing a
    finished run or resuming a killed one): its recipe is recorded in
    ``run.json``; a folder holding a run of another recipe (other steps, learning rate, rows, ...)
    or of an unrecorded one is moved aside to ``<name>.set-aside-<n>`` (nothing deleted), so it is
    neither reused nor resumed as if it were this run. An unfinished run (no ``final``) of the
    same recipe but fewer ``max_steps`` is resumed and continued (a killed run, asked for more).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()) / "run"
    >>> set_aside(d, {"max_steps": 10}); set_aside(d, {"max_steps": 10}); sorted(p.name for p in d.parent.iterdir())
    ['run']
    >>> set_aside(d, {"max_steps": 24}); sorted(p.name for p in d.parent.iterdir())  # unfinished: continued
    ['run']
    >>> (d / "final").mkdir(); set_aside(d, {"max_steps": 10}); sorted(p.name for p in d.parent.iterdir())
    ['run', 'run.set-aside-1']
    """
    f = output_dir / "run.json"
    if output_dir.is_dir() and any(output_dir.iterdir()):
        old = json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None
        new = json.loads(json.dumps(dict(recipe), default=str))
        if old == new:
            return
        if old is not None and not (output_dir / "final").exists() and \
                {k: v for k, v in old.items() if k != "max_steps"} == {k: v for k, v in new.items() if k != "max_steps"}:
            write_text(f, json.dumps(new, sort_keys=True, indent=1) + "\n")  # an unfinished run, continued further
            return
        n = 1
        while output_dir.with_name(f"{output_dir.name}.set-aside-{n}").exists():
            n += 1
        output_dir.rename(output_dir.with_name(f"{output_dir.name}.set-aside-{n}"))
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text(f, json.dumps(dict(recipe), sort_keys=True, indent=1, default=str) + "\n")
