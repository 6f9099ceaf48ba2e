"""Hostile upstreams on 127.0.0.1 for the network tests: a server whose answer per path is a function of the
request and of flag files, and answers that nest deep, hold a number no float can hold, never end, trickle,
redirect or echo the Authorization header."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Answer = Callable[[BaseHTTPRequestHandler], None]


class Stub:
    """``routes[path](handler)`` writes the answer; every request's path and headers are recorded."""

    def __init__(self, routes: dict[str, Answer], host: str = "127.0.0.1"):
        self.routes = routes
        self.requests: list[dict] = []
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                outer.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                       "body": body})
                answer = outer.routes.get(path) or json_answer({"detail": "Not Found"}, 404)
                try:
                    answer(self)
                except OSError:  # the client hung up (its deadline): fine
                    pass
                self.close_connection = True

            do_GET = do_POST = _any  # noqa: N815

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass

        self.server = Server((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def _head(handler: BaseHTTPRequestHandler, status: int, length: int | None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.send_header("Connection", "close")
    handler.end_headers()


def raw_answer(body: bytes, status: int = 200) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, status, len(body))
        handler.wfile.write(body)

    return answer


def json_answer(value, status: int = 200) -> Answer:
    return raw_answer(json.dumps(value).encode(), status)


def deep_json(depth: int = 100_000) -> bytes:
    """``{"data": [[[...]]]}``: nested far past any parser's recursion."""
    return b'{"data": [' + b"[" * depth + b"]" * depth + b"]}"


def big_number_json(key: str = "input_cost_per_token") -> bytes:
    """A /model/info-shaped answer with an integer of 400 digits (no float can hold it)."""
    return ('{"data": [{"model_name": "m", "litellm_params": {"model": "openrouter/x"}, "model_info": {"' + key
            + '": ' + "9" * 400 + "}}]}").encode()


def endless(chunk: bytes = b"0," * 32768, limit: int = 256 * 1024 * 1024) -> Answer:
    """200 with no Content-Length and a body that goes on for ``limit`` bytes (as fast as it is read)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, 200, None)
        handler.wfile.write(b'{"data": [')
        sent = 0
        while sent < limit:
            handler.wfile.write(chunk)
            sent += len(chunk)

    return answer


@functools.cache
def _bomb(size: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = b"0," * (1 << 19)
    parts = [packer.compress(b'{"data": [')]
    parts += [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


def gzip_bomb(size: int = 128 << 20) -> Answer:
    """A ``Content-Encoding: gzip`` body of about 130 KB that inflates to ``size`` bytes (built when served)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body = _bomb(size)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def trickle(body: bytes, every: float, stop: threading.Event) -> Answer:
    """The whole answer, headers included, one byte every ``every`` seconds: each read is quick, the sum is not."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        for byte in head + body:
            if stop.wait(every):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return answer


def redirect(location: str, status: int = 302) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.send_header("Connection", "close")
        handler.end_headers()

    return answer


def echo_auth(status: int = 500) -> Answer:
    """An error whose text quotes the Authorization header it received (as some servers do)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        text = f"invalid credentials: {handler.headers.get('Authorization')}"
        json_answer({"detail": text, "error": {"message": text}}, status)(handler)

    return answer


def switch(flag: Path, normal: Answer, hostile: Answer) -> Answer:
    """``hostile`` while ``flag`` exists (a reload command creates it), else ``normal``."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        (hostile if flag.exists() else normal)(handler)

    return answer


def proxy_answers(entries: list[dict]) -> tuple[bytes, bytes]:
    """What LiteLLM answers to /v1/models and /model/info for these config entries."""
    models = {"data": [{"id": n} for n in dict.fromkeys(e["model_name"] for e in entries)]}
    info = {"data": [{"model_name": e["model_name"], "litellm_params": {"model": e["litellm_params"]["model"]},
                      "model_info": e.get("model_info") or {}} for e in entries]}
    return json.dumps(models).encode(), json.dumps(info).encode()


def elapsed(start: float) -> float:
    return time.monotonic() - start
