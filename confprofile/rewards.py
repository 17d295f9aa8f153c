"""Rewards for confidence-guided RL: small pure functions, registered by name.

Notebook 05 (the paper's stage 2) scores each sampled profile against a quasi ground truth voted from the
student's own rollouts (``confprofile.rl``); no label is read. Every reward here has trl's
signature ``(completions, **columns) -> list[float]``: trl passes the dataset's extra columns
as keyword lists, one entry per completion. Two columns carry the quasi ground truth, as JSON
strings (so a ``datasets.Dataset`` stores them whatever the taxonomy):

- ``quasi_label``: ``{attribute: label}`` (attributes without a usable vote are absent);
- ``quasi_weight``: ``{attribute: weight}``, the vote's confidence (or 1 everywhere for the
  unweighted ablation).

A completion is a string, or trl's conversational form ``[{"role": "assistant", "content": ...}]``.
It is parsed with the teachers' parser, so a malformed answer scores 0 on the attributes it
fails, never raises.

The rewards (our reconstruction; the paper names confidence-weighted rewards, not a formula):

- ``weighted_match``: ``sum_a w_a * [pred_a == quasi_a] / n_a``, where ``n_a`` is the number
  of taxonomy attributes. It is *not* divided by ``sum_a w_a``: a prompt whose quasi ground
  truth is confident is worth more than one whose vote was split. Under trl's per-group reward
  scaling (``scale_rewards="group"``) a per-prompt factor cancels, so the training recipe uses
  ``scale_rewards="batch"`` (``confprofile.rl.grpo_advantages`` and its test show the
  difference); the per-attribute weights matter under either scaling.
- ``exact_match``: the same with every weight 1 (TTRL's reward, per attribute).
- ``format``: the share of attributes that parse to a valid label and confidence.
- ``calibration``: ``1 - mean_a (c_a - [pred_a == quasi_a])^2`` over the attributes with a quasi
  label, a Brier score of the stated confidence ``c_a`` against agreement with the vote.
- ``vote_share`` (the EMPO-style baseline): ``sum_a share_a(pred_a) / n_a``, where ``share_a(l)``
  is the share of the user's rollouts that said ``l`` (column ``vote_share``: ``{attribute:
  {label: share}}``, counted offline over the rollouts, parse failures in the denominator). No
  quasi label, no confidence: an answer is worth the share of the student's own answers it
  agrees with.
- ``random_match`` (the random-reward control): a seeded coin flip, 1 with probability ``p`` and
  else 0, per completion (columns ``reward_p`` and ``reward_seed``; the draw's seed derives from
  ``reward_seed``, trl's step and the completion's place in the batch, so a resumed run draws
  the same coins). ``confprofile.rl`` sets ``p`` to the mean match reward of the full recipe,
  so the control has the reward's mean and none of its information.

>>> from confprofile.taxonomy import load_taxonomy
>>> tax = load_taxonomy()
>>> fns = reward_funcs(["weighted_match", "exact_match", "format"], tax)
>>> good = '{"gender": {"label": "female", "confidence": 0.9}, "age": {"label": "25_34", "confidence": 0.5}}'
>>> q, w = '{"gender": "female", "age": "35_44"}', '{"gender": 0.9, "age": 0.6}'
>>> [round(f([good, "garbage"], quasi_label=[q, q], quasi_weight=[w, w])[0], 4) for f in fns]
[0.15, 0.1667, 0.3333]
>>> [f([good, "garbage"], quasi_label=[q, q], quasi_weight=[w, w])[1] for f in fns]
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from confprofile.parsing import Parsed, parse_output
from confprofile.provenance import derive_seed
from confprofile.taxonomy import Taxonomy

RewardFunc = Callable[..., list[float]]


def completion_text(completion: object) -> str:
    """The text of a completion, plain or conversational.

    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    >>> completion_text("hi")
    'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content") or "")
    return ""


