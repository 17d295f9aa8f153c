"""Label-aggregation peers of the confidence-weighted vote, from crowd-kit (notebook 03).

The field's standard answer to "combine noisy annotators without labels" is Dawid-Skene (1979)
and its relatives: latent-class models that learn each annotator's confusions from the
annotations alone. ``Aggregator`` wraps one of crowd-kit's models so it is a row of notebook
03's vote table beside the ``voting.VoteRule`` s, on the same annotations, and can be chosen by
the same label-free score (``reliability_weighted_agreement``, ``pseudo_labelling.label_free``'s chooser): it
is called like a rule,
``aggregator(ann) -> vote table``, and ``aggregator.scores(ann)`` is a score table in
``voting.vote_scores``'s format, so calibration treats it like any vote.

How the annotation table is read (our choices; crowd-kit gives the models):
- one task per (user, attribute), fitted attribute by attribute (each has its own labels);
- a worker is a teacher; each of its valid samples is one observation (``voting.valid_votes``:
  abstentions and parse failures cast none), so a teacher's self-consistency counts;
- the stated confidences are not read: these models learn reliability from agreement alone;
- ``score`` is the model's posterior (``probas_``; MMSR's ``predict_score``), over every label
  with posterior above 1e-9, so a model may pick a label no sample said; ``count`` and
  ``conf_sum`` are the raw votes, for ``voting.decide``'s tie-breaks.

Models (crowd-kit 1.4.2): ``DawidSkene``, ``OneCoinDawidSkene``, ``GLAD``, ``MMSR``, ``MACE``
(constructor keyword arguments from the profile's ``aggregators`` mapping). Wawa and
ZeroBasedSkill are left out: they fail under scikit-learn 1.9's ``check_is_fitted``.

>>> ann = pd.DataFrame({"user_id": ["u1"] * 3 + ["u2"] * 3, "attribute": ["age"] * 6,
...                     "teacher": ["a", "b", "c"] * 2, "confidence": [0.9] * 6,
...                     "label": ["x", "x", "y", "y", "y", "x"]})
>>> Aggregator("Dawid-Skene", "DawidSkene")(ann)[["user_id", "label", "n_votes"]].to_dict("records")
[{'user_id': 'u1', 'label': 'x', 'n_votes': 3}, {'user_id': 'u2', 'label': 'y', 'n_votes': 3}]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from confprofile import voting
from confprofile.voting import KEYS, SCORE_COLUMNS

METHODS = ("DawidSkene", "OneCoinDawidSkene", "GLAD", "MMSR", "MACE")
_MIN_POSTERIOR = 1e-9


def _model(method: str, kwargs: Mapping):
    import crowdkit.aggregation as ck  # imported on first use: it takes seconds

    if method not in METHODS:
        raise ValueError(f"unknown aggregation model {method!r}; known: {', '.join(METHODS)}")
    return getattr(ck, method)(**dict(kwargs))


def _posterior(model, data: pd.DataFrame) -> pd.DataFrame:
    """``task x label`` posterior of a crowd-kit model fitted on ``data`` (one label said: certain)."""
    labels = data["label"].unique()
    if len(labels) < 2:  # nothing to learn, and MMSR divides by (labels - 1)
        return pd.DataFrame(1.0, index=pd.Index(data["task"].unique(), name="task"), columns=labels)
    with warnings.catch_warnings():  # crowd-kit 1.4.2 uses pandas keywords that pandas 3 deprecates
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if hasattr(model, "fit_predict_proba"):
            return model.fit_predict_proba(data)
        return model.fit_predict_score(data)  # MMSR: normalised per-task scores


@dataclass(frozen=True)
class Aggregator:
    """A crowd-kit latent-class model as a vote rule: ``name`` (display), ``method`` (a name
    of ``METHODS``) and its constructor ``kwargs``. A ``rules.Rule``, as
    ``voting.VoteRule`` is (``id``, ``is_majority``, ``reliability``, ``fit_weights``, ``scores``, ``__call__``)."""

    name: str
    method: str
    kwargs: Mapping = field(default_factory=dict)
    is_majority = False
    reliability = False

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"aggregator {self.name!r}: unknown model {self.method!r}; known: {', '.join(METHODS)}")

    @property
    def id(self) -> str:
        """The stable identifier (``confprofile.rules``): ``crowdkit_<method>``."""
        return f"crowdkit_{self.method}"

    def fit_weights(self, ann: pd.DataFrame) -> None:
        """No teacher weights: the model learns each teacher's reliability itself."""
        return None

    def score_kwargs(self, teacher_weights=None) -> dict:
        """No vote-weight arguments (calibration gets ``agreement`` instead)."""
        return {}

    def agreement(self, ann: pd.DataFrame, holdout: str) -> pd.DataFrame:
        """Calibration's leave-one-out table, by refitting (``agreement_table``)."""
        return agreement_table(ann, self, holdout)

    def scores(self, ann: pd.DataFrame, teacher_weights=None) -> pd.DataFrame:
        """The score table (``voting.SCORE_COLUMNS``): posterior as ``score`` and ``share``."""
        voting.require_columns(ann, ["teacher"], "annotation table")
        keys = voting.all_keys(ann)
        v = voting.valid_votes(ann)
        raw = (v.groupby(KEYS + ["label"]).agg(count=("confidence", "size"), conf_sum=("confidence", "sum"))
               .reset_index())
        parts = []
        for attr, a in v.groupby("attribute", sort=True):
            data = pd.DataFrame({"task": a["user_id"].to_numpy(), "worker": a["teacher"].astype(str).to_numpy(),
                                 "label": a["label"].to_numpy()})
            post = _posterior(_model(self.method, self.kwargs), data)
            post = post.div(post.sum(axis=1), axis=0)
            long = post.rename_axis(index="user_id", columns="label").stack().rename("score").reset_index()
            parts.append(long.loc[long["score"] > _MIN_POSTERIOR].assign(attribute=attr))
        s = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=KEYS + ["label", "score"])
        s = s.astype({"user_id": object, "label": object}).merge(raw, on=KEYS + ["label"], how="outer")
        s["score"] = s["score"].fillna(0.0).astype(float)
        s["count"] = s["count"].fillna(0).astype(int)
        s["conf_sum"] = s["conf_sum"].fillna(0.0).astype(float)
        s["share"] = s["score"] / s.groupby(KEYS)["score"].transform("sum")
        none = keys.merge(s[KEYS].drop_duplicates(), on=KEYS, how="left", indicator=True)
        none = none.loc[none["_merge"] == "left_only", KEYS].assign(
            label=None, score=0.0, share=np.nan, count=0, conf_sum=0.0)
        out = pd.concat([s[SCORE_COLUMNS], none[SCORE_COLUMNS]], ignore_index=True)
        out["_lab"] = out["label"].where(out["label"].notna(), "")
        out = out.sort_values(KEYS + ["_lab"], kind="mergesort").drop(columns="_lab").reset_index(drop=True)
        return out.astype({"user_id": object, "attribute": object, "count": int})

    def __call__(self, ann: pd.DataFrame, teacher_weights=None) -> pd.DataFrame:
        return voting.votes_from_scores(self.scores(ann))


