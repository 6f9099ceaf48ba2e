"""A steady stream of requests through a proxy, and the proxy in gunicorn mode: for the tests and the
benchmark of applying a sync (tests/integration/test_apply_proxy.py, benchmarks/bench_apply.py).

:class:`Load` runs ``clients`` threads; each sends one request at a time (``GET /v1/models`` every
third request, else a chat completion for a model of the current window) with ``pause`` seconds in
between, and records every request: kind, model, start, end, HTTP status, error, and whether it
must succeed (a model served before and after the sync in progress). With ``retry_resets`` a
connection error before any answer is retried once (the OpenAI SDK retries such errors by default);
the first error is kept in ``reset`` either way.
"""

from __future__ import annotations

import threading
import time

import harness


class GunicornProxy(harness.LiteLLMProxy):
    """The proxy as docs/apply.md runs it: ``--run_gunicorn --num_workers N``; SIGHUP to its master
    (``proc.pid``) re-reads the config."""

    def __init__(self, *args, workers: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.workers = workers

    def _argv(self) -> list[str]:
        return super()._argv() + ["--run_gunicorn", "--num_workers", str(self.workers)]


NOT_ROUTED = {"gpt-4o-direct"}  # the harness's hand-written entry for the real OpenAI: listed, never called


class Load:
    def __init__(self, url: str, key: str, clients: int = 1, pause: float = 0.02, retry_resets: bool = True):
        self.url = url
        self.auth = {"Authorization": f"Bearer {key}"}
        self.pause = pause
        self.retry_resets = retry_resets
        self.safe: list[str] = []  # served before and after the sync in progress: must never fail
        self.volatile: list[str] = []  # appearing or disappearing: recorded, not asserted
        self.records: list[dict] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def set_window(self, safe: list[str], volatile: list[str] = ()) -> None:
        with self.lock:
            self.safe = [n for n in safe if n not in NOT_ROUTED]
            self.volatile = [n for n in volatile if n not in NOT_ROUTED]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def _run(self, index: int) -> None:
        n = index
        while not self.stop.is_set():
            n += 1
            with self.lock:
                safe, volatile = self.safe, self.volatile
            if n % 3 == 0 or not safe:
                self._request("models", None, True)
            else:
                pool = volatile if volatile and n % 4 == 0 else safe
                self._request("chat", pool[(n * 7) % len(pool)], pool is safe)
            time.sleep(self.pause)

    def _request(self, kind: str, model: str | None, must: bool) -> None:
        start = time.monotonic()
        status, body, error, reset = None, None, None, None
        for _ in range(2 if self.retry_resets else 1):
            try:
                if kind == "models":
                    status, body = harness.http_json("GET", self.url + "/v1/models", headers=self.auth, timeout=60)
                else:
                    status, body = harness.http_json(
                        "POST", self.url + "/v1/chat/completions", headers=self.auth, timeout=60,
                        body={"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5})
                error = None
                break
            except Exception as exc:  # refused, reset, timeout
                error = repr(exc)
                reset = reset or error
        record = {"kind": kind, "model": model, "must": must, "start": start, "end": time.monotonic(),
                  "status": status, "error": error, "reset": reset}
        if status == 200 and kind == "models":
            record["served"] = frozenset(m["id"] for m in body["data"])
        elif status == 200:
            record["ok"] = body["choices"][0]["message"]["content"] == "pong from fake openrouter"
        with self.lock:
            self.records.append(record)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.records)

    def failures(self, since: float = 0.0, until: float = float("inf")) -> list[dict]:
        """Requests that had to succeed and did not (started in [since, until])."""
        return [r for r in self.snapshot() if since <= r["start"] <= until and r["must"]
                and (r["status"] != 200 or r.get("ok") is False)]

    def resets(self, since: float = 0.0, until: float = float("inf")) -> list[dict]:
        return [r for r in self.snapshot() if since <= r["start"] <= until and r["reset"]]

    def longest_stall(self, since: float, until: float) -> float:
        """The longest time in [since, until] without a successful answer (a request's latency included)."""
        done = sorted(r["end"] for r in self.snapshot()
                      if r["status"] == 200 and r.get("ok") is not False and since <= r["end"] <= until)
        marks = [since, *done, until]
        return max(b - a for a, b in zip(marks, marks[1:], strict=False))

    def longest_request(self, since: float, until: float) -> float:
        spans = [r["end"] - r["start"] for r in self.snapshot() if since <= r["start"] <= until]
        return max(spans, default=0.0)
