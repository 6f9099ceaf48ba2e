"""Fetch OpenRouter's live catalog: bounded retries, conditional requests, an optional bearer token.

The exchange itself (total deadline, size cap, redirects, the scheme rule for the key, one-line errors)
is :mod:`rinsync.httpclient`'s; the cache is :mod:`rinsync.source.cache`; redaction is
:mod:`rinsync.redact`. The API key is never written to the cache, a log or an exception.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from .. import exitcodes
from ..diagnostics import RinsyncError
from ..redact import RedactingFilter as RedactingFilter
from ..redact import Redactor, display_url
from .cache import CACHE_DIR_NAME as CACHE_DIR_NAME
from .cache import CatalogCache, Fetched, conditional_headers
from .catalog import MAX_BYTES

DEFAULT_URL = "https://openrouter.ai/api/v1/models"
DEFAULT_KEY_ENV = "OPENROUTER_API_KEY"
DEFAULT_TOTAL = 60.0  # seconds for the whole fetch, retries and waits included

__all__ = ["CACHE_DIR_NAME", "CatalogCache", "FetchError", "FetchSettings", "Fetched", "RedactingFilter", "Redactor",
           "display_url", "fetch_catalog", "may_send_key", "refuse_echoed_secrets", "resolve_api_key"]

log = logging.getLogger("rinsync.fetch")


class FetchError(RinsyncError):
    """The catalog could not be fetched (network, HTTP status, bad body): exit 75, config kept."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}", exitcodes.TEMPFAIL)
        self.url = url
        self.reason = reason


@dataclass
class FetchSettings:
    url: str = DEFAULT_URL
    params: dict = field(default_factory=dict)
    api_key_env: str = DEFAULT_KEY_ENV
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = DEFAULT_TOTAL  # the whole fetch: every attempt, header, byte and wait
    retries: int = 3
    backoff: float = 1.0  # first wait between retries; doubles each retry
    max_wait: float = 30.0  # cap on any single wait, including a server's Retry-After

    @classmethod
    def from_source(cls, source: dict, url_override: str | None = None,
                    environ: dict | None = None) -> FetchSettings:
        """Settings from the rules' ``source:`` block; ``url_override`` replaces the URL (mirrors, tests)."""
        environ = os.environ if environ is None else environ
        timeout = source.get("timeout") or {}
        settings = cls(url=source.get("url") or DEFAULT_URL, params=dict(source.get("params") or {}),
                       api_key_env=source.get("api_key_env") or DEFAULT_KEY_ENV,
                       connect_timeout=_seconds(timeout, "connect", 5), read_timeout=_seconds(timeout, "read", 30),
                       total_timeout=_seconds(timeout, "total", DEFAULT_TOTAL),
                       retries=int(source.get("retries", 3)))
        from ..httpclient import check_url  # imported when a fetch is set up: a --catalog compile never needs it

        if url_override:
            check_url(url_override, "--source-url")
            settings.url = url_override
        else:
            check_url(settings.url, "source.url in the rules")
        from ..options import env_number

        settings.backoff = env_number("RINSYNC_RETRY_BACKOFF", settings.backoff, environ=environ)
        settings.max_wait = env_number("RINSYNC_RETRY_MAX_WAIT", settings.max_wait, environ=environ)
        return settings

    def request_url(self) -> str:
        """The URL with the query parameters, as sent (the cache is keyed on it)."""
        if not self.params:
            return self.url
        parts = urlsplit(self.url)
        extra = urlencode({k: _param(v) for k, v in self.params.items()})
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(query=query))


def _seconds(timeout: dict, name: str, default: float) -> float:
    value = float(timeout.get(name, default))
    if not math.isfinite(value) or value <= 0:
        raise RinsyncError(f"source.timeout.{name} in the rules must be a positive number of seconds, not {value}",
                           exitcodes.ERROR)
    return value


