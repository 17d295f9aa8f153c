"""Label-free monitoring of an annotation table: failures, abstentions, agreement, confidence,
and health checks that warn before the numbers go wrong (``teacher_agreement``: do teachers
agree more than chance, per attribute; ``share_shift``: did a calibration move a label share far
from what the teachers said; ``health_warnings``: one sentence per problem, naming the attribute).

Nothing here reads labels, so these numbers can be watched on the unlabeled pool too.

>>> import pandas as pd
>>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3, "teacher": ["t"] * 3,
...     "sample": [0, 1, 2], "label": ["a", "a", None], "confidence": [0.9, 0.7, float("nan")],
...     "ok": [True, True, False], "error": [None, None, "not JSON"]})
>>> round(failure_rates(ann)["t"], 4)
0.3333
>>> sample_agreement(ann)["t"]
1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from confprofile.taxonomy import UNKNOWN


def failure_rates(ann: pd.DataFrame) -> dict[str, float]:
    """Share of (user, attribute, sample) outputs per teacher that failed to parse."""
    return {t: float(1 - g["ok"].mean()) for t, g in ann.groupby("teacher", sort=True)}


def failure_reasons(ann: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts of each parse-failure reason per teacher (the reason's first clause)."""
    bad = ann[~ann["ok"]].assign(reason=lambda d: d["error"].fillna("?").str.split(":").str[0])
    return {t: g["reason"].value_counts().sort_index().to_dict() for t, g in bad.groupby("teacher", sort=True)}


def abstention_rates(ann: pd.DataFrame) -> dict[str, float]:
    """Share of parsed outputs per teacher that answered ``unknown``."""
    ok = ann[ann["ok"]]
    return {t: float((g["label"] == UNKNOWN).mean()) for t, g in ok.groupby("teacher", sort=True)}


def sample_agreement(ann: pd.DataFrame) -> dict[str, float]:
    """Mean share of a teacher's parsed samples that agree with their own modal label.

    1.0 means every sample of every (user, attribute) said the same; low values mean the
    teacher's samples disagree, which is what voting can exploit.
    """
    ok = ann[ann["ok"]]
    out = {}
    for t, g in ok.groupby("teacher", sort=True):
        counts = g.groupby(["user_id", "attribute", "label"]).size()
        per_pair = counts.groupby(level=[0, 1]).agg(lambda c: c.max() / c.sum())
        out[t] = float(per_pair.mean()) if len(per_pair) else float("nan")
    return out


def confidence_histogram(ann: pd.DataFrame, n_bins: int = 10) -> dict[str, list[int]]:
    """Counts of parsed confidences per teacher in ``n_bins`` equal bins over [0, 1]."""
    edges = np.linspace(0, 1, n_bins + 1)
    return {t: np.histogram(g["confidence"].dropna().clip(0, 1), bins=edges)[0].tolist()
            for t, g in ann[ann["ok"]].groupby("teacher", sort=True)}


