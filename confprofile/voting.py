"""Voting: turn several teacher samples per user and attribute into one pseudo-label.

Notebook 03 (part of the paper's stage 1). Teachers return, per (user, attribute), several samples each with a
label and a verbalised confidence (the annotation table of ``docs/CONTRACTS.md``). A vote over
them raises accuracy. Three families, all built on one soft score table (``vote_scores``):

- ``majority_vote``: self-consistency, one sample one vote.
- ``weighted_vote``: confidence-weighted voting. ``score(y)`` is the sum of the (normalised)
  confidences of the samples that say ``y``; aggregate confidence is the winning score over
  the total. Normalisations: ``"none"`` (raw confidence), ``"linear"`` (confidences divided by
  their sum within the (user, attribute)), ``"softmax"`` (CISC: ``softmax(conf / T)`` within
  the (user, attribute)). ``"none"`` and ``"linear"`` always pick the same label with the same
  confidence (a per-group constant factor cancels); they differ only in the ``score`` scale.
- optional per-teacher weights, estimated without labels by ``teacher_reliability``.

A ``VoteRule`` names one such vote (normalisation, softmax temperature, teacher weights) so a
recipe can list rules, score them without labels (``heldout_table``, read by
``pseudo_labelling.label_free``'s chooser) and apply one with ``vote_by_rule``. The module is longer than
most (about a third doctests): the score table, the decision and its tie-breaks, the rules and
the pseudo-label records are read together.

Rules shared by every function here (our choices; the paper gives only the natural form):
- A sample votes when its label is a string other than ``"unknown"`` (abstention) and, if the
  table has an ``ok`` column, ``ok`` is true. Parse failures (label None/NaN) cast no vote.
- A missing confidence on a voting sample counts as 0; confidences are clipped to [0, 1].
- If every valid vote in a (user, attribute) has weight 0, the vote falls back to counts.
- Ties: higher score, then higher summed raw confidence, then more votes, then the label name
  that sorts first. Scores are compared after rounding to 10 decimals, and the input is put in
  a canonical order first, so shuffling the rows never changes a result.
- Every (user, attribute) present in the input gets one row; where no sample voted, the row
  says so: ``label`` None, ``confidence``/``margin`` NaN, ``n_votes`` 0, ``kept`` False.

>>> ann = pd.DataFrame({
...     "user_id": ["u1"] * 3, "attribute": ["gender"] * 3,
...     "teacher": ["a", "a", "b"], "sample": [0, 1, 0],
...     "label": ["male", "female", "female"], "confidence": [0.9, 0.3, 0.4]})
>>> majority_vote(ann)[["label", "confidence", "n_votes"]].to_dict("records")
[{'label': 'female', 'confidence': 0.6666666666666666, 'n_votes': 3}]
>>> weighted_vote(ann)[["label", "confidence", "margin"]].round(4).to_dict("records")
[{'label': 'male', 'confidence': 0.5625, 'margin': 0.125}]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from confprofile.taxonomy import UNKNOWN

KEYS = ["user_id", "attribute"]
VOTE_COLUMNS = ["user_id", "attribute", "label", "confidence", "margin", "n_votes", "kept"]
SCORE_COLUMNS = ["user_id", "attribute", "label", "score", "share", "count", "conf_sum"]
NORMS = ("count", "none", "linear", "softmax")
_DECIMALS = 10  # scores equal to 10 decimals are a tie (float sums differ in the last bits)


# --------------------------------------------------------------------------------------------
# valid votes and their weights


def require_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    """Raise a ValueError naming ``what`` and the columns it lacks."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _obj(values) -> pd.Series:
    """An object Series with None for missing values (pandas' str dtype would turn None to NaN)."""
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    return s.where(s.notna(), None)


