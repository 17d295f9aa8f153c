"""A classical student: TF-IDF + logistic regression per attribute, on the same pseudo-labels.

The floor the LLM student must reach: if a bag of words trained on the same kept pseudo-labels
and the same rendered records does as well, the student has learnt nothing a linear model could
not. One ``TfidfVectorizer`` (word uni- and bigrams, sublinear tf) is fitted on the training
texts; one ``LogisticRegression`` per attribute on the users whose pseudo-label was kept. The
prediction is the argmax class, its probability the stated confidence; it never abstains.
Label-free: it sees pseudo-labels only.

>>> from dataclasses import replace
>>> from confprofile.taxonomy import load_taxonomy
>>> tax = replace(load_taxonomy(), attributes=(load_taxonomy()["gender"],))
>>> texts = ["my wife and football", "my husband and makeup", "football with my wife", "makeup haul"]
>>> votes = pd.DataFrame({"user_id": list("abcd"), "attribute": "gender",
...                       "label": ["male", "female", "male", "female"], "kept": True})
>>> p = fit_predict(texts, list("abcd"), votes, ["football and my wife"], ["t"], tax, c=10.0, seed=0)
>>> p[["user_id", "label"]].to_dict("records")
[{'user_id': 't', 'label': 'male'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from confprofile.provenance import derive_seed
from confprofile.sft import COMPARED_SOURCES
from confprofile.taxonomy import Taxonomy
from confprofile.voting import records_as_votes


def fit_predict(train_texts: Sequence[str], train_ids: Sequence[str], votes: pd.DataFrame,
                test_texts: Sequence[str], test_ids: Sequence[str], taxonomy: Taxonomy, c: float,
                seed: int) -> pd.DataFrame:
    """Predictions for the test users (``student.PREDICTION_COLUMNS``), trained on the kept rows
    of ``votes`` (``user_id, attribute, label, kept``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x_train = vec.fit_transform(list(train_texts))
    x_test = vec.transform(list(test_texts))
    row = {u: i for i, u in enumerate(train_ids)}
    rows = []
    for attr in taxonomy:
        v = votes[(votes["attribute"] == attr.name) & votes["kept"].astype(bool) & votes["label"].notna()]
        v = v[v["user_id"].isin(row)]
        y = v["label"].to_numpy()
        if len(set(y)) == 0:
            labels, conf = [None] * len(test_ids), [np.nan] * len(test_ids)
        elif len(set(y)) == 1:
            labels, conf = [y[0]] * len(test_ids), [1.0] * len(test_ids)
        else:
            clf = LogisticRegression(C=c, max_iter=2000, random_state=seed % 2**32)
            clf.fit(x_train[[row[u] for u in v["user_id"]]], y)
            proba = clf.predict_proba(x_test)
            labels, conf = clf.classes_[proba.argmax(1)].tolist(), proba.max(1).tolist()
        rows += [{"user_id": u, "attribute": attr.name, "label": lab, "confidence": cf, "ok": lab is not None,
                  "abstained": False, "error": None} for u, lab, cf in zip(test_ids, labels, conf)]
    return pd.DataFrame(rows, columns=["user_id", "attribute", "label", "confidence", "ok", "abstained", "error"])


def by_source(prep: Mapping, p: Mapping) -> dict[str, pd.DataFrame]:
    """``label source -> test predictions`` of one classical student per source of
    ``sft.COMPARED_SOURCES`` (``prep``: ``sft.prepare``'s), each trained on the rendered records of
    the main source's SFT users (``sft_label_source``) with that source's pseudo-labels, at
    ``classical_c``, seeded from ``seed``. Trains in seconds: the label-source ablation's students
    when no LLM arm is trained, and the main source's is the ``classical`` peer."""
    examples = prep["examples"][p["sft_label_source"]]
    texts, ids = [e["prompt"][-1]["content"] for e in examples], [e["user_id"] for e in examples]
    test_texts = [m[-1]["content"] for m in prep["test"]["messages"]]
    return {src: fit_predict(texts, ids, records_as_votes(prep["pseudo"][src]), test_texts, prep["test"]["user_ids"],
                             prep["taxonomy"], c=p["classical_c"], seed=derive_seed(p["seed"], "classical"))
            for src in COMPARED_SOURCES}
