"""Evaluation: everything that reads gold labels (rank 6 of the architecture, the last before the runner).

Gold labels are for evaluation and monitoring only. This package holds every reader of them,
and no teacher, voting, calibration, SFT or RL module may import it (tests/test_label_free.py,
tests/test_architecture.py). One module per concern:

- ``gold_labels``: reads gold files (the only opener of them);
- ``scores``: macro-F1, vote and prediction reports, reliability and threshold curves;
- ``data_vs_gold``: notebooks 01 and 02's gold side (the test gold described, the teachers' label
  shares and F1 table beside it; ``scores`` scores the teachers);
- ``references``: the chance floor and the supervised reference (bars, never methods);
- ``intervals``: paired bootstrap of differences, ``results.claims`` entries, how a difference
  with its interval is written;
- ``votes_vs_gold``: notebook 03's gold side (every teacher, rule and calibration compared);
- ``rule_study``: notebook 03's simulated study of the vote-rule choice (keeps true labels);
- ``students_vs_gold``: notebooks 04 and 05's claims and reports;
- ``rl_monitor``: notebook 05's monitoring of quasi labels and rewards against gold;
- ``analysis``: notebook 06's tables and figure series;
- ``outputs`` and ``__main__``: the command line, ``python -m confprofile.evaluation``.
"""
