"""ProfileBench-Synth: a seeded generator of short-video users with hidden profiles.

The paper evaluates on ProfileBench, an industrial benchmark from Douyin that was never
released. This module is OUR stand-in for it (every table and phrase below is our
reconstruction, not the paper's): English text so English models can read it, the same
record format (``confprofile.records``) and the six-attribute taxonomy of ``taxonomy.yaml``.

What it models
  * A realistic *joint* distribution of the six attributes: imbalanced marginals (gender about
    55/45, age skewed to 18-34, a long-tailed occupation, consumption mostly medium) and the
    correlations age -> life stage -> occupation -> education -> city tier -> consumption
    (pupils are under 18 and students, retired users are 55+, postgraduates are rare on farms).
  * Heterogeneous, partly missing fields: nickname, bio, posts, watch history, comments,
    searches, follows, device, location and hourly activity; lurkers post nothing.
  * Per user and attribute a *clue strength* that decides what evidence is rendered:
    ``explicit`` (a first-person statement), ``strong`` (several consistent behaviours),
    ``weak`` (one item, possibly beside an item pointing at a neighbouring class), ``none``
    (nothing; the taxonomy's cue words for that attribute are kept out of the whole record) and
    ``misleading`` (a shared account, sarcasm, reposted spam, or content of another class).
    Phrase banks are richer than the taxonomy's ``cues`` and only partly overlap them, and every
    user gets generic filler (food, pets, travel) that dilutes the evidence.

What it cannot model
  * Real platform noise (bots, duplicated accounts, slang drift, typos at scale), real
    distribution shift between the training pool and the questionnaire-labelled test set,
    Chinese text, and multimodal content (video frames, audio, covers). The phrase banks are
    finite, so a large model can memorise them; results here rank methods, they do not
    predict numbers on the real ProfileBench.

Gold labels and clue strengths are returned apart from the records and written to their own
files (see ``docs/CONTRACTS.md``); no record field carries them.

>>> from confprofile.taxonomy import load_taxonomy
>>> records, gold = generate(3, seed=0, split="test", taxonomy=load_taxonomy())
>>> [r["user_id"] for r in records]
['test-00000', 'test-00001', 'test-00002']
>>> sorted(gold[0]["labels"]) == sorted(gold[0]["clues"])
True

Command line: ``python -m confprofile.bench --profile smoke --n-pool 300 --n-test 200 --seed 0``.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from confprofile import paths, records, repro
from confprofile.errors import TaxonomyError, run_cli
from confprofile.taxonomy import Taxonomy, load_taxonomy

STRENGTHS = ("explicit", "strong", "weak", "none", "misleading")

# --------------------------------------------------------------------------------------------
# The joint distribution (OUR reconstruction). Sampling order:
#   age, gender -> life_stage | age -> occupation | age, life_stage, gender
#   -> education | age, occupation -> city tier | occupation, education
#   -> consumption_level | occupation, city tier
# Each table row is normalised when used, so rows may be written as weights.
# --------------------------------------------------------------------------------------------

AGE = {"under_18": 0.09, "18_24": 0.24, "25_34": 0.31, "35_44": 0.18, "45_54": 0.11, "55_plus": 0.07}
GENDER = {"female": 0.55, "male": 0.45}

LIFE_STAGE_GIVEN_AGE = {
    "under_18": {"student": 1.0},
    "18_24": {"student": 0.55, "single_young": 0.34, "couple_no_kids": 0.06, "parent_young_kids": 0.05},
    "25_34": {"student": 0.05, "single_young": 0.30, "couple_no_kids": 0.20, "parent_young_kids": 0.35,
              "parent_school_kids": 0.10},
    "35_44": {"single_young": 0.06, "couple_no_kids": 0.06, "parent_young_kids": 0.20,
              "parent_school_kids": 0.65, "empty_nest": 0.03},
    "45_54": {"single_young": 0.03, "couple_no_kids": 0.03, "parent_young_kids": 0.02,
              "parent_school_kids": 0.52, "empty_nest": 0.40},
    "55_plus": {"couple_no_kids": 0.02, "parent_school_kids": 0.05, "empty_nest": 0.93},
}

# Users in education are students (a few work part time in shops and restaurants).
OCCUPATION_GIVEN_STUDYING = {"student": 0.96, "service_retail": 0.04}

# Everyone else, by age; multiplied by the gender tilt below, then normalised.
OCCUPATION_GIVEN_AGE = {
    "18_24": {"it_internet": 0.10, "finance": 0.05, "education": 0.03, "healthcare": 0.05, "manufacturing": 0.20,
              "service_retail": 0.30, "self_employed": 0.10, "agriculture": 0.04, "homemaker": 0.05},
    "25_34": {"it_internet": 0.14, "finance": 0.07, "education": 0.06, "healthcare": 0.06, "manufacturing": 0.17,
              "service_retail": 0.21, "self_employed": 0.12, "agriculture": 0.05, "homemaker": 0.09},
    "35_44": {"it_internet": 0.09, "finance": 0.07, "education": 0.07, "healthcare": 0.06, "manufacturing": 0.19,
              "service_retail": 0.18, "self_employed": 0.15, "agriculture": 0.08, "homemaker": 0.10,
              "retired": 0.01},
    "45_54": {"it_internet": 0.03, "finance": 0.05, "education": 0.07, "healthcare": 0.05, "manufacturing": 0.20,
              "service_retail": 0.16, "self_employed": 0.15, "agriculture": 0.13, "homemaker": 0.10,
              "retired": 0.06},
    "55_plus": {"education": 0.01, "healthcare": 0.01, "manufacturing": 0.04, "service_retail": 0.06,
                "self_employed": 0.06, "agriculture": 0.12, "homemaker": 0.06, "retired": 0.64},
}
OCCUPATION_GENDER_TILT = {
    "female": {"homemaker": 3.0, "healthcare": 1.6, "education": 1.6, "it_internet": 0.6, "manufacturing": 0.7},
    "male": {"homemaker": 0.15, "healthcare": 0.5, "education": 0.5, "it_internet": 1.6, "manufacturing": 1.4},
}

# Education is the current level for students, the highest completed level for everyone else.
STUDENT_EDUCATION_GIVEN_AGE = {
    "under_18": {"secondary_or_below": 1.0},
    "18_24": {"vocational": 0.28, "bachelor": 0.62, "postgraduate": 0.10},
    "25_34": {"bachelor": 0.15, "postgraduate": 0.85},
}
EDUCATION_GIVEN_OCCUPATION = {  # columns: secondary_or_below, vocational, bachelor, postgraduate
    "student": (0.10, 0.30, 0.45, 0.15),  # only for students older than the table above
    "it_internet": (0.02, 0.15, 0.63, 0.20),
    "finance": (0.03, 0.15, 0.62, 0.20),
    "education": (0.02, 0.18, 0.62, 0.18),
    "healthcare": (0.02, 0.40, 0.45, 0.13),
    "manufacturing": (0.50, 0.38, 0.11, 0.01),
    "service_retail": (0.45, 0.38, 0.16, 0.01),
    "self_employed": (0.35, 0.30, 0.30, 0.05),
    "agriculture": (0.85, 0.12, 0.027, 0.003),
    "homemaker": (0.50, 0.25, 0.22, 0.03),
    "retired": (0.65, 0.20, 0.13, 0.02),
}
EDUCATION_LEVELS = ("secondary_or_below", "vocational", "bachelor", "postgraduate")

CITY_TIERS = ("tier-1", "new tier-1", "tier-2", "tier-3", "tier-4 and below")
CITY_TIER_GIVEN_EDUCATION = {
    "secondary_or_below": (0.06, 0.12, 0.18, 0.24, 0.40),
    "vocational": (0.10, 0.18, 0.24, 0.24, 0.24),
    "bachelor": (0.22, 0.26, 0.24, 0.16, 0.12),
    "postgraduate": (0.38, 0.30, 0.18, 0.09, 0.05),
}
CITY_TIER_OF_FARMERS = (0.0, 0.02, 0.05, 0.18, 0.75)

CONSUMPTION_LEVELS = ("low", "medium", "high")
CONSUMPTION_GIVEN_CITY_TIER = {
    "tier-1": (0.12, 0.50, 0.38),
    "new tier-1": (0.16, 0.54, 0.30),
    "tier-2": (0.22, 0.56, 0.22),
    "tier-3": (0.30, 0.56, 0.14),
    "tier-4 and below": (0.42, 0.50, 0.08),
}
CONSUMPTION_OCCUPATION_TILT = {  # multipliers on (low, medium, high)
    "student": (1.6, 1.0, 0.5), "it_internet": (0.7, 1.0, 1.5), "finance": (0.6, 1.0, 1.8),
    "self_employed": (1.2, 0.8, 1.6), "agriculture": (1.4, 1.0, 0.4), "manufacturing": (1.3, 1.0, 0.5),
    "service_retail": (1.3, 1.0, 0.6), "retired": (1.2, 1.0, 0.8),
}

PROVINCES = {"Guangdong": 9, "Shandong": 7, "Henan": 7, "Jiangsu": 6, "Sichuan": 6, "Hebei": 5, "Hunan": 5,
             "Zhejiang": 5, "Anhui": 4, "Hubei": 4, "Guangxi": 3, "Yunnan": 3, "Jiangxi": 3, "Liaoning": 3,
             "Fujian": 3, "Shaanxi": 3, "Guizhou": 3, "Shanxi": 2, "Chongqing": 2, "Heilongjiang": 2,
             "Beijing": 2, "Shanghai": 2, "Tianjin": 1, "Jilin": 1, "Gansu": 1, "Inner Mongolia": 1}
TIER_1_PROVINCES = {"Beijing": 3, "Shanghai": 3, "Guangdong": 4}  # Guangzhou and Shenzhen
LOWER_TIER_PROVINCES = {k: v for k, v in PROVINCES.items() if k not in ("Beijing", "Shanghai")}

# --------------------------------------------------------------------------------------------
# How much evidence each attribute gets (OUR choice, tuned so that a keyword annotator that
# knows the taxonomy's cue words scores roughly 40-60 macro-F1): probabilities of STRENGTHS.
# --------------------------------------------------------------------------------------------
CLUE_MIX = {
    "age": (0.20, 0.25, 0.25, 0.22, 0.08),
    "gender": (0.22, 0.30, 0.22, 0.18, 0.08),
    "occupation": (0.20, 0.25, 0.25, 0.22, 0.08),
    "life_stage": (0.18, 0.25, 0.27, 0.22, 0.08),
    "education": (0.14, 0.22, 0.28, 0.28, 0.08),
    "consumption_level": (0.12, 0.25, 0.30, 0.25, 0.08),
}
MISLEADING_KINDS = {
    "age": ("shared_account", "other_class"),
    "gender": ("shared_account", "other_class"),
    "occupation": ("sarcasm", "spam", "other_class"),
    "life_stage": ("shared_account", "other_class"),
    "education": ("sarcasm", "other_class"),
    "consumption_level": ("spam", "sarcasm", "other_class"),
}

# Probability that a field is absent from a record; lurkers (no posts) are the posts row.
MISSING = {"nickname": 0.05, "bio": 0.40, "posts": 0.45, "comments": 0.30, "searches": 0.15,
           "follows": 0.20, "device": 0.10, "location": 0.15, "activity_hours": 0.10}

# --------------------------------------------------------------------------------------------
# Phrase banks (OUR reconstruction). EXPLICIT: first-person statements; SIGNALS: behaviours
# (searches, watched titles, post titles, followed accounts). Placeholders: {n} age in years,
# {year} birth year, {parent} mom/dad, {spouse} husband/wife, {kid} son/daughter.
# --------------------------------------------------------------------------------------------
AGE_YEARS = {"under_18": (13, 17), "18_24": (18, 24), "25_34": (25, 34), "35_44": (35, 44),
             "45_54": (45, 54), "55_plus": (55, 72)}
CURRENT_YEAR = 2025

EXPLICIT = {
    "age": {
        "*": ("just turned {n} today 🎂", "born in {year}, feeling it already",
              "{n} this year and still figuring it out",
              "{n} y/o, don't judge", "me at {n}: no idea what I'm doing"),
        "under_18": ("ninth grade is destroying me", "my mom won't let me have my phone after 10",
                     "junior high graduation next month!!", "grade 8 science project due tomorrow"),
        "18_24": ("first year out of high school and already broke", "freshman year done!",
                  "my roommate and I are both 20 lol"),
        "25_34": ("turning 30 next year, help", "late twenties and tired", "five years into my first job"),
        "35_44": ("almost 40 and my back hurts", "mid-career and rethinking everything", "forty and fabulous"),
        "45_54": ("my son at university calls once a week", "turning 50 soon", "in my late forties now"),
        "55_plus": ("retired last spring", "my grandchild calls me every evening", "sixty and still dancing"),
    },
    "gender": {
        "female": ("as a girl I never get this", "mom of two, running on coffee",
                   "my boyfriend forgot our anniversary again",
                   "being a woman in this city is tiring", "my husband says I shop too much",
                   "girls' trip this weekend!"),
        "male": ("as a guy I'll say it", "dad of two, no sleep", "my girlfriend made me watch this",
                 "my wife picked the restaurant again", "bros' night, no phones",
                 "being a man means fixing everything apparently"),
    },
    "occupation": {
        "student": ("my 3rd year at uni and still lost", "finals next week, pray for me", "back to school tomorrow 😭",
                    "writing my thesis at 2am", "senior year, no sleep, only revision"),
        "it_internet": ("as a programmer I approve", "fixing a bug at 11pm again",
                        "product manager life: meetings all day",
                        "our release went out at 2am", "backend dev at a tech company in Hangzhou"),
        "finance": ("bank teller life, smile all day", "as an accountant, audit season is hell",
                    "I sell insurance, ask me anything",
                    "wealth advisor here, no I can't pick stocks for you", "quarter-end closing at the bank again"),
        "education": ("my students made me a card 🥹", "teaching grade 3 math for 8 years", "homeroom teacher life",
                      "marking 60 essays tonight", "tutoring centre teacher here"),
        "healthcare": ("as a nurse on night shift, this hits", "12-hour shift at the hospital done", "ER doctor here",
                       "pharmacist life: reading handwriting all day", "my patients today were so sweet"),
        "manufacturing": ("assembly line day 300", "forklift driver, proud of it", "lunch on the construction site",
                          "working in an electronics plant in Dongguan", "welder for ten years now"),
        "service_retail": ("food delivery rider diary day 58", "waitress at a hotpot place, feet hurt",
                           "working the cashier at a supermarket", "hair salon stylist, ask me about bangs",
                           "courier life: 200 parcels today"),
        "self_employed": ("running my own business is no joke", "freelance designer, always hunting clients",
                          "livestream selling tonight at 8pm!", "I'm my own boss now", "opened a small nail studio"),
        "agriculture": ("harvest season on our farm", "my orchard's first peaches of the year",
                        "raising ducks in the village", "drove the tractor all morning",
                        "tea grower family, third generation"),
        "homemaker": ("stay-at-home {parent} life", "full-time at home with the kids since 2019",
                      "cooking for the family three times a day", "quit my job to take care of the kids",
                      "running the household is a full-time job"),
        "retired": ("retired teacher, now I grow flowers", "first year of retirement!",
                    "retired, finally time for hobbies",
                    "after 35 years at the plant I'm done working", "my pension came in today"),
    },
    "life_stage": {
        "student": ("living in the dorm with 5 others", "my parents still pay my tuition",
                    "home from school for the holidays", "still living with my parents, still studying"),
        "single_young": ("single and happy", "living alone in a rented flat", "another blind date my aunt set up",
                         "weekend alone again, me and my cat", "single for 3 years and counting"),
        "couple_no_kids": ("newlyweds 💍", "just married!", "our honeymoon in Bali", "one year since our wedding",
                           "me and my {spouse}, no kids yet", "DINK life suits us"),
        "parent_young_kids": ("my baby turned 1 today", "toddler {parent} life", "first day of kindergarten, I cried",
                              "newborn sleep schedule is a lie", "my little one just started walking"),
        "parent_school_kids": ("parent-teacher meeting again", "my kid's homework is harder than my job",
                               "tutoring class fees are insane", "my {kid} starts middle school in September",
                               "gaokao for my kid next year, so stressed"),
        "empty_nest": ("kids moved out, the house is so quiet", "empty nest life, finally",
                       "my grandchild visited today",
                       "both kids work in other cities now", "just the two of us again"),
    },
    "education": {
        "secondary_or_below": ("dropped out after middle school", "only finished high school, no regrets",
                               "left school at 16 to work", "never went past junior high"),
        "vocational": ("graduated from a vocational school", "got my technical college diploma",
                       "finished my apprenticeship", "junior college grad and proud"),
        "bachelor": ("my university graduation day", "bachelor's in accounting, working in sales lol",
                     "missing my alma mater", "four years of uni done"),
        "postgraduate": ("finally passed my thesis defense", "PhD life: coffee and rejection",
                         "my master's program starts Monday", "my supervisor replied at 3am again",
                         "paper accepted at a conference!"),
    },
    "consumption_level": {
        "low": ("always buying the cheapest option", "coupon hunter since forever", "group buy saves me so much",
                "living on 1500 a month", "broke till payday"),
        "medium": ("value for money is my thing", "a mid-range phone is enough for me", "waiting for it to be on sale",
                   "monthly budget check done", "not cheap, not fancy, just right"),
        "high": ("flew first class to Paris", "new designer bag, no regrets", "five-star hotel staycation",
                 "my imported wine collection", "bought the flagship model on day one"),
    },
}

SIGNALS = {
    "age": {
        "under_18": ("homework answers app", "how to hide phone from parents", "middle school crush",
                     "cartoon dance challenge", "class monitor election speech", "summer homework in one night",
                     "exam week survival", "after-school snacks", "anime sticker pack",
                     "high school entrance exam prep"),
        "18_24": ("dorm room makeover", "freshman orientation tips", "graduation photo ideas",
                  "internship interview questions",
                  "campus food ranking", "roommate drama", "first part-time job", "military training week",
                  "club recruitment day", "cheap trip with classmates"),
        "25_34": ("first job salary negotiation", "rent a one-bedroom", "wedding planning checklist", "commute hacks",
                  "promotion interview", "turning 30 crisis", "saving for a down payment", "dating app horror stories",
                  "office lunch ideas", "newborn sleep tips"),
        "35_44": ("parent-teacher meeting outfit", "mortgage rate cut", "help with kid's homework", "mid-career change",
                  "school district housing", "middle-aged weight gain", "job hunting after 35", "family SUV review",
                  "hair loss at 40"),
        "45_54": ("my son at university", "annual health check results", "retirement savings plan",
                  "my daughter's wedding banquet", "cholesterol diet", "30-year class reunion", "knee pain exercises",
                  "reading glasses review"),
        "55_plus": ("retired life vlog", "grandchild first steps", "square dance routine", "pension increase news",
                    "blood pressure tea", "tai chi morning practice", "old songs from the 80s",
                    "large font phone settings",
                    "balcony vegetable garden"),
    },
    "gender": {
        "female": ("skincare for dry skin", "makeup tutorial for beginners", "summer dress haul", "lipstick swatches",
                   "nail art ideas", "period cramps relief", "eyelash extension", "bridesmaid outfit ideas",
                   "hair curling tutorial", "handbag under 500"),
        "male": ("beard trimming tutorial", "football highlights", "gaming rig build", "car modification",
                 "fishing spot secrets", "basketball crossover drills", "shaving cream review",
                 "military history documentary",
                 "craft beer tasting", "bulking diet plan"),
    },
    "occupation": {
        "student": ("exam review notes", "lecture recording", "campus life vlog", "semester schedule",
                    "essay deadline tips",
                    "library study with me", "scholarship application", "cheap laptop for classes"),
        "it_internet": ("python tutorial", "leetcode daily", "deploy on friday meme", "overtime 996 debate",
                        "tech layoffs news",
                        "mechanical keyboard review", "system design interview", "AI tools for coding"),
        "finance": ("stocks today", "fund portfolio review", "CPA exam prep", "audit season meme",
                    "insurance claims explained",
                    "interest rates outlook", "excel shortcuts for accountants", "wealth management products"),
        "education": ("lesson plan ideas", "classroom management tips", "teacher certification exam", "grading rubric",
                      "open class demo", "how to talk to parents as a teacher", "blackboard handwriting"),
        "healthcare": ("nurse shoes review", "hospital canteen food", "medical licensing exam", "ward round routine",
                       "compression socks for long shifts", "pharmacology notes", "doctor-patient conflict news"),
        "manufacturing": ("factory overtime pay", "safety helmet review", "welding tips", "steel-toe boots",
                          "warehouse shift tips", "labor law overtime", "worker dormitory tour",
                          "truck driving long haul"),
        "service_retail": ("customers complaining", "delivery rider routes", "restaurant kitchen chaos",
                           "store opening hours",
                           "tips for waiters", "how to handle rude customers", "shelf stocking speedrun",
                           "rider ratings"),
        "self_employed": ("tax for small business", "clients paying late", "livestream selling tips",
                          "how to find suppliers",
                          "shop rent negotiation", "online store traffic", "freelance pricing",
                          "business license application"),
        "agriculture": ("crops fertilizer guide", "pest control for rice", "tractor repair", "seed prices this spring",
                        "orchard pruning", "pig feed prices", "weather for harvest", "greenhouse tomatoes"),
        "homemaker": ("housework schedule", "weekly meal plan for a family of four", "school run traffic",
                      "cleaning hacks",
                      "kids' lunch box ideas", "folding clothes tips", "grocery list for the week"),
        "retired": ("pension adjustment", "senior travel group", "calligraphy practice", "retirement hobbies",
                    "health preservation tips", "old colleagues reunion", "chess in the park"),
    },
    "life_stage": {
        "student": ("dorm cooking hacks", "class schedule app", "exam tips", "school uniform",
                    "asking my parents for money",
                    "group project drama", "winter break plans"),
        "single_young": ("solo dinner recipes", "one-person hotpot", "blind date tips", "renting tips", "single life",
                         "weekend alone ideas", "living alone safety", "dating app"),
        "couple_no_kids": ("couple vlog", "anniversary gift ideas", "honeymoon destinations", "couple travel",
                           "pre-pregnancy check", "wedding photos", "newlyweds home decor"),
        "parent_young_kids": ("baby formula review", "diapers sale", "kindergarten enrollment", "toddler tantrum",
                              "baby food recipes", "stroller review", "newborn vaccines", "early education toys"),
        "parent_school_kids": ("tutoring class", "kid's homework help", "school run", "parents group chat",
                               "math olympiad for kids", "summer camp for kids", "children's myopia",
                               "school district"),
        "empty_nest": ("grandchild", "retired couple trip", "pension", "kids moved out", "empty nest",
                       "video call with my son", "grandma cooking", "cooking for two"),
    },
    "education": {
        "secondary_or_below": ("how to get a job without a degree", "adult self-study exam", "typing practice",
                               "learn basic english", "high school math", "evening classes for adults"),
        "vocational": ("vocational skills contest", "welding certificate", "nursing certificate", "CNC operator course",
                       "chef training school", "technical college ranking", "electrician license"),
        "bachelor": ("university ranking", "campus reunion", "alumni network", "civil service exam",
                     "graduate job fair",
                     "english CET-6", "bachelor degree jobs"),
        "postgraduate": ("postgrad entrance exam", "lab meeting", "research paper writing", "LaTeX tips",
                         "journal impact factor", "academic conference", "reading papers", "phd stipend"),
    },
    "consumption_level": {
        "low": ("coupon codes", "discount supermarket", "free samples", "cheapest flights", "second-hand phone",
                "save money challenge", "bulk buy", "clearance sale"),
        "medium": ("value for money phone", "mid-range car", "on sale this week", "budget travel", "price comparison",
                   "affordable brand", "installment plan"),
        "high": ("luxury hotel review", "golf course", "imported baby formula", "designer sneakers", "private chef",
                 "ski resort", "first class lounge", "art collection", "yacht weekend"),
    },
}

SARCASM = ("lol sure, {s} 🙄", "{s}... in my dreams", "me pretending: {s}", "{s} (not)",
           "imagine saying '{s}' with a straight face")
SPAM = ("Repost: {s}", "[ad] {s}", "share to win: {s}", "forwarded: {s}")

# Generic filler: every user gets some, no attribute's cue words appear in it (a test checks).
FILLER_WATCH = {
    "Food": ("street food tour in Chengdu", "spicy noodles challenge", "5-minute egg fried rice", "dumpling folding",
             "milk tea taste test", "crayfish feast"),
    "Pets": ("cat knocks cup off table", "dog sees snow first time", "hamster eating sunflower seeds", "parrot sings"),
    "Travel": ("sunrise at Mount Huang", "night view of Chongqing", "Yunnan road trip", "Xiamen beach walk",
               "Harbin ice festival"),
    "Comedy": ("funny fails compilation", "crosstalk clip", "dialect jokes", "cat vs cucumber"),
    "Music": ("cover of a classic love song", "piano in the train station", "guzheng remix"),
    "Nature": ("rain sounds for sleeping", "pandas rolling", "waterfall drone shot"),
    "Movies": ("movie recap in 5 minutes", "drama episode recap", "behind the scenes bloopers"),
    "Satisfying": ("soap cutting asmr", "domino run", "sand art"),
    # the categories evidence is filed under hold generic videos too
    "Lifestyle": ("room tour", "what I eat in a day", "morning walk vlog"),
    "Knowledge": ("why is the sky blue", "history of tea", "how bridges are built"),
    "Vlog": ("a rainy day in the old town", "trying street snacks"),
    "Daily life": ("a day at the wet market", "street interview: favourite noodles"),
}
FILLER_COMMENTS = ("haha so cute", "where is this place?", "lol", "😂😂😂", "need this recipe", "first!",
                   "this made my day",
                   "so relaxing", "agree", "wow", "the ending 🤣", "saved for later", "again!", "❤️",
                   "who else is here in 2025")
FILLER_SEARCHES = ("weather tomorrow", "hotpot near me", "funny cat videos", "easy dinner recipe",
                   "movie recommendations",
                   "new songs this week", "how to take better photos", "night market", "puzzle game", "milk tea",
                   "lunar new year gala", "fireworks")
FILLER_POSTS = ("sunset today 🌅", "my cat being weird", "lunch", "weekend walk", "rainy day mood",
                "tried the new milk tea",
                "random clip", "fireworks!", "spring flowers", "night view")
FILLER_TAGS = ("daily", "mood", "food", "pets", "travel", "life", "vlog", "fyp")
FILLER_FOLLOWS = ("CuteCatsDaily", "StreetFoodHunter", "TravelWithAh", "FunnyClipsHub", "MusicCoverStation",
                  "NatureRelax",
                  "MovieRecap5min", "DanceChallengeTV", "WeatherToday", "CCTV News", "PandaChannel")
FILLER_BIOS = ("just sharing daily life", "stay positive ✨", "🌸", "love life, love food", "no bio", "peace",
               "here for the cats", "every day is a gift")
NICKNAMES = ("xiaoyu", "sunny", "moonlight", "ah_qiang", "lili", "bobo", "tiantian", "lucky", "little_fish", "wind",
             "cloud", "dudu", "mumu", "orange", "snow", "starry", "qiqi", "ah_fei", "taozi", "leo")
GENDERED_NICKNAMES = {"female": ("princess_lulu", "sister_mei", "girl_xiaoxiao", "queen_jing"),
                      "male": ("brother_wei", "big_bro_long", "mr_zhang", "uncle_hao")}
EVIDENCE_CATEGORIES = ("Lifestyle", "Knowledge", "Vlog", "Daily life")

DEVICES = {
    "low": ("Redmi 12C", "realme C55", "vivo Y36", "OPPO A58", "Honor Play 40", "Redmi Note 9"),
    "medium": ("Xiaomi 13", "OPPO Reno 11", "vivo S18", "iPhone 12", "Honor 90", "Huawei nova 12", "iPhone 13"),
    "high": ("iPhone 15 Pro Max", "Huawei Mate 60 Pro", "Samsung Galaxy S24 Ultra", "iPhone 16 Pro", "vivo X100 Pro"),
}

# Daily rhythms: hour -> extra weight over a flat daytime base. Students and night shifts differ.
SCHEDULES = {
    "school": {6: 1, 12: 1, 17: 2, 18: 2, 20: 2, 21: 3, 22: 2},
    "uni": {11: 1, 13: 2, 22: 3, 23: 3, 0: 3, 1: 2},
    "office": {8: 2, 12: 3, 13: 2, 18: 2, 21: 3, 22: 3},
    "night_shift": {2: 2, 3: 2, 4: 2, 5: 1, 14: 2, 15: 2, 16: 2},
    "early": {5: 2, 6: 3, 7: 3, 12: 1, 19: 3, 20: 2},
    "home": {9: 3, 10: 3, 14: 3, 15: 2, 21: 2},
    "flexible": {10: 2, 11: 2, 15: 2, 20: 2, 23: 2, 0: 2},
    "farm": {5: 2, 6: 2, 12: 3, 19: 3, 20: 2},
    "generic": {12: 1, 19: 2, 20: 2, 21: 2, 22: 2},
}
SCHEDULE_OF_OCCUPATION = {"it_internet": ("office",), "finance": ("office",), "education": ("office",),
                          "healthcare": ("night_shift", "office"), "manufacturing": ("night_shift", "office"),
                          "service_retail": ("flexible",), "self_employed": ("flexible",), "agriculture": ("farm",),
                          "homemaker": ("home",), "retired": ("early",)}


# --------------------------------------------------------------------------------------------
# The joint distribution as pure functions (shared by sampling and by ``label_marginals``).
# --------------------------------------------------------------------------------------------

def _normalise(weights: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Drop zero weights and normalise.

    >>> _normalise({"a": 1, "b": 3, "c": 0})
    (('a', 'b'), (0.25, 0.75))
    """
    items = [(k, float(v)) for k, v in weights.items() if v > 0]
    total = sum(v for _, v in items)
    return tuple(k for k, _ in items), tuple(v / total for _, v in items)


