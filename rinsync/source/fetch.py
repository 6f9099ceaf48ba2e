"""Fetch OpenRouter's live catalog: timeouts, bounded retries, conditional requests, an optional bearer token.

Every message this module produces goes through :class:`Redactor`, and no message is built from a
requests exception's text or from request headers: those can embed URLs with credentials or the
``Authorization`` header. The API key is never written to the cache, a log or an exception.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from .. import __version__, exitcodes
from ..diagnostics import RinsyncError
from .catalog import MAX_BYTES

DEFAULT_URL = "https://openrouter.ai/api/v1/models"
DEFAULT_KEY_ENV = "OPENROUTER_API_KEY"
DEFAULT_TOTAL = 60.0  # seconds for the whole fetch, retries and waits included
CACHE_DIR_NAME = ".rinsync-cache"
# query parameters of a URL whose values are credentials: checked in responses like the API key
_CREDENTIAL_PARAM = ("key", "token", "secret", "pass", "auth", "sig", "credential", "session", "code")

log = logging.getLogger("rinsync.fetch")


class FetchError(RinsyncError):
    """The catalog could not be fetched (network, HTTP status, bad body): exit 75, config kept."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}", exitcodes.TEMPFAIL)
        self.url = url
        self.reason = reason


class Redactor:
    """Replaces known secrets in any text with ``***``."""

    def __init__(self, secrets: list[str | None] | None = None):
        self.secrets: list[str] = []
        for secret in secrets or []:
            self.add(secret)

        self.hidden: list[str] = []  # not shown, but not a secret a response must not contain

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.sort(key=len, reverse=True)

    def hide(self, text: str | None) -> None:
        if text and len(text) >= 4 and text not in self.hidden:
            self.hidden.append(text)
            self.hidden.sort(key=len, reverse=True)

    def add_url(self, url: str) -> None:
        """A URL's credentials: userinfo and credential-like query values are secrets; its whole query is hidden."""
        try:
            parts = urlsplit(url)
            password, username = parts.password, parts.username
        except ValueError:
            return
        self.add(password)  # a secret: a response that contains it fails like one holding the API key
        self.add(quote(password or "", safe=""))
        self.hide(username)  # not a secret (it may well be a word of the catalog), but never shown
        if parts.query:
            for form in (parts.query, quote(parts.query, safe="=&")):
                self.hide(form)
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                if any(mark in name.lower() for mark in _CREDENTIAL_PARAM):
                    for form in (value, quote(value, safe=""), quote_plus(value)):
                        self.add(form)
                else:
                    self.hide(value if len(value) >= 8 else None)

    def __call__(self, text: str) -> str:
        for secret in self.secrets + self.hidden:
            text = text.replace(secret, "***")
        return text

    def contains_secret(self, data: bytes | str) -> bool:
        if isinstance(data, bytes):
            return any(s.encode("utf-8") in data for s in self.secrets)
        return any(s in data for s in self.secrets)


class RedactingFilter(logging.Filter):
    """Logging filter that renders the message with secrets removed (for ``-v`` / ``--debug``)."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


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
        if url_override:
            check_url(url_override, "--source-url")
            settings.url = url_override
        else:
            check_url(settings.url, "source.url in the rules")
        settings.backoff = _env_float(environ, "RINSYNC_RETRY_BACKOFF", settings.backoff)
        settings.max_wait = _env_float(environ, "RINSYNC_RETRY_MAX_WAIT", settings.max_wait)
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


def check_url(url: str, where: str) -> None:
    """A usage error (exit 2, one line, no credentials shown) for a URL ``requests`` could not fetch."""
    problem = _url_problem(url)
    if problem:
        raise RinsyncError(f"{where}: {problem} (expected http(s)://host[:port]/path)", exitcodes.USAGE)


def _url_problem(url: str) -> str | None:
    from ..untrusted import CONTROL

    if CONTROL.search(url) or any(c.isspace() for c in url):
        return "the URL contains a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return "not a valid URL (bad host or port)"
    if parts.scheme not in ("http", "https"):
        given = f"{parts.scheme}:" if parts.scheme else "a bare host or path"
        return f"the URL must start with http:// or https:// (not {given})"
    if not host:
        return "the URL names no host"
    if port == 0:
        return "the URL's port must be 1-65535"
    import requests

    try:
        requests.Request("GET", url).prepare()
    except (requests.exceptions.RequestException, ValueError, UnicodeError):
        return f"not a valid URL ({display_url(url)})"
    return None


def _param(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _env_float(environ: dict, name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RinsyncError(f"{name}={raw!r} is not a number of seconds", exitcodes.USAGE) from None
    if value < 0:
        raise RinsyncError(f"{name} must not be negative", exitcodes.USAGE)
    return value


def display_url(url: str) -> str:
    """``scheme://host[:port]/path`` only: never credentials or query strings in messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<invalid URL>"


