"""OpenAI-compatible ``/v1/chat/completions`` client (vLLM serve, SGLang, hosted APIs).

Stdlib only (urllib + a thread pool): bounded concurrency, a timeout per request, retries with
exponential backoff (and jitter) on 429, 5xx, timeouts and dropped connections, ``n`` samples
per prompt (in one request, or as ``n`` requests with ``n_per_request=1`` for servers without
``n``). The API key is read from the environment variable named by ``api_key_env`` at request
time and sent as ``Authorization: Bearer``; it is never stored on the object, logged, or part of
``cache_id``.

>>> t = OpenAITeacher("http://127.0.0.1:8000/v1", model="Qwen/Qwen3-8B")   # doctest: +SKIP
>>> t.generate([messages], n=5, temperature=0.7, seed=0)                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from confprofile.prompts import prompt_hash
from confprofile.provenance import derive_seed
from confprofile.teachers.base import Teacher

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class HTTPTeacherError(RuntimeError):
    """A request failed for good (a non-retryable status, or retries exhausted)."""


class OpenAITeacher(Teacher):
    """Chat completions over HTTP.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: the served model name.
        api_key_env: name of the environment variable holding the key (unset: no header).
        concurrency: requests in flight at once.
        timeout: seconds per request (connect + read).
        max_retries: retries after the first try; backoff ``backoff * 2**k`` seconds (+ jitter),
            or the server's ``Retry-After`` when it sends one (capped at ``max_backoff``).
        n_per_request: samples asked for in one request (None: all ``n``; 1 for servers without ``n``).
        on_failure: "none" returns None for a sample that failed for good (synthesis does not cache
            it, so the next run retries it); "raise" raises ``HTTPTeacherError``.
        extra_body: merged into every request (e.g. ``{"structured_outputs": {"json": schema}}``
            for vLLM, ``{"chat_template_kwargs": {"enable_thinking": False}}`` for Qwen3).
    """

    independent_samples = False

    def __init__(self, base_url: str, model: str, name: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, timeout: float = 120.0, max_retries: int = 5, backoff: float = 1.0,
                 max_backoff: float = 60.0, max_tokens: int = 768, top_p: float | None = None,
                 n_per_request: int | None = None, on_failure: str = "none", extra_body: dict | None = None,
                 batch_size: int | None = None, max_users: int | None = None, send_seed: bool = True):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.name = model, name or "openai"
        self.api_key_env = api_key_env
        self.concurrency, self.timeout = int(concurrency), float(timeout)
        self.max_retries, self.backoff, self.max_backoff = int(max_retries), float(backoff), float(max_backoff)
        self.max_tokens, self.top_p, self.n_per_request = int(max_tokens), top_p, n_per_request
        if on_failure not in ("none", "raise"):
            raise ValueError("on_failure must be 'none' or 'raise'")
        self.on_failure, self.extra_body, self.send_seed = on_failure, dict(extra_body or {}), send_seed
        self.batch_size = int(batch_size or max(32, 4 * self.concurrency))
        self.max_users = max_users
        # no key, no URL credentials: only what changes outputs
        self.cache_id = (f"openai:{model}:max{self.max_tokens}:top_p{top_p}:npr{n_per_request}:"
                         + json.dumps(self.extra_body, sort_keys=True))
        self.stats = {"requests": 0, "retries": 0, "failures": 0}
        self._lock = threading.Lock()

    # -- one request ---------------------------------------------------------------------------
    def _headers(self) -> dict:
        h = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            h["Authorization"] = f"Bearer {key}"
        return h

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def _post(self, body: dict) -> dict:
        data = json.dumps(body).encode("utf-8")
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            self._count("requests")
            retry_after = None
            try:
                req = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
                if e.code not in RETRY_STATUS:
                    raise HTTPTeacherError(f"{self.url}: {last} (not retried)") from None
                ra = e.headers.get("Retry-After") if e.headers else None
                try:
                    retry_after = float(ra) if ra is not None else None
                except ValueError:
                    retry_after = None
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            except json.JSONDecodeError:
                last = "response is not JSON"
            if attempt < self.max_retries:
                self._count("retries")
                wait = retry_after if retry_after is not None else self.backoff * 2 ** attempt
                time.sleep(min(self.max_backoff, wait) * (1 + 0.1 * random.random()))
        raise HTTPTeacherError(f"{self.url}: gave up after {self.max_retries + 1} tries ({last})")

    def _request(self, messages: list[dict], n: int, temperature: float, seed: int) -> list[str | None]:
        body = {"model": self.model, "messages": messages, "n": n, "temperature": float(temperature),
                "max_tokens": self.max_tokens, **self.extra_body}
        if self.top_p is not None:
            body["top_p"] = self.top_p
        if self.send_seed:
            body["seed"] = seed
        try:
            resp = self._post(body)
            texts = [(c.get("message") or {}).get("content") or "" for c in resp.get("choices", [])]
        except HTTPTeacherError:
            self._count("failures")
            if self.on_failure == "raise":
                raise
            texts = []
        return (texts + [None] * n)[:n]

    # -- the interface -------------------------------------------------------------------------
    def generate(self, messages_batch, n, temperature, seed):
        per = n if not self.n_per_request else max(1, min(self.n_per_request, n))
        jobs = []  # (prompt index, first sample, count, seed)
        for pi, m in enumerate(messages_batch):
            ph = prompt_hash(m)
            for first in range(0, n, per):
                jobs.append((pi, first, min(per, n - first), derive_seed(seed, self.cache_id, ph, first) % 2**31))
        out: list[list[str | None]] = [[None] * n for _ in messages_batch]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            results = pool.map(lambda j: self._request(messages_batch[j[0]], j[2], temperature, j[3]), jobs)
            for (pi, first, cnt, _), texts in zip(jobs, results):
                out[pi][first:first + cnt] = texts
        return out
