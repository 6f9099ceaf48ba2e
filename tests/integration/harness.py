"""Helpers that run the REAL LiteLLM proxy and the REAL Open WebUI on loopback.

Everything here stays on 127.0.0.1 and needs no internet:

* :class:`FakeOpenRouter` -- a tiny OpenAI-compatible upstream (stdlib
  ``http.server`` in a thread) that records requests, answers
  ``POST .../chat/completions`` and serves ``GET /api/v1/models`` from a
  catalog dict.
* :class:`LiteLLMProxy` -- ``litellm --config ...`` in its own process group.
* :class:`OpenWebUI` -- ``open-webui serve`` pointed at the proxy.

The binaries come from ``ci/install-integration.sh`` (``.venv-it/``) unless
``RINSYNC_LITELLM_BIN`` / ``RINSYNC_OPENWEBUI_BIN`` say otherwise.  When a
binary is missing, tests skip -- unless ``RINSYNC_REQUIRE_INTEGRATION=1``, in
which case they fail.  See docs/integration-notes.md.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
IT_DIR = Path(os.environ.get("RINSYNC_IT_DIR", REPO_ROOT / ".venv-it"))
if not IT_DIR.is_absolute():
    IT_DIR = REPO_ROOT / IT_DIR

MASTER_KEY = "sk-test-master"
FAKE_OPENROUTER_KEY = "sk-or-fake-integration-key"

PROXY_START_TIMEOUT = float(os.environ.get("RINSYNC_IT_PROXY_TIMEOUT", "120"))
WEBUI_START_TIMEOUT = float(os.environ.get("RINSYNC_IT_WEBUI_TIMEOUT", "300"))


# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(
    method: str,
    url: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """Do one HTTP request; return ``(status, parsed JSON or raw text)``.

    Never raises for HTTP error statuses (4xx/5xx come back as the status).
    """
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with _opener.open(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# Never go through an HTTP(S)_PROXY for loopback traffic.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_http(
    url: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    proc: subprocess.Popen | None = None,
    ok: Iterable[int] = (200,),
) -> float:
    """Poll ``url`` until it answers with a status in ``ok``.

    Returns the seconds waited.  Raises ``TimeoutError`` after ``timeout``,
    or ``RuntimeError`` at once if ``proc`` has exited.
    """
    ok = set(ok)
    t0 = time.monotonic()
    last: str = "no answer"
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} while waiting for {url}")
        try:
            status, _ = http_json("GET", url, headers=headers, timeout=5)
            if status in ok:
                return time.monotonic() - t0
            last = f"HTTP {status}"
        except (OSError, urllib.error.URLError) as e:  # refused, reset, timeout
            last = repr(e)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{url} not ready after {timeout:.0f}s (last: {last})")
        time.sleep(0.5)


def write_config(path: str | os.PathLike, model_list: list[dict[str, Any]], **top: Any) -> Path:
    """Write a LiteLLM proxy config with the given ``model_list``.

    Extra top-level sections (``litellm_settings=...``) go in ``top``.  Written with PyYAML (a
    rinsync dependency, so present in the test process), NOT as JSON: JSON floats such as
    ``8e-07`` have no ``.``, and YAML 1.1 loaders -- PyYAML, which LiteLLM and rinsync use --
    read them as the *string* ``"8e-07"``.  PyYAML writes ``8.0e-07``.
    """
    import yaml

    path = Path(path)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump({"model_list": model_list, **top}, Dumper=dumper, sort_keys=False, width=4096))
    return path


def _tail(path: Path, n: int = 60) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------
# finding binaries / skip-or-fail policy
# --------------------------------------------------------------------------


def _find_bin(env_var: str, venv_rel: str, name: str) -> str | None:
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cand = IT_DIR / venv_rel
    if os.access(cand, os.X_OK):
        return str(cand)
    return shutil.which(name)


def _litellm_venv_rel() -> str:
    """``litellm-<version>/bin/litellm`` of the oldest tested version installed under IT_DIR
    (ci/install-integration.sh's layout); ``.ci/run`` picks each version with RINSYNC_LITELLM_BIN."""
    from rinsync.litellm.proxyversion import TESTED_VERSIONS

    for version in TESTED_VERSIONS:
        rel = f"litellm-{version}/bin/litellm"
        if os.access(IT_DIR / rel, os.X_OK):
            return rel
    return f"litellm-{TESTED_VERSIONS[0]}/bin/litellm"


def litellm_bin() -> str | None:
    return _find_bin("RINSYNC_LITELLM_BIN", _litellm_venv_rel(), "litellm")


@functools.cache
def litellm_version() -> str:
    """The version of the litellm package beside :func:`litellm_bin` (its venv's metadata)."""
    binary = litellm_bin()
    if binary is None:
        raise FileNotFoundError(integration_available("litellm")[1])
    python = Path(binary).with_name("python")
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"cannot read the litellm version beside {binary}: {done.stderr[-500:]}")
    return done.stdout.strip()


