"""Notebook 05's training path as functions, and the label-free trials behind a profile's RL values.

``prepare`` reads what RL starts from (pool records, 03's pseudo-labels, the SFT student 04
chose, the pool's RL part and held-out slice) and samples the rollouts once; ``variant_votes``
votes each variant's quasi ground truth and band; ``run`` trains one variant at one seed and
chooses its checkpoint on the held-out slice, by agreement of its answers with the held-out users'
own quasi ground truth (``heldout_reference``; ``choices.choose``: the earliest within one standard
error of the best).
No true label is read anywhere here (``tests/test_label_free.py`` runs this path, the trials
included, with every such file locked); the notebook scores the chosen checkpoints on the test
split afterwards.

    python -m confprofile.rl --profile cpu --trials    # results/cpu/05_rl_trials.json

The trials (``rl_trials: {key: [values]}``, one axis changed at a time from the first values,
``choices.trial_settings``) each train the full recipe for ``rl_steps`` steps under
``runs/<p>/rl/trials/<name>/`` and are scored by their chosen checkpoint's held-out agreement;
per axis the value is chosen by the same one-standard-error rule (``choices.chosen_values``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from confprofile import choices, paths, records, rl, rules, sft, splits, student, voting
from confprofile.provenance import derive_seed
from confprofile.taxonomy import load_taxonomy

ROLLOUT_KEYS = ("heldout_users", "rl_users", "rl_rollouts", "rl_rollout_temperature", "sft_max_chars",
                "sft_max_items", "sft_system_prompt", "student_dtype", "gen_batch_size", "gen_max_new_tokens",
                "taxonomy_file")
"""The parameters the rollouts depend on: the rollouts cache is keyed on them (and the student),
so a change of learning rate, band or steps (a trial) reuses them."""

CRITERION = {"split": "heldout",
             "metric": "avg macro-F1 of the chosen checkpoint's answers against the held-out users' own quasi "
                       "ground truth: the full recipe's vote, at the profile's values, over the SFT student's "
                       "rollouts and the stage-1 pseudo-labels (03) of the first rl_heldout_users users of the "
                       "pool's held-out slice (rl_runs.heldout_reference)",
             "rule": "the first listed within one bootstrap standard error of the best"}
"""RL's label-free criterion. RL trains the student towards the quasi ground truth, so it is judged
by how well it repeats the same target on users it never trained on, as SFT is judged by how well
it repeats its own target (the pseudo-labels) on them. Agreement with the stage-1 labels alone would
judge RL by SFT's target and count every move towards the vote as a loss. The reference is built
once, from the profile's values, and is the same for every trial and variant."""


def prepare(profile: str, p: Mapping) -> dict:
    """Sets torch's threads and returns what every RL run of a profile starts from: taxonomy,
    pool records by id, stage-1 pseudo-labels (``pseudo_labels/pool.jsonl``), the rule their rollouts
    vote by (``rule``: ``rules.load(...).rollout_rule()``), the RL users
    (``train_ids``: the pool's RL part) and the held-out users answering for every choice
    (``heldout_ids``), their chat prompts, the SFT student 04 chose, its rollouts on the RL users
    (``rollouts``), the reference every choice is scored against (``reference``:
    ``heldout_reference`` of its rollouts on the held-out users; both sets of rollouts sampled once,
    cached under ``runs/<p>/rl/`` on the student and ``ROLLOUT_KEYS``), and the test users' prompts
    (``test``: ``sft.user_prompts``; evaluation reads them, nothing here does)."""
    student.use_threads(p["torch_threads"])
    taxonomy = load_taxonomy(p.get("taxonomy_file"))
    pool = {r["user_id"]: r for r in records.read_records(paths.records_path(profile, "pool"))}
    stage1 = [obj for _, obj in records.read_jsonl(paths.pseudo_labels_path(profile, "pool"))]
    rule = rules.load(profile).rollout_rule()  # notebook 03's confidence weighting, for the rollouts' vote
    parts = splits.pool_parts(list(pool), p["seed"], p["heldout_users"], p["rl_users"])  # notebook 04's split
    train_ids, heldout_ids = parts["rl"], parts["heldout"][:p["rl_heldout_users"]]
    messages = {u: sft.student_messages(pool[u], taxonomy, p["sft_max_chars"], p["sft_max_items"],
                                        p["sft_system_prompt"]) for u in train_ids + heldout_ids}
    sft_path, sft_step = choices.chosen_student(profile)
    key = derive_seed(p["seed"], choices.chosen_student_key(profile), [(k, p.get(k)) for k in ROLLOUT_KEYS]) % 16**12

    def sample(ids):
        model, tok = student.load_student(sft_path, p["student_dtype"])
        return rl.sample_rollouts(model, tok, {u: messages[u] for u in ids}, p["rl_rollouts"],
                                  p["rl_rollout_temperature"], p["seed"], p["gen_batch_size"],
                                  p["gen_max_new_tokens"], taxonomy)

    rollouts = rl.cached_rollouts(paths.rl_dir(profile), f"{key:012x}", lambda: sample(train_ids))
    heldout_rollouts = rl.cached_rollouts(paths.rl_dir(profile), f"heldout-{key:012x}", lambda: sample(heldout_ids))
    test = sft.user_prompts(records.read_records(paths.records_path(profile, "test")), taxonomy, p)
    return {"taxonomy": taxonomy, "pool": pool, "stage1": stage1, "rule": rule, "train_ids": train_ids, "heldout_ids": heldout_ids,
            "messages": messages, "sft_path": sft_path, "sft_step": sft_step, "rollouts": rollouts,
            "reference": heldout_reference(p, heldout_rollouts, stage1, rule), "test": test}