def _cache_key(url: str) -> str:
    """The URL as recorded in the cache: no credentials, the query only as a hash (it may hold a token)."""
    import hashlib

    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = f"?sha256={hashlib.sha256(parts.query.encode()).hexdigest()[:16]}" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + query


def may_send_key(url: str) -> bool:
    """The bearer token goes only over HTTPS, or plain HTTP to this machine (a local mirror or test)."""
    import ipaddress
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(name: str, env_file: Path | None, environ: dict | None = None) -> tuple[str | None, str]:
    """The key from the environment, else from ``env_file`` (python-dotenv); and where it came from."""
    environ = os.environ if environ is None else environ
    value = environ.get(name, "").strip()
    if value:
        return value, f"${name}"
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        try:
            value = (dotenv_values(env_file).get(name) or "").strip()
        except (OSError, UnicodeDecodeError):
            raise RinsyncError(f"cannot read {env_file}", exitcodes.ERROR) from None
        if value:
            return value, f"{name} in {env_file}"
    return None, "none"


# --------------------------------------------------------------------------- cache


class CatalogCache:
    """The last good catalog and its validators (ETag / Last-Modified), in ``directory``.

    ``catalog.json`` holds the response body exactly as received; ``catalog.meta.json`` the URL it came
    from (without credentials), the validators and the body's SHA-256, so a half-updated pair is ignored.
    Both are written atomically with mode 0600. Nothing in either file comes from request headers.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.payload_path = self.directory / "catalog.json"
        self.meta_path = self.directory / "catalog.meta.json"

    def load(self) -> tuple[bytes, dict] | None:
        """The cached body and meta; None when missing, damaged, or not rinsync's plain files (a planted link)."""
        import hashlib

        from ..files.safeopen import read_own

        try:
            raw_meta = read_own(self.meta_path, 1 << 20)
            payload = read_own(self.payload_path, MAX_BYTES)
            if raw_meta is None or payload is None or len(payload) > MAX_BYTES:
                return None
            meta = json.loads(raw_meta.decode("utf-8"))
        except (RinsyncError, OSError, ValueError, RecursionError):  # a planted link, damage, a nesting bomb
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(payload).hexdigest():
            return None
        return payload, meta

    def validators(self, url: str) -> dict[str, str]:
        """Conditional-request headers when the cached body came from the same URL."""
        return _validators(self.load(), url)

    def store(self, fetched: Fetched, redactor: Redactor | None = None) -> bool:
        """Write the body and its meta; False (nothing written) when either holds a secret ``redactor`` knows."""
        import hashlib

        from ..files.atomic import write_atomic

        meta = {"url": _cache_key(fetched.request_url), "etag": fetched.etag, "last_modified": fetched.last_modified,
                "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "sha256": hashlib.sha256(fetched.payload).hexdigest()}
        if redactor is not None and (redactor.contains_secret(fetched.payload)
                                     or redactor.contains_secret(" ".join(v for v in meta.values() if v))):
            return False
        from ..files.safeopen import open_dir

        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = open_dir(self.directory, follow=False, own=True)  # a planted link or foreign directory: refused
        try:
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o700)
            write_atomic(self.payload_path, fetched.payload, mode=0o600, directory_fd=fd)
            write_atomic(self.meta_path, (json.dumps(meta, indent=2) + "\n").encode(), mode=0o600, directory_fd=fd)
        finally:
            os.close(fd)
        return True


def _validators(cached: tuple[bytes, dict] | None, url: str) -> dict[str, str]:
    if cached is None or cached[1].get("url") != _cache_key(url):
        return {}
    meta = cached[1]
    headers = {}
    if isinstance(meta.get("etag"), str):
        headers["If-None-Match"] = meta["etag"]
    if isinstance(meta.get("last_modified"), str):
        headers["If-Modified-Since"] = meta["last_modified"]
    return headers


# --------------------------------------------------------------------------- fetch


@dataclass
class Fetched:
    payload: bytes
    url: str  # for messages (no query, no credentials)
    request_url: str
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304: payload is the cached body
    attempts: int = 1
    status: int = 200


