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
    from ..source.fetch import _url_problem, may_send_key

    problem = _url_problem(url)
    if problem:
        return problem
    if not may_send_key(url):
        return "plain http:// is allowed only to this machine (localhost, 127.0.0.1, ::1); use https://"
    return None


def body(report: dict, digest: str, fmt: str) -> bytes:
    if fmt == "json":
        from .changes import to_json

        return to_json(report).encode("utf-8")
    return (json.dumps({"text": digest}, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def post(url: str, data: bytes, deadline: float = TOTAL_DEADLINE, attempts: int = ATTEMPTS) -> Sent:
    """POST ``data`` (JSON) to ``url``: retried on connection errors and 5xx while the deadline allows."""
    import requests

    from ..deadline import Watchdog, watched_session

    problem = "no attempt made"
    wait = BACKOFF
    done = 0
    with Watchdog(deadline) as watchdog:
        session = watched_session(watchdog)
        try:
            for attempt in range(1, attempts + 1):
                left = watchdog.remaining()
                if left <= 0.05:
                    problem = f"{problem}; gave up at the {deadline:g}s deadline"
                    break
                done = attempt
                try:
                    response = session.post(url, data=data, headers={"Content-Type": "application/json"},
                                            timeout=(min(5.0, left), left), allow_redirects=False)
                    response.close()
                except requests.RequestException as exc:
                    problem = "timed out" if watchdog.expired else f"connection failed ({type(exc).__name__})"
                else:
                    if 200 <= response.status_code < 300:
                        return Sent(True, attempt)
                    problem = f"HTTP {response.status_code}"
                    if response.status_code < 500:
                        break  # the receiver refused this message: sending it again will not help
                if attempt < attempts and watchdog.remaining() > wait:
                    time.sleep(wait)
                    wait *= 2
        finally:
            session.close()
    return Sent(False, done, problem)
