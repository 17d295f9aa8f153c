"""The README's results section, written from the results files: no number in it is typed by hand.

    python -m confprofile.readme            # rewrite README.md between the markers (cpu profile)
    python -m confprofile.readme --check    # exit 1, with a diff, if README.md's section is not current

``tests/test_readme.py`` runs the check, so a number that drifts from ``results/<p>/*.json`` (or a
hand edit inside the markers) fails CI. Every difference is printed with the interval its own
notebook computed (``results.claims``: ``<name>`` and ``<name>_ci``), never recomputed here.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from confprofile import paths
from confprofile.provenance import load_results

BEGIN = "<!-- results:begin (written by `python -m confprofile.readme` from results/cpu/*.json; do not edit) -->"
END = "<!-- results:end -->"
BLOGS_BEGIN = ("<!-- blogs:begin (written by `python -m confprofile.readme` from results/blogs/results/*.json; "
               "do not edit) -->")
BLOGS_END = "<!-- blogs:end -->"
BLOGS = Path("results") / "blogs" / "results"  # examples/blogs/blogs.yaml's outputs (numbers and figures only)
NOTEBOOKS = ("02_label_synthesis", "03_voting_and_calibration", "04_sft_distillation", "05_confidence_guided_rl",
             "06_f1_analysis")



def mix_said(r2: dict, params2: dict) -> str:
    """What the personas know together (02's ``persona_mix``), or nothing without personas.

    >>> m = {"union_coverage": 0.895, "plurality_correct": 0.711, "associations": 429}
    >>> print(mix_said({"persona_mix": {"shared": m, "independent": {**m, "union_coverage": 0.995}}},
    ...                {"persona_shared_blind_spot": 0.1}))  # doctest: +NORMALIZE_WHITESPACE
     The personas share a blind spot (`persona_shared_blind_spot` 0.1): together they know 89.5% of the world's 429
     phrase and phone associations, and their plurality files 71.1% under the world's own label (with blind spots
     drawn independently: 99.5% and 71.1%).
    >>> mix_said({"persona_mix": {}}, {})
    ''
    """
    mix = r2.get("persona_mix", {})
    if not mix.get("shared"):
        return ""
    m, m0 = mix["shared"], mix["independent"]
    return (f" The personas share a blind spot (`persona_shared_blind_spot` {params2['persona_shared_blind_spot']:g}): "
            f"together they know {m['union_coverage']:.1%} of the world's {m['associations']} phrase and phone "
            f"associations, and their plurality files {m['plurality_correct']:.1%} under the world's own label (with "
            f"blind spots drawn independently: {m0['union_coverage']:.1%} and {m0['plurality_correct']:.1%}).")

def f1(x: float) -> str:
    """A level, one decimal.

    >>> f1(58.688782)
    '58.7'
    """
    return f"{x:.1f}"


def pct(x: float) -> str:
    """A share as a percentage, no decimals.

    >>> pct(0.2914)
    '29%'
    """
    return f"{100 * x:.0f}%"


def delta(claims: Mapping, key: str) -> str:
    """A difference with its interval and which way it went, from a notebook's claims.

    >>> delta({"a_minus_b_f1": 1.234, "a_minus_b_f1_ci": [0.51, 2.0]}, "a_minus_b_f1")
    '**+1.2 [+0.5, +2.0]** (ahead)'
    >>> delta({"a_minus_b_f1": -0.2, "a_minus_b_f1_ci": [-0.9, 0.4]}, "a_minus_b_f1")
    '**−0.2 [−0.9, +0.4]** (not distinguishable)'
    """
    lo, hi = claims[key + "_ci"]
    way = "ahead" if lo > 0 else "behind" if hi < 0 else "not distinguishable"
    return f"**{_signed(claims[key])} [{_signed(lo)}, {_signed(hi)}]** ({way})"


def _signed(x: float) -> str:
    return f"{x:+.1f}".replace("-", "−")


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"



def trade_off_said(curves: Mapping[str, Mapping]) -> str:
    """The paper's calibration claim against 03's threshold curves: the best F1 each series reaches
    over confidence thresholds (a reading without an interval, not a claim).

    >>> print(trade_off_said({"vote": {"f1": [50.0, 52.0, None]}, "vote + isotonic": {"f1": [50.0, 51.0]}}))
    ... # doctest: +NORMALIZE_WHITESPACE
     Over confidence thresholds the best F1 of the vote is 52.0, vote + isotonic 51.0: no calibrated curve rises
     above the uncalibrated vote's, so the paper's claim that calibration improves the precision/recall trade-off
     is not reproduced here.
    """
    best = {k: max(x for x in v["f1"] if x is not None) for k, v in curves.items() if any(x is not None for x in v["f1"])}
    if "vote" not in best or len(best) < 2:
        return ""
    above = [k for k, v in best.items() if k != "vote" and v > best["vote"]]
    verdict = (f"{', '.join(above)} rises above the uncalibrated vote's (without an interval: a reading)" if above else
               "no calibrated curve rises above the uncalibrated vote's, so the paper's claim that calibration "
               "improves the precision/recall trade-off is not reproduced here")
    others = ", ".join(f"{k} {f1(v)}" for k, v in best.items() if k != "vote")
    return f" Over confidence thresholds the best F1 of the vote is {f1(best['vote'])}, {others}: {verdict}."


def rl_heldout_said(r5: Mapping, full: str) -> str:
    """05's label-free reading: its held-out criterion for the SFT student and for the runs' chosen
    checkpoints (``rl_runs.CRITERION``), or nothing where 05 did not record the SFT student's.

    >>> rl_heldout_said({"heldout_agreement_sft": {"f1": 0.8358}, "chosen_step": {"a": 5, "b": 10},
    ...                  "heldout_agreement": {"a": {"5": 0.835, "10": 0.83}, "b": {"5": 0.82, "10": 0.8404}}}, "a")
    ... # doctest: +NORMALIZE_WHITESPACE
    ". Label-free, against the held-out users' own quasi ground truth (05's criterion, F1 0 to 1): the SFT
    student 0.836, the full recipe's chosen checkpoint 0.835, the runs' chosen checkpoints 0.835 to 0.840"
    """
    if "heldout_agreement_sft" not in r5:
        return ""
    chosen = {n: r5["heldout_agreement"][n][str(s)] for n, s in r5["chosen_step"].items()}
    return (". Label-free, against the held-out users' own quasi ground truth (05's criterion, F1 0 to 1): the SFT "
            f"student {r5['heldout_agreement_sft']['f1']:.3f}, the full recipe's chosen checkpoint {chosen[full]:.3f}, "
            f"the runs' chosen checkpoints {min(chosen.values()):.3f} to {max(chosen.values()):.3f}")


def section(profile: str = "cpu") -> str:
    """The results section's Markdown for a profile, from its results files."""
    r2, r3, r4, r5, r6 = (load_results(profile, nb) for nb in NOTEBOOKS)
    params2, params5 = (json.loads((paths.results_dir(profile) / f"{nb}.json").read_text(encoding="utf-8"))["params"]
                        for nb in (NOTEBOOKS[0], NOTEBOOKS[3]))
    c3, c4, c5, c6 = r3["claims"], r4["claims"], r5["claims"], r6["claims"]
    teachers = sorted(((t, s["avg_f1"]) for t, s in r2["teacher_f1"].items()), key=lambda x: -x[1])
    ref = r2["reference_f1"]
    fmt = r2["format"]
    t4 = r4["table"]
    chosen = r3["names"][c3["chosen_rule"]]
    ece_word = "lowers" if c3["isotonic_ece"] < c3["chosen_ece"] else "raises"
    trials = r4["sft_trials"]
    trial_lines = [f"| {t['name']} | {t['f1']:.3f} | {t['agreement']:.3f} | {pct(t['abstention_rate'])} "
                   f"| {t['train_minutes']:.1f} |" for t in trials["trials"]]
    ablation = ", ".join(f"{s} {f1(v)}" for s, v in r4["label_source_ablation"].items())
    out = [
        BEGIN,
        f"All numbers below are read from `results/{profile}/*.json` (seed 0) by `python -m confprofile.readme`; every "
        "difference is average macro-F1 points over the attributes on the test users, with the paired bootstrap 95% "
        "interval its own notebook computed. The chance floor: uniform random "
        f"{f1(ref['uniform_random']['avg_f1'])}, majority class {f1(ref['majority_class']['avg_f1'])}.",
        "",
        "**Teachers and the vote (02, 03).** Single-sample F1 of the teachers: "
        + ", ".join(f"{t} {f1(s)}" for t, s in teachers)
        + f" (SmolLM2-135M: {pct(1 - fmt.get('smollm2', {}).get('parse_failure_rate', 1.0))} of its answers parsed"
        f" on {r2['teacher_f1'].get('smollm2', {}).get('n_users', 0)} users)." + mix_said(r2, params2)
        + " The label-free choice of vote rule "
        f"({chosen}) reaches {f1(c3['chosen_avg_f1'])}: {delta(c3, 'vote_minus_best_single_f1')} over one sample "
        f"of the best single teacher ({c3['best_single_teacher_by_gold']}, the strongest by gold: a reference), "
        f"{delta(c3, 'vote_minus_best_teacher_sc_f1')} over that teacher's own self-consistency at the same number "
        f"of samples, and {delta(c3, 'chosen_minus_majority_f1')} over plain majority voting. Dawid–Skene against "
        f"the label-free choice: {delta(c3, 'dawid_skene_minus_chosen_f1')}"
        + (f"; one-coin Dawid–Skene: {delta(c3, 'one_coin_minus_chosen_f1')}" if "one_coin_minus_chosen_f1" in c3 else "")
        + f". Calibration, chosen without labels: {r3['names'][r3['final_method']]}; it keeps {pct(r3['pseudo_labels']['kept_share'])} "
        f"of pool pairs; on all test pairs, dropped ones counted as abstentions, it scores "
        f"{delta(c3, 'final_minus_chosen_f1')} against the uncalibrated vote, and the pairs it keeps score "
        f"{f1(c3['final_avg_f1_kept'])}. Isotonic confidence calibration {ece_word} the vote's ECE "
        f"({c3['chosen_ece']:.3f} → {c3['isotonic_ece']:.3f})." + trade_off_said(r3.get("threshold_curves_test", {})),
        "",
        f"**The student (04).** {r4['n_params']:,} parameters, trained from scratch on the "
        f"{r4['pool_parts']['sft']:,} users of the pool's SFT part for {r4['training']['sft']['steps']} steps "
        f"({c4['sft_train_minutes']:.1f} min of training); the checkpoint at step {c4['chosen_step']} was chosen "
        f"on the {r4['pool_parts']['heldout']} held-out pool users (held-out F1 against their pseudo-labels "
        f"{100 * c4['sft_heldout_f1']:.1f}). On the test users it scores {f1(t4['sft']['avg_f1'])}: "
        f"{delta(c4, 'sft_minus_uniform_f1')} over uniform random, {delta(c4, 'sft_minus_base_f1')} over its "
        f"untrained base, {delta(c4, 'sft_minus_classical_f1')} against the TF-IDF + logistic-regression student "
        f"on the same labels ({f1(t4['classical']['avg_f1'])}) and {delta(c4, 'sft_minus_pseudo_labels_f1')} "
        f"against the pseudo-labels it was taught ({f1(t4['pseudo_labels']['avg_f1'])}). Attributes where it is at "
        f"or below uniform random: {_names(c4['sft_below_uniform_attributes'])}. It scores "
        f"{f1(c4['sft_explicit_clue_f1'])} on explicit clues and {f1(c4['sft_no_clue_f1'])} where the record has "
        f"none, and abstains on {pct(c4['sft_abstention_rate'])} of pairs (the pseudo-labels on "
        f"{pct(t4['pseudo_labels']['abstention_rate'])}). Label sources ({c4['label_source_student']} students): "
        f"{ablation}; best {c4['best_label_source']}, {delta(c4, 'best_minus_worst_label_source_f1')} over "
        f"{c4['worst_label_source']}.",
        "",
    ]
    if trial_lines:
        out += [f"How the student's recipe was chosen, without labels (`results/{profile}/04_sft_trials.json`, "
                f"{trials['steps']} steps each; `f1`: average macro-F1 against the held-out slice's kept "
                "pseudo-labels):", "",
                "| trial | held-out F1 | agreement | abstains | train min |", "|---|---|---|---|---|",
                *trial_lines, "",
                "Chosen: " + ", ".join(f"`{k}: {json.dumps(v)}`" for k, v in trials["chosen"].items()) + ".", ""]
    rl_rows = [(k, k.removesuffix("_minus_full_f1").replace("_", " ")) for k in c5 if k.endswith("_minus_full_f1")
               and not k.endswith("_ci")]
    out += [
        f"**Confidence-guided RL (05).** SFT+RL − SFT: {delta(c5, 'rl_minus_sft_f1')}; Conf-Profile − TTRL: "
        f"{delta(c5, 'rl_minus_ttrl_f1')}"
        + "".join(f"; − {name}: {delta(c5, k)}" for k, name in (("rl_minus_vote_share_f1", "the vote-share baseline"),
                                                               ("rl_minus_random_reward_f1", "the random-reward control"))
                  if k in c5)
        + (f"; the random-reward control − SFT: {delta(c5, 'random_reward_minus_sft_f1')}"
           if "random_reward_minus_sft_f1" in c5 else "")
        + (f". Over {len(c5['rl_minus_sft_f1_seeds'])} training seeds SFT+RL − SFT was "
           + ", ".join(_signed(v) for v in c5["rl_minus_sft_f1_seeds"])
           + f" (mean {delta(c5, 'rl_minus_sft_f1_seed_mean')}, standard deviation "
           f"{c5['rl_minus_sft_f1_seed_sd']:.2f})" if "rl_minus_sft_f1_seed_sd" in c5 else "")
        + rl_heldout_said(r5, params5["rl_variants"][0])
        + ". Each confidence component removed in turn, minus the full recipe: "
        + "; ".join(f"{name} {delta(c5, k)}" for k, name in rl_rows)
        + f". Attributes RL lowered by more than 3 points against SFT (06): {_names(c6.get('rl_fell_attributes', []))}.",
        "",
        "| | avg F1 | − base |",
        "|---|---|---|",
    ]
    minus_base = {"SFT student": (c4, "sft_minus_base_f1"), "SFT+RL student": (c6, "final_minus_base_f1")}  # its owner's
    for name, row in r6["main_table"].items():
        out.append(f"| {name} | {f1(row['avg F1'])} | {delta(*minus_base[name]) if name in minus_base else ''} |")
    out += [f"| the paper, Qwen3-8B | (not given in the abstract) | **+{c6['paper_gain_f1']:.2f}** "
            f"({c6['paper_avg_f1_secondary']:.2f} average F1, a secondary summary) |", "",
            f"The final student against the best single teacher ({c6['best_teacher']}, chosen by gold): "
            f"{delta(c6, 'final_minus_best_teacher_f1')}; against its pseudo-labels: "
            f"{delta(c6, 'final_minus_pseudo_labels_f1')}.", END]
    return "\n".join(out)