def aggregators(specs: Mapping[str, Mapping | None]) -> dict[str, Aggregator]:
    """Aggregators by display name from a profile's ``aggregators`` mapping (model -> kwargs).

    >>> list(aggregators({"DawidSkene": {"n_iter": 50}, "MACE": None}))
    ['Dawid-Skene (crowd-kit)', 'MACE (crowd-kit)']
    """
    display = {"DawidSkene": "Dawid-Skene", "OneCoinDawidSkene": "one-coin Dawid-Skene"}
    out = [Aggregator(f"{display.get(m, m)} (crowd-kit)", m, dict(kw or {})) for m, kw in specs.items()]
    return {a.name: a for a in out}


def agreement_table(ann: pd.DataFrame, aggregator: Aggregator, holdout: str = "sample") -> pd.DataFrame:
    """``calibration.agreement_table`` for an aggregator: each held-out unit's agreement with
    the model refitted without it. A unit is one (teacher, sample index) or one teacher, held
    out for every user at once (one refit per unit: 20 refits for 4 teachers x 5 samples).

    >>> ann = pd.DataFrame({"user_id": ["u"] * 3, "attribute": ["age"] * 3, "sample": [0] * 3,
    ...                     "teacher": ["a", "b", "c"], "label": ["x", "x", "y"], "confidence": [0.5] * 3})
    >>> agreement_table(ann, Aggregator("ds", "DawidSkene"))[["unit", "label", "agree"]].to_dict("records")
    [{'unit': 'a/0', 'label': 'x', 'agree': 1.0}, {'unit': 'b/0', 'label': 'x', 'agree': 1.0}, {'unit': 'c/0', 'label': 'x', 'agree': 0.0}]
    """
    if holdout not in ("sample", "teacher"):
        raise ValueError(f"holdout must be 'sample' or 'teacher', got {holdout!r}")
    unit = ann["teacher"].astype(str) + ("" if holdout == "teacher" else "/" + ann["sample"].astype(str))
    v = voting.valid_votes(ann.assign(_unit=unit))
    rows = []
    for u in sorted(v["_unit"].unique()):
        rest = ann.loc[unit != u]
        cons = aggregator(rest)
        cons = cons.loc[cons["kept"], KEYS + ["label", "confidence"]].rename(columns={"label": "_cons"})
        mine = v.loc[v["_unit"] == u].merge(cons, on=KEYS, how="inner", suffixes=("_own", ""))
        mine["_agree"] = (mine["label"] == mine["_cons"]).astype(float)
        g = mine.groupby(KEYS, sort=True).agg(label=("_cons", "first"), confidence=("confidence", "first"),
                                             agree=("_agree", "mean"), weight=("_agree", "size")).reset_index()
        rows.append(g.assign(unit=u))
    cols = ["user_id", "attribute", "unit", "label", "confidence", "agree", "weight"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True)[cols]
    return out.sort_values(KEYS + ["unit"], kind="mergesort").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# teacher reliability and label-free criteria for choosing a rule among teachers of mixed quality
