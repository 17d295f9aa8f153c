"""Distillation (stage 1d): SFT data from pseudo-labels, label sources, and student training.

Data. One example per pool user. Prompt: the user record in a compact rendering
(``records.render_record`` with the profile's smaller ``max_chars``/``max_items``), optionally
after the teachers' system prompt (taxonomy and output format; used for a pretrained student,
which must be told the labels; a student trained from scratch learns them from the targets).
Target: the profile in the teachers' own JSON format, so the teachers' parser reads student
answers too::

    {"age": {"label": "25_34", "confidence": 0.8, "rationale": "..."}, "gender": {...}, ...}

``rationale`` (the highest-confidence agreeing teacher's rationale, cut to a length) only when
asked for. Without confidence, every target states ``1.0`` (the parser requires the field), so
the target carries no confidence information. A pair the calibration dropped (``kept`` false)
or that got no vote becomes ``{"label": "unknown"}`` where the taxonomy allows an abstention
(every built-in attribute does), else the attribute is left out: the student learns to abstain
where its teachers' vote was too weak to keep, and the parser scores that as an abstention.

Label sources (the ablation), each computed label-free from the annotation tables:

- ``weighted_calibrated`` (default): notebook 03's pseudo-labels file for the pool.
- ``weighted``: notebook 03's chosen rule as it fitted it on the pool (``rules.load``: its
  teacher weights too), uncalibrated, every voted pair kept.
- ``majority``: the majority vote over every teacher sample (``rules.MAJORITY``).
- ``best_single``: the teacher with the most right answers per pair as Dawid-Skene estimates
  them (``voting.most_reliable_teacher``; no labels), its own samples combined by majority
  (self-consistency).

Training: ``trl.SFTTrainer`` on prompt-completion pairs; loss on prompt and completion for a
student trained from scratch (it must learn the language of the records too), completion-only
for a pretrained one. Checkpoints under ``runs/<p>/sft/<variant>/``; a killed run resumes from
its last checkpoint; a finished one (``final/``) is reused and trains nothing.

This module is label-free: it never opens a true-label file nor imports the evaluation code.

>>> from dataclasses import replace
>>> from confprofile.taxonomy import load_taxonomy
>>> tax = load_taxonomy()
>>> two = replace(tax, attributes=(tax["gender"], tax["age"]))
>>> attrs = {"gender": {"label": "female", "confidence": 0.83, "kept": True, "rationales": ["makeup"]},
...          "age": {"label": "25_34", "confidence": 0.41, "kept": False, "rationales": []}}
>>> target_text(attrs, two, rationale_chars=0, confidence=True)
'{"gender": {"label": "female", "confidence": 0.8}, "age": {"label": "unknown", "confidence": 0.4}}'
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from confprofile import checkpoints, monitor, paths, prompts, records, rules, splits, voting
from confprofile.errors import ParamsError, UsageError
from confprofile.provenance import derive_seed
from confprofile.taxonomy import UNKNOWN, Taxonomy

NAMED_SOURCES = ("best_single", "weighted", "weighted_calibrated")
"""The label sources that are not one rule of ``rules.registry``: the most reliable teacher alone
(the majority of its samples), notebook 03's chosen rule as it fitted it (uncalibrated), 03's
pseudo-labels (calibrated). Every other label source is a rule id of the registry (``majority``,
``weighted_softmax_0.3``, ``crowdkit_DawidSkene``, a rule of your own ``rules.register``ed): the
pool voted by that rule, its teacher weights fitted on the pool, uncalibrated."""

COMPARED_SOURCES = ("best_single", "majority", "weighted", "weighted_calibrated")
"""The label sources 04 always prepares and the classical student compares (the paper's claim:
majority against the calibrated weighted vote); ``sft_label_source`` and ``sft_ablation_sources``
may name any other."""


def label_sources(p: Mapping) -> dict[str, rules.Rule | None]:
    """Every label source a profile's 04 uses, in order (``COMPARED_SOURCES``, then the others its
    ``sft_label_source`` and ``sft_ablation_sources`` name), each with its rule (None for the named
    sources); an unknown name is a ``ParamsError`` listing what there is.

    >>> list(label_sources({"sft_label_source": "weighted_calibrated", "sft_ablation_sources": ["weighted_linear"],
    ...                     "vote_temperatures": [0.3], "aggregators": {}}))
    ['best_single', 'majority', 'weighted', 'weighted_calibrated', 'weighted_linear']
    """
    by_id = rules.registry(p["vote_temperatures"], p["aggregators"])
    out = {}
    for key, names in (("", COMPARED_SOURCES), ("sft_label_source", [p["sft_label_source"]]),
                       ("sft_ablation_sources", p["sft_ablation_sources"])):
        for src in names:
            if src not in NAMED_SOURCES and src not in by_id:
                raise ParamsError(f"{key}: {src!r} is not a label source (named: {', '.join(NAMED_SOURCES)}; "
                                  f"rules: {', '.join(by_id)})")
            out.setdefault(src, None if src in NAMED_SOURCES else by_id[src])
    return out


# --------------------------------------------------------------------------------------------
# prompts and targets


def student_messages(record: dict, taxonomy: Taxonomy, max_chars: int, max_items: int,
                     system_prompt: bool) -> list[dict]:
    """The chat prompt of one user: the compact record, after the teachers' system prompt if asked.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> student_messages({"user_id": "u1", "bio": "nurse"}, load_taxonomy(), 100, 2, False)
    [{'role': 'user', 'content': 'User u1\\nBio: nurse'}]
    """
    msgs = [{"role": "user", "content": records.render_record(record, max_items=max_items, max_chars=max_chars)}]
    if system_prompt:
        msgs.insert(0, {"role": "system", "content": prompts.system_prompt(taxonomy)})
    return msgs


def user_prompts(recs: Sequence[dict], taxonomy: Taxonomy, p: Mapping) -> dict[str, list]:
    """The student's prompts for some users under a profile's prompt settings (``sft_max_chars``,
    ``sft_max_items``, ``sft_system_prompt``): ``{"user_ids": [...], "messages": [...]}``, in order.

    >>> from confprofile.taxonomy import load_taxonomy
    >>> p = {"sft_max_chars": 100, "sft_max_items": 2, "sft_system_prompt": False}
    >>> user_prompts([{"user_id": "u1", "bio": "nurse"}], load_taxonomy(), p)
    {'user_ids': ['u1'], 'messages': [[{'role': 'user', 'content': 'User u1\\nBio: nurse'}]]}
    """
    return {"user_ids": [r["user_id"] for r in recs],
            "messages": [student_messages(r, taxonomy, p["sft_max_chars"], p["sft_max_items"], p["sft_system_prompt"])
                         for r in recs]}


def target_text(attributes: Mapping[str, Mapping], taxonomy: Taxonomy, rationale_chars: int,
                confidence: bool, abstain: bool = True) -> str:
    """The target JSON of one user from its pseudo-label record's ``attributes``.

    ``rationale_chars`` > 0 adds the first agreeing rationale, cut to that many characters;
    ``confidence`` false states 1.0 everywhere. ``abstain`` false teaches a dropped pair its voted
    label at its (low) confidence instead of ``unknown``. Confidences are rounded to one decimal (short
    answers; a tenth is finer than any calibration we can check on 1,000 users).

    >>> from dataclasses import replace
    >>> from confprofile.taxonomy import load_taxonomy
    >>> tax = replace(load_taxonomy(), attributes=(load_taxonomy()["gender"],))
    >>> a = {"gender": {"label": "male", "confidence": 0.66, "kept": True, "rationales": ["beard, football"]}}
    >>> target_text(a, tax, rationale_chars=5, confidence=False)
    '{"gender": {"label": "male", "confidence": 1.0, "rationale": "beard"}}'
    >>> target_text({}, tax, 0, True)  # no vote at all: an abstention
    '{"gender": {"label": "unknown", "confidence": 0.0}}'
    >>> dropped = {"gender": {"label": "male", "confidence": 0.31, "kept": False}}
    >>> target_text(dropped, tax, 0, True), target_text(dropped, tax, 0, True, abstain=False)
    ('{"gender": {"label": "unknown", "confidence": 0.3}}', '{"gender": {"label": "male", "confidence": 0.3}}')
    """
    out = {}
    for attr in taxonomy:
        a = attributes.get(attr.name) or {}
        conf = a.get("confidence")
        conf = 0.0 if conf is None or (isinstance(conf, float) and math.isnan(conf)) else float(conf)
        label = a.get("label") if (a.get("kept") or not abstain) and a.get("label") else UNKNOWN
        if label == UNKNOWN and not attr.allow_unknown:
            continue
        entry = {"label": label, "confidence": round(conf, 1) if confidence else 1.0}
        if rationale_chars > 0 and label != UNKNOWN and a.get("rationales"):
            entry["rationale"] = str(a["rationales"][0])[:rationale_chars]
        out[attr.name] = entry
    return json.dumps(out, ensure_ascii=False)


def sft_examples(recs: Sequence[dict], pseudo: Sequence[dict], taxonomy: Taxonomy, max_chars: int,
                 max_items: int, system_prompt: bool, rationale_chars: int, confidence: bool,
                 abstain: bool = True) -> list[dict]:
    """Prompt-completion examples (trl's conversational format), one per user with a record.

    ``pseudo`` is a list of pseudo-label records (``{"user_id", "attributes"}``); users without
    one are skipped. Raises on a pseudo-label user that has no record (the files disagree).
    """
    by_id = {r["user_id"]: r for r in recs}
    out = []
    for p in pseudo:
        uid = p["user_id"]
        if uid not in by_id:
            raise KeyError(f"pseudo-labels name user {uid!r}, which is not in the records")
        out.append({"user_id": uid,
                    "prompt": student_messages(by_id[uid], taxonomy, max_chars, max_items, system_prompt),
                    "completion": [{"role": "assistant", "content": target_text(
                        p["attributes"], taxonomy, rationale_chars, confidence, abstain)}]})
    return out


# --------------------------------------------------------------------------------------------
# label sources


def source_votes(ann: pd.DataFrame, source: str, fitted: rules.FittedRule, rule: rules.Rule | None = None) -> pd.DataFrame:
    """The vote table (``voting.VOTE_COLUMNS``) of the pool's annotations ``ann`` under a label
    source other than ``weighted_calibrated`` (03's file): ``weighted`` is notebook 03's chosen
    rule as it fitted it (``fitted``, ``rules.load``), uncalibrated; a rule's id votes by ``rule``
    (``label_sources``) with its teacher weights fitted on ``ann``."""
    if source == "best_single":
        t = voting.most_reliable_teacher(ann)
        return rules.MAJORITY(ann[ann["teacher"] == t])
    if source == "weighted":
        return fitted.votes(ann)
    if rule is None or source != rule.id:
        raise ValueError(f"label source {source!r}: give its rule (sft.label_sources), or one of best_single, weighted")
    weights = rule.fit_weights(ann)
    return rule(ann, None if weights is None else dict(weights))


def pseudo_labels(profile: str, ann_pool: pd.DataFrame, source: str, rule: rules.Rule | None = None) -> list[dict]:
    """Pseudo-label records of the pool under a label source; ``weighted_calibrated`` reads
    notebook 03's file (``runs/<p>/pseudo_labels/pool.jsonl``), the others vote here, ``weighted``
    by 03's saved rule (``runs/<p>/pseudo_labels/rule.json``), a rule id by ``rule``."""
    if source == "weighted_calibrated":
        return [obj for _, obj in records.read_jsonl(paths.pseudo_labels_path(profile, "pool"))]
    votes = source_votes(ann_pool, source, rules.load(profile), rule)
    return voting.pseudo_label_records(voting.agreeing_rationales(ann_pool, votes, max_n=3))


# --------------------------------------------------------------------------------------------
# training


def _on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def two_mean_loss(log_probs, answer_mask, record_mask, record_weight: float):
    """The from-scratch student's loss: the mean next-token loss over the answer tokens plus
    ``record_weight`` times the mean over the record (prompt) tokens.

    trl's default full-sequence loss weights every token alike, so the ~180 record tokens of an
    example outweigh its answer; a separate mean per part keeps the answer's share fixed whatever
    the lengths. ``record_weight`` 0 is the completion-only loss. An empty part adds nothing.

    >>> import torch
    >>> lp = torch.log(torch.tensor([[0.5, 0.25, 0.5, 1.0]]))
    >>> answer = torch.tensor([[False, False, True, True]])
    >>> round(float(two_mean_loss(lp, answer, ~answer, 0.5)), 4)  # (ln 2 + 0)/2 + 0.5 (ln 2 + ln 4)/2
    0.8664
    """
    nll = -log_probs
    answer = (nll * answer_mask).sum() / answer_mask.sum().clamp(min=1)
    if not record_weight:
        return answer
    return answer + record_weight * (nll * record_mask).sum() / record_mask.sum().clamp(min=1)


_TRAINER = None


def trainer_class():
    """``trl.SFTTrainer`` with the two-means loss (``two_mean_loss``) when built with a
    ``record_weight``; with ``record_weight=None`` it is trl's own trainer and loss.

    The answer/record split comes from trl's own ``completion_mask`` (kept through data
    preparation and padded by the collator); the loss is a mean per micro-batch, so the
    Trainer divides it over gradient-accumulation steps. Built lazily: importing trl is slow.
    """
    global _TRAINER
    if _TRAINER is not None:
        return _TRAINER
    import torch
    from torch.nn.utils.rnn import pad_sequence
    from transformers import TrainerCallback
    from trl import SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    class TwoMeanCollator(DataCollatorForLanguageModeling):
        def torch_call(self, examples):
            out = super().torch_call(examples)
            masks = [torch.tensor(e["completion_mask"][:len(e["input_ids"])]) for e in examples]
            out["completion_mask"] = pad_sequence(masks, batch_first=True, padding_value=0)
            return out

    class TokensSoFar(TrainerCallback):
        """After a resume, count tokens on from the last logged total, not from zero."""

        def __init__(self, trainer):
            self.trainer = trainer

        def on_train_begin(self, args, state, control, **kwargs):
            logged = [h["num_tokens"] for h in state.log_history if "num_tokens" in h]
            if logged:
                self.trainer._total_train_tokens = int(logged[-1])

    class TwoMeanSFTTrainer(SFTTrainer):
        def __init__(self, *args, record_weight: float | None = None, **kwargs):
            self.record_weight = record_weight
            if record_weight is not None:  # labels on every token; the mask tells the parts apart
                kwargs["args"].completion_only_loss = False
                kwargs["data_collator"] = TwoMeanCollator(pad_token_id=kwargs["processing_class"].pad_token_id)
            super().__init__(*args, **kwargs)
            self.add_callback(TokensSoFar(self))

        @property
        def loss_is_scaled_for_ga(self):  # a mean per micro-batch: the Trainer scales it
            return None if self.record_weight is None else False

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if self.record_weight is not None and "completion_mask" not in self._signature_columns:
                self._signature_columns = [*self._signature_columns, "completion_mask"]

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.record_weight is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            completion = inputs.pop("completion_mask")
            labels = inputs.pop("labels")
            # full logits, not trl's fused head: on CPU the fused head scores every position in
            # tiles through a custom autograd function, slower than one matmul at this size
            logits = model(**inputs, use_cache=False).logits[:, :-1]
            targets = labels[:, 1:]
            valid = targets != -100
            logp = torch.log_softmax(logits.float(), -1).gather(-1, targets.clamp(min=0)[..., None])[..., 0]
            answer = valid & completion[:, 1:].bool()
            record = valid & ~answer
            loss = two_mean_loss(logp, answer, record, self.record_weight)
            mode = "train" if model.training else "eval"
            with torch.no_grad():
                n_ans = answer.sum().clamp(min=1)
                self._metrics[mode]["answer_loss"].append(float((-logp * answer).sum() / n_ans))
                self._metrics[mode]["record_loss"].append(float((-logp * record).sum() / record.sum().clamp(min=1)))
                top1 = logits.argmax(-1) == targets
                self._metrics[mode]["answer_token_accuracy"].append(float((top1 & answer).sum() / n_ans))
                if mode == "train":
                    self._total_train_tokens += int(inputs["attention_mask"].sum())
                self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
            return (loss, logits) if return_outputs else loss

    _TRAINER = TwoMeanSFTTrainer
    return _TRAINER


def train(model, tokenizer, examples: Sequence[dict], out_dir: str | Path, *, max_steps: int, batch_size: int,
          grad_accum: int, learning_rate: float, warmup_ratio: float, weight_decay: float, max_length: int,
          record_weight: float | None, seed: int, save_steps: int, logging_steps: int,
          lora: Mapping | None, gradient_checkpointing: bool, progress: bool | None,
          group_by_length: bool = False, keep_checkpoints: bool = False, callbacks: Sequence = ()) -> dict:
    """Train ``model`` on ``examples`` with ``trl.SFTTrainer``; resume or reuse where possible.

    ``record_weight``: a number selects the two-means loss (``two_mean_loss``; 0: the mean over
    the answer tokens alone), computed from full logits; on a GPU a weight of 0 is trl's own
    completion-only loss instead (the same mean, through trl's memory-saving head for large
    vocabularies); None, trl's full-sequence loss, every token weighted alike. Cosine schedule to 10% of the peak learning rate after a linear warm-up.
    ``group_by_length``: batches of like length (transformers' ``LengthGroupedSampler``), else random.

    ``out_dir/final`` holds the trained model, its tokenizer and ``train_log.json`` (the trainer's
    log history: loss and learning rate per logging step). ``out_dir/run.json`` records the recipe
    (``checkpoints.set_aside``: a folder of another recipe is moved aside first). If ``final`` exists, nothing is trained and
    the saved log is returned. Else, if ``out_dir`` holds a complete checkpoint (a killed run),
    training continues from the last one (``confprofile.checkpoints``: one a kill cut short
    is skipped); ``train_runtime`` and the logged ``num_tokens`` then count every segment. ``keep_checkpoints`` keeps every ``save_steps`` checkpoint (the
    learning curve and the label-free checkpoint choice read them); else only the last. ``lora``:
    peft LoRA settings (``r``, ``alpha``, ``dropout``), or None for full fine-tuning. ``progress``
    None: bars and log lines only in a terminal (quiet under papermill). ``callbacks``: extra
    ``transformers.TrainerCallback`` objects (e.g. a benchmark's step clock). Returns
    ``{"log_history", "train_runtime", "resumed_from", "reused", "path"}``.
    """
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig

    from confprofile import student

    out_dir = Path(out_dir)
    final = out_dir / "final"
    checkpoints.set_aside(out_dir, {
        "model": checkpoints.digest({k: v for k, v in model.config.to_dict().items()  # the architecture, not its path
                                     if not k.startswith("_") and k not in ("transformers_version", "use_cache")}),
        "examples": checkpoints.digest(list(examples)),
        "max_steps": max_steps, "batch_size": batch_size, "grad_accum": grad_accum, "learning_rate": learning_rate,
        "warmup_ratio": warmup_ratio, "weight_decay": weight_decay, "max_length": max_length,
        "record_weight": record_weight, "seed": seed, "save_steps": save_steps, "group_by_length": group_by_length,
        "lora": dict(lora) if lora else None})  # a run of another recipe is moved aside, not reused
    if (final / "train_log.json").is_file():
        return {**json.loads((final / "train_log.json").read_text(encoding="utf-8")), "reused": True,
                "path": str(final)}
    out_dir.mkdir(parents=True, exist_ok=True)
    cpu = _on_cpu()
    progress = student.quiet_unless_terminal(progress)
    cfg = SFTConfig(
        output_dir=str(out_dir), max_steps=max_steps, per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum, learning_rate=learning_rate,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1},
        warmup_steps=float(warmup_ratio), weight_decay=weight_decay, adam_beta2=0.95, max_length=max_length,
        completion_only_loss=record_weight == 0, packing=False, seed=derive_seed(seed, "sft", "trainer") % 2**31,
        data_seed=derive_seed(seed, "sft", "data") % 2**31, logging_steps=logging_steps,
        save_strategy="steps", save_steps=save_steps, save_total_limit=None if keep_checkpoints else 1,
        report_to=[], disable_tqdm=not progress, bf16=not cpu, fp16=False, use_cpu=cpu,
        activation_checkpointing=gradient_checkpointing and not cpu, dataloader_num_workers=0)
    peft_config = student.lora_config(lora)
    ds = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in examples])
    trainer = trainer_class()(model=model, args=cfg, train_dataset=ds, processing_class=tokenizer,
                              peft_config=peft_config,
                              record_weight=None if record_weight == 0 and not cpu else record_weight,
                              callbacks=list(callbacks) or None)
    if not progress:
        trainer.remove_callback(PrinterCallback)
    trainer.add_callback(checkpoints.marker_callback())  # .complete in each finished checkpoint; segment runtimes
    last = checkpoints.last_complete(out_dir)  # a checkpoint a kill cut short is skipped (and named)
    out = trainer.train(resume_from_checkpoint=str(last) if last else None)
    trainer.save_model(str(final))
    runtime = checkpoints.segments_total(out_dir, float(out.metrics.get("train_runtime", float("nan"))),
                                         trainer.state.global_step)
    log = {"log_history": [h for h in trainer.state.log_history if "loss" in h],
           "train_runtime": runtime, "resumed_from": last.name if last else None}
    if trainer.is_world_process_zero():  # one writer under accelerate/DeepSpeed
        tokenizer.save_pretrained(str(final))
        (final / "train_log.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
    return {**log, "reused": False, "path": str(final)}


def curves(log_history: Sequence[Mapping]) -> dict[str, list[float]]:
    """Loss and learning-rate curves from a trainer log history, with the two means apart
    (``answer_loss``, ``record_loss``) where the two-means loss logged them.

    >>> curves([{"step": 10, "loss": 2.5, "learning_rate": 1e-3}, {"step": 20, "loss": 2.0, "learning_rate": 5e-4}])
    {'step': [10, 20], 'loss': [2.5, 2.0], 'learning_rate': [0.001, 0.0005]}
    """
    h = [x for x in log_history if "loss" in x]
    out = {"step": [int(x["step"]) for x in h], "loss": [float(x["loss"]) for x in h],
           "learning_rate": [float(x.get("learning_rate", math.nan)) for x in h]}
    for key in ("answer_loss", "record_loss"):
        if h and all(key in x for x in h):
            out[key] = [float(x[key]) for x in h]
    return out


def base_stats(prep: Mapping, source: str, dtype: str) -> tuple[int, dict[str, float]]:
    """The untrained student's parameter count and ``token_stats`` of a label source's examples
    (its tokenizer's), loaded from ``prep["base_path"]`` (``prepare``) and let go again."""
    from confprofile import student

    model, tokenizer = student.load_student(prep["base_path"], dtype)
    return student.n_params(model), token_stats(tokenizer, prep, source)


def token_stats(tokenizer, prep: Mapping, source: str) -> dict[str, float]:
    """Mean tokens per example of a label source's SFT data (``prep``: ``prepare``'s): ``prompt``
    (the chat-templated prompt, first 500 examples), ``answer`` (the target, first 200) and
    ``answer_with_rationales`` (the targets of the first 200 pool users' pseudo-labels with
    200-character rationales: what rationales would cost)."""
    import numpy as np

    def n_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    examples = prep["examples"][source]
    with_rationales = sft_examples(prep["records"]["pool"], prep["pseudo"][source][:200], prep["taxonomy"],
                                   **{**prep["data_kw"], "rationale_chars": 200})
    prompts = [tokenizer.apply_chat_template(e["prompt"], tokenize=False, add_generation_prompt=True)
               for e in examples[:500]]
    return {"prompt": float(np.mean([n_tokens(t) for t in prompts])),
            "answer": float(np.mean([n_tokens(e["completion"][0]["content"]) for e in examples[:200]])),
            "answer_with_rationales": float(np.mean([n_tokens(e["completion"][0]["content"])
                                                     for e in with_rationales]))}


def training_summary(runs: Mapping[str, Mapping], curves_: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per trained student (``train``'s record, its ``curves``): training seconds, whether
    it was reused or resumed, and its first and last logged loss."""
    return pd.DataFrame({name: {"train_s": round(r["train_runtime"], 1), "reused": r["reused"],
                                "resumed_from": r["resumed_from"], "first_loss": round(curves_[name]["loss"][0], 3),
                                "last_loss": round(curves_[name]["loss"][-1], 3)} for name, r in runs.items()}).T


def training_record(runs: Mapping[str, Mapping], curves_: Mapping[str, Mapping]) -> dict[str, dict]:
    """What a results file keeps of each trained student: its ``curves``, training seconds
    (``train_runtime_s``, summed over resumed segments) and last logged step.

    >>> training_record({"sft": {"train_runtime": 12.5}}, {"sft": {"step": [10, 20], "loss": [2.0, 1.5]}})
    {'sft': {'curves': {'step': [10, 20], 'loss': [2.0, 1.5]}, 'train_runtime_s': 12.5, 'steps': 20}}
    """
    return {n: {"curves": curves_[n], "train_runtime_s": r["train_runtime"], "steps": curves_[n]["step"][-1]}
            for n, r in runs.items()}


def loss_part(curves_: Mapping[str, Mapping], part: str) -> dict[str, dict[str, list]]:
    """Each student's curve of one mean of the two-means loss (``answer_loss`` or ``record_loss``),
    as ``loss``; its logged loss where that mean was not logged.

    >>> loss_part({"sft": {"step": [10], "loss": [2.5], "answer_loss": [1.5]}}, "answer_loss")
    {'sft': {'step': [10], 'loss': [1.5]}}
    >>> loss_part({"sft": {"step": [10], "loss": [2.5]}}, "record_loss")
    {'sft': {'step': [10], 'loss': [2.5]}}
    """
    return {k: {"step": v["step"], "loss": v.get(part, v["loss"])} for k, v in curves_.items()}


def pseudo_label_predictions(profile: str, split: str) -> pd.DataFrame:
    """Notebook 03's pseudo-labels of a split as a vote table (``kept`` false: dropped, scored as
    an abstention): its fitted rule and calibration applied there, so no later stage votes again."""
    return voting.records_as_votes([obj for _, obj in records.read_jsonl(paths.pseudo_labels_path(profile, split))])


# --------------------------------------------------------------------------------------------
# one profile's students, from the notebook or from a launcher


def prepare(profile: str, p: Mapping) -> dict:
    """Sets torch's thread count (``torch_threads``; 0 keeps torch's default), and returns
    everything a profile's students are trained from: taxonomy, records, annotations (the
    teachers that labelled every user), the pool's parts (``splits.pool_parts``: SFT trains on
    ``sft`` only; ``heldout`` is where every choice is made), pseudo-labels (whole pool) and SFT
    examples (SFT part) per label source, and the untrained student's location (``base_path``;
    its tokenizer is trained on the SFT part's records), and the
    student's prompts of the held-out slice and of the test users (``user_prompts``)."""
    from confprofile import student
    from confprofile.taxonomy import load_taxonomy

    student.use_threads(p["torch_threads"])
    taxonomy = load_taxonomy(p.get("taxonomy_file"))
    recs = {split: records.read_records(paths.records_path(profile, split)) for split in ("pool", "test")}
    parts = splits.pool_parts([r["user_id"] for r in recs["pool"]], p["seed"], p["heldout_users"], p["rl_users"])
    ann = {split: records.load_annotations(profile, split) for split in ("pool", "test")}
    teachers = monitor.complete_teachers(ann["pool"])
    ann = {split: a[a["teacher"].isin(teachers)] for split, a in ann.items()}
    pseudo = {src: pseudo_labels(profile, ann["pool"], src, rule) for src, rule in label_sources(p).items()}
    data_kw = dict(max_chars=p["sft_max_chars"], max_items=p["sft_max_items"], system_prompt=p["sft_system_prompt"],
                   rationale_chars=p["sft_rationale_chars"], confidence=p["sft_confidence"], abstain=p["sft_abstain"])
    sft_users = set(parts["sft"])
    examples = {src: sft_examples(recs["pool"], [x for x in ps if x["user_id"] in sft_users], taxonomy, **data_kw)
                for src, ps in pseudo.items()}
    base_path, _ = base_student(profile, p, examples[p["sft_label_source"]], taxonomy)
    by_id = {r["user_id"]: r for r in recs["pool"]}
    heldout = user_prompts([by_id[u] for u in parts["heldout"]], taxonomy, p)
    return {"taxonomy": taxonomy, "records": recs, "parts": parts, "ann": ann, "teachers": teachers, "pseudo": pseudo,
            "data_kw": data_kw, "examples": examples, "heldout": heldout,
            "test": user_prompts(recs["test"], taxonomy, p), "base_path": base_path}