def openwebui_bin() -> str | None:
    return _find_bin("RINSYNC_OPENWEBUI_BIN", "webui/bin/open-webui", "open-webui")


def integration_required() -> bool:
    return os.environ.get("RINSYNC_REQUIRE_INTEGRATION", "").strip().lower() in {"1", "true", "yes"}


def integration_available(*components: str) -> tuple[bool, str]:
    """Whether the given components (``"litellm"``, ``"openwebui"``) can run.

    Returns ``(ok, reason)``; ``reason`` says what is missing and how to get it.
    """
    missing = []
    for c in components or ("litellm",):
        if c == "litellm" and litellm_bin() is None:
            missing.append("litellm (set RINSYNC_LITELLM_BIN or run ci/install-integration.sh)")
        elif c == "openwebui" and openwebui_bin() is None:
            missing.append("open-webui (set RINSYNC_OPENWEBUI_BIN or run ci/install-integration.sh)")
        elif c not in {"litellm", "openwebui"}:
            raise ValueError(f"unknown component {c!r}")
    if missing:
        return False, "integration binaries missing: " + "; ".join(missing)
    return True, ""


def require_integration(*components: str) -> None:
    """Skip the calling test when binaries are missing; fail instead when
    ``RINSYNC_REQUIRE_INTEGRATION=1``."""
    import pytest

    ok, reason = integration_available(*components)
    if ok:
        return
    if integration_required():
        pytest.fail(reason + " (RINSYNC_REQUIRE_INTEGRATION=1)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------
# fake OpenRouter upstream
# --------------------------------------------------------------------------


class FakeOpenRouter:
    """OpenAI-compatible fake of OpenRouter on 127.0.0.1.

    * ``POST <anything>/chat/completions`` -> a valid chat completion (or an
      SSE stream when the body asks ``"stream": true``), echoing the model id.
    * ``GET /api/v1/models`` -> ``catalog`` (a dict like OpenRouter's
      ``{"data": [...]}``).
    * every request is appended to ``.requests`` as a dict with ``method``,
      ``path``, ``headers`` (lower-cased names) and ``json`` (parsed body or None).

    ``.api_base`` is ``http://127.0.0.1:PORT/api/v1`` -- what goes into
    ``litellm_params.api_base``.

    ``.usage`` maps an OpenRouter model id to the ``usage`` object its replies (plain and streamed)
    carry, e.g. cached and reasoning token details or OpenRouter's own ``cost``; other models get
    ``DEFAULT_USAGE``. ``.annotations`` maps a model id to the ``annotations`` of its plain replies'
    message (``url_citation`` ones mark a web search).
    """

    DEFAULT_USAGE: dict[str, Any] = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}

    def __init__(self, catalog: Mapping[str, Any] | None = None, reply: str = "pong from fake openrouter"):
        self.catalog = dict(catalog) if catalog is not None else {"data": []}
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.usage: dict[str, dict[str, Any]] = {}
        self.annotations: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> FakeOpenRouter:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _record(self, body: bytes) -> dict[str, Any]:
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                rec = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": parsed,
                }
                with outer._lock:
                    outer.requests.append(rec)
                return rec

            def _send(self, status: int, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):  # noqa: N802
                self._record(b"")
                path = self.path.split("?", 1)[0].rstrip("/")
                if path in ("/api/v1/models", "/v1/models", "/models"):
                    self._send(200, outer.catalog)
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "code": 404}})

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = self._record(body)
                path = self.path.split("?", 1)[0].rstrip("/")
                if not path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}", "code": 404}})
                    return
                req = rec["json"] or {}
                model = req.get("model", "unknown")
                if req.get("stream"):
                    self._stream(model)
                else:
                    self._send(200, outer.completion(model))

            def _stream(self, model: str) -> None:
                cid = f"gen-fake-{int(time.time() * 1000)}"
                created = int(time.time())
                chunks = [
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [
                            {"index": 0, "delta": {"role": "assistant", "content": outer.reply}, "finish_reason": None}
                        ],
                    },
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        "usage": outer.usage_for(model),
                    },
                ]
                raw = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openrouter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v1"

    def completion(self, model: str) -> dict[str, Any]:
        return {
            "id": f"gen-fake-{int(time.time() * 1000)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "provider": "FakeOpenRouter",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply,
                                **({"annotations": self.annotations[model]} if model in self.annotations else {})},
                    "finish_reason": "stop",
                }
            ],
            "usage": self.usage_for(model),
        }

    def usage_for(self, model: str) -> dict[str, Any]:
        """The ``usage`` object of a reply for ``model`` (a copy)."""
        return json.loads(json.dumps(self.usage.get(model, self.DEFAULT_USAGE)))

    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r["method"] == "POST" and r["path"].rstrip("/").endswith("/chat/completions")
            ]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


