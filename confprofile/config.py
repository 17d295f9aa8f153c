"""The profile schema: every key a profile file may set, with its type, default and meaning.

This table is the one place a parameter's default lives. The defaults are the smoke profile's
values; ``notebooks/params/smoke.yaml`` only names itself, and ``cpu.yaml``, ``gpu.yaml`` and a
profile of your own hold only the keys they change (``params.load_params`` merges them onto
``defaults()``). A notebook repeats none of them: its parameters cell holds ``profile`` and
``overrides``, and ``params.for_notebook`` turns them into a ``Config`` (below).

``check`` rejects what YAML would otherwise let through silently: a misspelt key, a value of
the wrong type (a string for a number: YAML reads ``1e-4`` as one), a negative number.

>>> KEYS["sft_steps"].default, KEYS["sft_steps"].type.__name__
(300, 'int')
>>> check({"sft_step": 10}, "p.yaml")
Traceback (most recent call last):
...
confprofile.errors.ParamsError: p.yaml: field 'sft_step': not a profile parameter (did you mean 'sft_steps'?)
>>> check({"rl_learning_rate": "1e-4"}, "p.yaml")
Traceback (most recent call last):
...
confprofile.errors.ParamsError: p.yaml: field 'rl_learning_rate': expected float, got str '1e-4' (YAML reads 1e-4 as a string: write 1.0e-4)
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from confprofile.errors import ParamsError


@dataclass(frozen=True)
class Key:
    """One profile parameter. ``optional``: null is allowed too (it always is where the default
    is null). Numbers are never negative; an int is accepted where a float is expected."""

    name: str
    type: type  # int, float, str, bool, list or dict (a mapping is checked at its top level only)
    default: object
    help: str
    optional: bool = False


GENERAL = (
    Key("profile", str, "smoke", "names runs/<profile>/, results/<profile>/, figures/<profile>/ "
        "(smoke | cpu | gpu | one of your own)"),
    Key("seed", int, 0, "every random choice derives from it (confprofile.provenance.derive_seed)"),
)

DATA = (
    Key("data", dict, None, "{pool: file, test: file}: your records (JSONL); null: generate ProfileBench-Synth"),
    Key("gold", dict, None, "{split: file}: gold labels, optional, evaluation only (null: none, or generated)"),
    Key("taxonomy_file", str, None, "taxonomy YAML (attributes, labels, the prompt's domain); null: the built-in"),
    Key("n_pool", int, 300, "unlabeled training pool size (users)"),
    Key("n_test", int, 200, "test set size (users, gold labels stored apart)"),
)

SYNTHESIS = (  # notebook 02
    Key("teachers", dict, {
        "lexicon": {}, "heuristic": {}, "embedding": {},
        # simulated LLM teachers (teachers/persona.py): seeded partial, noisy views of the world file;
        # coverage ~0.8 keeps each one well below the ~60 supervised ceiling (notebook 02 measures each)
        "persona_a": {"backend": "persona", "seed": 1, "coverage": 0.85, "confusion": 0.1, "style": "overconfident"},
        "persona_b": {"backend": "persona", "seed": 2, "coverage": 0.8, "confusion": 0.15, "style": "calibrated"},
        "persona_c": {"backend": "persona", "seed": 3, "coverage": 0.85, "confusion": 0.2, "surface_coverage": 0.3,
                      "style": "cautious"},
    }, "name -> {backend (default: the name), max_users, constructor kwargs}; knowledge (a lookup of the "
       "generator's phrases near the supervised ceiling) is left out of the default mix"),
    Key("persona_shared_blind_spot", float, 0.1, "the personas' correlated errors (teachers/persona.py): a share of "
        "the world's associations none of them knows and another share they all file under the same wrong label "
        "(0: independent blind spots, whose union knows the generator's whole table); 02 prints the union's coverage"),
    Key("n_samples", int, 3, "samples per teacher and user"),
    Key("teacher_temperature", float, 0.7, "teacher sampling temperature (also the sweep's teachers in 03)"),
    Key("teacher_max_items", int, 8, "items per list field a teacher sees (the rest is counted, not shown)"),
)

VOTE = (  # notebook 03
    Key("vote_temperatures", list, [0.1, 0.3, 1.0], "CISC-style softmax vote temperatures compared"),
    Key("coverage", float, 0.8, "share of pseudo-labels kept by the per-class thresholds"),
    Key("prior_strength", float, 0.5, "calibration toward a balanced distribution (prior correction): "
        "0 = none, 1 = a uniform target prior"),
    Key("max_share_shift", float, 0.15, "health check: a calibration moving a kept label share more than this "
        "from the uncalibrated vote's is warned about and not chosen"),
    Key("n_bootstrap", int, 1000, "paired bootstrap resamples of the test users behind each claim's 95% interval "
        "(03-06)"),
    Key("aggregators", dict, {"DawidSkene": {"n_iter": 100}, "OneCoinDawidSkene": {"n_iter": 100}},
        "crowd-kit peers in 03's table: model -> kwargs (gpu adds MMSR and MACE: about 10 more minutes of refits at "
        "cpu scale; GLAD: minutes per attribute, left out)"),
    Key("sweep_users", int, 200, "test users in 03's voting sweep of simulated LLM teachers (0: skip)"),
    Key("sweep_views", list, [1, 2, 3], "distinct seeded views of the world among the sweep's 3 teachers (diversity)"),
    Key("sweep_gaps", list, [0.0, 0.3, 0.6], "coverage gap between the strong teacher and the others"),
    Key("sweep_coverage", float, 0.6, "the sweep teachers' mean coverage"),
    Key("sweep_shared", list, [0.1], "the sweep teachers' shared blind spots (persona_shared_blind_spot's axis)"),
    Key("rule_study_users", int, 100, "03's rule-choice study: simulated users per annotation table (0: skip); "
        "~35 CPU-s a table"),
    Key("rule_study_seeds", int, 1, "simulated tables per scenario (seeds seed, seed + 1, ...)"),
    Key("rule_study_scenarios", list, ["weak over-predict one class"], "mixes of confprofile.evaluation.rule_study.SCENARIOS"),
    Key("rule_study_criteria", list, ["heldout", "reliability"], "label-free criteria compared (rule_study.CRITERIA): "
        "the old chooser and the new one"),
)

SFT = (  # notebook 04: the student and its distillation
    Key("heldout_users", int, 30, "pool users held out: every training choice (04, 05) is made on them, by agreement "
        "with their pseudo-labels; nothing trains on them"),
    Key("sft_label_source", str, "weighted_calibrated",
        "main student's labels: best_single | majority | weighted (03's rule) | weighted_calibrated (03's pseudo-labels), "
        "or any rule id of confprofile.rules.registry (sft.label_sources)"),
    Key("sft_max_chars", int, 800, "student prompt: the record rendered in at most this many characters"),
    Key("sft_max_items", int, 4, "student prompt: items kept per list field"),
    Key("sft_system_prompt", bool, False, "put the teachers' system prompt (taxonomy, format) before the record"),
    Key("sft_rationale_chars", int, 0, "0: targets without rationale; else the first agreeing rationale, cut "
        "(rationales multiply answer length: ~2.6x tokens, measured in 04)"),
    Key("sft_confidence", bool, True, "targets state the vote's confidence (false: 1.0 everywhere)"),
    Key("student_model", str, None, "pretrained student (path or hub id); null: a Qwen3 built from the sizes below"),
    Key("student_dtype", str, "float32", "weights dtype for training and generation"),
    Key("student_vocab_size", int, 2000, "byte-level BPE vocabulary trained on the SFT users' rendered records"),
    Key("student_hidden", int, 128, "Qwen3 hidden size"),
    Key("student_layers", int, 2, "Qwen3 decoder layers"),
    Key("student_heads", int, 4, "attention (query) heads"),
    Key("student_kv_heads", int, 2, "key-value heads"),
    Key("student_ffn", int, 256, "MLP intermediate size"),
    Key("sft_record_weight", float, 1.0, "loss = mean over answer tokens + this x mean over record tokens "
        "(0: answer only; null: trl's per-token mean over both)", optional=True),
    Key("sft_abstain", bool, True, "pairs the calibration dropped are taught as \"unknown\" "
        "(false: their voted label at its low confidence)"),
    Key("sft_lora", dict, None, "{r, alpha, dropout}: LoRA via peft; null: full fine-tuning"),
    Key("sft_steps", int, 300, "optimizer steps of the main student"),
    Key("sft_ablation_steps", int, 60, "steps of each label-source arm of the LLM student "
        "(0: the arms go through the classical student only)"),
    Key("sft_ablation_sources", list, ["majority", "weighted_calibrated"],
        "label sources the LLM student is trained on at sft_ablation_steps (as sft_label_source)"),
    Key("sft_trials", dict, {"sft_record_weight": [1.0, 0.0]}, "label-free trials (python -m confprofile.sft "
        "--trials): profile key -> values, the first the base's, one axis changed at a time, scored on the "
        "held-out slice"),
    Key("sft_trial_steps", int, 40, "steps of each trial student"),
    Key("sft_batch_size", int, 8, "examples per device step"),
    Key("sft_group_by_length", bool, False, "batches of examples of like length (transformers' LengthGroupedSampler: "
        "sorted within ~50 batches at a time), so little of a batch is padding; a killed run resumes in an order of "
        "its own (that sampler draws from torch's global generator); false: random batches"),
    Key("sft_grad_accum", int, 1, "gradient accumulation steps"),
    Key("sft_learning_rate", float, 0.002, "peak learning rate (cosine schedule to 10% of it)"),
    Key("sft_warmup_ratio", float, 0.05, "share of steps with linear warm-up"),
    Key("sft_weight_decay", float, 0.0, "AdamW weight decay"),
    Key("sft_max_length", int, 512, "tokens per example (prompt + answer), longer ones truncated"),
    Key("sft_save_steps", int, 100, "checkpoint every this many steps: the learning curve's points, the label-free "
        "checkpoint choice, where a killed run resumes"),
    Key("sft_logging_steps", int, 10, "loss and learning rate logged every this many steps"),
    Key("gen_batch_size", int, 100, "users per generation batch"),
    Key("gen_max_new_tokens", int, 160, "answer length cap (tokens), rollouts and GRPO completions too"),
    Key("classical_c", float, 10.0, "inverse L2 strength of the TF-IDF logistic regression"),
    Key("smollm2_users", int, 0, "test users scored zero-shot by SmolLM2-135M (label log-likelihood); 0: skip"),
    Key("torch_threads", int, 1, "torch CPU threads in 04 and 05 (0: torch's default); 1 was 4x faster than 2 "
        "on a shared 2-core machine"),
)

RL = (  # notebook 05
    Key("rl_users", int, 24, "pool users drawn for RL (rollouts, band, training); SFT never trains on them"),
    Key("rl_heldout_users", int, 8, "users of the held-out slice (heldout_users) that answer for the label-free "
        "checkpoint choice"),
    Key("rl_rollouts", int, 2, "rollouts per user voting the quasi ground truth"),
    Key("rl_rollout_temperature", float, 1.0, "sampling temperature of rollouts and GRPO completions"),
    Key("rl_stage1_votes", float, 1.0, "the stage-1 pseudo-label joins the vote worth this many rollouts "
        "(0: off; TTRL: never)"),
    Key("rl_band", list, [0.5, 0.97], "keep users whose consensus is in [low, high)"),
    Key("rl_rewards", list, ["weighted_match", "format"], "reward functions (confprofile.rewards), summed"),
    Key("rl_variants", list, ["conf_profile", "ttrl", "vote_share", "random_reward"],
        "confprofile.rl.VARIANTS; the first is the full recipe"),
    Key("rl_seeds", list, [], "extra training seeds (each repeat of rl_seed_variants trains again with a seed "
        "derived from it)"),
    Key("rl_seed_variants", list, ["conf_profile"], "the variants repeated over rl_seeds"),
    Key("rl_steps", int, 2, "GRPO steps per variant (the same budget for each)"),
    Key("rl_prompts_per_step", int, 2, "users per GRPO step"),
    Key("rl_generations", int, 2, "completions per user and step (the GRPO group)"),
    Key("rl_learning_rate", float, 2.0e-05, "constant learning rate"),
    Key("rl_beta", float, 0.0, "KL penalty to the SFT model (0: none, as in DAPO / Dr. GRPO)"),
    Key("rl_scale_rewards", str, "batch", "trl reward scaling: batch keeps per-prompt weights; group divides them "
        "out; none"),
    Key("rl_save_steps", int, 2, "checkpoint every this many steps (candidates for the label-free choice)"),
    Key("rl_trials", dict, {"rl_learning_rate": [2.0e-05, 1.0e-04]}, "label-free RL trials (python -m "
        "confprofile.rl --trials): profile key -> values, the first the base's, one axis changed at a time, "
        "scored on the held-out slice"),
    Key("rl_lora", dict, None, "{r, alpha, dropout}: LoRA via peft (student.lora_config); null: full fine-tuning"),
    Key("rl_use_vllm", bool, False, "GRPO completions through vLLM (gpu profile; colocate mode on one GPU)"),
)

STAGES = {"general": GENERAL, "data": DATA, "synthesis": SYNTHESIS, "vote": VOTE, "sft": SFT, "rl": RL}
"""Every key with a default, by the stage that reads it first; their order is a profile's key order."""

