"""Write users.csv: 100 made-up film-site users (seeded; NOT ProfileBench-Synth).

Each row is one user of an imaginary film-rating site, numbered 1, 2, ... in file order (so the
records are not in the order their ids sort as strings, as real exports often are): three
demographic columns (the answers to a sign-up questionnaire, our gold labels), an optional
free-text "about" line and the films they rated ("title|genre|stars;..."). Preferences lean on
age, gender and occupation, so a reader of the ratings has some, far from perfect, evidence;
most users write no "about".

    python examples/own_data/make_users.py        # rewrites examples/own_data/users.csv
"""

import csv
import random
from pathlib import Path

SEED, N_USERS = 11, 100
GENRES = {
    "animation": ["Paper Moon Cat", "The Tin Robot", "Cloud Ferry"], "horror": ["The Cellar Door", "Night Tide"],
    "sci-fi": ["Orbit Nine", "The Glass Planet", "Signal Lost"], "superhero": ["Iron Sparrow", "Captain Volt"],
    "thriller": ["The Fourth Witness", "Cold Harbour"], "drama": ["Letters to June", "The Long Table"],
    "family": ["Our Summer House", "The Big Move"], "documentary": ["Rivers of Salt", "The Beekeepers"],
    "western": ["Dust and Iron", "The Last Ranch"], "classic": ["A Gentleman's Promise", "Rain over Vienna"],
    "war": ["The Northern Front", "Convoy"], "musical": ["Sing, Marguerite", "Broadway Lights"],
    "romance": ["Two Cups of Tea", "Autumn in Lisbon"], "action": ["Full Throttle", "Crossfire Bay"],
    "indie": ["Small Town Radio", "The Bicycle Thief's Son"],
}
TASTE = {  # genre weights added by each label
    "under_30": {"animation": 2, "horror": 2, "sci-fi": 2, "superhero": 3},
    "30_to_49": {"thriller": 2, "drama": 2, "family": 3, "documentary": 1},
    "50_plus": {"western": 3, "classic": 3, "war": 2, "musical": 1},
    "female": {"romance": 3, "drama": 1, "musical": 2}, "male": {"action": 3, "war": 1, "sci-fi": 1},
    "student": {"animation": 1, "indie": 3}, "working": {"thriller": 1, "action": 1}, "retired": {"classic": 2, "documentary": 2},
}
ABOUT = {  # what a few users say about themselves (some say nothing useful)
    "student": ["uni student, film club on fridays", "studying for exams, movies are my break", "college freshman"],
    "retired": ["retired teacher, plenty of time for films now", "enjoying my pension and old westerns"],
    "working": ["nurse on shifts, watch films on days off", "office job, weekend movie nights", "software developer"],
    "female": ["mum of two, movies after bedtime", "book club and film club girl"],
    "male": ["dad of three, action fan", "grandpa who loves a good war film"],
    "": ["just here for the films", "I rate everything I watch", "no spoilers please"],
}


def pick(rng, weights):
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def user(rng, i):
    age = pick(rng, {"under_30": 0.35, "30_to_49": 0.40, "50_plus": 0.25})
    gender = pick(rng, {"female": 0.3, "male": 0.7})
    occ = pick(rng, {"under_30": {"student": 0.6, "working": 0.4}, "30_to_49": {"working": 0.95, "retired": 0.05},
                     "50_plus": {"working": 0.45, "retired": 0.55}}[age])
    taste = {g: 1.0 for g in GENRES}
    for lab in (age, gender, occ):
        for g, w in TASTE[lab].items():
            taste[g] += w
    ratings = []
    for _ in range(rng.randint(5, 40)):
        g = pick(rng, taste)
        stars = max(1, min(5, round(rng.gauss(2.5 + 0.25 * taste[g], 1.0))))
        ratings.append(f"{rng.choice(GENRES[g])}|{g}|{stars}")
    key = rng.choice([occ, gender, ""]) if rng.random() < 0.35 else None
    about = rng.choice(ABOUT[key]) if key is not None else ""
    return {"user_id": str(i + 1), "age_band": age, "gender": gender, "occupation": occ, "about": about,
            "ratings": ";".join(ratings)}


if __name__ == "__main__":
    rng = random.Random(SEED)
    rows = [user(rng, i) for i in range(N_USERS)]
    out = Path(__file__).with_name("users.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} users)")
