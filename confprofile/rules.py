"""Vote rules by stable id: one interface, one registry, and the rule notebook 03 fits and saves.

Every way this package turns the teachers' answers into one label per (user, attribute) is a
*rule* (``Rule``): the confidence-weighted votes of ``voting.VoteRule`` (majority; raw, linear or
softmax weights; with or without label-free teacher weights) and the crowd-kit latent-class
models of ``aggregation.Aggregator`` (Dawid-Skene and relatives). Each has a stable ``id``
(``majority``, ``weighted_none``, ``weighted_softmax_0.3``, ``weighted_none_reliability``,
``crowdkit_DawidSkene``): what is saved and looked up; its ``name`` is for prints, tables and
plots.

- ``registry`` lists a profile's rules by id, in the order notebook 03 compares them; a rule of
  your own is one class with the ``Rule`` members, added by ``register`` (03 then compares it,
  and, if it is chosen, 04 and 05 use it as they use any other).
- Notebook 03 (and ``python -m confprofile.pseudo_labelling``) chooses one rule without labels and saves it,
  with the teacher weights it fitted on the pool and the teachers it used, as
  ``runs/<p>/pseudo_labels/rule.json`` (``FittedRule.save``). Distillation's ``weighted`` label
  source and RL's confidence-weighted quasi ground truth ``load`` it, so the rule is decided once
  and used by one code path.

>>> reg = registry([0.3], {"DawidSkene": {"n_iter": 10}})
>>> list(reg)  # doctest: +NORMALIZE_WHITESPACE
['majority', 'weighted_none', 'weighted_linear', 'weighted_softmax_0.3', 'weighted_none_reliability',
 'crowdkit_DawidSkene']
>>> [from_spec(spec(r)) == r for r in reg.values()] == [True] * len(reg)
True
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

from confprofile import aggregation, paths, voting
from confprofile.errors import ConfProfileError
from confprofile.files import write_text


@runtime_checkable
class Rule(Protocol):
    """What every vote rule offers (``voting.VoteRule`` and ``aggregation.Aggregator`` do).
    ``reliability``: the rule fits teacher weights (``fit_weights``) that multiply the votes;
    ``score_kwargs()``: the ``voting.vote_scores`` arguments behind its scores where it has them
    (calibration's fits and RL's rollout vote use them; ``{}``: raw confidences); ``agreement``:
    calibration's leave-one-out table (None: computed from ``score_kwargs``)."""

    name: str
    is_majority: bool
    reliability: bool
    agreement: object

    @property
    def id(self) -> str: ...

    def fit_weights(self, ann: pd.DataFrame) -> pd.Series | None:
        """Teacher weights fitted without labels on ``ann`` (None: the rule has none)."""

    def score_kwargs(self, teacher_weights=None) -> dict:
        """``voting.vote_scores`` keyword arguments (``{}`` where the rule has none)."""

    def scores(self, ann: pd.DataFrame, teacher_weights=None) -> pd.DataFrame:
        """The soft score table (``voting.SCORE_COLUMNS``)."""

    def __call__(self, ann: pd.DataFrame, teacher_weights=None) -> pd.DataFrame:
        """The vote table (``voting.VOTE_COLUMNS``)."""


MAJORITY = voting.vote_rule("count")
"""The plain majority vote (TTRL's vote over rollouts; every comparison's baseline)."""

WEIGHTED = voting.vote_rule("none")
"""The confidence-weighted vote with raw confidences: RL's rollout vote where the chosen rule
has no confidence normalisation of its own (a crowd-kit model)."""


