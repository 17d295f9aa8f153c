"""Label-free monitoring of an annotation table: failures, abstentions, agreement, confidence,
and health checks that warn before the numbers go wrong (``teacher_agreement``: do teachers
agree more than chance, per attribute; ``confidence_floor``: do they agree as often as their
stated confidences require, which teachers misled by one shared cue do not; ``share_shift``: did
a calibration move a label share far from the uncalibrated vote's; ``health_warnings``: one
sentence per problem, naming the attribute).

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

import warnings

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

    from confprofile.provenance import rng

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


def confidence_floor(ann: pd.DataFrame, taxonomy, sample: int = 0, n_boot: int = 200,
                     seed: int = 0) -> dict[str, dict]:
    """Do the teachers agree as often as their stated confidences say they must? Per attribute,
    for each pair of teachers (their answers in ``sample`` on the users both labelled):
    ``agreement``, the share of those users they agree on, and ``floor = mean conf_i + mean
    conf_j - 1``; both averaged over teacher pairs, with ``shortfall = floor - agreement`` and
    its 95% bootstrap interval over users: ``{attribute: {"agreement", "floor", "shortfall",
    "ci": [lo, hi], "confidence" (mean stated)}}``.

    Why a floor: two teachers agree at least whenever both are right, and if each is right as
    often as its mean stated confidence says (on the users both labelled), both are right on at
    least ``c_i + c_j - 1`` of them whatever their errors (Frechet's bound: no independence is assumed). Agreement
    below the floor therefore shows that at least one teacher is more confident than it is
    right on this attribute. ``health_warnings`` warns when the interval lies above 0.

    What it sees: teachers that read the same misleading cue agree on it, so Krippendorff's
    alpha clears chance (``teacher_agreement`` stays quiet), while off that cue they guess
    with the same high confidence and disagree: agreement falls below the floor. Also plain
    overconfidence, which misleads confidence-weighted votes and thresholds just the same.
    What it cannot see: teachers that agree on a wrong label everywhere (without labels,
    shared error is indistinguishable from truth), or wrong teachers that state modest
    confidence (mean confidences summing to 1 or less give a floor of 0 or below).

    >>> from confprofile.taxonomy import load_taxonomy
    >>> ann = pd.DataFrame({"user_id": list("abcdabcd"), "attribute": ["gender"] * 8, "sample": 0,
    ...     "teacher": list("ttttuuuu"), "label": ["male"] * 4 + ["male", "female"] * 2,
    ...     "confidence": 0.9, "ok": True})
    >>> f = confidence_floor(ann, [load_taxonomy()["gender"]], n_boot=20)["gender"]  # 0.9 + 0.9 - 1
    >>> f["agreement"], f["floor"], f["shortfall"]
    (0.5, 0.8, 0.3)
    """
    from confprofile.provenance import rng

    one = ann[(ann["sample"] == sample) & ann["ok"].astype(bool)]
    out = {}
    for attr in taxonomy:
        a = one[(one["attribute"] == attr.name) & one["label"].isin(attr.labels)]
        lab = a.pivot_table(index="user_id", columns="teacher", values="label", aggfunc="first")
        conf = a.pivot_table(index="user_id", columns="teacher", values="confidence", aggfunc="first")
        conf = conf.reindex(index=lab.index, columns=lab.columns).astype(float).clip(0, 1)
        teachers = list(lab.columns)
        agree, bound, both = [], [], []  # per teacher pair: users x 1 arrays (0 where not both labelled)
        for i, ti in enumerate(teachers):
            for tj in teachers[i + 1:]:
                m = (lab[ti].notna() & lab[tj].notna()).to_numpy()
                agree.append(np.where(m, (lab[ti] == lab[tj]).to_numpy(), 0.0))
                bound.append(np.where(m, (conf[ti] + conf[tj] - 1).fillna(0).to_numpy(), 0.0))
                both.append(m.astype(float))
        if not agree or not np.any(both):  # fewer than two teachers, or none labelled a user twice
            out[attr.name] = {"agreement": float("nan"), "floor": float("nan"), "shortfall": float("nan"),
                              "ci": [float("nan"), float("nan")], "confidence": float(a["confidence"].mean())}
            continue
        agree, bound, both = (np.array(x, dtype=float).T for x in (agree, bound, both))  # users x pairs

        def stats(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            n = w @ both
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.nanmean(np.where(n > 0, (w @ agree) / n, np.nan), axis=-1), \
                    np.nanmean(np.where(n > 0, (w @ bound) / n, np.nan), axis=-1)

        n_users = agree.shape[0]
        ag, fl = stats(np.ones(n_users))
        gen = rng(seed, "confidence_floor", attr.name)
        draws = gen.multinomial(n_users, np.full(n_users, 1.0 / n_users), size=n_boot)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no pair is labelled twice
            bag, bfl = stats(draws.astype(float))
        gap = bfl - bag
        lo, hi = np.nanpercentile(gap, [2.5, 97.5]) if np.isfinite(gap).any() else (np.nan, np.nan)
        out[attr.name] = {"agreement": round(float(ag), 6), "floor": round(float(fl), 6),
                          "shortfall": round(float(fl - ag), 6), "ci": [round(float(lo), 6), round(float(hi), 6)],
                          "confidence": round(float(a["confidence"].mean()), 6)}
    return out


def health_warnings(agreement: dict[str, dict], shifts: dict[str, float] | None = None,
                    max_share_shift: float = 0.15, what: str = "the pseudo-labels", *,
                    reference: str = "the teachers' own shares", floor: dict[str, dict] | None = None) -> list[str]:
    """One sentence per problem, naming the attribute: teachers whose agreement is not
    distinguishable from chance (``teacher_agreement``'s interval reaches 0), teachers that agree
    less often than their stated confidences require (``confidence_floor``'s shortfall interval
    lies above 0), or pseudo-labels whose label shares moved more than ``max_share_shift`` from
    ``reference``.

    >>> for w in health_warnings({"gender": {"alpha": 0.05, "ci": [-0.02, 0.12]}, "age": {"alpha": 0.6, "ci": [0.5, 0.7]}},
    ...                          {"gender": 0.27, "age": 0.02}):
    ...     print(w)
    gender: the teachers agree no more than chance would (Krippendorff alpha 0.05, 95% interval -0.02 to 0.12); its pseudo-labels carry little signal
    gender: the pseudo-labels moved a label share 0.27 from the teachers' own shares (more than 0.15)
    >>> print(*health_warnings({}, floor={"age": {"agreement": 0.55, "floor": 0.76, "shortfall": 0.21,
    ...                                           "ci": [0.15, 0.27], "confidence": 0.88}}))
    age: the teachers agree on 0.55 of users, below the 0.76 their stated confidences (mean 0.88) require (shortfall 95% interval 0.15 to 0.27): they are confident where they disagree, as teachers that read the same misleading cue are; their confidence and agreement overstate its pseudo-labels
    """
    out = []
    for attr, a in agreement.items():
        if not a["ci"][0] > 0:  # NaN included: no measurable agreement
            out.append(f"{attr}: the teachers agree no more than chance would (Krippendorff alpha {a['alpha']:.2f}, "
                       f"95% interval {a['ci'][0]:.2f} to {a['ci'][1]:.2f}); its pseudo-labels carry little signal")
    for attr, f in (floor or {}).items():
        if f["ci"][0] > 0:  # NaN: not measurable, no warning
            out.append(f"{attr}: the teachers agree on {f['agreement']:.2f} of users, below the {f['floor']:.2f} their "
                       f"stated confidences (mean {f['confidence']:.2f}) require (shortfall 95% interval "
                       f"{f['ci'][0]:.2f} to {f['ci'][1]:.2f}): they are confident where they disagree, as teachers "
                       "that read the same misleading cue are; their confidence and agreement overstate its pseudo-labels")
    for attr, s in (shifts or {}).items():
        if s > max_share_shift:
            out.append(f"{attr}: {what} moved a label share {s:.2f} from {reference} "
                       f"(more than {max_share_shift})")
    return out


# -- is the rule choice trustworthy? near-tied rules, unequal teachers -----------------------------
def answered_shares(ann: pd.DataFrame) -> dict[str, float]:
    """Per teacher, the share of the table's (user, attribute) pairs where it cast at least one
    vote (a parsed label other than ``unknown``): what it answered, after parse failures and
    abstentions.

    >>> ann = pd.DataFrame({"user_id": ["u", "v", "u", "v"], "attribute": ["g"] * 4, "teacher": list("aabb"),
    ...                     "label": ["x", "unknown", "y", None], "ok": [True, True, True, False]})
    >>> answered_shares(ann)
    {'a': 0.5, 'b': 0.5}
    """
    lab = ann["label"].astype(object)
    votes = lab.map(lambda x: isinstance(x, str) and x not in (UNKNOWN, "")).astype(bool)
    if "ok" in ann.columns:
        votes &= ann["ok"].astype(bool)
    n_pairs = max(len(ann[["user_id", "attribute"]].drop_duplicates()), 1)
    answered = ann.loc[votes].drop_duplicates(["teacher", "user_id", "attribute"]).groupby("teacher").size()
    return {str(t): round(float(answered.get(t, 0)) / n_pairs, 6) for t in sorted(ann["teacher"].unique(), key=str)}


UNEQUAL_SHARE = 0.5
"""A teacher that answered under this fraction of the teachers' median answered share is
flagged: the rule choice weighs each held-out teacher's agreement rate by its estimated
reliability, not by how many pairs it answered, so its few pairs count as much as another's many,
and a rule's score leans on their noise."""


def teacher_share_warnings(answered: dict[str, float], ratio: float = UNEQUAL_SHARE) -> list[str]:
    """One sentence per teacher that answered far fewer pairs than the others (under ``ratio``
    times the median answered share, ``answered_shares``).

    >>> print(*teacher_share_warnings({"a": 0.9, "b": 0.85, "c": 0.3}))
    teacher 'c' answered 30% of (user, attribute) pairs, under half the teachers' median (85%): parse failures or abstentions leave it few pairs, yet the rule choice weighs its agreement rate by its reliability, not by its number of pairs
    """
    if len(answered) < 2:
        return []
    median = float(np.median(list(answered.values())))
    what = "half" if ratio == 0.5 else f"{ratio:g} of"
    return [f"teacher '{t}' answered {s:.0%} of (user, attribute) pairs, under {what} the teachers' median ({median:.0%}): "
            "parse failures or abstentions leave it few pairs, yet the rule choice weighs its agreement rate by its "
            "reliability, not by its number of pairs" for t, s in answered.items() if s < ratio * median]


def near_tie_warning(chosen: str, runner_up: str | None, gap: float, gap_se: float,
                     score: str = "held-out teacher agreement") -> list[str]:
    """A sentence when the chosen vote rule leads the next distinct one by less than the
    standard error of that lead (``voting.rule_margin``) in ``score``, else nothing.

    >>> print(*near_tie_warning("weighted (none)", "majority vote", 0.002, 0.005))
    vote rule: 'weighted (none)' leads 'majority vote' by 0.0020 in held-out teacher agreement, less than the standard error of that lead (0.0050, bootstrap over users): the label-free score cannot separate them, and another sample of users could choose the other
    """
    if runner_up is None or not gap < gap_se:
        return []
    return [f"vote rule: '{chosen}' leads '{runner_up}' by {gap:.4f} in {score}, less than the "
            f"standard error of that lead ({gap_se:.4f}, bootstrap over users): the label-free score cannot separate "
            "them, and another sample of users could choose the other"]