def base_student(profile: str, p: Mapping, examples: Sequence[dict], taxonomy: Taxonomy,
                 folder: str = "base") -> tuple[str, bool]:
    """The untrained student of a profile's sizes under ``runs/<p>/sft/<folder>`` (built once,
    its tokenizer trained on the examples' records), or the pretrained one it names."""
    from confprofile import student

    return student.base_student(
        paths.sft_dir(profile) / folder, p["student_model"], [e["prompt"][-1]["content"] for e in examples],
        taxonomy, p["student_vocab_size"], p["student_hidden"], p["student_layers"], p["student_heads"],
        p["student_kv_heads"], p["student_ffn"], p["sft_max_length"], p["seed"])


def variants(p: Mapping) -> dict[str, tuple[str, int]]:
    """The students a profile trains: ``name -> (label source, steps)``. ``sft`` is the main
    one; then its label-source arms (``arm_variants``).

    >>> p = {"sft_label_source": "weighted_calibrated", "sft_steps": 9, "sft_ablation_steps": 9,
    ...      "sft_ablation_sources": ["majority", "weighted_calibrated"]}
    >>> variants(p)
    {'sft': ('weighted_calibrated', 9), 'ablation_majority': ('majority', 9)}
    >>> variants({**p, "sft_ablation_steps": 4})["ablation_weighted_calibrated"]
    ('weighted_calibrated', 4)
    >>> list(variants({**p, "sft_ablation_steps": 0}))
    ['sft']
    """
    return {"sft": (p["sft_label_source"], p["sft_steps"]), **arm_variants(p)}


