"""The label-free health check that sees teachers misled by one shared cue (``monitor.confidence_floor``):
it warns where teachers agree on a cue's wrong label yet guess confidently elsewhere (where
Krippendorff's alpha clears chance and stays quiet), and stays quiet on calibrated teachers and on
the built-in benchmark's CPU teachers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confprofile import monitor
from confprofile.taxonomy import parse_taxonomy

TAX = parse_taxonomy({"attributes": {a: {"labels": {"f": {"description": "f"}, "m": {"description": "m"}}}
                                     for a in ("g", "h")}})


def shared_cue_ann(n=300, cue_share=0.3, seed=0):
    """``g``: on the users whose record carries a cue (30%), all three teachers read it the same way
    and say "m" at 0.9 (the cue misleads: their truth is "f"); on the rest they guess at 0.9.
    ``h``: honest teachers, each right 85% of the time and saying 0.85."""
    gen = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cue, truth_h = gen.random() < cue_share, gen.choice(["f", "m"])
        for t in ("a", "b", "c"):
            g = "m" if cue else gen.choice(["f", "m"])
            h = truth_h if gen.random() < 0.85 else ("m" if truth_h == "f" else "f")
            rows += [{"user_id": f"u{i:03d}", "attribute": "g", "teacher": t, "sample": 0, "label": g,
                      "confidence": 0.9, "ok": True},
                     {"user_id": f"u{i:03d}", "attribute": "h", "teacher": t, "sample": 0, "label": h,
                      "confidence": 0.85, "ok": True}]
    return pd.DataFrame(rows)


def test_teachers_sharing_a_misleading_cue_are_seen_where_alpha_is_not():
    ann = shared_cue_ann()
    alpha = monitor.teacher_agreement(ann, TAX)
    assert alpha["g"]["ci"][0] > 0.1  # they agree on the cue: alpha clears chance ...
    assert monitor.health_warnings(alpha) == []  # ... so the chance check is silent
    floor = monitor.confidence_floor(ann, TAX)
    # agreement 0.3 + 0.7 / 2 = 0.65, floor 0.9 + 0.9 - 1 = 0.8
    assert floor["g"]["floor"] == pytest.approx(0.8) and floor["g"]["agreement"] == pytest.approx(0.65, abs=0.04)
    assert floor["g"]["ci"][0] > 0.05
    # honest teachers: agreement 0.85^2 + 0.15^2 = 0.745 is above their floor 0.7
    assert floor["h"]["shortfall"] < 0 and floor["h"]["ci"][0] < 0
    warnings = monitor.health_warnings(alpha, floor=floor)
    assert [w.split(":")[0] for w in warnings] == ["g"]
    g = floor["g"]
    assert warnings[0] == (
        f"g: the teachers agree on {g['agreement']:.2f} of users, below the 0.80 their stated confidences "
        f"(mean 0.90) require (shortfall 95% interval {g['ci'][0]:.2f} to {g['ci'][1]:.2f}): they are confident "
        "where they disagree, as teachers that read the same misleading cue are; their confidence and agreement "
        "overstate its pseudo-labels")


def test_confidence_floor_is_seeded_and_skips_what_it_cannot_measure():
    ann = shared_cue_ann(n=60)
    assert monitor.confidence_floor(ann, TAX, seed=1) == monitor.confidence_floor(ann, TAX, seed=1)
    one = monitor.confidence_floor(ann[ann["teacher"] == "a"], TAX)  # one teacher: no pair to compare
    assert np.isnan(one["g"]["shortfall"]) and monitor.health_warnings({}, floor=one) == []


def test_the_floor_check_is_quiet_on_the_benchmarks_cpu_teachers(tmp_root):
    """The built-in benchmark with the lexicon, heuristic and embedding teachers on 100 users:
    weak, but not confident where they disagree (measured: every shortfall interval below 0.04)."""
    from confprofile import bench, paths, records, synthesis
    from confprofile.taxonomy import load_taxonomy

    tax = load_taxonomy()
    bench.build_benchmark("t", n_pool=100, n_test=10, seed=0)
    recs = records.read_records(paths.records_path("t", "pool"))
    teachers = synthesis.build_teachers(["lexicon", "heuristic", "embedding"], tax)
    ann = synthesis.synthesize(recs, tax, teachers, n_samples=2, temperature=0.7, seed=0,
                               cache_dir=paths.synthesis_cache_dir("t"), progress=False)
    floor = monitor.confidence_floor(ann, tax)
    assert set(floor) == set(tax.names) and all(f["ci"][0] < 0 for f in floor.values()), floor
    assert monitor.health_warnings({}, floor=floor) == []