def label_shares(table: pd.DataFrame, taxonomy, column: str = "label") -> dict[str, dict[str, float]]:
    """Share of each taxonomy label per attribute in ``table[column]``; abstentions, failures
    and off-taxonomy values are left out.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> v = pd.DataFrame({"attribute": ["gender"] * 3, "label": ["male", "male", "unknown"]})
    >>> label_shares(v, [load_taxonomy()["gender"]])
    {'gender': {'female': 0.0, 'male': 1.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for attr in taxonomy:
        col = table.loc[table["attribute"] == attr.name, column]
        counts = col[col.isin(attr.labels)].value_counts()
        n = max(int(counts.sum()), 1)
        out[attr.name] = {lab: int(counts.get(lab, 0)) / n for lab in attr.labels}
    return out


def balance(votes: pd.DataFrame, taxonomy) -> float:
    """Mean over attributes of the normalised entropy of the kept label distribution.

    1.0 = every label of every attribute equally frequent; 0.0 = one label only. Label-free:
    the distribution-calibration target of stage 1.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> v = pd.DataFrame({"attribute": ["gender"] * 4, "label": ["male", "male", "female", "female"]})
    >>> balance(v, [load_taxonomy()["gender"]])
    1.0
    """
    kept = votes[votes["kept"].astype(bool)] if "kept" in votes.columns else votes
    out = []
    for attr in taxonomy:
        p = np.array([x for x in label_shares(kept, [attr])[attr.name].values() if x > 0])
        out.append(float(-(p * np.log(p)).sum() / np.log(len(attr.labels))) if len(p) else 0.0)
    return float(np.mean(out))


def complete_teachers(ann: pd.DataFrame) -> list[str]:
    """The teachers that annotated every user of the table, sorted (a teacher capped by
    ``max_users`` is left out, so every vote compares the same teachers on every user).

    >>> ann = pd.DataFrame({"user_id": ["u", "v", "u"], "teacher": ["a", "a", "b"]})
    >>> complete_teachers(ann)
    ['a']
    """
    n_users = ann["user_id"].nunique()
    per_teacher = ann.groupby("teacher")["user_id"].nunique()
    return sorted(str(t) for t, n in per_teacher.items() if n == n_users)


# -- health checks: do the teachers carry signal, and did calibration keep what they said? -------
def teacher_agreement(ann: pd.DataFrame, taxonomy, sample: int = 0, n_boot: int = 200,
                      seed: int = 0) -> dict[str, dict]:
    """Krippendorff's alpha (nominal, ``krippendorff`` package) between teachers, per attribute,
    with a 95% bootstrap interval over users: ``{attribute: {"alpha": a, "ci": [lo, hi]}}``.

    Each teacher's answer in ``sample`` is its rating of the user; abstentions and parse
    failures are missing values. 1 = the teachers always agree, 0 = as often as chance given
    their label shares, below 0 = less. NaN where it is undefined (one teacher, one label).
    An interval that reaches 0 means agreement not distinguishable from chance.

    >>> ann = pd.DataFrame({"user_id": list("abcdabcd"), "attribute": ["gender"] * 8, "sample": 0,
    ...     "teacher": list("ttttuuuu"), "label": ["male", "female"] * 4, "ok": True})
    >>> from confprofile.taxonomy import load_taxonomy
    >>> teacher_agreement(ann, [load_taxonomy()["gender"]], n_boot=20)["gender"]["alpha"]
    1.0
    >>> flipped = ann.assign(label=["male", "female"] * 2 + ["female", "male"] * 2)
    >>> teacher_agreement(flipped, [load_taxonomy()["gender"]], n_boot=20)["gender"]["alpha"] < 0
    True
    """
    import krippendorff

    from confprofile.repro import rng

    def alpha(data: np.ndarray) -> float:
        try:
            return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        except (ValueError, ZeroDivisionError):  # fewer than two raters or one value only
            return float("nan")

    one = ann[(ann["sample"] == sample) & ann["ok"].astype(bool)]
    out = {}
    for attr in taxonomy:
        a = one[(one["attribute"] == attr.name) & one["label"].isin(attr.labels)]
        codes = a.assign(code=a["label"].map({lab: float(i) for i, lab in enumerate(attr.labels)}))
        data = codes.pivot_table(index="teacher", columns="user_id", values="code", aggfunc="first").to_numpy(dtype=float)
        gen = rng(seed, "teacher_agreement", attr.name)
        boot = [alpha(data[:, gen.integers(0, data.shape[1], data.shape[1])]) for _ in range(n_boot)] if data.size else []
        lo, hi = (np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (np.nan, np.nan))
        out[attr.name] = {"alpha": round(alpha(data), 6), "ci": [round(float(lo), 6), round(float(hi), 6)]}
    return out


def teacher_shares(ann: pd.DataFrame, taxonomy) -> dict[str, dict[str, float]]:
    """What the teachers said: per attribute, the mean over teachers of each teacher's label
    shares (every parsed sample; abstentions left out), so each teacher counts once.

    >>> ann = pd.DataFrame({"attribute": ["gender"] * 4, "teacher": list("ttuu"), "ok": True,
    ...                     "label": ["male", "male", "female", "male"]})
    >>> from confprofile.taxonomy import load_taxonomy
    >>> teacher_shares(ann, [load_taxonomy()["gender"]])
    {'gender': {'female': 0.25, 'male': 0.75}}
    """
    ok = ann[ann["ok"].astype(bool)]
    per = [label_shares(g, taxonomy, "label") for _, g in ok.groupby("teacher", sort=True)]
    return {a.name: {lab: float(np.mean([p[a.name][lab] for p in per])) if per else 0.0 for lab in a.labels}
            for a in taxonomy}


def share_shift(shares: dict[str, dict[str, float]], reference: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per attribute, the largest change of one label's share between two share tables.

    >>> share_shift({"g": {"f": 0.57, "m": 0.43}}, {"g": {"f": 0.30, "m": 0.70}})
    {'g': 0.27}
    """
    return {a: round(max(abs(s[lab] - reference[a].get(lab, 0.0)) for lab in s), 6) for a, s in shares.items()}


def health_warnings(agreement: dict[str, dict], shifts: dict[str, float] | None = None,
                    max_share_shift: float = 0.15, what: str = "the pseudo-labels") -> list[str]:
    """One sentence per problem, naming the attribute: teachers whose agreement is not
    distinguishable from chance (``teacher_agreement``'s interval reaches 0), or pseudo-labels
    whose label shares moved more than ``max_share_shift`` from what the teachers said.

    >>> for w in health_warnings({"gender": {"alpha": 0.05, "ci": [-0.02, 0.12]}, "age": {"alpha": 0.6, "ci": [0.5, 0.7]}},
    ...                          {"gender": 0.27, "age": 0.02}):
    ...     print(w)
    gender: the teachers agree no more than chance would (Krippendorff alpha 0.05, 95% interval -0.02 to 0.12); its pseudo-labels carry little signal
    gender: the pseudo-labels moved a label share 0.27 from the teachers' own shares (more than 0.15)
    """
    out = []
    for attr, a in agreement.items():
        if not a["ci"][0] > 0:  # NaN included: no measurable agreement
            out.append(f"{attr}: the teachers agree no more than chance would (Krippendorff alpha {a['alpha']:.2f}, "
                       f"95% interval {a['ci'][0]:.2f} to {a['ci'][1]:.2f}); its pseudo-labels carry little signal")
    for attr, s in (shifts or {}).items():
        if s > max_share_shift:
            out.append(f"{attr}: {what} moved a label share {s:.2f} from the teachers' own shares "
                       f"(more than {max_share_shift})")
    return out