def _canonical(ann: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order, so sums (and hence ties) do not depend on the input's order."""
    by = [c for c in ("user_id", "attribute", "teacher", "sample") if c in ann.columns]
    out = ann.copy()
    out["_lab"] = out["label"].astype(object).where(out["label"].notna(), "")
    out["_conf"] = pd.to_numeric(out["confidence"], errors="coerce")
    out = out.sort_values(by + ["_lab", "_conf"], kind="mergesort", na_position="last")
    return out.drop(columns=["_lab", "_conf"]).reset_index(drop=True)


def all_keys(ann: pd.DataFrame) -> pd.DataFrame:
    """Every (user_id, attribute) pair present in ``ann``, sorted."""
    require_columns(ann, KEYS, "table")
    keys = ann[KEYS].drop_duplicates().astype({"user_id": object, "attribute": object})
    return keys.sort_values(KEYS, kind="mergesort").reset_index(drop=True)


def valid_votes(ann: pd.DataFrame) -> pd.DataFrame:
    """The samples that cast a vote, in canonical order, with ``confidence`` cleaned to [0, 1].

    >>> ann = pd.DataFrame({"user_id": ["u"] * 4, "attribute": ["age"] * 4,
    ...                     "label": ["18_24", "unknown", None, "25_34"],
    ...                     "confidence": [0.8, 0.9, float("nan"), float("nan")]})
    >>> valid_votes(ann)[["label", "confidence"]].to_dict("records")
    [{'label': '18_24', 'confidence': 0.8}, {'label': '25_34', 'confidence': 0.0}]
    """
    require_columns(ann, KEYS + ["label", "confidence"], "annotation table")
    ann = _canonical(ann)
    lab = ann["label"].astype(object)
    ok = lab.notna() & lab.map(lambda x: isinstance(x, str) and x != UNKNOWN and x != "").astype(bool)
    if "ok" in ann.columns:
        ok &= ann["ok"].astype(object).map(lambda x: x is True or x is np.True_ or x == 1).astype(bool)
    v = ann.loc[ok].copy()
    v["label"] = v["label"].astype(object)
    v["confidence"] = pd.to_numeric(v["confidence"], errors="coerce").fillna(0.0).clip(0.0, 1.0)
    return v.reset_index(drop=True)


def vote_weights(votes: pd.DataFrame, norm: str = "none", softmax_temperature: float = 1.0,
                 teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.Series:
    """Per-vote weights before normalisation within the (user, attribute).

    ``"count"``: 1; ``"none"``/``"linear"``: the confidence; ``"softmax"``:
    ``exp((conf - max conf of the group) / T)``; each times the teacher's weight if given.
    Normalising within a group (``vote_scores`` does it for ``"linear"``/``"softmax"``) only
    rescales a group, so shares and decisions can be computed from these raw weights.
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    conf = votes["confidence"].to_numpy(dtype=float)
    if norm == "count":
        w = np.ones(len(votes))
    elif norm in ("none", "linear"):
        w = conf.copy()
    else:
        if not softmax_temperature > 0:
            raise ValueError(f"softmax temperature must be > 0, got {softmax_temperature}")
        gmax = votes.groupby(KEYS, sort=False)["confidence"].transform("max").to_numpy(dtype=float)
        w = np.exp((conf - gmax) / softmax_temperature) if np.isfinite(softmax_temperature) else np.ones(len(votes))
    if teacher_weights is not None:
        require_columns(votes, ["teacher"], "annotation table (teacher_weights given)")
        tw = dict(teacher_weights.items()) if hasattr(teacher_weights, "items") else dict(teacher_weights)
        missing = sorted(set(votes["teacher"]) - set(tw))
        if missing:
            raise KeyError(f"teacher_weights has no weight for teacher(s) {', '.join(map(str, missing))}")
        tvals = votes["teacher"].map(tw).to_numpy(dtype=float)
        if (tvals < 0).any() or not np.isfinite(tvals).all():
            raise ValueError("teacher weights must be finite and >= 0")
        w = w * tvals
    return pd.Series(w, index=votes.index, name="weight")


# --------------------------------------------------------------------------------------------
# soft scores and the decision


def vote_scores(ann: pd.DataFrame, norm: str = "none", softmax_temperature: float = 1.0,
                teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """The soft per-class score table: one row per (user_id, attribute, label voted for).

    Columns ``user_id, attribute, label, score, share, count, conf_sum``: ``score`` is the sum
    of the vote weights for the label (``norm="count"``: number of votes; ``"none"``: raw
    confidences; ``"linear"``/``"softmax"``: weights normalised to sum 1 within the (user,
    attribute), so ``score == share``); ``share`` is score over the group's total; ``count``
    and ``conf_sum`` (summed raw confidence) serve the tie-breaks. A (user, attribute) with no
    valid vote keeps one row with ``label`` None, score 0, share NaN and count 0, so
    ``votes_from_scores`` can return its explicit no-vote row.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["gender"] * 3,
    ...                     "label": ["male", "female", "female"], "confidence": [0.9, 0.3, 0.4]})
    >>> vote_scores(ann, norm="linear")[["label", "score", "count"]].round(4).to_dict("records")
    [{'label': 'female', 'score': 0.4375, 'count': 2}, {'label': 'male', 'score': 0.5625, 'count': 1}]
    """
    keys = all_keys(ann)
    v = valid_votes(ann)
    v["_w"] = vote_weights(v, norm, softmax_temperature, teacher_weights).to_numpy()
    gtot = v.groupby(KEYS, sort=False)["_w"].transform("sum")
    if norm in ("linear", "softmax"):
        v["_w"] = np.where(gtot > 0, v["_w"] / gtot.where(gtot > 0, 1.0), 0.0)
    s = (v.groupby(KEYS + ["label"], sort=True)
         .agg(score=("_w", "sum"), count=("_w", "size"), conf_sum=("confidence", "sum"))
         .reset_index())
    s["score"] = _effective_score(s, KEYS)
    total = s.groupby(KEYS, sort=False)["score"].transform("sum")
    s["share"] = s["score"] / total
    none = keys.merge(s[KEYS].drop_duplicates(), on=KEYS, how="left", indicator=True)
    none = none.loc[none["_merge"] == "left_only", KEYS].assign(
        label=None, score=0.0, share=np.nan, count=0, conf_sum=0.0)
    out = s[SCORE_COLUMNS]
    if len(none):
        out = pd.concat([out, none[SCORE_COLUMNS]], ignore_index=True)
    out = out.astype({"user_id": object, "attribute": object, "count": int})
    out["label"] = _obj(out["label"])
    out["_lab"] = out["label"].where(out["label"].notna(), "")
    return out.sort_values(KEYS + ["_lab"], kind="mergesort").drop(columns="_lab").reset_index(drop=True)


def _effective_score(s: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Scores, with groups whose total weight is 0 falling back to vote counts."""
    total = s.groupby(keys, sort=False)["score"].transform("sum")
    return s["score"].where(total > 0, s["count"].astype(float))


