"""Confidence-guided unsupervised RL (notebook 05; the paper's stage 2): no labels, three uses of confidence.

The distilled student samples several profiles (rollouts) per unlabeled pool user. From them,
offline and in one process (trl runs reward functions per device, so nothing here is left to
them):

1. **Quasi ground truth** (``quasi_ground_truth``): per user and attribute, a vote over the
   rollouts (confidence-weighted by default, majority for the TTRL baseline), optionally with
   the stage-1 pseudo-label as one more vote. The rollouts are put in the annotation table's
   shape, so the very functions that voted the teachers vote the student.
2. **Difficulty filtering** (``difficulty_band``): a user's *consensus* is the mean over
   attributes of the winning label's vote share. Users at or above ``band_high`` are answered
   (near-)unanimously: every completion earns the same reward, the group's advantage is zero
   and the step is wasted. Users below ``band_low`` have no usable consensus: their quasi
   labels are noise. The rest are kept.
3. **Reward weighting**: the quasi label's vote confidence weights its attribute in the reward
   (``confprofile.rewards``); ``grpo_rows(weighted=False)`` gives every attribute weight 1.

Then ``train_grpo`` runs trl's ``GRPOTrainer`` on the kept users. ``grpo_advantages`` mirrors
trl's advantage computation so a test can show which ``scale_rewards`` lets a per-prompt
weight change the gradient (``"group"`` cancels it; ``"batch"`` keeps it).

Everything here is our reconstruction: the paper names the three uses of confidence, not the
formulas, the band or the vote size.

>>> rollouts = rollout_table(["u1"], [['{"gender": {"label": "female", "confidence": 0.9}}',
...                                     '{"gender": {"label": "female", "confidence": 0.6}}',
...                                     '{"gender": {"label": "male", "confidence": 0.3}}']],
...                          _toy_taxonomy())
>>> q = quasi_ground_truth(rollouts, rules.WEIGHTED)
>>> q[["label", "confidence", "agreement"]].round(4).to_dict("records")  # 1.5 / 1.8; 2 of 3
[{'label': 'female', 'confidence': 0.8333, 'agreement': 0.6667}]
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from confprofile import rules, voting
from confprofile.checkpoints import (digest, last_complete, marker_callback, saved, segments_total, set_aside,
                                     step_of, totals)
from confprofile.files import write_text
from confprofile.parsing import annotation_rows
from confprofile.provenance import derive_seed
from confprofile.taxonomy import Taxonomy

STUDENT = "student"
STAGE1 = "stage1"
@dataclass(frozen=True)
class Variant:
    """One RL recipe of the ablation: which uses of confidence are on.

    ``band``: keep only users inside the difficulty band; ``rule``: how rollouts vote the quasi
    label (``"weighted"``: by stated confidence, as notebook 03's chosen rule weighs it, see
    ``variant_rule``; or ``"majority"``); ``weighted_reward``: weight
    each attribute's reward by its quasi label's confidence (else 1); ``stage1``: the stage-1
    pseudo-label joins the vote (worth ``rl_stage1_votes`` rollouts; TTRL has no stage 1);
    ``reward``: the match reward (``confprofile.rewards``) that stands in for ``weighted_match``
    in the profile's ``rl_rewards`` (the other rewards, e.g. ``format``, are every variant's).
    """

    name: str
    band: bool
    rule: str
    weighted_reward: bool
    stage1: bool
    reward: str = "weighted_match"


VARIANTS = (
    Variant("conf_profile", band=True, rule="weighted", weighted_reward=True, stage1=True),
    Variant("ttrl", band=False, rule="majority", weighted_reward=False, stage1=False),
    Variant("no_filter", band=False, rule="weighted", weighted_reward=True, stage1=True),
    Variant("majority_quasi_gt", band=True, rule="majority", weighted_reward=True, stage1=True),
    Variant("unweighted_reward", band=True, rule="weighted", weighted_reward=False, stage1=True),
    Variant("vote_share", band=True, rule="majority", weighted_reward=False, stage1=False, reward="vote_share"),
    Variant("random_reward", band=True, rule="weighted", weighted_reward=True, stage1=True, reward="random_match"),
)
"""Conf-Profile's RL, TTRL's (majority vote over the rollouts alone, no filter, unweighted exact
match), the full recipe with each use of confidence removed in turn, and two references:
``vote_share`` (EMPO-style: each answer rewarded by the share of the user's rollouts that agree
with it, per attribute; users filtered by the same band, on the rollouts' own consensus, the
winning share, our stand-in for EMPO's semantic-entropy band) and ``random_reward`` (the full
recipe's users and band with its match reward replaced by a seeded coin of the same mean,
``match_reward_mean``: a gain that the coin also gets is not the vote's). Every variant gets the
same steps, prompts per step and completions per prompt."""


def variant(name: str) -> Variant:
    """The variant called ``name``.

    >>> variant("ttrl")
    Variant(name='ttrl', band=False, rule='majority', weighted_reward=False, stage1=False, reward='weighted_match')
    """
    for v in VARIANTS:
        if v.name == name:
            return v
    raise KeyError(f"unknown RL variant '{name}'; known: {', '.join(v.name for v in VARIANTS)}")


def _toy_taxonomy() -> Taxonomy:
    """A one-attribute taxonomy for the examples in this module."""
    from confprofile.taxonomy import parse_taxonomy

    return parse_taxonomy({"name": "toy", "version": 1, "attributes": {"gender": {
        "allow_unknown": True, "labels": {"female": {"description": "f"}, "male": {"description": "m"}}}}})


def rollout_table(user_ids: Sequence[str], completions: Sequence[Sequence[str]], taxonomy: Taxonomy) -> pd.DataFrame:
    """The student's rollouts as an annotation table (``docs/CONTRACTS.md``): teacher ``student``,
    one sample per rollout; parse failures are rows with ``ok`` False, never errors."""
    if len(user_ids) != len(completions):
        raise ValueError(f"{len(user_ids)} users but {len(completions)} lists of completions")
    rows = [r for uid, texts in zip(user_ids, completions) for i, text in enumerate(texts)
            for r in annotation_rows(uid, STUDENT, i, text, taxonomy)]
    return pd.DataFrame(rows)


def sample_rollouts(model, tokenizer, messages: Mapping[str, list[dict]], n: int, temperature: float,
                    seed: int, batch_size: int, max_new_tokens: int, taxonomy: Taxonomy) -> pd.DataFrame:
    """``n`` sampled answers of the student per user (``messages``: user id -> chat prompt), as a
    rollout table (``rollout_table``) with the raw text kept in ``text``."""
    from confprofile.student import generate

    uids = list(messages)
    flat = [messages[u] for u in uids for _ in range(n)]
    texts = generate(model, tokenizer, flat, batch_size=batch_size, max_new_tokens=max_new_tokens,
                     do_sample=True, temperature=temperature, seed=derive_seed(seed, "rollouts"))
    per_user = [texts[i * n:(i + 1) * n] for i in range(len(uids))]
    table = rollout_table(uids, per_user, taxonomy)
    raw = pd.DataFrame({"user_id": np.repeat(uids, n), "sample": np.tile(np.arange(n), len(uids)), "text": texts})
    return table.merge(raw, on=["user_id", "sample"], how="left")


def cached_rollouts(directory: str | Path, key: str, make) -> pd.DataFrame:
    """Rollouts saved as ``rollouts-<key>.parquet`` under ``directory``; ``make()`` only when none
    are saved for this key (pass one that changes when the student or the sampling does, e.g.
    ``derive_seed`` of the SFT run's log and the parameters), so a warm rerun samples nothing."""
    path = Path(directory) / f"rollouts-{key}.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    table = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)
    return table


def _stage1_rows(pseudo: Sequence[Mapping]) -> pd.DataFrame:
    """Stage-1 pseudo-label records (``runs/<p>/pseudo_labels/pool.jsonl``) as annotation rows;
    pairs the calibration dropped (``kept`` false) cast no vote."""
    v = voting.records_as_votes(pseudo, kept_only=True)
    return v.drop(columns="kept").assign(teacher=STAGE1, sample=0, ok=v["label"].notna())


def variant_rule(v: Variant, weighted: rules.Rule) -> rules.Rule:
    """The rule a variant's rollouts vote by: ``weighted`` (notebook 03's chosen rule's confidence
    weighting, ``rules.FittedRule.rollout_rule``) or, for ``rule="majority"``, ``rules.MAJORITY``.

    >>> variant_rule(variant("ttrl"), rules.WEIGHTED).name, variant_rule(variant("conf_profile"), rules.WEIGHTED).name
    ('majority vote', 'weighted (none)')
    """
    if v.rule not in ("weighted", "majority"):
        raise ValueError(f"variant {v.name!r}: rule must be 'weighted' or 'majority', got {v.rule!r}")
    return rules.MAJORITY if v.rule == "majority" else weighted


def quasi_ground_truth(rollouts: pd.DataFrame, rule: rules.Rule, stage1: Sequence[Mapping] | None = None,
                       stage1_votes: float = 0.0) -> pd.DataFrame:
    """One quasi label per (user, attribute) voted from the rollouts.

    ``rule``: a rule without teacher weights (``rules.MAJORITY`` for TTRL's vote; notebook 03's
    chosen rule, ``variant_rule``): its ``score_kwargs`` (normalisation, temperature) weigh the
    rollouts' stated confidences.
    With ``stage1`` pseudo-label records and ``stage1_votes > 0``, the stage-1 label joins the
    vote worth ``stage1_votes`` rollouts. Returns the vote table (``voting.VOTE_COLUMNS``) plus
    ``agreement``, the share of *all* rollouts (parse failures included) that say the winning
    label, and ``mean_confidence``, the mean stated confidence of the valid rollouts.

    >>> r = rollout_table(["u"], [['{"gender": {"label": "male", "confidence": 0.9}}', 'oops',
    ...                            '{"gender": {"label": "female", "confidence": 0.4}}']], _toy_taxonomy())
    >>> quasi_ground_truth(r, rules.MAJORITY)[["label", "agreement"]].round(4).to_dict("records")  # 1 v 1; 0.9 > 0.4
    [{'label': 'male', 'agreement': 0.3333}]
    >>> s1 = [{"user_id": "u", "attributes": {"gender": {"label": "female", "confidence": 0.8, "kept": True}}}]
    >>> quasi_ground_truth(r, rules.MAJORITY, s1, stage1_votes=1.0)["label"].item()
    'female'
    """
    if rule.reliability:
        raise ValueError(f"rule {rule.name!r}: the rollouts' voters get RL's weights, not teacher reliability")
    table, weights = rollouts, None
    if stage1 is not None and stage1_votes > 0:
        s1 = _stage1_rows(stage1)
        s1 = s1[s1["user_id"].isin(set(rollouts["user_id"]))]
        table = pd.concat([rollouts, s1], ignore_index=True)
        weights = {STUDENT: 1.0, STAGE1: float(stage1_votes)}
    votes = voting.votes_from_scores(voting.vote_scores(table, **{**rule.score_kwargs(), "teacher_weights": weights}))
    n = rollouts.groupby(voting.KEYS)["sample"].nunique().rename("_n")
    valid = rollouts[rollouts["ok"].astype(bool)]
    stated = valid.groupby(voting.KEYS)["confidence"].mean().rename("mean_confidence")
    said = valid.merge(votes[voting.KEYS + ["label"]], on=voting.KEYS + ["label"])
    agree = said.groupby(voting.KEYS).size().rename("_agree")
    out = votes.join(n, on=voting.KEYS).join(agree, on=voting.KEYS).join(stated, on=voting.KEYS)
    out["agreement"] = out["_agree"].fillna(0) / out["_n"]
    return out.drop(columns=["_n", "_agree"]).reset_index(drop=True)


def difficulty_band(quasi: pd.DataFrame, band_low: float, band_high: float) -> pd.DataFrame:
    """Per user: ``consensus`` (mean over attributes of the winner's vote share, 0 where no vote)
    and ``status``: ``"easy"`` (consensus >= band_high), ``"noise"`` (< band_low) or ``"kept"``.

    >>> q = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "attribute": ["x", "y"] * 3,
    ...                   "confidence": [1.0, 1.0, 0.6, 0.9, 0.2, float("nan")]})
    >>> difficulty_band(q, band_low=0.3, band_high=0.95).to_dict("records")
    [{'user_id': 'a', 'consensus': 1.0, 'status': 'easy'}, {'user_id': 'b', 'consensus': 0.75, 'status': 'kept'}, {'user_id': 'c', 'consensus': 0.1, 'status': 'noise'}]
    """
    if not 0.0 <= band_low <= band_high:
        raise ValueError(f"need 0 <= band_low <= band_high, got {band_low}, {band_high}")
    c = quasi.assign(confidence=quasi["confidence"].fillna(0.0)).groupby("user_id", sort=True)["confidence"].mean()
    status = np.where(c >= band_high, "easy", np.where(c < band_low, "noise", "kept"))
    return pd.DataFrame({"user_id": c.index, "consensus": c.to_numpy(), "status": status})


def grpo_rows(prompts: Mapping[str, object], quasi: pd.DataFrame, users: Sequence[str],
              weighted: bool) -> list[dict]:
    """Training rows for trl: ``prompt`` plus the quasi labels and weights as JSON strings
    (the columns ``confprofile.rewards`` reads). Attributes without a quasi label are left out.

    >>> q = pd.DataFrame({"user_id": ["u", "u"], "attribute": ["x", "y"], "label": ["a", None],
    ...                   "confidence": [0.75, float("nan")]})
    >>> grpo_rows({"u": "P"}, q, ["u"], weighted=True)
    [{'user_id': 'u', 'prompt': 'P', 'quasi_label': '{"x": "a"}', 'quasi_weight': '{"x": 0.75}'}]
    >>> grpo_rows({"u": "P"}, q, ["u"], weighted=False)[0]["quasi_weight"]
    '{"x": 1.0}'
    """
    by_user = {uid: g for uid, g in quasi[quasi["label"].notna()].groupby("user_id", sort=False)}
    rows = []
    for uid in users:
        g = by_user.get(uid, quasi.iloc[:0])
        labels = dict(zip(g["attribute"], g["label"]))
        weights = {a: (round(float(c), 6) if weighted else 1.0) for a, c in zip(g["attribute"], g["confidence"])}
        rows.append({"user_id": uid, "prompt": prompts[uid], "quasi_label": json.dumps(labels, sort_keys=True),
                     "quasi_weight": json.dumps(weights, sort_keys=True)})
    return rows


def vote_shares(rollouts: pd.DataFrame) -> pd.DataFrame:
    """Per user, attribute and label said: ``share``, the share of the user's rollouts (parse
    failures included) that said it; what the ``vote_share`` reward pays.

    >>> r = rollout_table(["u"], [['{"gender": {"label": "male", "confidence": 0.9}}', 'oops',
    ...                            '{"gender": {"label": "male", "confidence": 0.4}}']], _toy_taxonomy())
    >>> vote_shares(r).round(4).to_dict("records")
    [{'user_id': 'u', 'attribute': 'gender', 'label': 'male', 'share': 0.6667}]
    """
    n = rollouts.groupby(voting.KEYS)["sample"].nunique().rename("_n")
    valid = rollouts[rollouts["ok"].astype(bool)]
    said = valid.groupby(voting.KEYS + ["label"]).size().rename("_k").reset_index().join(n, on=voting.KEYS)
    return said.assign(share=said["_k"] / said["_n"]).drop(columns=["_k", "_n"])


def match_reward_mean(rollouts: pd.DataFrame, quasi: pd.DataFrame, users: Sequence[str], weighted: bool,
                      n_attributes: int) -> float:
    """The mean ``weighted_match`` reward (``exact_match`` when not ``weighted``) of the rollouts of
    ``users`` against ``quasi``: the random-reward control's coin is set to this mean.

    >>> r = rollout_table(["u"], [['{"gender": {"label": "male", "confidence": 0.9}}', 'oops']], _toy_taxonomy())
    >>> q = pd.DataFrame({"user_id": ["u"], "attribute": ["gender"], "label": ["male"], "confidence": [0.5]})
    >>> match_reward_mean(r, q, ["u"], weighted=True, n_attributes=2)  # (0.5 / 2 + 0) / 2 rollouts
    0.125
    """
    r = rollouts[rollouts["user_id"].isin(set(users))]
    answers = r[voting.KEYS[:1] + ["sample"]].drop_duplicates()
    if answers.empty:
        return 0.0
    q = quasi[quasi["label"].notna()][voting.KEYS + ["label", "confidence"]]
    hit = r[r["ok"].astype(bool)].merge(q, on=voting.KEYS + ["label"], suffixes=("", "_quasi"))
    w = hit["confidence_quasi"].fillna(0.0) if weighted else pd.Series(1.0, index=hit.index)
    return float(w.sum() / n_attributes / len(answers))


def variant_rewards(v: Variant, names: Sequence[str]) -> list[str]:
    """The reward names a variant trains with: the profile's ``rl_rewards`` with its match reward
    (``weighted_match`` or ``exact_match``) replaced by the variant's.

    >>> variant_rewards(variant("vote_share"), ["weighted_match", "format"])
    ['vote_share', 'format']
    """
    match = [n for n in names if n in ("weighted_match", "exact_match")]
    if not match:
        raise ValueError(f"rl_rewards {list(names)} has no match reward (weighted_match or exact_match) "
                         f"for variant {v.name!r} to replace")
    return [v.reward if n == match[0] else n for n in names]


def variant_votes(v: Variant, rollouts: pd.DataFrame, stage1: Sequence[Mapping], stage1_votes: float,
                  band_low: float, band_high: float, weighted: rules.Rule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A variant's quasi ground truth (``quasi_ground_truth`` by ``variant_rule(v, weighted)``, with
    the stage-1 pseudo-labels when it uses them) and its difficulty band (``difficulty_band``)."""
    quasi = quasi_ground_truth(rollouts, variant_rule(v, weighted), stage1 if v.stage1 else None, stage1_votes)
    return quasi, difficulty_band(quasi, band_low, band_high)


def variant_rows(v: Variant, prompts: Mapping[str, object], quasi: pd.DataFrame, band: pd.DataFrame,
                 users: Sequence[str], rollouts: pd.DataFrame | None = None, seed: int = 0,
                 reward_p: float | None = None) -> list[dict]:
    """The training rows of a variant: its quasi labels, its band (or every user in ``users``),
    its reward weights; for ``vote_share`` the rollouts' shares (``vote_shares`` of ``rollouts``),
    for ``random_match`` the coin's mean ``reward_p`` and a seed per user derived from ``seed``."""
    keep = set(users)
    if v.band:
        keep &= set(band.loc[band["status"] == "kept", "user_id"])
    rows = grpo_rows(prompts, quasi, [u for u in users if u in keep], weighted=v.weighted_reward)
    if v.reward == "vote_share":
        if rollouts is None:
            raise ValueError("the vote_share reward needs the rollouts")
        shares = {}
        for (u, a), g in vote_shares(rollouts).groupby(voting.KEYS, sort=True):
            shares.setdefault(u, {})[a] = {lab: round(float(x), 6) for lab, x in zip(g["label"], g["share"])}
        rows = [{**r, "vote_share": json.dumps(shares.get(r["user_id"], {}), sort_keys=True)} for r in rows]
    if v.reward == "random_match":
        if reward_p is None:
            raise ValueError("the random_match reward needs its mean (reward_p)")
        rows = [{**r, "reward_p": float(reward_p), "reward_seed": derive_seed(seed, "random_reward", r["user_id"])}
                for r in rows]
    return rows


checkpoints = saved
"""The label-free checkpoint choice's candidates (``confprofile.checkpoints.saved``)."""


def reward_curves(log_history: Sequence[Mapping]) -> dict[str, list[float]]:
    """Per logged step: the mean reward, its spread, each reward function's mean, the policy's
    entropy and (when ``beta`` > 0) the KL to the reference, from a GRPO log history.

    >>> reward_curves([{"step": 1, "reward": 0.5, "reward_std": 0.1, "entropy": 2.0, "rewards/format/mean": 1.0}])
    {'step': [1], 'reward': [0.5], 'reward_std': [0.1], 'entropy': [2.0], 'kl': [nan], 'rewards/format/mean': [1.0]}
    """
    h = [x for x in log_history if "reward" in x]
    keys = ["reward", "reward_std", "entropy", "kl"] + sorted({k for x in h for k in x if k.startswith("rewards/")
                                                               and k.endswith("/mean")})
    out = {"step": [int(x["step"]) for x in h]}
    out.update({k: [float(x[k]) if x.get(k) is not None else math.nan for x in h] for k in keys})
    return out


def grpo_advantages(rewards: Sequence[float], num_generations: int, scale_rewards: str) -> np.ndarray:
    """trl's GRPO advantages (``multi_objective_aggregation="sum_then_normalize"``): reward minus
    its group mean, divided by the group's std (``"group"``), the batch's std (``"batch"``), or
    nothing (``"none"``); std is torch's unbiased one, plus 1e-4.

    A per-prompt weight multiplies a whole group: ``"group"`` divides it out again.

    >>> r = [1.0, 0.0, 0.5, 0.0]   # two prompts, two completions each
    >>> w = [2.0, 2.0, 1.0, 1.0]   # the first prompt's quasi label is twice as trusted
    >>> a = grpo_advantages(r, 2, "group"); b = grpo_advantages(np.multiply(r, w), 2, "group")
    >>> bool(np.allclose(a, b, atol=1e-3)), a.round(3).tolist()  # the weight cancels, and so does 1 vs 0.5
    (True, [0.707, -0.707, 0.707, -0.707])
    >>> grpo_advantages(np.multiply(r, w), 2, "batch").round(3).tolist()  # std([2, 0, .5, 0]) = 0.946
    [1.056, -1.056, 0.264, -0.264]
    """
    r = np.asarray(rewards, dtype=float)
    g = r.reshape(-1, num_generations)
    adv = (g - g.mean(axis=1, keepdims=True)).reshape(-1)
    if scale_rewards == "group":
        std = np.repeat(g.std(axis=1, ddof=1), num_generations)
    elif scale_rewards == "batch":
        std = np.full_like(r, r.std(ddof=1))
    elif scale_rewards == "none":
        return adv
    else:
        raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', got {scale_rewards!r}")
    return adv / (std + 1e-4)


def train_grpo(model_path: str | Path, rows: Sequence[dict], taxonomy: Taxonomy, reward_names: Sequence[str],
               output_dir: str | Path, *, seed: int, max_steps: int, learning_rate: float,
               prompts_per_step: int, num_generations: int, max_completion_length: int,
               temperature: float, beta: float, scale_rewards: str, save_steps: int,
               lora: Mapping | None, use_vllm: bool, logging_steps: int = 1,
               vllm_mode: str = "colocate", progress: bool = False) -> dict:
    """GRPO from a saved (SFT) checkpoint on ``rows`` (``grpo_rows``); returns ``{"log_history",
    "reused", "path"}`` (``path``: the final model).

    The final model goes to ``output_dir/final``; a finished run is reused as it is, a killed
    one resumes from its last complete ``checkpoint-*`` (``confprofile.checkpoints``: one a
    kill cut short is skipped). After a resume the log history holds every segment's steps
    (the Trainer restores them from the checkpoint), and its closing entry's ``train_loss``,
    ``train_runtime`` and ``train_steps_per_second`` are totals over the segments (the
    Trainer's own cover only the last; runtimes are kept in ``output_dir/segments.json``).
    Also returned: ``resumed_from`` (the checkpoint's name, or None) and ``train_runtime``.
    CPU-safe precision when no CUDA device is
    present (fp32, ``use_cpu``); bf16 on GPU. ``lora``: ``{r, alpha, dropout}`` (``student.lora_config``),
    or None for full fine-tuning.
    """
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from confprofile.rewards import reward_funcs
    from confprofile.student import lora_config

    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)  # trl sets it
    output_dir = Path(output_dir)
    final = output_dir / "final"
    history_file = output_dir / "log_history.json"
    recipe = {"model": str(model_path), "rows": digest(rows), "rewards": list(reward_names), "seed": seed,
              "max_steps": max_steps, "learning_rate": learning_rate, "prompts_per_step": prompts_per_step,
              "num_generations": num_generations, "max_completion_length": max_completion_length,
              "temperature": temperature, "beta": beta, "scale_rewards": scale_rewards, "save_steps": save_steps,
              "lora": dict(lora) if lora else None}
    set_aside(output_dir, recipe)
    if (final / "config.json").is_file() and history_file.is_file():
        history = json.loads(history_file.read_text(encoding="utf-8"))
        summary = next((h for h in reversed(history) if "train_runtime" in h), {})
        return {"log_history": history, "reused": True, "path": str(final),
                "resumed_from": summary.get("resumed_from"), "train_runtime": summary.get("train_runtime")}
    cuda = torch.cuda.is_available()
    args = GRPOConfig(
        output_dir=str(output_dir), seed=derive_seed(seed, "grpo", "trainer") % 2**31,
        data_seed=derive_seed(seed, "grpo", "data") % 2**31, max_steps=max_steps,
        learning_rate=learning_rate, per_device_train_batch_size=prompts_per_step * num_generations,
        num_generations=num_generations, max_completion_length=max_completion_length,
        temperature=temperature, beta=beta, scale_rewards=scale_rewards,
        logging_steps=logging_steps, save_steps=save_steps, save_strategy="steps", report_to=[],
        bf16=cuda, fp16=False, use_cpu=not cuda, gradient_checkpointing=False,
        disable_tqdm=not progress, use_vllm=use_vllm, vllm_mode=vllm_mode,
        lr_scheduler_type="constant", remove_unused_columns=False,
    )
    tok = AutoTokenizer.from_pretrained(str(model_path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.bfloat16 if cuda else torch.float32)
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs(reward_names, taxonomy), args=args,
                          train_dataset=Dataset.from_list(list(rows)), processing_class=tok,
                          peft_config=lora_config(lora))
    if not progress:  # no per-step log dicts printed into notebooks
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    trainer.add_callback(marker_callback())  # .complete in each finished checkpoint; segment runtimes
    last = last_complete(output_dir)
    out = trainer.train(resume_from_checkpoint=str(last) if last else None)
    seg_runtime = float(out.metrics.get("train_runtime", math.nan))
    total = totals(trainer.state.log_history, step_of(last) if last else 0, trainer.state.global_step,
                   out.training_loss, seg_runtime,
                   segments_total(output_dir, seg_runtime, trainer.state.global_step))
    trainer.save_model(str(final))
    tok.save_pretrained(str(final))
    history = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in h.items()}
               for h in trainer.state.log_history]
    summary = next((h for h in reversed(history) if "train_runtime" in h), None)
    if summary is not None and last is not None:  # the Trainer's closing entry covers this segment: make it the run's
        summary.update(total, train_segment_runtime=seg_runtime, resumed_from=last.name,
                       train_samples_per_second=None)  # not recomputed: use train_steps_per_second
    write_text(history_file, json.dumps(history, sort_keys=True, indent=1) + "\n")
    return {"log_history": history, "reused": False, "path": str(final),
            "resumed_from": last.name if last else None, "train_runtime": total["train_runtime"]}


if __name__ == "__main__":  # python -m confprofile.rl --profile cpu --trials (confprofile.rl_runs.main)
    import sys

    from confprofile.errors import run_cli
    from confprofile.rl_runs import main

    sys.exit(run_cli(main))