# --------------------------------------------------------------------------
# managed subprocess base
# --------------------------------------------------------------------------


class _Service:
    """A server subprocess in its own process group, output to a log file."""

    name = "service"

    def __init__(self, env: Mapping[str, str] | None, log_dir: str | os.PathLike | None):
        self.extra_env = dict(env or {})
        self.port = free_port()
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix=f"rinsync-{self.name}-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None
        self.start_seconds: float | None = None  # time of the last start
        self._log_fh = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # subclasses provide these
    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        raise NotImplementedError

    def _wait_ready(self, timeout: float) -> None:
        raise NotImplementedError

    def _timeout(self) -> float:
        raise NotImplementedError

    start_attempts = 2  # a worker of LiteLLM 1.108.7 hung in its start-up (after "Set models") once in a few
    # dozen starts on this loaded 2-core machine, before rinsync did anything: the service under test is
    # started afresh once; a second hang fails the test with both logs

    def start(self):
        for attempt in range(1, self.start_attempts + 1):
            try:
                return self._start_once()
            except RuntimeError as exc:
                if attempt == self.start_attempts:
                    raise
                print(f"\n{self.name}: start {attempt} failed, starting it afresh: {str(exc).splitlines()[0]}",
                      file=sys.stderr)
        raise AssertionError("unreachable")

    def _start_once(self):
        if self.proc is not None and self.proc.poll() is None:
            return self
        self._log_fh = open(self.log_path, "ab")
        self._log_fh.write(f"\n===== starting {self.name}: {' '.join(self._argv())}\n".encode())
        self._log_fh.flush()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self._argv(),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            cwd=str(self.log_dir),
            start_new_session=True,  # own process group: stop() kills workers too
        )
        try:
            self._wait_ready(self._timeout())
        except BaseException as e:
            self.stop()
            raise RuntimeError(
                f"{self.name} did not become ready: {e}\n--- last lines of {self.log_path} ---\n{_tail(self.log_path)}"
            ) from None
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        if proc is not None:
            # reap anything left in the group (uvicorn workers etc.)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    def restart(self):
        self.stop()
        return self.start()

    def log_tail(self, n: int = 60) -> str:
        return _tail(self.log_path, n)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    # never route loopback traffic through a proxy
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(k, None)
    # an activated rinsync venv must not leak into the other venvs
    for k in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --------------------------------------------------------------------------
