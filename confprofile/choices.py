"""Every training choice made without labels: the held-out criterion, the learning curve and
the checkpoint chosen on it, and the trials that chose a profile's student recipe.

The pool's held-out slice (``splits.pool_parts``: users neither SFT nor RL trains on) answers;
a student is scored by how well it repeats the slice's kept pseudo-labels (notebook 03's), as
average macro-F1 with the pseudo-label as the reference (``splits.agreement``). No true label is
read here (``tests/test_label_free.py`` checks the source; a notebook test runs the trials with
every evaluation file locked). True labels score the final students once, in the notebooks'
evaluation cells.

    python -m confprofile.sft --profile cpu --trials    # the trials: results/cpu/04_sft_trials.json

>>> choose({200: {"f1": 0.4}, 400: {"f1": 0.5}, 600: {"f1": 0.5}})  # ties: the earlier, the cheaper
400
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from confprofile import checkpoints, paths, splits, student
from confprofile.errors import ParamsError
from confprofile.sft import base_student, sft_examples, train_student, variants
from confprofile.taxonomy import Taxonomy


def heldout_score(pred: pd.DataFrame, prep: Mapping, n_boot: int = 200) -> dict:
    """The label-free criterion every SFT choice is made by: ``splits.agreement`` of a held-out
    prediction table with 03's pseudo-labels of those users, with its bootstrap standard error."""
    labels = {a.name: list(a.labels) for a in prep["taxonomy"]}
    return splits.agreement(pred, prep["pseudo"]["weighted_calibrated"], labels, n_boot=n_boot)


CRITERION = {"split": "heldout", "metric": "avg macro-F1 against the kept pseudo-labels (03) of the held-out slice",
             "rule": "the first listed within one bootstrap standard error of the best"}


def checkpoint_predictions(profile: str, p: Mapping, run: Mapping, final_step: int, user_ids: Sequence[str],
                           messages: Sequence[list[dict]], taxonomy: Taxonomy,
                           cache: str | None = None) -> dict[int, pd.DataFrame]:
    """Greedy predictions of every saved checkpoint of a run on the given users: ``step ->
    prediction table``. ``run`` is what ``sft.train`` or ``rl.train_grpo`` returns (``path``: its
    ``final`` model, standing for ``final_step``). With ``cache``, each table is kept as
    ``runs/<p>/predictions/<cache>_<step>.parquet`` (``student.cached_predict``: generated again
    when the checkpoint's weights changed); without, generated on each call. SFT's learning curve, RL's checkpoint choice
    (``checkpoint_agreement``) and the notebooks' F1 by checkpoint read them."""
    gen = student.generation(p)
    out = {}
    for step, path in checkpoints.saved(Path(run["path"]).parent, final_step=final_step).items():
        out[step] = (student.predict(path, user_ids, messages, taxonomy, **gen) if cache is None else
                     student.cached_predict(profile, f"{cache}_{step}", path, user_ids, messages, taxonomy, **gen))
    return out


def checkpoint_agreement(profile: str, p: Mapping, run: Mapping, final_step: int, user_ids: Sequence[str],
                         messages: Sequence[list[dict]], taxonomy: Taxonomy, cache: str, reference: Sequence[Mapping],
                         *, n_boot: int = 200, seed: int = 0) -> dict[int, dict]:
    """The label-free criterion at every checkpoint of a run: ``step -> splits.agreement`` (with
    its bootstrap ``f1_se``) of the checkpoint's answers (``checkpoint_predictions``, cached under
    ``cache``) with ``reference``, the pseudo-label records of those held-out users. SFT's
    learning curve (``heldout_curve``) and RL's checkpoint choice (``rl_runs.run``) both read it."""
    labels = {a.name: list(a.labels) for a in taxonomy}
    pred = checkpoint_predictions(profile, p, run, final_step, user_ids, messages, taxonomy, cache)
    return {step: splits.agreement(t, reference, labels, n_boot=n_boot, seed=seed) for step, t in pred.items()}


def heldout_curve(profile: str, p: Mapping, prep: Mapping, run: Mapping, name: str = "sft") -> dict[int, dict]:
    """The held-out criterion (``heldout_score``) at every checkpoint of student ``name``: the
    learning curve without labels, and what the checkpoint choice (``choose``) reads; answers
    cached as ``predictions/heldout_<name>_<step>``."""
    return checkpoint_agreement(profile, p, run, variants(p)[name][1], prep["heldout"]["user_ids"],
                                prep["heldout"]["messages"], prep["taxonomy"], f"heldout_{name}",
                                prep["pseudo"]["weighted_calibrated"])


