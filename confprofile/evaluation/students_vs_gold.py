"""Notebooks 04 and 05's gold side: the claims they score (``SFT_COMPARISONS``,
``RL_COMPARISONS``, the label-source ablation), each model's report on the test users, and a
student's headline levels. Notebook 06 reads them back from their results files
(``analysis.rl_ablation_table``, ``analysis.READ_FROM``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from confprofile import student
from confprofile.evaluation import intervals, scores
from confprofile.taxonomy import Taxonomy


SFT_COMPARISONS = {"sft_minus_base_f1": ("sft", "base"), "sft_minus_classical_f1": ("sft", "classical"),
                   "sft_minus_pseudo_labels_f1": ("sft", "pseudo_labels"),
                   "sft_minus_uniform_f1": ("sft", "uniform_random")}
"""Notebook 04's claims, ``key: (a, b)``: ``key`` is ``a``'s average F1 minus ``b``'s, with its interval."""


RL_COMPARISONS = {"rl_minus_sft_f1": ("rl_conf_profile", "sft"), "rl_minus_ttrl_f1": ("rl_conf_profile", "rl_ttrl"),
                  "rl_minus_vote_share_f1": ("rl_conf_profile", "rl_vote_share"),
                  "rl_minus_random_reward_f1": ("rl_conf_profile", "rl_random_reward"),
                  "random_reward_minus_sft_f1": ("rl_random_reward", "sft"),
                  "no_filter_minus_full_f1": ("rl_no_filter", "rl_conf_profile"),
                  "majority_quasi_gt_minus_full_f1": ("rl_majority_quasi_gt", "rl_conf_profile"),
                  "unweighted_reward_minus_full_f1": ("rl_unweighted_reward", "rl_conf_profile")}
"""Notebook 05's claims, as ``SFT_COMPARISONS``: a baseline's delta is ``rl_minus_<v>``, an ablation's
``<v>_minus_full`` (``analysis.rl_ablation_table`` reads them back); those whose models ran are made."""


LABEL_SOURCE_CLAIM = "best_minus_worst_label_source_f1"
"""Notebook 04's label-source claim (``label_source_ablation``): the best source's student minus the worst's."""


def comparisons_among(comparisons: Mapping[str, tuple[str, str]], names) -> dict[str, tuple[str, str]]:
    """The comparisons whose two models are both among ``names``.

    >>> comparisons_among(RL_COMPARISONS, ["sft", "rl_conf_profile", "rl_ttrl"])
    {'rl_minus_sft_f1': ('rl_conf_profile', 'sft'), 'rl_minus_ttrl_f1': ('rl_conf_profile', 'rl_ttrl')}
    """
    return {k: ab for k, ab in comparisons.items() if all(m in names for m in ab)}


def student_reports(pred: Mapping[str, pd.DataFrame], gold: pd.DataFrame, taxonomy: Taxonomy,
                    smollm2_ids: Sequence[str]) -> dict[str, dict]:
    """``scores.prediction_report`` of every model on the test users, but SmolLM2's zero-shot
    answers (``student.SMOLLM2``), which cover only ``smollm2_ids``: scored on those users, with
    the main student scored on the same users beside them (``sft_on_smollm2_users``)."""
    out = {name: scores.prediction_report(p, gold, taxonomy) for name, p in pred.items() if name != student.SMOLLM2}
    if student.SMOLLM2 in pred:
        sub = gold[gold["user_id"].isin(smollm2_ids)]
        out[student.SMOLLM2] = scores.prediction_report(pred[student.SMOLLM2], sub, taxonomy)
        out["sft_on_smollm2_users"] = scores.prediction_report(pred["sft"], sub, taxonomy)
    return out


def student_claims(report: Mapping, pred: pd.DataFrame, gold: pd.DataFrame, taxonomy: Taxonomy,
                   prefix: str = "sft") -> dict:
    """A student's headline levels: its abstention rate, and its F1 on the pairs whose gold clue
    is explicit and on those with no clue (NaN where gold records no clue strengths).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g"] * 2, "gold": ["x", "y"],
    ...                      "clue": ["explicit", "none"]})
    >>> student_claims({"abstention_rate": 0.5}, gold.assign(label=["x", None]), gold, tax)
    {'sft_abstention_rate': 0.5, 'sft_explicit_clue_f1': 100.0, 'sft_no_clue_f1': 0.0}
    """
    by_clue = scores.f1_by_clue(pred, gold, taxonomy, ["explicit", "none"])["f1"]
    return {f"{prefix}_abstention_rate": float(report["abstention_rate"]),
            f"{prefix}_explicit_clue_f1": by_clue["explicit"], f"{prefix}_no_clue_f1": by_clue["none"]}


def label_source_ablation(arms: Mapping[str, str], pred: Mapping[str, pd.DataFrame],
                          fallback: Mapping[str, pd.DataFrame], gold: pd.DataFrame, taxonomy: Taxonomy, *,
                          n_boot: int, seed: int) -> tuple[dict[str, float], dict, dict[str, tuple[str, str]]]:
    """The label-source ablation: one student per source decides it, the LLM students of ``arms``
    (``source -> model`` in ``pred``, ``sft.ablation_arms``) or, where none was trained, the
    ``fallback`` (``source -> test predictions``: the classical students). Returns each source's
    average F1; the claims ``label_source_student`` (``llm`` or ``classical``),
    ``best_label_source``, ``worst_label_source`` and ``best_minus_worst_label_source_f1`` with
    its paired interval (``intervals.delta_claims``); and that comparison as ``{key: (best, worst)}``
    (for ``intervals.delta_lines``).

    >>> from confprofile.taxonomy import parse_taxonomy
    >>> tax = parse_taxonomy({"attributes": {"g": {"labels": {"x": {"description": "x"},
    ...                                                       "y": {"description": "y"}}}}})
    >>> gold = pd.DataFrame({"user_id": ["u", "v"], "attribute": ["g", "g"], "gold": ["x", "y"]})
    >>> classical = {"majority": gold.assign(label=["y", "x"]), "weighted": gold.assign(label=gold["gold"])}
    >>> f1, claims, cmp = label_source_ablation({}, {}, classical, gold, tax, n_boot=20, seed=0)
    >>> f1, claims["label_source_student"], claims["best_minus_worst_label_source_f1"]
    ({'majority': 0.0, 'weighted': 100.0}, 'classical', 100.0)
    >>> cmp
    {'best_minus_worst_label_source_f1': ('weighted', 'majority')}
    """
    students = {src: pred[m] for src, m in arms.items()} or dict(fallback)
    f1 = {src: scores.score(p, gold, taxonomy)["avg_f1"] for src, p in students.items()}
    best, worst = max(f1, key=f1.get), min(f1, key=f1.get)
    cmp = {LABEL_SOURCE_CLAIM: (best, worst)}
    claims = intervals.delta_claims(students, cmp, gold, taxonomy, n_boot=n_boot, seed=seed)
    return f1, {**claims, "label_source_student": "llm" if arms else "classical", "best_label_source": best,
                "worst_label_source": worst}, cmp