# LiteLLM proxy
# --------------------------------------------------------------------------


def litellm_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment that keeps the LiteLLM proxy offline and DB-less."""
    env = _base_env()
    for k in ("DATABASE_URL", "STORE_MODEL_IN_DB", "LITELLM_LOG"):
        env.pop(k, None)
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the remote cost map
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_TELEMETRY": "False",
            "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
            "DISABLE_ADMIN_UI": "True",
            "OPENROUTER_API_KEY": FAKE_OPENROUTER_KEY,
            "OPENAI_API_KEY": "sk-openai-fake-not-used",
        }
    )
    env.update(extra or {})
    return env


class LiteLLMProxy(_Service):
    """``litellm --config CONFIG --host 127.0.0.1 --port PORT``.

    ``restart()`` keeps the same config path and port and re-reads the file.
    """

    name = "litellm"

    def __init__(
        self,
        config_path: str | os.PathLike,
        env: Mapping[str, str] | None = None,
        log_dir: str | os.PathLike | None = None,
        master_key: str = MASTER_KEY,
        timeout: float = PROXY_START_TIMEOUT,
    ):
        super().__init__(env, log_dir)
        self.config_path = Path(config_path)
        self.master_key = master_key
        self.timeout = timeout
        b = litellm_bin()
        if b is None:
            raise FileNotFoundError(integration_available("litellm")[1])
        self.bin = b

    def _argv(self) -> list[str]:
        return [self.bin, "--config", str(self.config_path), "--host", "127.0.0.1", "--port", str(self.port)]

    def _env(self) -> dict[str, str]:
        return litellm_env({"LITELLM_MASTER_KEY": self.master_key, **self.extra_env})

    def _timeout(self) -> float:
        return self.timeout

    def _wait_ready(self, timeout: float) -> None:
        # /health/readiness answers only once the router is built from the config
        wait_http(f"{self.url}/health/readiness", timeout, proc=self.proc)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.master_key}"}

    def get(self, path: str) -> Any:
        status, body = http_json("GET", self.url + path, headers=self.auth)
        if status != 200:
            raise AssertionError(f"GET {path} -> {status}: {body}")
        return body

    def models(self) -> list[str]:
        """Model names from ``GET /v1/models``."""
        return [m["id"] for m in self.get("/v1/models")["data"]]

    def model_info(self) -> list[dict[str, Any]]:
        """Entries from ``GET /v1/model/info`` (each has ``model_name``,
        ``litellm_params`` with secrets stripped, and ``model_info``)."""
        return self.get("/v1/model/info")["data"]

    def model_info_by_name(self) -> dict[str, dict[str, Any]]:
        return {e["model_name"]: e for e in self.model_info()}

    def chat(self, model: str, messages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        status, body = http_json(
            "POST",
            f"{self.url}/v1/chat/completions",
            body={"model": model, "messages": messages, **kw},
            headers=self.auth,
            timeout=60,
        )
        if status != 200:
            raise AssertionError(f"chat {model} -> {status}: {body}\n--- proxy log ---\n{self.log_tail(30)}")
        return body

    def chat_raw(self, model: str, messages: list[dict[str, Any]], **kw: Any) -> tuple[str, dict[str, str]]:
        """One chat completion (``stream=True`` works too): the raw body and the response headers
        (lower-cased names), e.g. ``x-litellm-response-cost``. Fails on a non-200 answer."""
        data = json.dumps({"model": model, "messages": messages, **kw}).encode()
        req = urllib.request.Request(f"{self.url}/v1/chat/completions", data=data, method="POST",
                                     headers={**self.auth, "Content-Type": "application/json"})
        try:
            with _opener.open(req, timeout=60) as resp:
                return resp.read().decode(), {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as e:
            raise AssertionError(f"chat {model} -> {e.code}: {e.read()[:500]!r}\n{self.log_tail(30)}") from None


# --------------------------------------------------------------------------
# Open WebUI
# --------------------------------------------------------------------------


def openwebui_env(
    data_dir: str | os.PathLike, openai_base_url: str, openai_key: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment that keeps Open WebUI offline, auth-less and quick to start."""
    env = _base_env()
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "OFFLINE_MODE": "true",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "WEBUI_AUTH": "False",
            "WEBUI_SECRET_KEY": "rinsync-integration-secret",
            "ENABLE_OLLAMA_API": "false",
            "ENABLE_OPENAI_API": "true",
            "OPENAI_API_BASE_URL": openai_base_url,
            "OPENAI_API_KEY": openai_key,
            # do not download/load a sentence-transformers embedding model
            "RAG_EMBEDDING_ENGINE": "openai",
            "RAG_EMBEDDING_MODEL_AUTO_UPDATE": "False",
            "RAG_RERANKING_MODEL_AUTO_UPDATE": "False",
            # env, not the config saved in DATA_DIR's database, is authoritative
            "ENABLE_PERSISTENT_CONFIG": "False",
            # no base-model cache beyond the default 1 s TTL of the OpenAI list
            "ENABLE_BASE_MODELS_CACHE": "False",
            "SCARF_NO_ANALYTICS": "true",
            "DO_NOT_TRACK": "true",
            "ANONYMIZED_TELEMETRY": "false",
            "ENABLE_VERSION_UPDATE_CHECK": "false",
            "GLOBAL_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra or {})
    return env


