"""Helpers for the sync tests: a scripted catalog server on 127.0.0.1, rules with test-sized timeouts.

Nothing here reaches the internet: every URL points at 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from support import REPO, SHARED, TODAY_EPOCH

CATALOG_DIR = SHARED / "catalogs"
CATALOG_NEW = CATALOG_DIR / "openrouter-models-2026-08-19.json"
CATALOG_OLD = CATALOG_DIR / "openrouter-models-2026-05-01.json"
CATALOG_2024 = CATALOG_DIR / "openrouter-models-2024-02-18.json"
EXAMPLE_CONFIG = REPO / "config" / "litellm" / "config.yaml"
FAKE_KEY = "sk-or-v1-FAKEKEY-9f3c2e7d1b5a4c8e-rinsync-test"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    cut: bool = False  # announce the full length, send half the body, close the connection
    drop: bool = False  # close the connection without any answer
    trickle: float = 0.0  # send the whole answer, status line and headers included, one byte every N seconds
    trickle_after: int = 0  # ... after sending this many bytes at once (past the headers: a slow body only)


class CatalogServer:
    """A threaded HTTP server: replies queued with :meth:`queue` first, then the default reply.

    ``etag``: when set on the default reply and the client sends a matching If-None-Match, answers 304.
    Every request's path and headers are kept in ``requests``.
    """

    def __init__(self) -> None:
        self.default = Reply(status=404, body=b"not found")
        self.replies: deque[Reply] = deque()
        self.requests: list[dict] = []
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append({"path": self.path, "headers": dict(self.headers.items())})
                reply = outer.replies.popleft() if outer.replies else outer.default
                if reply.delay:
                    outer.stop.wait(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.trickle:
                    self.close_connection = True
                    head = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                    raw = (f"HTTP/1.1 {reply.status} OK\r\n{head}Content-Length: {len(reply.body)}\r\n\r\n"
                           .encode() + reply.body)
                    with contextlib.suppress(OSError):
                        self.wfile.write(raw[:reply.trickle_after])
                        self.wfile.flush()
                    for index in range(reply.trickle_after, len(raw)):
                        if outer.stop.wait(reply.trickle):
                            return
                        try:
                            self.wfile.write(raw[index:index + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                etag = reply.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag and reply.status == 200:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.cut:
                    self.send_header("Connection", "close")
                self.end_headers()
                if reply.cut:
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(reply.body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # clients hanging up early (timeouts, retries) are part of the tests

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1/models"

    def serve(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.default = Reply(status=status, body=body, headers={"Content-Type": "application/json", **headers})

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def __enter__(self) -> CatalogServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1/models"


def make_rules(directory: Path, retries: int = 2, connect: float = 1.0, read: float = 1.0,
               total: float | None = None, url: str = "https://openrouter.ai/api/v1/models") -> Path:
    """The shipped rules with a source block sized for tests (short timeouts, few retries)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted((REPO / "rules").glob("*.yaml")):
        shutil.copy(path, directory / path.name)
    timeout = {"connect": connect, "read": read} | ({"total": total} if total is not None else {})
    source = {"version": 1, "source": {"url": url,
                                       "params": {"output_modalities": "all"}, "api_key_env": "OPENROUTER_API_KEY",
                                       "timeout": timeout, "retries": retries}}
    (directory / "00-source.yaml").write_text(yaml.safe_dump(source, sort_keys=False))
    return directory


def new_site(tmp_path: Path) -> Path:
    """A directory with the example config at config/litellm/config.yaml; returns the config path."""
    config = tmp_path / "config" / "litellm" / "config.yaml"
    config.parent.mkdir(parents=True)
    shutil.copy(EXAMPLE_CONFIG, config)
    return config


def load(path: Path) -> dict:
    return yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def dump(document: dict) -> str:
    return yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False)


def entry(config: Path, name: str) -> dict:
    return next(e for e in load(config)["model_list"] if e.get("model_name") == name)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path -> bytes)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def subset_catalog(path: Path, count: int) -> bytes:
    data = json.loads(path.read_bytes())
    data["data"] = data["data"][:count]
    return json.dumps(data).encode()


def rinsync_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rinsync", *args]


def subprocess_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "RINSYNC_SOURCE_URL")}
    env.update(SOURCE_DATE_EPOCH=TODAY_EPOCH, PYTHONPATH=str(REPO), NO_PROXY="127.0.0.1,localhost", **extra)
    return env


def run(args: list[str], env: dict, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def run_limited(args: list[str], env: dict, cwd: Path, timeout: float,
                memory_mb: int = 1024) -> subprocess.CompletedProcess:
    """Run under a wall-clock timeout and an address-space limit: a regression fails, it cannot hang or
    exhaust the machine (subprocess.TimeoutExpired or a non-zero exit instead)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, memory_mb * 1024 * 1024))

    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit)


def assert_one_line_failure(done: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """Exit ``code``, exactly one stderr line holding every needle, no traceback; returns that line."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr.replace("rinsync: error:", "")
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