@cache
def p_life_stage(age: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    return _normalise(LIFE_STAGE_GIVEN_AGE[age])


@cache
def p_occupation(age: str, life_stage: str, gender: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Students study; everyone else works by age, tilted by gender.

    >>> p_occupation("under_18", "student", "male")[0]
    ('student', 'service_retail')
    """
    if life_stage == "student":
        return _normalise(OCCUPATION_GIVEN_STUDYING)
    tilt = OCCUPATION_GENDER_TILT[gender]
    return _normalise({k: v * tilt.get(k, 1.0) for k, v in OCCUPATION_GIVEN_AGE[age].items()})


@cache
def p_education(age: str, life_stage: str, occupation: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Current level for users in education (part-time jobs included), else by occupation.

    >>> p_education("18_24", "student", "service_retail")[0]
    ('vocational', 'bachelor', 'postgraduate')
    """
    if age == "under_18" or (life_stage == "student" and age in STUDENT_EDUCATION_GIVEN_AGE):
        return _normalise(STUDENT_EDUCATION_GIVEN_AGE[age])
    return _normalise(dict(zip(EDUCATION_LEVELS, EDUCATION_GIVEN_OCCUPATION[occupation])))


@cache
def p_city_tier(occupation: str, education: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    row = CITY_TIER_OF_FARMERS if occupation == "agriculture" else CITY_TIER_GIVEN_EDUCATION[education]
    return _normalise(dict(zip(CITY_TIERS, row)))


@cache
def p_consumption(occupation: str, city_tier: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    tilt = CONSUMPTION_OCCUPATION_TILT.get(occupation, (1.0, 1.0, 1.0))
    row = CONSUMPTION_GIVEN_CITY_TIER[city_tier]
    return _normalise({lab: p * t for lab, p, t in zip(CONSUMPTION_LEVELS, row, tilt)})


def _draw(rnd: random.Random, dist: tuple[tuple[str, ...], tuple[float, ...]]) -> str:
    return rnd.choices(dist[0], weights=dist[1])[0]


def sample_latent(rnd: random.Random) -> dict[str, str]:
    """One user's hidden profile (the six attributes) plus their city tier.

    >>> sample_latent(random.Random(0))["gender"] in GENDER
    True
    """
    age = _draw(rnd, _normalise(AGE))
    gender = _draw(rnd, _normalise(GENDER))
    life_stage = _draw(rnd, p_life_stage(age))
    occupation = _draw(rnd, p_occupation(age, life_stage, gender))
    education = _draw(rnd, p_education(age, life_stage, occupation))
    city_tier = _draw(rnd, p_city_tier(occupation, education))
    consumption = _draw(rnd, p_consumption(occupation, city_tier))
    return {"age": age, "gender": gender, "occupation": occupation, "life_stage": life_stage,
            "education": education, "consumption_level": consumption, "city_tier": city_tier}


def label_marginals() -> dict[str, dict[str, float]]:
    """Exact marginal label distribution implied by the tables (by enumeration).

    >>> round(label_marginals()["gender"]["female"], 2)
    0.55
    """
    out: dict[str, dict[str, float]] = {a: {} for a in CLUE_MIX}

    def add(attr: str, label: str, p: float) -> None:
        out[attr][label] = out[attr].get(label, 0.0) + p

    for age, pa in AGE.items():
        for gender, pg in GENDER.items():
            add("age", age, pa * pg)
            add("gender", gender, pa * pg)
            for ls, pl in zip(*p_life_stage(age)):
                add("life_stage", ls, pa * pg * pl)
                for occ, po in zip(*p_occupation(age, ls, gender)):
                    add("occupation", occ, pa * pg * pl * po)
                    for edu, pe in zip(*p_education(age, ls, occ)):
                        p_edu = pa * pg * pl * po * pe
                        add("education", edu, p_edu)
                        for tier, pt in zip(*p_city_tier(occ, edu)):
                            for cons, pc in zip(*p_consumption(occ, tier)):
                                add("consumption_level", cons, p_edu * pt * pc)
    return out


# --------------------------------------------------------------------------------------------
# Evidence: what each clue strength renders.
# --------------------------------------------------------------------------------------------

# Occupations whose weak evidence is easily confused (the taxonomy's groups, with the one-member
# group "other_working" merged into the blue-collar one).
CONFUSABLE_OCCUPATIONS = (
    ("student", "homemaker", "retired"),
    ("it_internet", "finance", "education", "healthcare"),
    ("manufacturing", "service_retail", "agriculture", "self_employed"),
)


def _neighbours(attr: str, label: str, labels: Sequence[str]) -> tuple[str, ...]:
    """Labels easily confused with ``label``: adjacent ones for ordered attributes, the same
    occupation group for occupation.

    >>> _neighbours("age", "25_34", tuple(AGE))
    ('18_24', '35_44')
    """
    if attr == "occupation":
        group = next(g for g in CONFUSABLE_OCCUPATIONS if label in g)
        return tuple(lab for lab in labels if lab in group and lab != label)
    i = labels.index(label)
    return tuple(labels[j] for j in (i - 1, i + 1) if 0 <= j < len(labels))


def _fill(template: str, latent: Mapping[str, str], clues: Mapping[str, str], rnd: random.Random) -> str:
    """Fill placeholders; gendered words stay neutral when the user gives no gender evidence."""
    lo, hi = AGE_YEARS[latent["age"]]
    n = rnd.randint(lo, hi)
    neutral = clues.get("gender") == "none"
    female = latent["gender"] == "female"
    return template.format(
        n=n, year=CURRENT_YEAR - n,
        parent="parent" if neutral else ("mom" if female else "dad"),
        spouse="partner" if neutral else ("husband" if female else "wife"),
        kid="kid" if neutral else rnd.choice(("son", "daughter")))


def _statement(attr: str, label: str, rnd: random.Random) -> str:
    bank = EXPLICIT[attr][label] + EXPLICIT[attr].get("*", ())
    return rnd.choice(bank)


def _decoy(attr: str, label: str, labels: Sequence[str], kind: str, rnd: random.Random) -> str:
    """The class a misleading clue points at (a kid on a parent's phone, or a parent on a kid's)."""
    if kind == "shared_account" and attr in ("age", "life_stage"):
        young = {"age": "under_18", "life_stage": "student"}[attr]
        old = {"age": "55_plus", "life_stage": "empty_nest"}[attr]
        return young if label != young else old
    others = [lab for lab in labels if lab != label]
    return rnd.choice(others)


def evidence(attr: str, label: str, strength: str, labels: Sequence[str], latent: Mapping[str, str],
             clues: Mapping[str, str], rnd: random.Random) -> tuple[list[tuple[str, str]], str | None]:
    """Evidence items ``(kind, text)`` for one attribute (kinds as in ``_place``), and the
    label the user *appears* to have (None for no evidence), which drives device and rhythm.

    >>> items, shown = evidence("gender", "male", "strong", ("female", "male"), {}, {}, random.Random(1))
    >>> shown, len(items) >= 2, {k for k, _ in items}
    ('male', True, {'signal'})
    """
    def signals(lab: str, k: int) -> list[tuple[str, str]]:
        bank = SIGNALS[attr][lab]
        return [("signal", s) for s in rnd.sample(bank, min(k, len(bank)))]

    if strength == "explicit":
        items = [("statement", _fill(_statement(attr, label, rnd), latent, clues, rnd))]
        return items + signals(label, rnd.randint(0, 2)), label
    if strength == "strong":
        return signals(label, rnd.randint(2, 4)), label
    if strength == "weak":
        items = signals(label, 1) if rnd.random() < 0.8 else []
        near = _neighbours(attr, label, labels)
        if near and (not items or rnd.random() < 0.5):
            items += signals(rnd.choice(near), 1)
        return items, (label if items and rnd.random() < 0.5 else None)
    if strength == "misleading":
        kind = rnd.choice(MISLEADING_KINDS[attr])
        decoy = _decoy(attr, label, labels, kind, rnd)
        if kind == "sarcasm":
            said = _fill(_statement(attr, decoy, rnd), latent, clues, rnd)
            items = [("statement", rnd.choice(SARCASM).format(s=said))]
        elif kind == "spam":
            items = [("repost", rnd.choice(SPAM).format(s=s)) for _, s in signals(decoy, 2)]
        else:  # a shared account or content of another class
            items = signals(decoy, rnd.randint(2, 3))
        return items + (signals(label, 1) if rnd.random() < 0.35 else []), decoy
    return [], None


@cache
def _cue_pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """One case-insensitive whole-word regex for a set of cue phrases (None for no words)."""
    if not words:
        return None
    alts = sorted({re.escape(w.lower()) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])", re.IGNORECASE)


def cue_words(taxonomy: Taxonomy, attributes: Sequence[str]) -> tuple[str, ...]:
    """Every cue word of every label of ``attributes`` (sorted, for caching)."""
    return tuple(sorted({c for a in attributes for lab in taxonomy[a].label_specs for c in lab.cues}))


# --------------------------------------------------------------------------------------------
# Assembling a record.
# --------------------------------------------------------------------------------------------

def _present(rnd: random.Random) -> set[str]:
    """Which optional fields this user has."""
    return {f for f, p in MISSING.items() if rnd.random() >= p}


def _activity(schedule: str, rnd: random.Random) -> list[int]:
    weights = [0.3 if 7 <= h <= 23 else 0.05 for h in range(24)]
    for h, w in SCHEDULES[schedule].items():
        weights[h] += w
    counts = [0] * 24
    for h in rnd.choices(range(24), weights=weights, k=rnd.randint(20, 160)):
        counts[h] += 1
    return counts


def _schedule(shown_occupation: str | None, latent: Mapping[str, str], rnd: random.Random) -> str:
    if shown_occupation is None:
        return "generic"
    if shown_occupation == "student":
        return "school" if latent["age"] == "under_18" else "uni"
    return rnd.choice(SCHEDULE_OF_OCCUPATION[shown_occupation])


def _device(shown_level: str | None, rnd: random.Random) -> str:
    level = shown_level or _draw(rnd, _normalise({"low": 0.28, "medium": 0.52, "high": 0.20}))
    return rnd.choice(DEVICES[level])


def _location(city_tier: str, rnd: random.Random) -> dict:
    provinces = TIER_1_PROVINCES if city_tier == "tier-1" else LOWER_TIER_PROVINCES
    province = rnd.choices(list(provinces), weights=list(provinces.values()))[0]
    return {"province": province if rnd.random() > 0.1 else None,
    "city_tier": city_tier if rnd.random() > 0.2 else None}


def _nickname(latent: Mapping[str, str], clues: Mapping[str, str], rnd: random.Random) -> str:
    if clues["gender"] in ("explicit", "strong") and rnd.random() < 0.3:
        return rnd.choice(GENDERED_NICKNAMES[latent["gender"]])
    if clues["age"] in ("explicit", "strong") and rnd.random() < 0.3:
        lo, hi = AGE_YEARS[latent["age"]]
        return f"{rnd.choice(NICKNAMES)}_{CURRENT_YEAR - rnd.randint(lo, hi)}"
    return rnd.choice(NICKNAMES) + (str(rnd.randint(1, 999)) if rnd.random() < 0.6 else "")


def _camel(text: str) -> str:
    """An account name from a phrase.

    >>> _camel("leetcode daily")
    'LeetcodeDaily'
    """
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", text.replace("'", "")))


def _filler(present: set[str], rnd: random.Random) -> dict[str, list]:
    """Generic content every user has: it dilutes evidence and says nothing about the profile."""
    cats = list(FILLER_WATCH)
    out: dict[str, list] = {"watch_history": []}
    for _ in range(rnd.randint(8, 18)):
        cat = rnd.choice(cats)
        out["watch_history"].append({"category": cat, "title": rnd.choice(FILLER_WATCH[cat]),
                                     "watch_ratio": round(rnd.uniform(0.05, 1.0), 2)})
    if "posts" in present:
        out["posts"] = [{"title": t, "tags": rnd.sample(FILLER_TAGS, rnd.randint(0, 2))}
                        for t in rnd.sample(FILLER_POSTS, rnd.randint(1, 6))]
    if "comments" in present:
        out["comments"] = rnd.sample(FILLER_COMMENTS, rnd.randint(1, 6))
    if "searches" in present:
        out["searches"] = rnd.sample(FILLER_SEARCHES, rnd.randint(1, 6))
    if "follows" in present:
        out["follows"] = rnd.sample(FILLER_FOLLOWS, rnd.randint(1, 6))
    return out


def _place(fields: dict[str, list], kind: str, text: str, present: set[str], rnd: random.Random) -> None:
    """Put one evidence item into a channel the user has (a statement may create ``comments``).

    Kinds: "statement" (bio, comment or post title), "signal" (search, watched title, post or
    followed account), "repost" (spam the user forwarded or watched: watch history, post, comment).
    """
    if kind == "statement":
        channels = [c for c in ("bio", "comments", "posts") if c in present] or ["comments"]
    elif kind == "repost":
        channels = ["watch_history"] + [c for c in ("posts", "comments") if c in present]
    else:
        channels = ["watch_history"] + [c for c in ("searches", "searches", "posts", "follows") if c in present]
    channel = rnd.choice(channels)
    if channel == "bio":
        fields.setdefault("bio", []).append(text)
        return
    if channel == "watch_history":
        item: object = {"category": rnd.choice(EVIDENCE_CATEGORIES), "title": text,
                        "watch_ratio": round(rnd.uniform(0.55, 1.0), 2)}
    elif channel == "posts":
        item = {"title": text, "tags": rnd.sample(FILLER_TAGS, rnd.randint(0, 2))}
    elif channel == "follows":
        item = _camel(text)
    else:
        item = text
    items = fields.setdefault(channel, [])
    items.insert(rnd.randint(0, len(items)), item)


def make_user(uid: str, rnd: random.Random, taxonomy: Taxonomy) -> tuple[dict, dict]:
    """One record and its gold row, from one user's own random stream."""
    latent = sample_latent(rnd)
    clues = {a: rnd.choices(STRENGTHS, weights=CLUE_MIX[a])[0] for a in taxonomy.names}
    present = _present(rnd)
    # an attribute with no clue gets none by accident either: its cue words are kept out
    silent = _cue_pattern(cue_words(taxonomy, [a for a in taxonomy.names if clues[a] == "none"]))
    fields = _filler(present, rnd)
    shown = {}
    for attr in taxonomy.names:
        items, shown[attr] = evidence(attr, latent[attr], clues[attr], taxonomy[attr].labels, latent, clues, rnd)
        for kind, text in items:
            if silent is None or not silent.search(text):
                _place(fields, kind, text, present, rnd)
    rec = _assemble(uid, fields, present, latent, clues, shown, silent, rnd)
    gold = {"user_id": uid, "labels": {a: latent[a] for a in taxonomy.names}, "clues": clues}
    return records.validate_record(rec), gold


def _assemble(uid: str, fields: dict[str, list], present: set[str], latent: Mapping[str, str],
              clues: Mapping[str, str], shown: Mapping[str, str | None], silent: re.Pattern | None,
              rnd: random.Random) -> dict:
    """The record: text fields, then device and rhythm as the *shown* labels suggest."""
    rec: dict = {"user_id": uid}
    if "nickname" in present:
        nick = _nickname(latent, clues, rnd)
        rec["nickname"] = nick if silent is None or not silent.search(nick) else rnd.choice(NICKNAMES)
    bio = fields.pop("bio", [])
    if "bio" in present:
        rec["bio"] = " | ".join(bio) if bio else rnd.choice(FILLER_BIOS)
    rec.update(fields)
    if "device" in present:
        rec["device"] = _device(shown["consumption_level"], rnd)
    if "location" in present:
        rec["location"] = _location(latent["city_tier"], rnd)
    if "activity_hours" in present:
        rec["activity_hours"] = _activity(_schedule(shown["occupation"], latent, rnd), rnd)
    return rec


def check_taxonomy(taxonomy: Taxonomy) -> None:
    """The generator's tables cover exactly this taxonomy's attributes and labels."""
    if set(taxonomy.names) != set(CLUE_MIX):
        raise TaxonomyError(f"{taxonomy.path}: ProfileBench-Synth generates {sorted(CLUE_MIX)}, "
                            f"the taxonomy has {sorted(taxonomy.names)}")
    for attr in taxonomy:
        if set(attr.labels) != set(SIGNALS[attr.name]):
            raise TaxonomyError(f"{taxonomy.path}: attribute '{attr.name}': labels {sorted(attr.labels)} "
                                f"differ from the generator's {sorted(SIGNALS[attr.name])}")


def generate(n_users: int, seed: int, split: str, taxonomy: Taxonomy) -> tuple[list[dict], list[dict]]:
    """``n_users`` records (ids ``f"{split}-{i:05d}"``) and their gold rows.

    User ``i`` depends only on ``(seed, split, i)``: the same arguments give the same users,
    and a longer split extends a shorter one.
    """
    check_taxonomy(taxonomy)
    recs, gold = [], []
    for i in range(n_users):
        # stdlib Random seeded by derive_seed: deterministic across processes, and its small
        # weighted draws are an order of magnitude faster than numpy's (5,000 users in ~1 s)
        rnd = random.Random(repro.derive_seed(seed, "profilebench-synth", split, i))
        rec, g = make_user(f"{split}-{i:05d}", rnd, taxonomy)
        recs.append(rec)
        gold.append(g)
    return recs, gold


def build_benchmark(profile: str, n_pool: int, n_test: int, seed: int,
                    taxonomy_path: str | Path | None = None) -> dict[str, Path]:
    """Write the unlabeled pool, the test records and both gold files; return their paths.

    Keys: ``pool``, ``test``, ``gold_pool``, ``gold_test``. Same seed, same bytes.
    """
    taxonomy = load_taxonomy(taxonomy_path)
    out = {}
    for split, n in (("pool", n_pool), ("test", n_test)):
        recs, gold = generate(n, seed, split, taxonomy)
        out[split] = records.write_jsonl(paths.records_path(profile, split), recs)
        out[f"gold_{split}"] = records.write_jsonl(paths.gold_path(profile, split), gold)
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    ap = argparse.ArgumentParser(prog="python -m confprofile.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="smoke", help="run profile (files go to runs/<profile>/data)")
    ap.add_argument("--n-pool", type=int, default=300, help="users in the unlabeled training pool")
    ap.add_argument("--n-test", type=int, default=200, help="users in the labelled test split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in one)")
    args = ap.parse_args(argv)
    written = build_benchmark(args.profile, args.n_pool, args.n_test, args.seed, args.taxonomy)
    for name, path in written.items():
        print(f"{name}: {path}")
    return written


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