def heldout_reference(p: Mapping, heldout_rollouts, stage1: Sequence[Mapping], rule) -> list[dict]:
    """What every RL choice is scored against (``CRITERION``): the held-out users' quasi ground
    truth, voted exactly as the full recipe (the first of ``rl_variants``) votes its training users'
    (``rl.variant_votes`` at the profile's ``rl_stage1_votes`` and rule), from the SFT student's rollouts
    on those users, as pseudo-label records (``voting.pseudo_label_records``, what
    ``splits.agreement`` reads). Its band plays no part: every held-out user answers."""
    full = rl.variant(p["rl_variants"][0])
    quasi, _ = rl.variant_votes(full, heldout_rollouts, stage1, p["rl_stage1_votes"], *p["rl_band"], weighted=rule)
    return voting.pseudo_label_records(quasi)


def variant_votes(p: Mapping, prep: Mapping, names: Sequence[str]) -> dict[str, tuple]:
    """``name -> (quasi ground truth, band)`` for each variant named (``rl.variant_votes``)."""
    return {n: rl.variant_votes(rl.variant(n), prep["rollouts"], prep["stage1"], p["rl_stage1_votes"], *p["rl_band"],
                                weighted=prep["rule"]) for n in names}


def grpo_kwargs(p: Mapping) -> dict:
    """``rl.train_grpo``'s recipe keywords from a profile (everything but data, seed and folder)."""
    return dict(max_steps=p["rl_steps"], learning_rate=p["rl_learning_rate"], prompts_per_step=p["rl_prompts_per_step"],
                num_generations=p["rl_generations"], max_completion_length=p["gen_max_new_tokens"],
                temperature=p["rl_rollout_temperature"], beta=p["rl_beta"], scale_rewards=p["rl_scale_rewards"],
                save_steps=p["rl_save_steps"], lora=p["rl_lora"], use_vllm=p["rl_use_vllm"])


def run_seed(p: Mapping, k: int) -> int:
    """The training seed of repeat ``k`` (0: the profile's ``seed``; then one derived per extra
    seed in ``rl_seeds``). Rollouts, votes and bands are shared by every repeat: a repeat
    changes GRPO's sampling, data order and (for the coin) the draws, not the data.

    >>> run_seed({"seed": 0, "rl_seeds": [1, 2]}, 0), run_seed({"seed": 0, "rl_seeds": [1, 2]}, 1) > 0
    (0, True)
    """
    return p["seed"] if k == 0 else derive_seed(p["seed"], "rl_seed", p["rl_seeds"][k - 1]) % 2**31


def run_name(name: str, p: Mapping, k: int) -> str:
    """A run's folder under ``runs/<p>/rl/`` and its predictions' name after ``rl_``:
    ``conf_profile``, then ``conf_profile_seed<s>`` for each extra seed ``s``."""
    return name if k == 0 else f"{name}_seed{p['rl_seeds'][k - 1]}"