def _json_map(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        return json.loads(value)
    return {}


def _parsed(completions: Sequence[object], taxonomy: Taxonomy) -> list[dict[str, Parsed]]:
    return [parse_output(completion_text(c), taxonomy) for c in completions]


def weighted_match(parsed: dict[str, Parsed], quasi: dict, weight: dict, n_attributes: int) -> float:
    """``sum_a w_a [pred_a == quasi_a] / n_attributes`` for one parsed completion.

    >>> p = {"a": Parsed("x", 0.9, "", True), "b": Parsed("y", 0.5, "", True)}
    >>> weighted_match(p, {"a": "x", "b": "z"}, {"a": 0.8, "b": 1.0}, 2)
    0.4
    """
    hit = sum(float(weight.get(a, 0.0)) for a, lab in quasi.items()
              if a in parsed and parsed[a].ok and parsed[a].label == lab)
    return hit / n_attributes if n_attributes else 0.0


def calibration_score(parsed: dict[str, Parsed], quasi: dict) -> float:
    """``1 - mean_a (confidence_a - [pred_a == quasi_a])^2`` over attributes with a quasi label;
    an attribute that failed to parse counts as confidence 1 and wrong (the worst case).

    >>> p = {"a": Parsed("x", 0.8, "", True), "b": Parsed("y", 0.4, "", True)}
    >>> round(calibration_score(p, {"a": "x", "b": "z"}), 4)  # 1 - (0.04 + 0.16) / 2
    0.9
    """
    if not quasi:
        return 0.0
    errs = []
    for a, lab in quasi.items():
        p = parsed.get(a)
        if p is None or not p.ok:
            errs.append(1.0)
        else:
            errs.append((p.confidence - float(p.label == lab)) ** 2)
    return 1.0 - sum(errs) / len(errs)


def share_match(parsed: dict[str, Parsed], shares: dict, n_attributes: int) -> float:
    """``sum_a share_a(pred_a) / n_attributes``: each attribute is worth the share of the rollouts
    that gave the same label (0 where it failed to parse or no rollout said it).

    >>> p = {"a": Parsed("x", 0.9, "", True), "b": Parsed("y", 0.5, "", True)}
    >>> share_match(p, {"a": {"x": 0.75, "z": 0.25}, "b": {"z": 1.0}}, 2)  # (0.75 + 0) / 2
    0.375
    """
    got = sum(float(shares.get(a, {}).get(p.label, 0.0)) for a, p in parsed.items() if p.ok)
    return got / n_attributes if n_attributes else 0.0


def coin_flips(p: Sequence[float], seeds: Sequence[int]) -> list[float]:
    """One seeded coin per completion: 1.0 with probability ``p[i]``, else 0.0 (the
    random-reward control). The same seed gives the same coin.

    >>> coin_flips([0.5, 0.5, 0.0, 1.0], [1, 2, 3, 4])
    [0.0, 1.0, 0.0, 1.0]
    """
    import numpy as np

    return [float(np.random.default_rng(s).random() < q) for q, s in zip(p, seeds)]


def _make(name: str, taxonomy: Taxonomy) -> RewardFunc:
    n = len(taxonomy)

    def weighted(completions, quasi_label, quasi_weight, **_):
        return [weighted_match(p, _json_map(q), _json_map(w), n)
                for p, q, w in zip(_parsed(completions, taxonomy), quasi_label, quasi_weight)]

    def exact(completions, quasi_label, **_):
        return [weighted_match(p, q := _json_map(lab), dict.fromkeys(q, 1.0), n)
                for p, lab in zip(_parsed(completions, taxonomy), quasi_label)]

    def fmt(completions, **_):
        return [sum(x.ok for x in p.values()) / n if n else 0.0 for p in _parsed(completions, taxonomy)]

    def calib(completions, quasi_label, **_):
        return [calibration_score(p, _json_map(q)) for p, q in zip(_parsed(completions, taxonomy), quasi_label)]

    def share(completions, vote_share, **_):
        return [share_match(p, _json_map(v), n) for p, v in zip(_parsed(completions, taxonomy), vote_share)]

    def coin(completions, reward_p, reward_seed, trainer_state=None, **_):
        step = getattr(trainer_state, "global_step", 0)
        return coin_flips([float(x) for x in reward_p], [derive_seed(int(s), step, i) for i, s in enumerate(reward_seed)])

    fn = {"weighted_match": weighted, "exact_match": exact, "format": fmt, "calibration": calib,
          "vote_share": share, "random_match": coin}[name]
    fn.__name__ = name  # trl logs rewards under the function's name
    return fn


REWARDS = ("weighted_match", "exact_match", "format", "calibration", "vote_share", "random_match")
"""The registered reward names; a parameter file picks them (``rl.rewards``)."""


def reward_funcs(names: Sequence[str], taxonomy: Taxonomy) -> list[RewardFunc]:
    """The reward functions named, bound to a taxonomy, in order.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> reward_funcs(["nope"], load_taxonomy())
    Traceback (most recent call last):
    ...
    KeyError: "unknown reward 'nope'; known: weighted_match, exact_match, format, calibration, vote_share, random_match"
    """
    for name in names:
        if name not in REWARDS:
            raise KeyError(f"unknown reward '{name}'; known: {', '.join(REWARDS)}")
    return [_make(name, taxonomy) for name in names]