def arm_variants(p: Mapping) -> dict[str, tuple[str, int]]:
    """The label-source arms a profile trains beside its main student: unless
    ``sft_ablation_steps`` is 0, one ``ablation_<source>`` per source in ``sft_ablation_sources``
    at that budget, except where the main student already is that arm.

    >>> arm_variants({"sft_label_source": "weighted_calibrated", "sft_steps": 9, "sft_ablation_steps": 9,
    ...               "sft_ablation_sources": ["majority", "weighted_calibrated"]})
    {'ablation_majority': ('majority', 9)}
    """
    out = {}
    steps = p["sft_ablation_steps"]
    for src in p["sft_ablation_sources"] if steps else ():
        if (src, steps) != (p["sft_label_source"], p["sft_steps"]):
            out[f"ablation_{src}"] = (src, steps)
    return out


def ablation_arms(p: Mapping) -> dict[str, str]:
    """The label-source ablation: ``source -> the student trained on it`` at the ablation budget
    (the main student stands for its own source when the budgets are equal).

    >>> ablation_arms({"sft_label_source": "weighted_calibrated", "sft_steps": 9, "sft_ablation_steps": 9,
    ...                "sft_ablation_sources": ["majority", "weighted_calibrated"]})
    {'weighted_calibrated': 'sft', 'majority': 'ablation_majority'}
    """
    if not p["sft_ablation_steps"]:
        return {}
    return {src: name for name, (src, steps) in variants(p).items()
            if steps == p["sft_ablation_steps"] and src in p["sft_ablation_sources"]}