def repeats(p: Mapping, name: str) -> int:
    """How many times variant ``name`` is trained: once, plus once per ``rl_seeds`` entry when it is
    one of ``rl_seed_variants``.

    >>> repeats({"rl_seeds": [1, 2], "rl_seed_variants": ["ttrl"]}, "ttrl"), repeats({"rl_seeds": [1, 2], "rl_seed_variants": []}, "ttrl")
    (3, 1)
    """
    return 1 + (len(p["rl_seeds"]) if name in p["rl_seed_variants"] else 0)


def run(profile: str, p: Mapping, prep: Mapping, name: str, quasi, band, *, k: int = 0, folder: str | None = None) -> dict:
    """Train variant ``name`` (repeat ``k``, ``run_seed``) on its rows under ``runs/<p>/rl/<folder>``
    (default ``run_name``), or reuse it, and choose its checkpoint on the held-out slice
    (``choices.checkpoint_agreement`` with ``prep["reference"]``, ``CRITERION``; answers cached as
    ``predictions/heldout_rl_<folder>_<step>``, a ``/`` of ``folder`` written ``_``).
    The random-reward control's coin is set to the mean match reward of its own quasi labels and
    band, which are the full recipe's (``rl.match_reward_mean`` over the rollouts of the users it
    keeps). Returns ``{"run", "variant", "rows", "reward_p", "curves", "heldout", "chosen_step", "path"}``."""
    v, seed = rl.variant(name), run_seed(p, k)
    folder = folder or run_name(name, p, k)
    kept = band.loc[band["status"] == "kept", "user_id"] if v.band else prep["train_ids"]
    reward_p = (rl.match_reward_mean(prep["rollouts"], quasi, list(kept), v.weighted_reward, len(prep["taxonomy"]))
                if v.reward == "random_match" else None)
    rows = rl.variant_rows(v, prep["messages"], quasi, band, prep["train_ids"], prep["rollouts"], seed, reward_p)
    out = rl.train_grpo(prep["sft_path"], rows, prep["taxonomy"], rl.variant_rewards(v, p["rl_rewards"]),
                        paths.rl_dir(profile) / folder, seed=seed, **grpo_kwargs(p))
    ids = prep["heldout_ids"]
    scores = choices.checkpoint_agreement(profile, p, out, p["rl_steps"], ids, [prep["messages"][u] for u in ids],
                                          prep["taxonomy"], f"heldout_rl_{folder.replace('/', '_')}", prep["reference"],
                                          seed=p["seed"])
    step = choices.choose(scores)
    path = rl.checkpoints(paths.rl_dir(profile) / folder, final_step=p["rl_steps"])[step]
    return {"run": out, "variant": v.name, "rows": len(rows), "reward_p": reward_p,
            "curves": rl.reward_curves(out["log_history"]), "heldout": scores, "chosen_step": step, "path": str(path)}


def sft_heldout(profile: str, p: Mapping, prep: Mapping) -> dict:
    """The criterion (``CRITERION``, with its bootstrap ``f1_se``) for the SFT student RL starts
    from: the level every run's held-out score is read against (answers cached as
    ``predictions/heldout_rl_sft``). Not a candidate: a run's checkpoint is chosen among its own."""
    ids = prep["heldout_ids"]
    pred = student.cached_predict(profile, "heldout_rl_sft", prep["sft_path"], ids, [prep["messages"][u] for u in ids],
                                  prep["taxonomy"], **student.generation(p))
    return splits.agreement(pred, prep["reference"], {a.name: list(a.labels) for a in prep["taxonomy"]}, n_boot=200,
                            seed=p["seed"])


def run_all(profile: str, p: Mapping, prep: Mapping, quasi: Mapping, band: Mapping) -> dict[str, dict]:
    """Every run of a profile (``run``): each of ``rl_variants`` with its quasi labels and band,
    repeated ``repeats`` times; ``run_name -> run``'s record, in that order."""
    return {run_name(n, p, k): run(profile, p, prep, n, quasi[n], band[n], k=k)
            for n in p["rl_variants"] for k in range(repeats(p, n))}


def model_name(run: str) -> str:
    """The name of a run's test predictions (``runs/<p>/predictions/<name>.parquet``).

    >>> model_name("conf_profile"), model_name("conf_profile_seed1")
    ('rl_conf_profile', 'rl_conf_profile_seed1')
    """
    return f"rl_{run}"