class OpenWebUI(_Service):
    """``open-webui serve --host 127.0.0.1 --port PORT`` against an
    OpenAI-compatible base URL (normally the LiteLLM proxy's ``/v1``)."""

    name = "open-webui"

    def __init__(
        self,
        openai_base_url: str,
        openai_key: str = MASTER_KEY,
        env: Mapping[str, str] | None = None,
        data_dir: str | os.PathLike | None = None,
        log_dir: str | os.PathLike | None = None,
        timeout: float = WEBUI_START_TIMEOUT,
    ):
        super().__init__(env, log_dir)
        self.openai_base_url = openai_base_url
        self.openai_key = openai_key
        self.data_dir = Path(data_dir) if data_dir is not None else self.log_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self._token: str | None = None
        b = openwebui_bin()
        if b is None:
            raise FileNotFoundError(integration_available("openwebui")[1])
        self.bin = b

    def _argv(self) -> list[str]:
        return [self.bin, "serve", "--host", "127.0.0.1", "--port", str(self.port)]

    def _env(self) -> dict[str, str]:
        return openwebui_env(self.data_dir, self.openai_base_url, self.openai_key, self.extra_env)

    def _timeout(self) -> float:
        return self.timeout

    def _wait_ready(self, timeout: float) -> None:
        wait_http(f"{self.url}/health", timeout, proc=self.proc)
        self._token = None

    def token(self) -> str:
        """Session token.  With WEBUI_AUTH=False, sign-in with empty
        credentials returns the default admin's token."""
        if self._token is None:
            status, body = http_json("POST", f"{self.url}/api/v1/auths/signin", body={"email": "", "password": ""})
            if status != 200 or not isinstance(body, dict) or "token" not in body:
                raise AssertionError(f"signin -> {status}: {body}")
            self._token = body["token"]
        return self._token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def models(self, refresh: bool = True) -> list[dict[str, Any]]:
        """``GET /api/models`` (with ``?refresh=true`` by default, which makes
        Open WebUI re-query its OpenAI connections instead of a cached list)."""
        path = "/api/models?refresh=true" if refresh else "/api/models"
        status, body = http_json("GET", self.url + path, headers=self.auth, timeout=60)
        if status != 200:
            raise AssertionError(f"GET {path} -> {status}: {body}")
        return body["data"] if isinstance(body, dict) else body

    def model_ids(self, refresh: bool = True) -> list[str]:
        return [m["id"] for m in self.models(refresh=refresh)]


