"""Checkpoints a kill cut short are never resumed from, and runtimes add up over segments."""

import json

import pytest

from confprofile import checkpoints


def _checkpoint(root, step, files=("trainer_state.json", "model.safetensors", "optimizer.pt"), marker=False):
    d = root / f"checkpoint-{step}"
    d.mkdir()
    for f in files:
        (d / f).write_text("{}" if f.endswith(".json") else "x")
    if marker:
        checkpoints.mark_complete(d)
    return d


def test_last_complete_skips_what_a_kill_cut_short_and_says_so(tmp_path):
    _checkpoint(tmp_path, 10, marker=True)
    _checkpoint(tmp_path, 20)  # saved before the marker existed: every file there, state parses
    _checkpoint(tmp_path, 30, files=("adapter_model.safetensors", "optimizer.pt", "trainer_state.json"))  # LoRA
    _checkpoint(tmp_path, 40, files=("model.safetensors",))  # killed after the weights
    torn = _checkpoint(tmp_path, 50)
    (torn / "trainer_state.json").write_text('{"global_step": 5')  # killed while writing the state
    (tmp_path / "checkpoint-60").write_text("a file, not a folder")
    (tmp_path / "checkpoint-best").mkdir()
    said = []
    assert checkpoints.last_complete(tmp_path, log=said.append) == tmp_path / "checkpoint-30"
    assert sorted(said) == [
        "skipping incomplete checkpoint-40 (no .complete marker and missing trainer_state.json, optimizer.pt)",
        "skipping incomplete checkpoint-50 (no .complete marker and missing trainer_state.json)"]
    assert list(checkpoints.complete_checkpoints(tmp_path, log=None)) == [10, 20, 30]
    assert checkpoints.last_complete(tmp_path / "nothing here", log=None) is None


def test_the_marker_is_what_makes_a_checkpoint_complete(tmp_path):
    d = _checkpoint(tmp_path, 4, files=("model.safetensors",))
    assert not checkpoints.is_complete(d)
    checkpoints.mark_complete(d)
    assert checkpoints.is_complete(d) and json.loads((d / ".complete").read_text()) == {"step": 4}


def test_the_callback_marks_a_save_and_records_the_segment(tmp_path):
    from types import SimpleNamespace

    cb = checkpoints.marker_callback()
    args = SimpleNamespace(output_dir=str(tmp_path))
    state = SimpleNamespace(global_step=0, is_world_process_zero=True)
    cb.on_train_begin(args, state, None)
    state.global_step = 2
    d = _checkpoint(tmp_path, 2, files=())
    cb.on_save(args, state, None)
    assert (d / ".complete").is_file()
    seg = json.loads((tmp_path / "segments.json").read_text())["segments"]
    assert len(seg) == 1 and seg[0]["start_step"] == 0 and seg[0]["end_step"] == 2 and "2" in seg[0]["saves"]
    not_main = SimpleNamespace(global_step=4, is_world_process_zero=False)
    _checkpoint(tmp_path, 4, files=())
    cb.on_save(args, not_main, None)  # only the main process writes
    assert not (tmp_path / "checkpoint-4" / ".complete").exists()


def test_segments_count_up_to_the_checkpoint_the_next_one_resumed_from(tmp_path):
    checkpoints.start_segment(tmp_path, 0)
    checkpoints.record_save(tmp_path, 100, 50.0)
    checkpoints.record_save(tmp_path, 200, 100.0)  # then killed; checkpoint-200 turns out whole
    checkpoints.start_segment(tmp_path, 200)
    checkpoints.record_save(tmp_path, 300, 40.0)  # killed again, and checkpoint-300 was cut short
    checkpoints.start_segment(tmp_path, 200)  # resumed from 200 again: the 40 s are redone, not counted
    assert checkpoints.segments_total(tmp_path, 90.0, step=400) == pytest.approx(190.0)
    # without a callback each call is a segment of its own
    assert checkpoints.segments_total(tmp_path / "plain", 3.0) == 3.0
    assert checkpoints.segments_total(tmp_path / "plain", 4.0) == 7.0


def test_run_totals_weight_each_logged_loss_by_its_steps():
    hist = [{"step": 10, "loss": 1.0}, {"step": 20, "loss": 3.0}, {"step": 30, "loss": 100.0}]  # 30: redone
    t = checkpoints.totals(hist, resumed_step=20, global_step=40, segment_loss=2.0, segment_runtime=10.0,
                           total_runtime=40.0)
    assert t == {"train_loss": pytest.approx((10 * 1 + 10 * 3 + 20 * 2) / 40), "train_runtime": 40.0,
                 "train_steps_per_second": 1.0}