def seed_models(p: Mapping) -> dict[str, list[str]]:
    """Per variant of ``rl_variants``, the names of its runs' test predictions, one per training
    seed (``run_name``, ``model_name``).

    >>> seed_models({"rl_variants": ["conf_profile", "ttrl"], "rl_seeds": [1], "rl_seed_variants": ["conf_profile"]})
    {'conf_profile': ['rl_conf_profile', 'rl_conf_profile_seed1'], 'ttrl': ['rl_ttrl']}
    """
    return {n: [model_name(run_name(n, p, k)) for k in range(repeats(p, n))] for n in p["rl_variants"]}


def run_predictions(profile: str, p: Mapping, runs: Mapping[str, Mapping], prep: Mapping) -> dict:
    """``model_name -> test predictions`` of every run's chosen checkpoint (``student.predict_runs``:
    cached: generated again when its weights changed), on ``prep["test"]``'s users."""
    chosen = {model_name(n): {"path": r["path"]} for n, r in runs.items()}
    return student.predict_runs(profile, chosen, prep["test"]["user_ids"], prep["test"]["messages"], prep["taxonomy"],
                                **student.generation(p))


def trials(profile: str, p: Mapping, prep: Mapping, log=print) -> dict:
    """Run every trial of ``choices.trial_settings(p, "rl_trials")`` on the full recipe (the
    first of ``rl_variants``); returns ``{"trials": [...], "chosen": {key: value}, "criterion"}``."""
    full = p["rl_variants"][0]
    axes = p.get("rl_trials") or {}
    out = []
    for name, setting in choices.trial_settings(p, "rl_trials").items():
        q = {**p, **setting}
        quasi, band = variant_votes(q, prep, [full])[full]
        r = run(profile, q, prep, full, quasi, band, folder=f"trials/{name}")
        best = r["heldout"][r["chosen_step"]]
        rec = {"name": name, "setting": dict(setting), **CRITERION, "value": best["f1"], "se": best.get("f1_se"),
               **best, "chosen_step": r["chosen_step"], "steps": q["rl_steps"], "rows": r["rows"],
               "train_minutes": (r["run"]["train_runtime"] or 0.0) / 60}
        log(f"trial {name}: held-out F1 {rec['f1']:.4f} (se {rec['se']:.4f}) at step {rec['chosen_step']}, "
            f"{rec['train_minutes']:.1f} min")
        out.append(rec)
    return {"trials": out, "chosen": choices.chosen_values(out, axes), "criterion": CRITERION}


def recorded_trials(profile: str) -> dict:
    """The RL trials recorded for a profile (``results/<p>/05_rl_trials.json``, written by
    ``python -m confprofile.rl --trials``), or an empty record when none were run."""
    f = paths.results_dir(profile) / "05_rl_trials.json"
    if not f.is_file():
        return {"trials": [], "chosen": {}, "criterion": CRITERION}
    return json.loads(f.read_text(encoding="utf-8"))["results"]


TRIAL_KEYS = ("rl_trials", "rl_variants", "rl_steps", "heldout_users", "rl_users", "rl_heldout_users", "seed")
"""The parameters a trials file records: the grid and what every trial shares."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run a profile's label-free RL trials (``rl_trials``) and write them to
    ``results/<p>/05_rl_trials.json``; notebook 05 shows them and checks the profile states the
    values they chose."""
    import argparse

    from confprofile.params import load_params
    from confprofile.provenance import save_results

    ap = argparse.ArgumentParser(prog="python -m confprofile.rl", description=main.__doc__)
    ap.add_argument("--profile", default="cpu", metavar="NAME|PATH", help="smoke, cpu, gpu or a profile file")
    ap.add_argument("--trials", action="store_true", required=True, help="run the profile's rl_trials")
    a = ap.parse_args(argv)
    p = load_params(a.profile)
    prep = prepare(p["profile"], p)
    out = trials(p["profile"], p, prep, log=lambda s: print(s, flush=True))
    path = save_results(p["profile"], "05_rl_trials", out, {k: p.get(k) for k in TRIAL_KEYS})
    print(f"chosen: {out['chosen']}; wrote {path}")
    return 0