# --------------------------------------------------------------------------
# rinsync side: compile configs, compare what the proxy serves with them
# --------------------------------------------------------------------------

REFERER = "https://rinsync.example.test"
TITLE = "rinsync-integration"
TODAY_EPOCH = "1795478400"  # 2026-11-24T00:00:00Z: fixed compile date (expiry rules), as in tests/support.py


HAND_WRITTEN_NAMES = ["gpt-4o-direct", "team-gpt-4o-mini"]


def hand_written_config(api_base: str) -> str:
    """A LiteLLM config before the first sync: top-level settings and two hand-written entries,
    a direct OpenAI one and an ``openrouter/...`` route WITHOUT rinsync's marker (both must
    survive ``rinsync compile --config``)."""
    return f"""\
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
litellm_settings:
  drop_params: true
model_list:
  - model_name: gpt-4o-direct            # hand-written: a direct provider
    litellm_params: {{model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}}
  - model_name: team-gpt-4o-mini         # hand-written OpenRouter route, no rinsync marker
    litellm_params:
      model: openrouter/openai/gpt-4o-mini
      api_key: os.environ/OPENROUTER_API_KEY
      api_base: {api_base}
    model_info: {{mode: chat, supports_vision: true}}
"""


def attribution_rules(api_base: str, referer: str = REFERER, title: str = TITLE) -> str:
    """An extra rules file (for ``--rules rules/ --rules FILE``) sending every generated entry to
    ``api_base`` (a FakeOpenRouter) with OpenRouter's attribution headers."""
    return (
        "version: 1\n"
        "defaults:\n"
        "  litellm_params:\n"
        f"    api_base: {api_base}\n"
        "    extra_headers:\n"
        f"      HTTP-Referer: {referer}\n"
        f"      X-Title: {title}\n"
    )


def run_rinsync(*args: str | os.PathLike, env: Mapping[str, str] | None = None, cwd: str | os.PathLike = REPO_ROOT,
                timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m rinsync ARGS`` with this interpreter (the rinsync venv); never raises on exit codes."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                                  "https_proxy", "ALL_PROXY", "all_proxy")}
    full_env.setdefault("SOURCE_DATE_EPOCH", TODAY_EPOCH)
    full_env["NO_PROXY"] = full_env["no_proxy"] = "127.0.0.1,localhost"
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "rinsync", *map(str, args)], cwd=str(cwd), env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def compile_into_config(config: str | os.PathLike, catalog: str | os.PathLike, *rules: str | os.PathLike) -> str:
    """``rinsync compile --catalog CATALOG --rules ... --config CONFIG`` (merge); returns its stderr."""
    rules_args = [a for r in rules for a in ("--rules", r)]
    r = run_rinsync("compile", "--catalog", catalog, *rules_args, "--config", config)
    assert r.returncode == 0, f"rinsync compile --config failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stderr


def compile_standalone(output: str | os.PathLike, catalog: str | os.PathLike,
                       *rules: str | os.PathLike) -> list[dict[str, Any]]:
    """``rinsync compile --catalog CATALOG --rules ... --output OUTPUT``; returns its model_list."""
    rules_args = [a for r in rules for a in ("--rules", r)]
    r = run_rinsync("compile", "--catalog", catalog, *rules_args, "--output", output)
    assert r.returncode == 0, f"rinsync compile --output failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return load_model_list(output)


def rinsync_verify(proxy_url: str, config: str | os.PathLike, key: str = MASTER_KEY) -> subprocess.CompletedProcess:
    """``rinsync verify --proxy URL --config CONFIG`` with ``LITELLM_MASTER_KEY=key`` (empty: no
    key); fails the test if the key shows up in the output."""
    r = run_rinsync("verify", "--proxy", proxy_url, "--config", config, env={"LITELLM_MASTER_KEY": key})
    assert not key or key not in r.stdout + r.stderr, "rinsync verify printed the key"
    return r