OWN = (
    Key("outputs", str, None, "a profile of your own only: the folder its results/ and figures/ go to instead of "
        "runs/<profile>/ (read from the profile file's folder)"),
)
"""Keys without a default: absent from a profile that does not set them."""

KEYS = {k.name: k for keys in (*STAGES.values(), OWN) for k in keys}
"""Every key a profile file may set, by name."""

TRIALS = ("sft_trials", "rl_trials")
"""Mappings whose keys are themselves profile keys (the axes a trial changes)."""


def defaults() -> dict:
    """Every key's default, in profile order (a fresh copy: callers may change it).

    >>> d = defaults(); d["seed"], len(d) == sum(map(len, STAGES.values())), "outputs" in d
    (0, True, False)
    """
    return {k.name: copy.deepcopy(k.default) for keys in STAGES.values() for k in keys}


def _unknown(name: object, file: str | Path, where: str) -> ParamsError:
    close = difflib.get_close_matches(str(name), KEYS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ParamsError(f"{file}: {where}: not a profile parameter{hint}")


def _numeric(value: object) -> bool:
    """A string that reads as a number (``"1e-4"``, ``"300"``)."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _problem(key: Key, value: object) -> str | None:
    """What is wrong with ``value`` for ``key``, or None."""
    if value is None:
        return None if key.optional or key.default is None else f"expected {key.type.__name__}, got null"
    if key.type is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif key.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, key.type)
    if not ok:
        hint = ""
        if key.type in (int, float) and _numeric(value):
            hint = " (YAML reads 1e-4 as a string: write 1.0e-4)" if "e" in value.lower() else " (write it without quotes)"
        return f"expected {key.type.__name__}, got {type(value).__name__} {value!r}{hint}"
    if key.type in (int, float) and value < 0:
        return f"must not be negative, got {value!r}"
    return None


def check(params: dict, file: str | Path) -> None:
    """Raise ``ParamsError`` naming ``file`` and the key for the first unknown key, value of the
    wrong type or negative number in ``params`` (a profile file's raw values)."""
    for name, value in params.items():
        if name not in KEYS:
            raise _unknown(name, file, f"field '{name}'")
        problem = _problem(KEYS[name], value)
        if problem:
            raise ParamsError(f"{file}: field '{name}': {problem}")
        if name in TRIALS and value:
            for axis in value:
                if axis not in KEYS:
                    raise _unknown(axis, file, f"field '{name}.{axis}'")


class Config(Mapping):
    """A run's resolved parameters, read-only, by key or by attribute (``cfg["sft_steps"]`` is
    ``cfg.sft_steps``). It remembers which keys were read, in the order first read: ``used()`` is
    what a notebook records with its results (``provenance.save_results``), so a results file
    names exactly the parameters its numbers depend on, and ``tests/test_artifacts.py`` finds it
    stale when one of them changes in the profile file and only then.

    >>> cfg = Config({"seed": 0, "sft_steps": 300, "rl_steps": 2})
    >>> cfg.sft_steps, cfg["seed"], "rl_steps" in cfg, cfg.used()
    (300, 0, True, {'sft_steps': 300, 'seed': 0})
    >>> cfg.sft_step
    Traceback (most recent call last):
    ...
    AttributeError: not a profile parameter: 'sft_step' (did you mean 'sft_steps'?)
    """

    def __init__(self, values: Mapping):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_read", {})

    def __getitem__(self, key: str) -> object:
        value = self._values[key]
        self._read.setdefault(key, None)
        return value

    def __getattr__(self, key: str) -> object:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            close = difflib.get_close_matches(key, self._values, n=1)
            raise AttributeError(f"not a profile parameter: {key!r}"
                                 + (f" (did you mean {close[0]!r}?)" if close else "")) from None

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"a run's parameters are read-only: set {key!r} in the profile file or in overrides")

    def __contains__(self, key: object) -> bool:  # asking is not reading
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Config(profile={self._values.get('profile')!r}, {len(self._values)} keys)"

    def used(self) -> dict:
        """The values of the keys read so far, in the order first read."""
        return {k: self._values[k] for k in self._read}


def describe() -> str:
    """The schema as text, one line a key, by stage (``python -m confprofile.config``)."""
    lines = []
    for stage, keys in (*STAGES.items(), ("your own profile only", OWN)):
        lines.append(f"# {stage}")
        for k in keys:
            kind = k.type.__name__ + (" or null" if k.optional or k.default is None else "")
            default = "" if k in OWN else f" = {k.default!r}"
            lines.append(f"{k.name}: {kind}{default}  # {k.help}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe())
