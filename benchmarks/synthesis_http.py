"""HTTP backend against a local stub server with fixed latency L and concurrency C: achieved
requests/s as a fraction of the C/L bound (goal >= 80%).

    python benchmarks/synthesis_http.py [--latency 0.05] [--concurrency 16] [--prompts 400]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confprofile.teachers.openai_http import OpenAITeacher

ANSWER = json.dumps({"gender": {"label": "male", "confidence": 0.7, "rationale": "stub"}})


def serve(latency: float) -> ThreadingHTTPServer:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency)
            payload = json.dumps({"choices": [{"message": {"content": ANSWER}}] * body.get("n", 1)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default backlog (5) drops bursts of connects: a stub artefact

    httpd = Server(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--prompts", type=int, default=400)
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    httpd = serve(args.latency)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    msgs = [[{"role": "user", "content": f"<record>\nUser u{i}\n</record>"}] for i in range(args.prompts)]
    t = OpenAITeacher(url, model="stub", concurrency=args.concurrency, api_key_env=None)
    t.generate(msgs[:args.concurrency], n=args.samples, temperature=0.7, seed=0)  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(msgs), t.batch_size):  # batches as synthesis hands them over
        t.generate(msgs[i:i + t.batch_size], n=args.samples, temperature=0.7, seed=0)
    dt = time.perf_counter() - t0
    rps, bound = args.prompts / dt, args.concurrency / args.latency
    print(f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, {args.prompts} requests "
          f"(n={args.samples} each), batch {t.batch_size}")
    print(f"achieved {rps:.1f} req/s; bound C/L = {bound:.1f} req/s; efficiency {rps / bound:.1%} (goal >= 80%)")
    httpd.shutdown()


if __name__ == "__main__":
    main()