def decide(s: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Winner per group of a score table (rows with a label only): label, confidence, margin, n_votes.

    ``keys`` are the group columns (``KEYS``, or ``KEYS + ["unit"]`` for leave-one-out votes);
    ``s`` has ``label, score, count, conf_sum``. The tie-breaks of the module docstring apply.
    """
    s = s.loc[s["label"].notna()].copy()
    if s.empty:
        return pd.DataFrame(columns=keys + ["label", "confidence", "margin", "n_votes"])
    s["score"] = _effective_score(s, keys)
    s["_rs"] = s["score"].round(_DECIMALS)
    s["_rc"] = s["conf_sum"].round(_DECIMALS)
    s = s.sort_values(keys + ["_rs", "_rc", "count", "label"],
                      ascending=[True] * len(keys) + [False, False, False, True], kind="mergesort")
    g = s.groupby(keys, sort=False)
    s["_total"] = g["score"].transform("sum")
    s["_n"] = g["count"].transform("sum")
    s["_pos"] = g.cumcount()
    top = s.loc[s["_pos"] == 0].set_index(keys)
    second = s.loc[s["_pos"] == 1].set_index(keys)["score"].reindex(top.index).fillna(0.0)
    out = pd.DataFrame({
        "label": top["label"].astype(object),
        "confidence": top["score"] / top["_total"],
        "margin": (top["score"] - second) / top["_total"],
        "n_votes": top["_n"].astype(int),
    }).reset_index()
    return out


def votes_from_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The vote table from a score table (``vote_scores``, or one rescored by calibration).

    One row per (user_id, attribute) in ``scores``: ``label`` (None = no vote), ``confidence``
    (winning score / total), ``margin`` (winner share minus runner-up share), ``n_votes``,
    ``kept`` (True where there is a label).

    >>> scores = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["age"] * 3,
    ...                        "label": ["a", "b", None], "score": [3.0, 1.0, 0.0],
    ...                        "share": [0.75, 0.25, float("nan")], "count": [3, 1, 0],
    ...                        "conf_sum": [2.0, 0.5, 0.0]})
    >>> votes_from_scores(scores).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'user_id': 'u', 'attribute': 'age', 'label': 'a', 'confidence': 0.75, 'margin': 0.5,
      'n_votes': 4, 'kept': True},
     {'user_id': 'v', 'attribute': 'age', 'label': None, 'confidence': nan, 'margin': nan,
      'n_votes': 0, 'kept': False}]
    """
    require_columns(scores, KEYS + ["label", "score", "count", "conf_sum"], "score table")
    keys = all_keys(scores)
    dec = decide(scores, KEYS)
    out = keys.merge(dec, on=KEYS, how="left")
    out["label"] = _obj(out["label"])
    out["confidence"] = out["confidence"].astype(float)
    out["margin"] = out["margin"].astype(float)
    out["n_votes"] = out["n_votes"].fillna(0).astype(int)
    out["kept"] = out["label"].notna().astype(bool)
    return out[VOTE_COLUMNS]


# --------------------------------------------------------------------------------------------
# the votes


def majority_vote(ann: pd.DataFrame) -> pd.DataFrame:
    """Self-consistency: the most frequent label; ties by summed confidence, then label name.

    ``confidence`` is the winner's share of the valid votes.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 4, "attribute": ["age"] * 4,
    ...                     "label": ["b", "a", "a", "b"], "confidence": [0.5, 0.9, 0.2, 0.7]})
    >>> majority_vote(ann)[["label", "confidence", "margin"]].to_dict("records")  # 2 v 2; 1.2 > 1.1
    [{'label': 'b', 'confidence': 0.5, 'margin': 0.0}]
    """
    return votes_from_scores(vote_scores(ann, norm="count"))


def weighted_vote(ann: pd.DataFrame, norm: str = "none", softmax_temperature: float = 1.0,
                  teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """Confidence-weighted vote (Conf-Profile's natural form, and CISC with ``norm="softmax"``).

    ``score(y) = sum of normalised confidences of the samples saying y`` (times the teacher's
    weight if ``teacher_weights`` is given); the label with the highest score wins;
    ``confidence = winning score / total score``. ``norm="softmax"`` with a large
    ``softmax_temperature`` tends to the majority vote; with a small one, to the single most confident
    sample.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3,
    ...                     "teacher": ["a", "b", "c"],
    ...                     "label": ["x", "y", "y"], "confidence": [0.9, 0.5, 0.5]})
    >>> weighted_vote(ann)["label"].item()  # x: 0.9 < y: 0.5 + 0.5
    'y'
    >>> weighted_vote(ann, norm="softmax", softmax_temperature=0.05)["label"].item()  # e^8 > 2
    'x'
    >>> weighted_vote(ann, teacher_weights={"a": 3.0, "b": 1.0, "c": 1.0})["label"].item()  # 2.7 > 1
    'x'
    """
    if norm == "count":
        raise ValueError("norm='count' is majority_vote; weighted_vote takes 'none', 'linear' or 'softmax'")
    return votes_from_scores(vote_scores(ann, norm=norm, softmax_temperature=softmax_temperature,
                                         teacher_weights=teacher_weights))


def teacher_reliability(ann: pd.DataFrame, norm: str = "none", softmax_temperature: float = 1.0,
                        smoothing: float = 1.0, kind: str = "rate") -> pd.Series:
    """Per-teacher weights estimated without labels, for ``weighted_vote(teacher_weights=...)``.

    For each teacher, the other teachers vote (``weighted_vote`` with ``norm``/``softmax_temperature``;
    ``norm="count"`` for majority); the teacher's reliability is the share of its valid samples
    that agree with that leave-this-teacher-out consensus, smoothed towards 1/2:
    ``(agree + smoothing) / (n + 2 * smoothing)``. A teacher never compared (one teacher only,
    or no overlap) gets 1/2. ``kind="log_odds"`` returns ``log(r / (1 - r))`` floored at 0.01,
    the weight of a naive-Bayes vote between two classes.

    Agreement is a proxy: teachers that err together look reliable to each other.

    >>> ann = pd.DataFrame({"user_id": ["u1"] * 4 + ["u2"] * 4, "attribute": ["age"] * 8,
    ...                     "teacher": ["a", "b", "c", "d"] * 2, "confidence": [0.8] * 8,
    ...                     "label": ["x", "x", "y", "x", "z", "z", "x", "z"]})
    >>> teacher_reliability(ann, smoothing=0.0).to_dict()  # c disagrees with a, b, d each time
    {'a': 1.0, 'b': 1.0, 'c': 0.0, 'd': 1.0}
    """
    require_columns(ann, ["teacher"], "annotation table")
    if kind not in ("rate", "log_odds"):
        raise ValueError(f"kind must be 'rate' or 'log_odds', got {kind!r}")
    v = valid_votes(ann)
    teachers = sorted(pd.unique(ann["teacher"].dropna()).tolist(), key=str)
    rates = {}
    for t in teachers:
        rest = ann.loc[ann["teacher"] != t]
        mine = v.loc[v["teacher"] == t, KEYS + ["label"]]
        if rest.empty or mine.empty:
            agree = n = 0
        else:
            cons = votes_from_scores(vote_scores(rest, norm=norm, softmax_temperature=softmax_temperature))
            m = mine.merge(cons[KEYS + ["label"]].rename(columns={"label": "_cons"}), on=KEYS, how="inner")
            m = m.loc[m["_cons"].notna()]
            agree, n = int((m["label"] == m["_cons"]).sum()), len(m)
        denom = n + 2 * smoothing
        rates[t] = (agree + smoothing) / denom if denom > 0 else 0.5
    r = pd.Series(rates, name="reliability", dtype=float)
    r.index.name = "teacher"
    if kind == "log_odds":
        rc = r.clip(1e-6, 1 - 1e-6)
        r = np.log(rc / (1 - rc)).clip(lower=0.01).rename("reliability")
    return r


def most_reliable_teacher(ann: pd.DataFrame) -> str:
    """The teacher with the most expected right answers per pair, without labels: its accuracy
    as Dawid-Skene estimates it from its fitted confusion matrix (``aggregation.teacher_skills``,
    pooled over attributes by its votes) times the share of its samples that vote at all (so a
    teacher is not chosen for abstaining where it is unsure). Closeness to the crowd
    (``teacher_reliability``: agreement with the others' vote) rewards a teacher for erring as
    the others do; Dawid-Skene learns that many weak teachers lean to the same label and that a
    strong one does not, so the strong one can be found where it disagrees with the crowd
    (measured in tests/test_rule_choice_study.py). Ties go to the name that sorts first.

    >>> ann = pd.DataFrame({"user_id": ["u1"] * 3 + ["u2"] * 3, "attribute": ["age"] * 6,
    ...                     "teacher": ["a", "b", "c"] * 2, "confidence": [0.8] * 6,
    ...                     "label": ["x", "x", "unknown", "y", "y", "y"]})
    >>> most_reliable_teacher(ann)  # c agrees whenever it answers, but answers half the time
    'a'
    """
    from confprofile import aggregation# aggregation builds on this module

    require_columns(ann, ["teacher"], "annotation table")
    skills = aggregation.teacher_skills(ann)
    teachers = sorted(pd.unique(ann["teacher"].dropna()).astype(str).tolist())
    if skills.empty:
        return teachers[0]
    skills = skills.assign(teacher=skills["teacher"].astype(str), _w=skills["skill"] * skills["n"])
    g = skills.groupby("teacher")
    accuracy = (g["_w"].sum() / g["n"].sum()).reindex(teachers).fillna(0.0)
    v = valid_votes(ann)
    answered = (v["teacher"].astype(str).value_counts() / ann["teacher"].astype(str).value_counts()).reindex(teachers)
    score = (accuracy * answered.fillna(0.0)).round(12)
    return str(score.sort_values(ascending=False, kind="mergesort").index[0])


# --------------------------------------------------------------------------------------------
# vote rules: a name and the arguments of a vote, so a recipe can list and compare them


@dataclass(frozen=True)
class VoteRule:
    """A vote rule: ``norm`` and ``softmax_temperature`` of ``vote_scores`` (``norm="count"`` is
    the majority vote), and whether per-teacher weights (``teacher_reliability``) multiply the
    votes. ``rule(ann)`` is ``vote_by_rule(ann, rule)``.

    >>> VoteRule("weighted (softmax T=0.3)", "softmax", 0.3).score_kwargs()
    {'norm': 'softmax', 'softmax_temperature': 0.3, 'teacher_weights': None}
    """

    name: str
    norm: str
    softmax_temperature: float = 1.0
    reliability: bool = False
    agreement = None  # calibration's leave-one-out comes from the vote weights (no refit needed)

    def __post_init__(self):
        if self.norm not in NORMS:
            raise ValueError(f"vote rule {self.name!r}: norm must be one of {NORMS}, got {self.norm!r}")

    @property
    def is_majority(self) -> bool:
        return self.norm == "count" and not self.reliability

    @property
    def id(self) -> str:
        """The stable identifier (``confprofile.rules``): ``majority``, ``weighted_none``,
        ``weighted_softmax_0.3``, ``..._reliability`` with teacher weights."""
        base = "majority" if self.norm == "count" else f"weighted_{self.norm}"
        if self.norm == "softmax":
            base += f"_{float(self.softmax_temperature)!r}"
        return base + ("_reliability" if self.reliability else "")

    def fit_weights(self, ann: pd.DataFrame) -> pd.Series | None:
        """Teacher weights fitted on ``ann`` if the rule has them (label-free), else None."""
        if not self.reliability:
            return None
        return teacher_reliability(ann, norm=self.norm, softmax_temperature=self.softmax_temperature)

    def score_kwargs(self, teacher_weights: Mapping[str, float] | pd.Series | None = None) -> dict:
        """Keyword arguments of ``vote_scores`` (and of calibration's fits) for this rule.
        ``teacher_weights`` is used only by a rule with ``reliability``."""
        return {"norm": self.norm, "softmax_temperature": self.softmax_temperature,
                "teacher_weights": teacher_weights if self.reliability else None}

    def scores(self, ann: pd.DataFrame,
               teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
        """``vote_scores`` of ``ann`` under this rule (weights as in ``vote_by_rule``)."""
        if self.reliability and teacher_weights is None:
            teacher_weights = self.fit_weights(ann)
        return vote_scores(ann, **self.score_kwargs(teacher_weights))

    def __call__(self, ann: pd.DataFrame,
                 teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
        return vote_by_rule(ann, self, teacher_weights)


def vote_by_rule(ann: pd.DataFrame, rule: VoteRule,
                 teacher_weights: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """The vote table of ``ann`` under ``rule``. A rule with ``reliability`` uses
    ``teacher_weights`` when given (e.g. fitted on the pool, applied to the test set) and fits
    them on ``ann`` otherwise; other rules ignore them.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3,
    ...                     "teacher": ["a", "b", "c"],
    ...                     "label": ["x", "y", "y"], "confidence": [0.9, 0.5, 0.5]})
    >>> vote_by_rule(ann, VoteRule("majority vote", "count"))["label"].item()
    'y'
    >>> rule = VoteRule("weighted + reliability", "none", reliability=True)
    >>> vote_by_rule(ann, rule, teacher_weights={"a": 3.0, "b": 1.0, "c": 1.0})["label"].item()  # 2.7 > 1
    'x'
    """
    return votes_from_scores(rule.scores(ann, teacher_weights))


def standard_rules(softmax_temperatures: Sequence[float]) -> dict[str, VoteRule]:
    """The rules notebook 03 compares, by display name: majority, confidence-weighted with each
    normalisation (softmax at each temperature), and weighted with teacher reliability.

    >>> list(standard_rules([0.1]))  # doctest: +NORMALIZE_WHITESPACE
    ['majority vote', 'weighted (none)', 'weighted (linear)', 'weighted (softmax T=0.1)',
     'weighted (none) + teacher reliability']
    """
    rules = [vote_rule("count"), vote_rule("none"), vote_rule("linear"),
             *(vote_rule("softmax", t) for t in softmax_temperatures), vote_rule("none", reliability=True)]
    return {r.name: r for r in rules}


def vote_rule(norm: str, softmax_temperature: float = 1.0, reliability: bool = False) -> VoteRule:
    """The vote rule of ``norm`` (and temperature, teacher weights) under its display name.

    >>> vote_rule("softmax", 0.3).name, vote_rule("none", reliability=True).name, vote_rule("count").name
    ('weighted (softmax T=0.3)', 'weighted (none) + teacher reliability', 'majority vote')
    """
    t = float(softmax_temperature)
    name = "majority vote" if norm == "count" else f"weighted ({norm}{f' T={t}' if norm == 'softmax' else ''})"
    return VoteRule(name + (" + teacher reliability" if reliability else ""), norm, t, reliability)


def first_sample(ann: pd.DataFrame, sample: int = 0) -> pd.DataFrame:
    """One teacher's single-sample answer as a vote table (no vote where it failed to parse or
    abstained), the baseline that voting has to beat.

    >>> ann = pd.DataFrame({"user_id": ["u", "u", "v"], "attribute": ["age"] * 3, "sample": [0, 1, 0],
    ...                     "label": ["x", "y", "unknown"], "confidence": [0.8, 0.9, 0.5],
    ...                     "ok": [True, True, True]})
    >>> first_sample(ann)[["user_id", "label", "confidence"]].to_dict("records")
    [{'user_id': 'u', 'label': 'x', 'confidence': 0.8}, {'user_id': 'v', 'label': None, 'confidence': 0.5}]
    """
    one = ann.loc[ann["sample"] == sample, ["user_id", "attribute", "label", "confidence", "ok"]]
    return one.assign(label=_obj(one["label"].where(one["ok"] & (one["label"] != UNKNOWN), None)))


# --------------------------------------------------------------------------------------------
# helpers for cost curves and distillation


def subsample(ann: pd.DataFrame, n_samples: int | Mapping[str, int],
              teachers: Sequence[str] | None = None) -> pd.DataFrame:
    """The first ``n_samples`` samples (by ``sample`` index) of each teacher per (user, attribute).

    ``n_samples`` may be a dict teacher -> n (a teacher not in it keeps nothing). ``teachers``
    keeps only those teachers (a name not in the table raises, to catch typos). Rows keep
    their original order.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 4, "attribute": ["age"] * 4,
    ...                     "teacher": ["a", "a", "a", "b"], "sample": [2, 0, 1, 0],
    ...                     "label": ["x"] * 4, "confidence": [0.5] * 4})
    >>> subsample(ann, 2)["sample"].tolist()
    [0, 1, 0]
    >>> subsample(ann, {"a": 1, "b": 0})["teacher"].tolist()
    ['a']
    """
    require_columns(ann, KEYS + ["teacher"], "annotation table")
    out = ann
    if teachers is not None:
        unknown = sorted(set(teachers) - set(ann["teacher"]))
        if unknown:
            raise KeyError(f"teacher(s) not in the annotation table: {', '.join(map(str, unknown))}")
        out = out.loc[out["teacher"].isin(list(teachers))]
    grp = out.groupby(KEYS + ["teacher"], sort=False)
    rank = grp["sample"].rank(method="dense") if "sample" in out.columns else grp.cumcount() + 1
    if isinstance(n_samples, Mapping):
        cap = out["teacher"].map(lambda t: n_samples.get(t, 0)).astype(float)
    else:
        cap = float(n_samples)
    return out.loc[rank <= cap]


def agreeing_rationales(ann: pd.DataFrame, votes: pd.DataFrame, max_n: int = 3) -> pd.DataFrame:
    """``votes`` with a ``rationales`` column: the rationales of the samples that voted for the
    winning label, highest confidence first (then teacher, sample), empty and repeated texts
    dropped, at most ``max_n``. No-vote rows get an empty list.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3,
    ...                     "label": ["x", "x", "y"], "confidence": [0.4, 0.9, 0.6],
    ...                     "rationale": ["posts about exams", "follows campus accounts", "?"]})
    >>> agreeing_rationales(ann, majority_vote(ann))["rationales"].item()
    ['follows campus accounts', 'posts about exams']
    """
    require_columns(ann, ["rationale"], "annotation table")
    v = valid_votes(ann)
    v = v.merge(votes[KEYS + ["label"]].rename(columns={"label": "_win"}), on=KEYS, how="inner")
    v = v.loc[v["label"] == v["_win"]].copy()
    v["rationale"] = v["rationale"].astype(object).where(v["rationale"].notna(), "").map(str).str.strip()
    v = v.loc[v["rationale"] != ""]
    order = KEYS + ["confidence"] + [c for c in ("teacher", "sample") if c in v.columns]
    v = v.sort_values(order, ascending=[True, True, False] + [True] * (len(order) - 3), kind="mergesort")
    v = v.drop_duplicates(KEYS + ["rationale"]).groupby(KEYS, sort=False).head(max_n)
    lists = v.groupby(KEYS, sort=False)["rationale"].agg(list)
    out = votes.copy()
    idx = pd.MultiIndex.from_frame(out[KEYS])
    out["rationales"] = [list(lists.get(k, [])) for k in idx]
    return out


def records_as_votes(pseudo: Sequence[Mapping], kept_only: bool = False) -> pd.DataFrame:
    """Pseudo-label records back to a vote table (``user_id, attribute, label, confidence, kept``):
    the inverse of ``pseudo_label_records`` and the one converter every stage uses (a record
    without ``kept`` counts as dropped; a missing confidence is NaN). ``kept_only``: a dropped
    pair's label is None (it says nothing), as where the stage-1 label votes or is scored.

    >>> recs = [{"user_id": "u", "attributes": {"age": {"label": "x", "confidence": 0.75, "kept": True},
    ...                                         "sex": {"label": "f", "confidence": 0.5, "kept": False}}}]
    >>> records_as_votes(recs)  # doctest: +NORMALIZE_WHITESPACE
      user_id attribute label  confidence   kept
    0       u       age     x        0.75   True
    1       u       sex     f        0.50  False
    >>> records_as_votes(recs, kept_only=True)["label"].isna().tolist()
    [False, True]
    """
    rows = [{"user_id": p["user_id"], "attribute": a,
             "label": v.get("label") if v.get("kept") or not kept_only else None,
             "confidence": np.nan if v.get("confidence") is None else float(v["confidence"]),
             "kept": bool(v.get("kept"))}
            for p in pseudo for a, v in p["attributes"].items()]
    return pd.DataFrame(rows, columns=["user_id", "attribute", "label", "confidence", "kept"])


def pseudo_label_records(votes: pd.DataFrame) -> list[dict]:
    """The vote table as pseudo-label records (``runs/<p>/pseudo_labels/pool.jsonl``, one per
    user): ``{"user_id", "attributes": {attr: {"label", "confidence", "kept", "rationales"}}}``.
    NaN confidences become None; ``rationales`` is ``[]`` unless the table has that column.

    >>> votes = pd.DataFrame({"user_id": ["u"], "attribute": ["age"], "label": ["x"],
    ...                       "confidence": [0.75], "margin": [0.5], "n_votes": [4], "kept": [True]})
    >>> pseudo_label_records(votes)
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'user_id': 'u', 'attributes': {'age': {'label': 'x', 'confidence': 0.75, 'kept': True,
                                             'rationales': []}}}]
    """
    require_columns(votes, KEYS + ["label", "confidence", "kept"], "vote table")
    recs: dict[str, dict] = {}
    has_r = "rationales" in votes.columns
    ordered = votes.sort_values(KEYS, kind="mergesort")
    for row in ordered.itertuples(index=False):
        conf = float(row.confidence)
        lab = row.label if isinstance(row.label, str) else None
        recs.setdefault(row.user_id, {})[row.attribute] = {
            "label": lab, "confidence": conf if np.isfinite(conf) else None,
            "kept": bool(row.kept), "rationales": list(row.rationales) if has_r else []}
    return [{"user_id": u, "attributes": a} for u, a in recs.items()]


def heldout_table(ann: pd.DataFrame, vote: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """What ``heldout_agreement`` counts, per held-out teacher, user and attribute: hold each
    teacher out, let ``vote`` combine the others, and count the held-out teacher's valid samples
    (``n``) and those that say the others' label (``agree``; a no-vote row agrees with none).
    Columns ``teacher, user_id, attribute, agree, n``; a teacher with no valid sample, or alone
    in the table, has no rows. Every criterion of the rule choice reads this table, so the
    votes are computed once.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3,
    ...                     "teacher": ["a", "b", "c"], "label": ["x", "x", "y"], "confidence": [0.9, 0.6, 0.7]})
    >>> heldout_table(ann, majority_vote)[["teacher", "agree", "n"]].to_dict("records")
    [{'teacher': 'a', 'agree': 0, 'n': 1}, {'teacher': 'b', 'agree': 1, 'n': 1}, {'teacher': 'c', 'agree': 0, 'n': 1}]
    """
    require_columns(ann, ["teacher"], "annotation table")
    v = valid_votes(ann)
    parts = []
    for t in sorted(pd.unique(ann["teacher"].dropna()).tolist(), key=str):
        mine = v.loc[v["teacher"] == t, KEYS + ["label"]]
        rest = ann.loc[ann["teacher"] != t]
        if mine.empty or rest.empty:
            continue
        cons = vote(rest)[KEYS + ["label"]].rename(columns={"label": "_cons"})
        m = mine.merge(cons, on=KEYS, how="inner")
        m["agree"] = (m["label"] == m["_cons"]).astype(int)
        parts.append(m.groupby(KEYS, sort=True)["agree"].agg(agree="sum", n="size").reset_index().assign(teacher=t))
    cols = ["teacher", "user_id", "attribute", "agree", "n"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("teacher", "user_id", "attribute") else int) for c in cols})
    out = pd.concat(parts, ignore_index=True)[cols]
    return out.astype({"teacher": object, "user_id": object, "attribute": object, "agree": int, "n": int})


def agreement_from_table(table: pd.DataFrame) -> float:
    """``heldout_agreement`` from its ``heldout_table``: each teacher's share of agreeing samples,
    averaged over teachers (each teacher counts once, whatever its number of samples).

    >>> agreement_from_table(pd.DataFrame({"teacher": ["a", "a", "b"], "agree": [1, 0, 2], "n": [1, 1, 4]}))
    0.5
    """
    rates = [float(g["agree"].sum()) / float(g["n"].sum()) if g["n"].sum() else float("nan")
             for _, g in table.groupby("teacher", sort=False)] if len(table) else []
    return float(np.nanmean(rates)) if rates and not np.isnan(rates).all() else float("nan")


def heldout_agreement(ann: pd.DataFrame, vote: Callable[[pd.DataFrame], pd.DataFrame]) -> float:
    """A label-free score for a voting rule: hold each teacher out, let ``vote`` combine the
    others, and measure the share of the held-out teacher's valid samples that agree; the mean
    over teachers. A rule whose votes agree more with teachers it never saw is more often right,
    if teachers' errors are independent (they are not entirely: a class that all teachers
    over-predict is rewarded, so use this to choose a vote rule, not a calibration).

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3,
    ...                     "teacher": ["a", "b", "c"], "label": ["x", "x", "y"], "confidence": [0.9, 0.6, 0.7]})
    >>> # a out: b, c tie, y wins on confidence (0.7 > 0.6): 0; b out: x, agrees: 1; c out: x: 0
    >>> round(heldout_agreement(ann, majority_vote), 4)
    0.3333
    """
    return agreement_from_table(heldout_table(ann, vote))


def heldout_bootstrap(tables: Mapping[str, pd.DataFrame], n_boot: int = 200, seed: int = 0,
                      weights: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """``agreement_from_table`` of each rule's ``heldout_table`` on ``n_boot`` resamples of the
    users (with replacement; the same resamples for every rule, so differences are paired).
    With ``weights`` (columns ``teacher, attribute, weight``, e.g.
    ``aggregation.teacher_weights_from_skills``): the mean of the per-(teacher, attribute)
    rates weighted by them instead (``aggregation.reliability_weighted_agreement`` resampled;
    the weights stay those fitted on all users).

    >>> t = pd.DataFrame({"teacher": ["a", "a"], "user_id": ["u", "v"], "attribute": ["g", "g"],
    ...                   "agree": [1, 0], "n": [1, 1]})
    >>> b = heldout_bootstrap({"r": t}, n_boot=400)["r"]
    >>> round(float(b.mean()), 1), round(float(b.std()), 1)  # a fair coin of two users: 0, 0.5 or 1
    (0.5, 0.4)
    >>> t2 = pd.concat([t, t.assign(teacher="b", agree=[1, 1])])  # b always agrees, and weighs 3 times a
    >>> w = pd.DataFrame({"teacher": ["a", "b"], "attribute": ["g", "g"], "weight": [1.0, 3.0]})
    >>> b = heldout_bootstrap({"r": t2}, n_boot=400, weights=w)["r"]  # (a's 0, 0.5 or 1 + 3 x 1) / 4
    >>> sorted(set(b.round(3).tolist()))
    [0.75, 0.875, 1.0]
    """
    from confprofile.provenance import rng

    users = sorted({u for t in tables.values() for u in t["user_id"]}, key=str)
    out = {}
    if not users:
        return {name: np.full(n_boot, np.nan) for name in tables}
    index = {u: i for i, u in enumerate(users)}
    w = rng(seed, "heldout_bootstrap").multinomial(len(users), np.full(len(users), 1.0 / len(users)), size=n_boot)
    w = w.astype(float)  # n_boot x users: how often each user is drawn
    by = ["teacher"] if weights is None else ["teacher", "attribute"]
    weight = {} if weights is None else {(str(r.teacher), str(r.attribute)): float(r.weight)
                                         for r in weights.itertuples(index=False)}
    for name, t in tables.items():
        rates, ws = [], []
        for key, g in t.groupby(by, sort=True):
            col = g["user_id"].map(index).to_numpy()
            agree = np.bincount(col, weights=g["agree"].to_numpy(dtype=float), minlength=len(users))
            n = np.bincount(col, weights=g["n"].to_numpy(dtype=float), minlength=len(users))
            with np.errstate(invalid="ignore", divide="ignore"):
                rates.append((w @ agree) / (w @ n))
            ws.append(1.0 if weights is None else weight.get((str(key[0]), str(key[1])), 0.0))
        if not rates:
            out[name] = np.full(n_boot, np.nan)
            continue
        r = np.array(rates)
        if weights is None:
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no teacher was compared
                out[name] = np.nanmean(r, axis=0)
        else:
            wk = np.array(ws)[:, None] * np.isfinite(r)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = (wk * np.nan_to_num(r)).sum(axis=0) / wk.sum(axis=0)
    return out


def rule_margin(agreement: Mapping[str, float], boot: Mapping[str, np.ndarray], chosen: str) -> dict:
    """How far the chosen rule leads, and whether the label-free score can tell: ``se`` (each
    rule's bootstrap standard error over users), ``runner_up`` (the best other rule whose
    resampled scores differ from the chosen's: rules with identical held-out votes are one
    choice), ``gap`` (chosen minus runner-up), ``gap_se`` (the standard error of that paired
    difference) and ``near_tie`` (``gap < gap_se``: the lead is smaller than its own noise,
    so another sample of users could reverse it).

    >>> boot = {"a": np.array([0.60, 0.62, 0.64]), "b": np.array([0.61, 0.60, 0.63]), "c": np.array([0.60, 0.62, 0.64])}
    >>> m = rule_margin({"a": 0.62, "b": 0.615, "c": 0.62}, boot, "a")
    >>> m["runner_up"], round(m["gap"], 3), round(m["gap_se"], 4), m["near_tie"]  # diffs -0.01, 0.02, 0.01
    ('b', 0.005, 0.0153, True)
    """
    se = {name: float(np.nanstd(b, ddof=1)) if np.isfinite(b).sum() > 1 else float("nan") for name, b in boot.items()}
    others = [n for n in agreement if n != chosen and not np.array_equal(boot[n], boot[chosen], equal_nan=True)
              and np.isfinite(agreement[n])]
    if not others:
        return {"se": se, "runner_up": None, "gap": float("nan"), "gap_se": float("nan"), "near_tie": False}
    runner = max(others, key=lambda n: agreement[n])
    diff = boot[chosen] - boot[runner]
    gap_se = float(np.nanstd(diff, ddof=1)) if np.isfinite(diff).sum() > 1 else float("nan")
    gap = float(agreement[chosen] - agreement[runner])
    return {"se": se, "runner_up": runner, "gap": gap, "gap_se": gap_se, "near_tie": bool(gap < gap_se)}
