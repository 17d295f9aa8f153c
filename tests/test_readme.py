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