def train_student(p: Mapping, base_path: str | Path, examples: Sequence[dict], out_dir: str | Path, *,
                  steps: int, seed_key: str, keep_checkpoints: bool = False) -> dict:
    """Train (or resume, or reuse) one student from ``base_path`` with the profile's recipe."""
    from confprofile import student

    model, tok = student.load_student(base_path, p["student_dtype"])
    return train(model, tok, examples, out_dir, max_steps=steps,
                 batch_size=p["sft_batch_size"], grad_accum=p["sft_grad_accum"], learning_rate=p["sft_learning_rate"],
                 warmup_ratio=p["sft_warmup_ratio"], weight_decay=p["sft_weight_decay"], max_length=p["sft_max_length"],
                 record_weight=p["sft_record_weight"], seed=derive_seed(p["seed"], "sft", seed_key),
                 save_steps=p["sft_save_steps"], logging_steps=p["sft_logging_steps"], lora=p["sft_lora"],
                 gradient_checkpointing=True, progress=None, group_by_length=p["sft_group_by_length"],
                 keep_checkpoints=keep_checkpoints)


def train_variant(profile: str, p: Mapping, name: str, prep: Mapping) -> dict:
    """Train (or resume, or reuse) one of ``variants(p)`` under ``runs/<p>/sft/<name>/``; the
    main student keeps every checkpoint (its learning curve and the checkpoint choice)."""
    source, steps = variants(p)[name]
    return train_student(p, prep["base_path"], prep["examples"][source], paths.sft_dir(profile) / name,
                         steps=steps, seed_key=name, keep_checkpoints=name == "sft")