def save_choice(profile: str, run: Mapping, step: int, steps: int) -> Path:
    """Record the checkpoint chosen without labels as the student later stages start from
    (``runs/<p>/sft/student.json``: its path relative to the run folder, and its step)."""
    folder = Path(run["path"]).parent
    path = checkpoints.saved(folder, final_step=steps)[step]
    out = paths.sft_dir(profile) / "student.json"
    out.write_text(json.dumps({"path": path.relative_to(paths.sft_dir(profile)).as_posix(), "step": int(step)},
                              indent=1) + "\n", encoding="utf-8")
    return out


def choose_student(profile: str, p: Mapping, prep: Mapping, run: Mapping) -> tuple[dict[int, dict], int]:
    """Notebook 04's checkpoint choice for the main student's ``run``: its held-out learning curve
    (``heldout_curve``), the step ``choose`` picks on it, recorded as the student later stages
    start from (``save_choice``). Returns ``(curve, step)``."""
    curve = heldout_curve(profile, p, prep, run)
    step = choose(curve)
    save_choice(profile, run, step, variants(p)["sft"][1])
    return curve, step


def chosen_student(profile: str) -> tuple[Path, int]:
    """The SFT student notebook 04 chose (``save_choice``): its folder and step."""
    rec = json.loads((paths.sft_dir(profile) / "student.json").read_text(encoding="utf-8"))
    return paths.sft_dir(profile) / rec["path"], int(rec["step"])


def chosen_student_key(profile: str) -> str:
    """A text that changes whenever the chosen student does (its record and its run's training
    log): what a later stage keys its caches on."""
    path, step = chosen_student(profile)
    log = path.parent / "final" / "train_log.json"
    return json.dumps([path.relative_to(paths.sft_dir(profile)).as_posix(), step,
                       log.read_text(encoding="utf-8") if log.is_file() else None])


def choose(scores: Mapping[object, Mapping], key: str = "f1"):
    """The setting chosen on the held-out slice: the first listed (the base value, the earlier
    checkpoint) whose score is within one standard error of the best (``<key>_se``, from
    ``splits.agreement``'s bootstrap over held-out users; 0 where not given). Differences inside
    the metric's own noise do not move a value away from the base, or a run to more steps.

    >>> choose({200: {"f1": 0.40}, 400: {"f1": 0.50}, 600: {"f1": 0.51}})
    600
    >>> choose({200: {"f1": 0.40, "f1_se": 0.02}, 400: {"f1": 0.50, "f1_se": 0.02}, 600: {"f1": 0.51, "f1_se": 0.02}})
    400
    """
    best = max(scores, key=lambda k: scores[k][key])
    floor = scores[best][key] - scores[best].get(f"{key}_se", 0.0)
    return next(k for k, v in scores.items() if v[key] >= floor)


# --------------------------------------------------------------------------------------------
# label-free trials: how each value of the student's recipe in a profile was chosen


def trial_settings(p: Mapping, grid: str = "sft_trials") -> dict[str, dict]:
    """The trials a profile lists (``sft_trials: {key: [values]}``; RL's: ``grid="rl_trials"``), one axis at a time: ``base``
    takes each axis's first value, every other trial changes one axis to one of its other values.
    Returns ``name -> {key: value}`` (every axis's key, so each trial is self-describing); keys
    not listed keep the profile's values. Running the trials again gives the same grid whatever
    the profile's current values, which the trials chose.

    >>> trial_settings({"sft_trials": {"sft_learning_rate": [0.002, 0.001], "sft_abstain": [True, False]},
    ...                 "sft_learning_rate": 0.002, "sft_abstain": True})  # doctest: +NORMALIZE_WHITESPACE
    {'base': {'sft_learning_rate': 0.002, 'sft_abstain': True},
     'sft_learning_rate=0.001': {'sft_learning_rate': 0.001, 'sft_abstain': True},
     'sft_abstain=false': {'sft_learning_rate': 0.002, 'sft_abstain': False}}
    """
    axes = p.get(grid) or {}
    for key, values in axes.items():
        if key not in p:
            raise ParamsError(f"{grid}: {key!r} is not a profile parameter")
        if not isinstance(values, list) or not values:
            raise ParamsError(f"{grid}: {key!r} needs a list of values, the first the base's")
    base = {key: values[0] for key, values in axes.items()}
    out = {"base": base}
    for key, values in axes.items():
        for v in values[1:]:
            out[f"{key}={json.dumps(v)}"] = {**base, key: v}
    return out


SIZE_KEYS = ("student_hidden", "student_layers", "student_heads", "student_kv_heads", "student_ffn",
             "student_vocab_size")


