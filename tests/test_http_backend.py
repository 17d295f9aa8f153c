"""The OpenAI-compatible client against a real local HTTP server (127.0.0.1, port 0)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from confprofile.synthesis import synthesize
from confprofile.taxonomy import load_taxonomy
from confprofile.teachers.openai_http import HTTPTeacherError, OpenAITeacher

TAX = load_taxonomy()
SECRET = "sk-test-SECRET-do-not-store-123"
ANSWER = json.dumps({"gender": {"label": "male", "confidence": 0.7, "rationale": "r"}})


class Server:
    """Serves a script of responses per request: 'ok', 429, 500, 'hang', 400."""

    def __init__(self, script):
        self.script, self.requests, self.lock = list(script), [], threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append({"headers": dict(self.headers), "body": body})
                    action = outer.script.pop(0) if outer.script else "ok"
                if action == "hang":
                    time.sleep(1.5)
                    action = "ok"
                if isinstance(action, int):
                    self.send_response(action)
                    if action == 429:
                        self.send_header("Retry-After", "0.05")
                    self.end_headers()
                    return
                payload = json.dumps({"choices": [{"message": {"content": ANSWER}} for _ in range(body.get("n", 1))]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def make(script):
        servers.append(Server(script))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


MSGS = [[{"role": "system", "content": "s"}, {"role": "user", "content": "<record>\nUser u1\n</record>"}]]


@pytest.mark.parametrize("script,tries", [([429], 2), ([500], 2), (["hang"], 2), ([503, 502, 429], 4)])
def test_retries_then_success(serve, monkeypatch, script, tries):
    monkeypatch.setenv("MY_KEY", SECRET)
    s = serve(script)
    t = OpenAITeacher(s.url, model="m", api_key_env="MY_KEY", timeout=0.5, backoff=0.01, max_retries=4, concurrency=1)
    out = t.generate(MSGS, n=3, temperature=0.7, seed=0)
    assert out == [[ANSWER] * 3]
    assert len(s.requests) == tries and t.stats["retries"] == tries - 1
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in s.requests)
    body = s.requests[-1]["body"]
    assert body["n"] == 3 and body["model"] == "m" and body["temperature"] == 0.7 and "seed" in body
    assert SECRET not in t.cache_id and SECRET not in repr(t) and SECRET not in json.dumps(t.__dict__, default=str)


def test_gives_up_and_non_retryable(serve):
    s = serve([500] * 10)
    t = OpenAITeacher(s.url, model="m", timeout=0.5, backoff=0.01, max_retries=2, concurrency=1)
    assert t.generate(MSGS, n=2, temperature=0.7, seed=0) == [[None, None]]
    assert len(s.requests) == 3 and t.stats["failures"] == 1
    s2 = serve([400])
    t2 = OpenAITeacher(s2.url, model="m", timeout=0.5, backoff=0.01, max_retries=3, on_failure="raise")
    with pytest.raises(HTTPTeacherError, match="HTTP 400"):
        t2.generate(MSGS, n=1, temperature=0.7, seed=0)
    assert len(s2.requests) == 1


def test_n_per_request_and_concurrency(serve):
    s = serve([])
    t = OpenAITeacher(s.url, model="m", n_per_request=1, concurrency=4, api_key_env="ABSENT_KEY_VAR")
    out = t.generate(MSGS * 3, n=2, temperature=0.7, seed=0)
    assert out == [[ANSWER, ANSWER]] * 3 and len(s.requests) == 6
    assert all("Authorization" not in r["headers"] for r in s.requests)
    assert len({r["body"]["seed"] for r in s.requests}) >= 2  # a seed per sample request


def test_key_never_reaches_the_cache(serve, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    s = serve([429, 500])
    t = OpenAITeacher(s.url, model="m", timeout=0.5, backoff=0.01)
    recs = [{"user_id": f"u{i}", "bio": "hi"} for i in range(3)]
    df = synthesize(recs, TAX, [t], n_samples=2, temperature=0.7, seed=0, cache_dir=tmp_path, progress=False)
    assert df[df.attribute == "gender"].label.eq("male").all()
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in s.requests)
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace")
