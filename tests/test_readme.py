"""The README's results section is the one written from the committed results files."""

from __future__ import annotations

from confprofile import readme


def test_the_readme_results_section_is_current(capsys):
    assert readme.main(["--check"]) == 0, "README.md's results section drifted from results/cpu/*.json " \
        "(run python -m confprofile.readme):\n" + capsys.readouterr().out


def test_the_section_is_written_from_the_files_and_marks_every_difference():
    text = readme.section("cpu")
    assert text.startswith(readme.BEGIN) and text.endswith(readme.END)
    assert "nan" not in text.lower().split() and "None" not in text
    assert text.count("(ahead)") + text.count("(behind)") + text.count("(not distinguishable)") >= 10


def test_each_comparison_has_one_interval_across_the_results_files():
    """One claims path: an interval lives only in the results file of the notebook that bootstrapped
    it (06 reads 04's SFT − base and 05's RL − SFT instead of bootstrapping them again)."""
    from confprofile.provenance import load_results

    claims = {nb: load_results("cpu", nb).get("claims", {}) for nb in readme.NOTEBOOKS}
    keys = [k for c in claims.values() for k in c if k.endswith("_ci")]
    assert sorted({k for k in keys if keys.count(k) > 1}) == [], "an interval recorded by two notebooks"
    assert "final_minus_sft_f1" not in claims["06_f1_analysis"], "06 bootstraps 05's rl_minus_sft_f1 again"