def _param(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def may_send_key(url: str, environ: dict | None = None) -> bool:
    """The bearer token goes only over HTTPS, to this machine, or to a host named in RINSYNC_ALLOW_PLAIN_HTTP."""
    from ..httpclient import may_send_secret, plain_http_hosts

    return may_send_secret(url, plain_http_hosts(environ))


def resolve_api_key(name: str, env_file: Path | None, environ: dict | None = None) -> tuple[str | None, str]:
    """The key from the environment, else from ``env_file`` (python-dotenv); and where it came from.

    Surrounding whitespace is dropped; a key that still holds a character no HTTP header can carry is a
    usage error naming the variable (checked here, before anything is written), its value never shown."""
    from ..httpclient import Secret, check_secret

    environ = os.environ if environ is None else environ
    value = environ.get(name, "").strip()
    if value:
        check_secret(Secret(value, name))
        return value, f"${name}"
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        try:
            value = (dotenv_values(env_file).get(name) or "").strip()
        except (OSError, UnicodeDecodeError):
            raise RinsyncError(f"cannot read {env_file}", exitcodes.ERROR) from None
        if value:
            check_secret(Secret(value, f"{name} in {env_file}"))
            return value, f"{name} in {env_file}"
    return None, "none"


def fetch_catalog(settings: FetchSettings, api_key: str | None = None, cache: CatalogCache | None = None,
                  redactor: Redactor | None = None, sleep=time.sleep) -> Fetched:
    """GET the catalog within ``settings.total_timeout``. Raises FetchError (exit 75) with a one-line,
    secret-free reason; a key no header can carry is a usage error (exit 2)."""
    from ..httpclient import HttpClient, HttpError, Secret

    redactor = redactor or Redactor()
    redactor.add(api_key)
    redactor.add_url(settings.url)
    url = settings.request_url()
    shown = display_url(settings.url)
    secret = Secret(api_key, settings.api_key_env, required=False) if api_key else None
    client = HttpClient(redactor, total=settings.total_timeout, exchange=settings.total_timeout,
                        connect=settings.connect_timeout, read=settings.read_timeout, max_bytes=MAX_BYTES,
                        secret=secret)
    cached = cache.load() if cache else None  # a 304 confirms this very body: it is not read again
    conditional = conditional_headers(cached, url)
    attempts = settings.retries + 1
    for attempt in range(1, attempts + 1):
        log.debug("GET %s (attempt %d/%d%s%s)", shown, attempt, attempts, ", bearer token" if secret else "",
                  ", conditional" if conditional else "")
        try:
            answer = client.get(url, headers=conditional)
        except HttpError as exc:
            if exc.exit_code == exitcodes.USAGE:
                raise RinsyncError(redactor(exc.message), exitcodes.USAGE) from None
            reason = _deadline_reason(settings, attempt) if exc.kind == "deadline" else exc.reason
            raise FetchError(shown, redactor(reason)) from None
        status = answer.status
        log.debug("HTTP %d from %s", status, shown)
        if status == 304 and conditional:
            payload, meta = cached
            return Fetched(payload, shown, url, meta.get("etag"), meta.get("last_modified"),
                           not_modified=True, attempts=attempt, status=304)
        if status == 200:
            return Fetched(answer.body, shown, url, answer.header("ETag"), answer.header("Last-Modified"),
                           attempts=attempt, status=200)
        reason = f"HTTP {status}" + (f" {answer.reason}" if answer.reason else "")
        if (status == 429 or status >= 500) and attempt < attempts:
            wait = _retry_wait(answer, settings, attempt)
            if wait >= client.remaining():
                raise FetchError(shown, redactor(f"{reason}; the next retry would end after the total "
                                                 f"deadline of {settings.total_timeout:g}s"))
            log.info("%s from %s; retry %d/%d in %.1fs", reason, shown, attempt, settings.retries, wait)
            sleep(wait)
            continue
        if attempt > 1:
            reason += f" after {attempt - 1} retr{'y' if attempt == 2 else 'ies'}"
        if status in (401, 403):
            reason += f" (check {settings.api_key_env}; the catalog is public, so it can also be unset)"
        raise FetchError(shown, redactor(reason))
    raise FetchError(shown, _deadline_reason(settings, attempts))


def _deadline_reason(settings: FetchSettings, attempts: int) -> str:
    tries = f" ({attempts} attempt{'s' if attempts != 1 else ''})" if attempts > 1 else ""
    return (f"no complete answer within the total deadline of {settings.total_timeout:g}s{tries} "
            "(source.timeout.total in the rules)")


def refuse_echoed_secrets(fetched: Fetched, redactor: Redactor) -> None:
    """A response that holds the API key (a server echoing Authorization) is a failed fetch: none of it is used."""
    if fetched.not_modified:
        return
    if redactor.contains_secret(fetched.payload) or any(
            redactor.contains_secret(v) for v in (fetched.etag, fetched.last_modified) if v):
        raise FetchError(fetched.url, "the response contains the API key or a credential of the URL (a server "
                                      "echoing the request?); nothing of it was used or stored")


def _retry_wait(response, settings: FetchSettings, attempt: int) -> float:
    """Retry-After (seconds or HTTP date) when the server sends one, else exponential backoff; capped."""
    import email.utils
    import random
    raw = response.headers.get("Retry-After")
    wait: float | None = None
    if raw:
        raw = raw.strip()
        if raw.isdigit():
            wait = float(raw)
        else:
            with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
                when = email.utils.parsedate_to_datetime(raw)
                wait = max(0.0, when.timestamp() - time.time())
    if wait is None:
        wait = settings.backoff * (2 ** (attempt - 1))
        wait += random.uniform(0, settings.backoff / 4)
    return max(0.0, min(wait, settings.max_wait))


def _network_reason(exc: BaseException, settings: FetchSettings) -> str:
    """A short reason built from the exception's type only (its text can hold URLs and credentials)."""
    from ..httpclient import network_reason

    host = urlsplit(settings.url).hostname or ""
    return network_reason(exc, settings.connect_timeout, settings.read_timeout, host)[1]