def load_model_list(path: str | os.PathLike) -> list[dict[str, Any]]:
    return load_yaml(path)["model_list"]


def load_yaml(path: str | os.PathLike) -> Any:
    """A YAML file, with libyaml's safe loader when present (configs here are ~300 KB)."""
    import yaml

    return yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def is_generated(entry: Mapping[str, Any]) -> bool:
    return (entry.get("model_info") or {}).get("generated_by") == "rinsync"


def same_value(expected: Any, got: Any, rel_tol: float = 1e-9) -> bool:
    """bools strictly (True is not 1), numbers within ``rel_tol``, everything else with ``==``."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return math.isclose(expected, got, rel_tol=rel_tol)
    return expected == got


def model_info_mismatches(expected: Iterable[Mapping[str, Any]], info: Iterable[Mapping[str, Any]],
                          params: Iterable[str] = ("model", "api_base", "extra_headers")) -> list[str]:
    """Where the proxy's ``/model/info`` deployments differ from the ``expected`` config entries:
    every key of each expected ``model_info``, plus the given ``litellm_params`` keys.
    Deployments are matched by ``model_name`` (plus ``openrouter_id`` for model groups)."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for d in info:
        by_name.setdefault(d["model_name"], []).append(d)
    out = []
    for entry in expected:
        name = entry["model_name"]
        want_info = entry.get("model_info") or {}
        candidates = by_name.get(name, [])
        dep = next((d for d in candidates if (d.get("model_info") or {}).get("openrouter_id")
                    == want_info.get("openrouter_id")), candidates[0] if candidates else None)
        if dep is None:
            out.append(f"{name}: not in the proxy's model info")
            continue
        got_info = dep.get("model_info") or {}
        for key, want in want_info.items():
            if not same_value(want, got_info.get(key)):
                out.append(f"{name} model_info.{key}: compiled {want!r}, proxy {got_info.get(key)!r}")
        got_params = dep.get("litellm_params") or {}
        for key in params:
            want = (entry.get("litellm_params") or {}).get(key)
            if want is not None and got_params.get(key) != want:
                out.append(f"{name} litellm_params.{key}: compiled {want!r}, proxy {got_params.get(key)!r}")
    return out


def assert_model_info_matches(expected: Iterable[Mapping[str, Any]], info: Iterable[Mapping[str, Any]]) -> None:
    bad = model_info_mismatches(expected, info)
    if bad:
        shown = "\n  ".join(bad[:40]) + (f"\n  ... and {len(bad) - 40} more" if len(bad) > 40 else "")
        raise AssertionError(f"{len(bad)} model info mismatch(es) between the compiled config and the proxy:\n  "
                             + shown)


def assert_serves_exactly(served: Iterable[str], expected: Iterable[str]) -> None:
    """``served`` (e.g. ``/v1/models`` ids) holds exactly the ``expected`` names, each once."""
    served, expected = list(served), list(expected)
    dupes = sorted({n for n in served if served.count(n) > 1})
    missing = sorted(set(expected) - set(served))
    extra = sorted(set(served) - set(expected))
    if dupes or missing or extra:
        raise AssertionError(f"served models differ: {len(missing)} missing {missing[:20]}, {len(extra)} extra "
                             f"{extra[:20]}, duplicated {dupes[:20]}")


def fake_site(directory: Path, api_base: str) -> tuple[Path, Path]:
    """``config.yaml`` with the hand-written entries and ``attribution.yaml`` (extra rules), in ``directory``,
    both sending their models to ``api_base`` (a FakeOpenRouter). Returns (config, extra rules)."""
    extra = directory / "attribution.yaml"
    extra.write_text(attribution_rules(api_base))
    config = directory / "config.yaml"
    config.write_text(hand_written_config(api_base))
    return config, extra