_REGISTERED: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add a rule of your own to every profile's ``registry`` (after the built-in ones); returns it.
    Its ``id`` must be new."""
    if not isinstance(rule, Rule):
        raise TypeError(f"{rule!r} is not a vote rule: it needs the members of confprofile.rules.Rule")
    if rule.id in _REGISTERED or rule.id.startswith(("majority", "weighted_", "crowdkit_")):
        raise ValueError(f"a vote rule with id {rule.id!r} is already registered (or the id is a built-in one's)")
    _REGISTERED[rule.id] = rule
    return rule


def unregister(rule_id: str) -> None:
    """Remove a rule ``register`` added (e.g. at the end of a test)."""
    _REGISTERED.pop(rule_id, None)


def registry(vote_temperatures: Sequence[float], aggregators: Mapping[str, Mapping | None]) -> dict[str, Rule]:
    """A profile's rules by id: ``voting.standard_rules`` (majority, weighted with each
    normalisation and softmax temperature, weighted with teacher reliability), the crowd-kit
    ``aggregators`` (model name -> constructor kwargs), then every rule ``register`` added."""
    rules = [*voting.standard_rules(vote_temperatures).values(), *aggregation.aggregators(aggregators).values()]
    return {**{r.id: r for r in rules}, **_REGISTERED}


def spec(rule: Rule) -> dict:
    """A rule as JSON-able fields (``from_spec`` rebuilds it).

    >>> spec(MAJORITY)
    {'kind': 'vote', 'name': 'majority vote', 'norm': 'count', 'softmax_temperature': 1.0, 'reliability': False}
    """
    if _REGISTERED.get(rule.id) is rule:
        return {"kind": "registered", "id": rule.id, "name": rule.name}
    kind = "crowdkit" if isinstance(rule, aggregation.Aggregator) else "vote"
    fields = dataclasses.asdict(rule)
    if kind == "crowdkit":
        fields["kwargs"] = dict(fields["kwargs"])
    return {"kind": kind, **fields}


def from_spec(fields: Mapping) -> Rule:
    """The rule ``spec`` wrote."""
    f = dict(fields)
    kind = f.pop("kind", None)
    if kind == "vote":
        return voting.VoteRule(**f)
    if kind == "crowdkit":
        return aggregation.Aggregator(**f)
    if kind == "registered":
        if f["id"] not in _REGISTERED:
            raise ValueError(f"rule spec: {f['id']!r} is a registered rule: register it (rules.register) before loading")
        return _REGISTERED[f["id"]]
    raise ValueError(f"rule spec: kind must be 'vote', 'crowdkit' or 'registered', got {kind!r}")


class RuleNotFittedError(ConfProfileError, FileNotFoundError):
    """No saved rule: notebook 03 (or ``python -m confprofile.pseudo_labelling``) has not run for the profile."""


@dataclass(frozen=True)
class FittedRule:
    """The rule notebook 03 chose, as it was fitted on the pool: ``teacher_weights`` (None for
    a rule without them), the ``teachers`` it voted, and the name of the calibration 03 chose
    (what the pseudo-labels file holds)."""

    rule: Rule
    teacher_weights: Mapping[str, float] | None
    teachers: tuple[str, ...]
    calibration: str

    def votes(self, ann: pd.DataFrame) -> pd.DataFrame:
        """The uncalibrated vote table of ``ann`` (its teachers restricted to ``teachers``)
        under the rule with the pool's weights: 03's vote before calibration."""
        ann = ann[ann["teacher"].astype(str).isin(self.teachers)]
        return self.rule(ann, None if self.teacher_weights is None else dict(self.teacher_weights))

    def rollout_rule(self) -> Rule:
        """The rule RL's rollouts vote by (``rl.quasi_ground_truth`` reads its ``score_kwargs``):
        the chosen rule without its teacher weights (the voters there are the student's own
        samples and the stage-1 label, whose weights RL sets). A crowd-kit model lends no
        confidence weighting (its ``score_kwargs`` are empty): the rollouts vote by raw confidence."""
        r = self.rule
        return voting.vote_rule(r.norm, r.softmax_temperature) if isinstance(r, voting.VoteRule) else r

    def save(self, profile: str) -> str:
        """Write ``runs/<p>/pseudo_labels/rule.json``; returns its path."""
        obj = {"id": self.rule.id, "rule": spec(self.rule), "teachers": list(self.teachers),
               "teacher_weights": None if self.teacher_weights is None
               else {str(t): float(w) for t, w in dict(self.teacher_weights).items()},
               "calibration": self.calibration}
        return str(write_text(paths.vote_rule_path(profile), json.dumps(obj, indent=1) + "\n"))


def load(profile: str) -> FittedRule:
    """The rule notebook 03 saved for ``profile`` (``FittedRule.save``)."""
    path = paths.vote_rule_path(profile)
    if not path.is_file():
        raise RuleNotFittedError(f"{path}: no vote rule saved; run notebook 03 or "
                                 f"python -m confprofile.pseudo_labelling --profile {profile} first")
    obj = json.loads(path.read_text(encoding="utf-8"))
    return FittedRule(from_spec(obj["rule"]), obj["teacher_weights"], tuple(obj["teachers"]), obj["calibration"])