def run_trial(profile: str, p: Mapping, prep: Mapping, name: str, setting: Mapping) -> dict:
    """Train one trial student (the profile's recipe changed by ``setting``) on the SFT part for
    ``sft_trial_steps`` steps under ``runs/<p>/sft/trials/<name>/`` and score it on the held-out
    slice (``heldout_score``). Resumes and reuses like every student. Returns the trial record."""
    q = {**p, **setting}
    data_kw = dict(prep["data_kw"], abstain=q["sft_abstain"], confidence=q["sft_confidence"])
    users = set(prep["parts"]["sft"])
    pseudo = [x for x in prep["pseudo"][q["sft_label_source"]] if x["user_id"] in users]
    examples = sft_examples(prep["records"]["pool"], pseudo, prep["taxonomy"], **data_kw)
    folder = paths.sft_dir(profile) / "trials" / name
    base = prep["base_path"]
    if any(q[k] != p[k] for k in SIZE_KEYS):
        base, _ = base_student(profile, q, examples, prep["taxonomy"], folder=f"trials/{name}/base")
    run = train_student(q, base, examples, folder, steps=q["sft_trial_steps"], seed_key="trial")
    pred = student.cached_predict(profile, f"heldout_trial_{name}", run["path"], prep["heldout"]["user_ids"],
                                  prep["heldout"]["messages"], prep["taxonomy"],
                                  **student.generation(q))
    return {"name": name, "setting": dict(setting), **CRITERION, **heldout_score(pred, prep),
            "steps": q["sft_trial_steps"], "train_minutes": run["train_runtime"] / 60,
            "abstention_rate": float(pred["abstained"].mean()),
            "parse_failure_rate": float((~pred["ok"] & ~pred["abstained"]).mean())}


def trials(profile: str, p: Mapping, prep: Mapping, log=print) -> dict:
    """Run every trial of ``trial_settings(p)``; returns ``{"trials": [...], "chosen": {key: value}}``
    where ``chosen`` holds, per axis, the value with the best held-out score (ties: the first
    listed); the profile then states those values (a test checks that it does)."""
    settings = trial_settings(p)
    records_ = []
    for name, setting in settings.items():
        r = run_trial(profile, p, prep, name, setting)
        log(f"trial {name}: held-out F1 {r['f1']:.4f}, agreement {r['agreement']:.4f}, "
            f"{r['train_minutes']:.1f} min")
        records_.append(r)
    return {"trials": records_, "chosen": chosen_values(records_, p.get("sft_trials") or {}), "criterion": CRITERION,
            "steps": p["sft_trial_steps"]}


def chosen_values(records_: Sequence[Mapping], axes: Mapping[str, list]) -> dict:
    """Per axis of a trial grid, the value ``choose`` picks among the base trial and the trials
    that change that axis alone (each record: ``setting`` and the ``f1``/``f1_se`` it scored).

    >>> recs = [{"setting": {"lr": 1, "b": 0}, "f1": 0.5}, {"setting": {"lr": 2, "b": 0}, "f1": 0.6},
    ...         {"setting": {"lr": 1, "b": 1}, "f1": 0.4}]
    >>> chosen_values(recs, {"lr": [1, 2], "b": [0, 1]})
    {'lr': 2, 'b': 0}
    """
    base = {key: values[0] for key, values in axes.items()}
    chosen = {}
    for key, values in axes.items():
        cands = {json.dumps(v): r for v in values for r in records_ if r["setting"][key] == v
                 and all(r["setting"][k] == base[k] for k in base if k != key)}
        chosen[key] = json.loads(choose(cands))
    return chosen


def recorded_trials(profile: str) -> dict:
    """The label-free trials recorded for a profile (``results/<p>/04_sft_trials.json``, written
    by ``python -m confprofile.sft --trials``), or an empty record when none were run."""
    f = paths.results_dir(profile) / "04_sft_trials.json"
    if not f.is_file():
        return {"trials": [], "chosen": {}, "criterion": CRITERION, "steps": None}
    return json.loads(f.read_text(encoding="utf-8"))["results"]


def differs_from(p: Mapping, recorded: Mapping) -> dict:
    """The values a profile states that differ from what its recorded trials chose (``trials``'s
    or ``rl_runs.trials``'s ``chosen``): ``{key: (profile's value, chosen value)}``; empty when the
    profile states what they chose (a notebook asserts it).

    >>> differs_from({"sft_learning_rate": 0.002, "sft_abstain": True},
    ...              {"chosen": {"sft_learning_rate": 0.001, "sft_abstain": True}})
    {'sft_learning_rate': (0.002, 0.001)}
    """
    return {k: (p.get(k), v) for k, v in recorded["chosen"].items() if p.get(k) != v}