def main(argv: Sequence[str] | None = None) -> int:
    """Train a profile's students outside the notebook (e.g. under ``accelerate launch`` on
    several GPUs; notebook 04 then finds them finished and reuses them), or, with ``--trials``,
    run the label-free trials that chose the profile's student recipe and write them to
    ``results/<p>/04_sft_trials.json`` (notebook 04 shows and checks them)."""
    import argparse

    from confprofile.params import load_params
    from confprofile.provenance import save_results

    ap = argparse.ArgumentParser(prog="python -m confprofile.sft", description=main.__doc__)
    ap.add_argument("--profile", default="gpu", metavar="NAME|PATH", help="smoke, cpu, gpu or a profile file")
    ap.add_argument("--variant", action="append", metavar="NAME",
                    help="sft (the main student) or ablation_<source>; repeatable; default: all")
    ap.add_argument("--trials", action="store_true", help="run the profile's sft_trials instead")
    a = ap.parse_args(argv)
    p = load_params(a.profile)
    unknown = sorted(set(a.variant or []) - set(variants(p)))
    if unknown:
        raise UsageError(f"--variant {', '.join(unknown)}: not a student of profile {p['profile']!r} "
                         f"(it trains {', '.join(variants(p))})")
    prep = prepare(p["profile"], p)
    if a.trials:
        from confprofile import choices

        out = choices.trials(p["profile"], p, prep, log=lambda s: print(s, flush=True))
        keys = ("sft_trials", "sft_trial_steps", "heldout_users", "rl_users", "seed")
        path = save_results(p["profile"], "04_sft_trials", out, {k: p[k] for k in keys})
        print(f"chosen: {out['chosen']}; wrote {path}")
        return 0
    for name in a.variant or list(variants(p)):
        r = train_variant(p["profile"], p, name, prep)
        print(f"{name}: {'reused' if r['reused'] else 'trained'} -> {r['path']}", flush=True)
    return 0


if __name__ == "__main__":
    from confprofile.errors import run_cli

    sys.exit(run_cli(main))