# (``confprofile.evaluation.rule_study`` measures them; ``reliability_weighted_agreement`` chooses in ``pseudo_labelling.label_free``)


def teacher_skills(ann: pd.DataFrame, method: str = "DawidSkene", kwargs: Mapping | None = None) -> pd.DataFrame:
    """Each teacher's accuracy per attribute as a crowd-kit latent-class model estimates it from
    the annotations alone: ``DawidSkene`` (default): ``sum_c prior_c * P(says c | true c)``
    from its fitted confusion matrix, which also learns errors that lean to one label;
    ``OneCoinDawidSkene``: its one-coin ``skills_`` (errors assumed spread evenly). With ``n``
    (the teacher's valid votes) and ``k`` (labels said in the attribute, at least 2). Columns
    ``attribute, teacher, skill, n, k``. An attribute where one label was said has skill 1.

    >>> ann = pd.DataFrame({"user_id": ["u1", "u1", "u1", "u2", "u2", "u2"], "attribute": ["age"] * 6,
    ...                     "teacher": ["a", "b", "c"] * 2, "confidence": [0.9] * 6,
    ...                     "label": ["x", "x", "y", "y", "y", "x"]})
    >>> s = teacher_skills(ann).set_index("teacher")
    >>> bool(s.loc["a", "skill"] > s.loc["c", "skill"]), s["n"].tolist(), s["k"].tolist()
    (True, [2, 2, 2], [2, 2, 2])
    """
    if method not in ("DawidSkene", "OneCoinDawidSkene"):
        raise ValueError(f"teacher skills come from DawidSkene or OneCoinDawidSkene, got {method!r}")
    v = voting.valid_votes(ann)
    parts = []
    for attr, a in v.groupby("attribute", sort=True):
        data = pd.DataFrame({"task": a["user_id"].astype(str).to_numpy(), "worker": a["teacher"].astype(str).to_numpy(),
                             "label": a["label"].to_numpy()})
        n = data.groupby("worker").size()
        k = max(int(data["label"].nunique()), 2)
        if data["label"].nunique() < 2:
            skill = pd.Series(1.0, index=n.index)
        else:
            model = _model(method, kwargs or {})
            _posterior(model, data)
            if method == "OneCoinDawidSkene":
                skill = model.skills_.reindex(n.index)
            else:  # errors_: (worker, said label) x true label
                err, prior = model.errors_, model.priors_
                skill = pd.Series({w: float(sum(prior[c] * err.loc[(w, c), c] for c in prior.index
                                                if (w, c) in err.index and c in err.columns)) for w in n.index})
        parts.append(pd.DataFrame({"attribute": attr, "teacher": n.index.astype(object), "skill": skill.to_numpy(dtype=float),
                                   "n": n.to_numpy(dtype=int), "k": k}))
    cols = ["attribute", "teacher", "skill", "n", "k"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def teacher_weights_from_skills(skills: pd.DataFrame) -> pd.DataFrame:
    """``skills`` with ``weight = max(k * skill - 1, 0) / (k - 1)``: how far above chance a
    teacher is, 1 for a perfect teacher and 0 at or below chance (1/k). A held-out teacher's
    agreement with a rule is ``skill * p + (1 - skill) * (1 - p) / (k - 1)`` for a rule right
    ``p`` of the time (one-coin model, errors independent), so its slope in ``p`` is this weight:
    a chance-level teacher's agreement says nothing about the rule.

    >>> teacher_weights_from_skills(pd.DataFrame({"skill": [1.0, 0.25, 0.55], "k": [4, 4, 4]}))["weight"].tolist()
    [1.0, 0.0, 0.4]
    """
    k = skills["k"].astype(float)
    return skills.assign(weight=((k * skills["skill"].astype(float) - 1).clip(lower=0) / (k - 1)).round(12))


def reliability_weighted_agreement(table: pd.DataFrame, skills: pd.DataFrame) -> float:
    """Criterion (a): ``voting.heldout_agreement`` with each held-out teacher counted by its
    estimated reliability instead of equally. Per (teacher, attribute) of ``table``
    (``voting.heldout_table``): its agreement rate, weighted by ``teacher_weights_from_skills``
    (its estimated accuracy above chance, ``teacher_skills``); the weighted mean over them. Under the
    one-coin model each rate is affine in the rule's accuracy with that weight as slope, so
    this is the least noisy such combination; equal weights (``voting.heldout_agreement``, the
    chooser before issue 24) let many near-chance teachers drown the few that can tell rules apart.

    >>> table = pd.DataFrame({"teacher": ["strong", "weak"], "attribute": ["g", "g"], "agree": [9, 3], "n": [10, 10]})
    >>> skills = pd.DataFrame({"teacher": ["strong", "weak"], "attribute": ["g", "g"], "skill": [0.9, 0.3], "k": [4, 4]})
    >>> round(reliability_weighted_agreement(table, skills), 4)  # weights 0.8667, 0.0667: (0.9 w1 + 0.3 w2) / (w1 + w2)
    0.8571
    """
    if table.empty:
        return float("nan")
    rates = table.groupby(["teacher", "attribute"], sort=True)[["agree", "n"]].sum().reset_index()
    w = teacher_weights_from_skills(skills)[["teacher", "attribute", "weight"]]
    rates = rates.merge(w, on=["teacher", "attribute"], how="left").fillna({"weight": 0.0})
    rates = rates[rates["n"] > 0]
    total = float(rates["weight"].sum())
    return float((rates["weight"] * rates["agree"] / rates["n"]).sum() / total) if total > 0 else float("nan")


def heldout_likelihood(table: pd.DataFrame, n_labels: Mapping[str, int], n_folds: int = 2, seed: int = 0) -> float:
    """Criterion (b): the one-coin Dawid-Skene likelihood of each held-out teacher's answers,
    taking the rule's vote of the other teachers as the truth, on users it was not fitted on.
    Users are split into ``n_folds`` folds (seeded by user id); per (teacher, attribute) the
    accuracy ``a`` is fitted on the other folds (``(agree + 1) / (n + 2)``) and each held-out
    sample scores ``log a`` if it agrees, ``log((1 - a) / (k - 1))`` if not (``k``:
    ``n_labels[attribute]``); the mean over samples (higher is better). Its per-teacher term
    is convex in the agreement rate, so teachers that agree far above chance weigh most and
    teachers near chance weigh nothing, without a separate reliability estimate.

    >>> table = pd.DataFrame({"teacher": ["t"] * 4, "user_id": list("abcd"), "attribute": ["g"] * 4,
    ...                       "agree": [1, 1, 1, 0], "n": [1, 1, 1, 1]})
    >>> # folds {a, d} and {b, c}: a = 3/4 fitted on b, c; 2/4 on a, d: (log 3/4 + log 1/4 + 2 log 1/2) / 4
    >>> round(heldout_likelihood(table, {"g": 2}), 3)
    -0.765
    """
    from confprofile.provenance import derive_seed

    if table.empty:
        return float("nan")
    fold = table["user_id"].map(lambda u: derive_seed(seed, "heldout_likelihood", str(u)) % n_folds)
    total, count = 0.0, 0
    for (t, attr), g in table.assign(_fold=fold).groupby(["teacher", "attribute"], sort=True):
        k = max(int(n_labels.get(attr, 2)), 2)
        for f in range(n_folds):
            fit, test = g[g["_fold"] != f], g[g["_fold"] == f]
            if test.empty:
                continue
            a = (float(fit["agree"].sum()) + 1) / (float(fit["n"].sum()) + 2)
            agree, n = float(test["agree"].sum()), float(test["n"].sum())
            total += agree * float(np.log(a)) + (n - agree) * float(np.log((1 - a) / (k - 1)))
            count += int(n)
    return total / count if count else float("nan")


def resampling_stability(ann: pd.DataFrame, vote, n_draws: int = 10, frac: float = 0.5, seed: int = 0) -> float:
    """Criterion (b'): how much of a rule's vote survives losing teachers. ``n_draws`` times,
    keep a random ``frac`` of the teachers (at least two; seeded) and vote with the rule; the
    share of (user, attribute) pairs where that vote says what the vote of all teachers says
    (a no-vote agrees with nothing), averaged over draws. A rule that leans on one teacher is
    unstable; a rule that averages many weak teachers is stable whether or not it is right.

    >>> ann = pd.DataFrame({"user_id": ["u"] * 4, "attribute": ["age"] * 4, "teacher": list("abcd"),
    ...                     "label": ["x", "x", "x", "w"], "confidence": [0.9] * 4})
    >>> # two of a, b, c say x, as all four do; d with one of them ties, and "w" sorts first: half of the 6 pairs
    >>> round(resampling_stability(ann, voting.majority_vote, n_draws=400), 1)
    0.5
    """
    from confprofile.provenance import rng

    teachers = sorted(pd.unique(ann["teacher"].dropna()).tolist(), key=str)
    if len(teachers) < 3:
        return float("nan")
    full = vote(ann)[KEYS + ["label"]]
    size = max(2, int(round(frac * len(teachers))))
    gen = rng(seed, "resampling_stability")
    rates = []
    for _ in range(n_draws):
        keep = sorted(gen.choice(len(teachers), size=size, replace=False).tolist())
        sub = vote(ann[ann["teacher"].isin([teachers[i] for i in keep])])[KEYS + ["label"]]
        m = full.merge(sub, on=KEYS, how="left", suffixes=("", "_sub"))
        rates.append(float((m["label"].notna() & (m["label"] == m["label_sub"])).mean()))
    return float(np.mean(rates))
