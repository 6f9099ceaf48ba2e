"""The webhook: post the digest (Slack-compatible ``{"text": ...}``) or the report (JSON) to an operator's URL.

Bounded: one total deadline for all attempts (sockets shut by :class:`rinsync.deadline.Watchdog`), a few
retries with backoff on connection errors and 5xx. Never raises: a failure is one warning line. The URL is
shown as ``scheme://host/…`` only (Slack and Discord keep their token in the path).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

TOTAL_DEADLINE = 15.0
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the 2nd attempt, doubled after each
FORMATS = ("slack", "json")


@dataclass
class Sent:
    ok: bool
    attempts: int
    problem: str | None = None


def shown_url(url: str) -> str:
    """``scheme://host[:port]/…``: never the path, query or credentials, which may hold the webhook's token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}/…"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive notifications (None: fine): HTTPS anywhere, plain HTTP only to this machine."""
    from ..httpclient import is_loopback
    from ..httpclient import url_problem as unusable

    problem = unusable(url)
    if problem:
        return problem
    parts = urlsplit(url)
    if parts.scheme != "https" and not is_loopback((parts.hostname or "").lower()):
        return "plain http:// is allowed only to this machine (localhost, 127.0.0.1, ::1); use https://"
    return None


def body(report: dict, digest: str, fmt: str) -> bytes:
    if fmt == "json":
        from .changes import to_json

        return to_json(report).encode("utf-8")
    return (json.dumps({"text": digest}, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def post(url: str, data: bytes, deadline: float = TOTAL_DEADLINE, attempts: int = ATTEMPTS) -> Sent:
    """POST ``data`` (JSON) to ``url`` through the bounded client (one total deadline for every attempt, a small
    answer cap, no redirect followed): retried on connection errors and 5xx while the deadline allows."""
    from ..httpclient import HttpClient, HttpError

    client = HttpClient(total=deadline, exchange=deadline, connect=5.0, read=deadline, max_bytes=64 * 1024,
                        accept="*/*")
    problem = "no attempt made"
    wait = BACKOFF
    done = 0
    for attempt in range(1, attempts + 1):
        if client.remaining() <= 0.05:
            problem = f"{problem}; gave up at the {deadline:g}s deadline"
            break
        done = attempt
        try:
            answer = client.request("POST", url, data=data, headers={"Content-Type": "application/json"})
        except HttpError as exc:
            if exc.kind == "deadline":
                problem = "timed out"
                break
            if exc.kind in ("url", "plain-http", "redirect"):
                problem = exc.kind
                break
            problem = f"connection failed ({exc.kind})"
        else:
            if 200 <= answer.status < 300:
                return Sent(True, attempt)
            problem = f"HTTP {answer.status}"
            if answer.status < 500:
                break  # the receiver refused this message: sending it again will not help
        if attempt < attempts and client.remaining() > wait:
            time.sleep(wait)
            wait *= 2
    return Sent(False, done, problem)