def _blogs(name: str) -> dict:
    return json.loads((Path(paths.root()) / BLOGS / f"{name}.json").read_text(encoding="utf-8"))["results"]


def blogs_section() -> str:
    """The "On real users" table and its differences, from the blog sample's results files."""
    r2, r3, r4, r5, r6 = (_blogs(nb) for nb in NOTEBOOKS)
    c3, c4, c5 = r3["claims"], r4["claims"], r5["claims"]
    attrs = list(r2["reference_f1"]["uniform_random"]["f1"])
    n_test = r2["reference_f1"]["uniform_random"]["n_users"]
    t4, t3, rep = r4["table"], r3["table"], r6["report"]
    rows = {"uniform random (chance)": r2["reference_f1"]["uniform_random"],
            "majority class (chance)": r2["reference_f1"]["majority_class"],
            **{f"teacher: {t} (one sample" + (f", {s['n_users']} users)" if s["n_users"] < n_test else ")"): s
               for t, s in sorted(r2["teacher_f1"].items())},
            f"vote: {r3['names'][c3['chosen_rule']]} (label-free choice)": t3[c3["chosen_rule"]],
            f"pseudo-labels ({r3['names'][r3['final_method']]})": t4["pseudo_labels"],
            "classical student (TF-IDF + LR on pseudo-labels)": t4["classical"],
            "SFT student": t4["sft"], "SFT+RL student": rep[r6["claims"]["final_model"]]}
    if "supervised_reference" in rep:
        rows["supervised reference (TF-IDF + LR on pool gold)"] = rep["supervised_reference"]
    out = [BLOGS_BEGIN, "| | " + " | ".join(attrs) + " | avg F1 |", "|---" * (len(attrs) + 2) + "|"]
    out += [f"| {name} | " + " | ".join(f1(r["f1"][a]) for a in attrs) + f" | {f1(r['avg_f1'])} |"
            for name, r in rows.items()]
    warnings = r3["health"]["warnings"]
    out += ["",
            f"Vote against one sample of the best teacher by gold ({c3['best_single_teacher_by_gold']}): "
            f"{delta(c3, 'vote_minus_best_single_f1')}; against its own self-consistency: "
            f"{delta(c3, 'vote_minus_best_teacher_sc_f1')}; the label-free rule against majority voting: "
            f"{delta(c3, 'chosen_minus_majority_f1')} (the best rule by gold: "
            f"{t3[max((k for k in t3 if k in r3['names'] and not k.startswith('chosen_')), key=lambda k: t3[k]['avg_f1'])]['name']}); "
            f"calibration against the uncalibrated vote: {delta(c3, 'final_minus_chosen_f1')}. "
            f"The SFT student ({r4['training']['sft']['steps']} steps) against uniform random: "
            f"{delta(c4, 'sft_minus_uniform_f1')}; RL against SFT: {delta(c5, 'rl_minus_sft_f1')}. "
            f"Label sources ({c4['label_source_student']} students): best {c4['best_label_source']}, "
            f"{delta(c4, 'best_minus_worst_label_source_f1')} over {c4['worst_label_source']}.",
            "", "Health warnings notebook 03 printed (label-free):", ""]
    out += [f"- {w}" for w in warnings] or ["- none"]
    return "\n".join(out + [BLOGS_END])


def replaced(readme: str, new_section: str, begin: str = BEGIN, end: str = END) -> str:
    """``readme`` with the text between the markers (inclusive) replaced by ``new_section``.

    >>> replaced(f"a\\n{BEGIN}\\nold\\n{END}\\nb", f"{BEGIN}\\nnew\\n{END}")
    'a\\n<!-- results:begin (written by `python -m confprofile.readme` from results/cpu/*.json; do not edit) -->\\nnew\\n<!-- results:end -->\\nb'
    """
    start, stop = readme.find(begin), readme.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"README.md has no results section between {begin!r} and {end!r}")
    return readme[:start] + new_section + readme[stop + len(end):]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m confprofile.readme", description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 with a diff if not current")
    ap.add_argument("--profile", default="cpu")
    a = ap.parse_args(argv)
    path = Path(paths.root()) / "README.md"
    text = path.read_text(encoding="utf-8")
    new = replaced(text, section(a.profile))
    if (Path(paths.root()) / BLOGS).is_dir():
        new = replaced(new, blogs_section(), BLOGS_BEGIN, BLOGS_END)
    if a.check:
        if new != text:
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), "README.md",
                                                       "README.md (from results)"))
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    print(f"wrote the results section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