def fetch_catalog(settings: FetchSettings, api_key: str | None = None, cache: CatalogCache | None = None,
                  redactor: Redactor | None = None, sleep=time.sleep) -> Fetched:
    """GET the catalog within ``settings.total_timeout``. Raises FetchError (exit 75) with a one-line,
    secret-free reason."""
    from ..deadline import Watchdog, watched_session

    redactor = redactor or Redactor()
    redactor.add(api_key)
    redactor.add_url(settings.url)
    url = settings.request_url()
    shown = display_url(settings.url)
    headers = {"Accept": "application/json", "User-Agent": f"rinsync/{__version__}"}
    if api_key:
        if may_send_key(url):
            headers["Authorization"] = f"Bearer {api_key}"
        else:
            log.warning("not sending the API key over plain HTTP to %s", shown)
    cached = cache.load() if cache else None  # a 304 confirms this very body: it is not read again
    conditional = _validators(cached, url)
    headers.update(conditional)
    attempts = settings.retries + 1
    with Watchdog(settings.total_timeout) as watchdog, watched_session(watchdog) as session:
        for attempt in range(1, attempts + 1):
            log.debug("GET %s (attempt %d/%d%s%s)", shown, attempt, attempts,
                      ", bearer token" if "Authorization" in headers else "",
                      ", conditional" if conditional else "")
            left = watchdog.remaining()
            if left <= 0:
                raise FetchError(shown, _deadline_reason(settings, attempt - 1))
            timeout = (min(settings.connect_timeout, left), min(settings.read_timeout, left))
            try:
                response = session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=True)
            except Exception as exc:  # noqa: BLE001 - every failure to fetch is a failed fetch
                reason = _deadline_reason(settings, attempt) if watchdog.expired else _network_reason(exc, settings)
                raise FetchError(shown, redactor(reason)) from None
            try:
                status = response.status_code
                log.debug("HTTP %d from %s", status, shown)
                if status == 304 and conditional:
                    payload, meta = cached
                    return Fetched(payload, shown, url, meta.get("etag"), meta.get("last_modified"),
                                   not_modified=True, attempts=attempt, status=304)
                if status == 200:
                    payload = _read_body(response, settings, shown, redactor, watchdog, attempt)
                    return Fetched(payload, shown, url, _header(response, "ETag"), _header(response, "Last-Modified"),
                                   attempts=attempt, status=200)
                reason = f"HTTP {status}" + (f" {response.reason}" if isinstance(response.reason, str) else "")
                if (status == 429 or status >= 500) and attempt < attempts:
                    wait = _retry_wait(response, settings, attempt)
                    if wait >= watchdog.remaining():
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
            finally:
                response.close()
    raise AssertionError("unreachable")


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


def _header(response, name: str) -> str | None:
    value = response.headers.get(name)
    return value if isinstance(value, str) and value and len(value) < 512 else None


def _read_body(response, settings: FetchSettings, shown: str, redactor: Redactor, watchdog, attempt: int) -> bytes:
    """The body, bounded in size and by the total deadline; a connection cut mid-body is a failed fetch."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_BYTES:
        raise FetchError(shown, f"response larger than {MAX_BYTES // (1024 * 1024)} MiB (Content-Length)")
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=16384):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BYTES:
                raise FetchError(shown, f"response larger than {MAX_BYTES // (1024 * 1024)} MiB")
            if watchdog.expired or watchdog.remaining() <= 0:
                raise FetchError(shown, _deadline_reason(settings, attempt))
    except FetchError:
        raise
    except Exception as exc:  # noqa: BLE001
        reason = _deadline_reason(settings, attempt) if watchdog.expired else _network_reason(exc, settings)
        raise FetchError(shown, redactor(reason)) from None
    if watchdog.expired:  # the watchdog's shutdown can look like the end of a body without a length
        raise FetchError(shown, _deadline_reason(settings, attempt))
    return b"".join(chunks)


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
    import requests

    chain = [exc]
    while chain[-1].__context__ is not None and len(chain) < 10:
        chain.append(chain[-1].__context__)
    names = " ".join(type(e).__name__ for e in chain)
    texts = " ".join(str(e) for e in chain)  # only searched, never shown
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connect timeout after {settings.connect_timeout:g}s"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "ReadTimeout" in names:
        return f"read timeout after {settings.read_timeout:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (certificate or handshake)"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in texts \
            or "ProtocolError" in names:
        return "connection broken while reading the response"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "NameResolutionError" in names or "Name or service not known" in texts \
                or "nodename nor servname" in texts or "Temporary failure in name resolution" in texts \
                or "No address associated" in texts:
            return f"DNS lookup failed for {urlsplit(settings.url).hostname}"
        if "refused" in texts.lower():
            return "connection refused"
        if "unreachable" in texts.lower():
            return "network unreachable"
        return "connection failed"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return "invalid URL"
    return f"request failed ({type(exc).__name__})"
