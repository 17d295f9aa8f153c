"""Label-free is label-free: teacher, synthesis, voting, calibration and distillation code never
reads gold.

Two checks: a static one over the source of every label-free module (no import of the
evaluation package or the generator, no mention of gold), and a run of the whole label-free path
(synthesis -> voting -> calibration -> pseudo-labels) on a generated benchmark whose gold files
sit on disk, with every open() of a gold file turned into a failure.
"""

import ast
from pathlib import Path

import pytest

from confprofile import bench, calibration, paths, pseudo_labelling, records, synthesis, voting
from confprofile.taxonomy import load_taxonomy

PKG = Path(__file__).resolve().parent.parent / "confprofile"
LABEL_FREE = sorted((PKG / "teachers").glob("*.py")) + [
    PKG / f"{m}.py" for m in ("prompts", "parsing", "synthesis", "voting", "calibration", "aggregation", "rules", "pseudo_labelling", "monitor",
                              "sft", "student", "classical", "choices", "splits", "rl", "rl_runs", "rewards", "annotations")]
FORBIDDEN = ("confprofile.evaluation", "confprofile.bench")  # the whole gold side (its rule_study keeps true labels too)


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            out += [mod] + [f"{mod}.{a.name}" for a in node.names]
    return out


@pytest.mark.parametrize("path", LABEL_FREE, ids=lambda p: p.relative_to(PKG).as_posix())
def test_label_free_modules_never_reach_for_gold(path):
    src = path.read_text(encoding="utf-8")
    bad = [m for m in _imports(ast.parse(src)) if m.startswith(FORBIDDEN)]
    assert not bad, f"{path.name} imports {bad}"
    assert "gold" not in src.lower(), f"{path.name} mentions gold"


def test_label_free_pipeline_runs_with_gold_files_locked(tmp_root, request):
    tax = load_taxonomy()
    bench.build_benchmark("t", n_pool=40, n_test=10, seed=0)  # writes gold files too
    assert paths.gold_path("t", "pool").is_file()
    request.getfixturevalue("no_gold_reads")  # from here on, opening a gold file fails
    recs = records.read_records(paths.records_path("t", "pool"))
    teachers = synthesis.build_teachers(["lexicon", "heuristic", "embedding"], tax)
    ann = synthesis.synthesize(recs, tax, teachers, n_samples=2, temperature=0.7, seed=0,
                               cache_dir=paths.synthesis_cache_dir("t"), progress=False)
    records.save_annotations(ann, "t", "pool")
    scores = voting.vote_scores(records.load_annotations("t", "pool"), norm="softmax", softmax_temperature=0.3)
    votes = calibration.fit_prior_correction(scores, strength=0.5).transform(scores)
    votes = calibration.apply_thresholds(votes, calibration.fit_class_thresholds(votes, coverage=0.8))
    calibration.fit_confidence_calibrator(ann, method="isotonic").transform(votes)
    out = records.write_jsonl(paths.pseudo_labels_path("t"), voting.pseudo_label_records(
        voting.agreeing_rationales(ann, votes)))
    first = next(iter(records.read_jsonl(out)))[1]
    assert len(first["attributes"]) == len(tax) and sum(1 for _ in records.read_jsonl(out)) == 40
    lf = pseudo_labelling.label_free({"pool": ann}, tax, vote_temperatures=[0.3], aggregators={"DawidSkene": {"n_iter": 20}}, coverage=0.8, prior_strength=0.5,
                         max_share_shift=0.15)  # the vote command's path, health checks included
    assert len(pseudo_labelling.as_records(ann, lf.final.votes["pool"])) == 40 and set(lf.teacher_alpha) == set(tax.names)


def test_persona_teachers_run_through_synthesis_with_gold_files_locked(tmp_root, request):
    """The simulated LLM teachers read the world's tables (``bench_tables.yaml``) when they are
    built, which is allowed and stated; they never read a gold file. Built after the lock, with
    their table cache cleared, so the build itself runs under it."""
    from confprofile.teachers import persona

    tax = load_taxonomy()
    bench.build_benchmark("t", n_pool=30, n_test=5, seed=0)
    request.getfixturevalue("no_gold_reads")
    persona.world.cache_clear()
    recs = records.read_records(paths.records_path("t", "pool"))
    teachers = synthesis.build_teachers({
        "persona_a": {"backend": "persona", "seed": 1, "coverage": 0.8, "confusion": 0.1, "style": "overconfident"},
        "persona_b": {"backend": "persona", "seed": 2, "coverage": 0.6, "style": "calibrated"},
        "persona_c": {"backend": "persona", "seed": 3, "coverage": 0.5, "style": "cautious"}}, tax)
    ann = synthesis.synthesize(recs, tax, teachers, n_samples=1, temperature=0.7, seed=0,
                               cache_dir=paths.synthesis_cache_dir("t"), progress=False)
    assert persona.world.cache_info().misses >= 1  # the tables were read under the lock
    assert set(ann["teacher"]) == {"persona_a", "persona_b", "persona_c"} and ann["ok"].mean() > 0.9
    lf = pseudo_labelling.label_free({"pool": ann}, tax, vote_temperatures=[0.3], aggregators={}, coverage=0.8, prior_strength=0.5,
                         max_share_shift=0.15)
    assert len(pseudo_labelling.as_records(ann, lf.final.votes["pool"])) == 30
