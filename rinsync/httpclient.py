"""One bounded HTTP client for every upstream: the catalog, the LiteLLM proxy, Open WebUI.

Every exchange (request, redirects, headers and body) ends within a total deadline, however slowly the
server sends its bytes (:class:`rinsync.deadline.Watchdog`); a client may also have a deadline over all
its exchanges (a ``verify --wait``), and each exchange then gets what is left of it. A body is read in
chunks up to a size cap, never whole; JSON is parsed by :func:`rinsync.limits.load_json` with a depth, a
value count and finite numbers. Redirects are followed for ``GET`` only, at most :data:`MAX_REDIRECTS`, never
from HTTPS down to plain HTTP, and the secret goes only to the origin it was meant for.

The scheme rule: a request carrying a secret (an API key, the master key, the Open WebUI token) goes only
over HTTPS or to a loopback host, unless the operator names the host in ``RINSYNC_ALLOW_PLAIN_HTTP``
(comma-separated host names). A secret that an HTTP header cannot carry (a trailing newline, a control
character, a space, a character beyond Latin-1) is refused naming its variable, never its value.

Every failure is an :class:`HttpError`: one line, the URL shown as ``scheme://host[:port]/path``, the text
passed through the redactor, the reason built from the exception's type (its text can hold credentials).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from . import __version__, exitcodes
from .diagnostics import RinsyncError
from .redact import Redactor, display_url, key_problem

ALLOW_PLAIN_HTTP_ENV = "RINSYNC_ALLOW_PLAIN_HTTP"
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # a proxy's or Open WebUI's answer (the catalog passes its own cap)
ERROR_BODY_BYTES = 64 * 1024  # of a non-2xx answer only this much is kept (for the message)
JSON_DEPTH = 64  # nesting of an answer's arrays and objects (real answers stay under 10)
JSON_VALUES = 5_000_000  # values in one answer
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})

log = logging.getLogger("rinsync.http")


class HttpError(RinsyncError):
    """An exchange failed. ``kind``: deadline, timeout, refused, network, too-large, json, not-json, redirect,
    url, plain-http. ``reason`` is the text after the URL (redacted)."""

    def __init__(self, url: str, reason: str, kind: str, exit_code: int = exitcodes.TEMPFAIL):
        super().__init__(f"{url}: {reason}", exit_code)
        self.url = url
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class Secret:
    """A bearer token and the variable it came from (named in messages, the value never)."""

    value: str
    env: str
    required: bool = True  # False: not sent where it may not go (a warning); True: the request is refused


@dataclass
class Answer:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    url: str  # the final URL, shown form

    def json(self, what: str = "the answer") -> Any:
        """The body as JSON, bounded (depth, values, finite numbers). :class:`HttpError` (exit 1) of kind
        ``json`` when it is JSON rinsync refuses, ``not-json`` when it is no JSON at all."""
        from .limits import JsonRefused, load_json

        try:
            return load_json(self.body, max_depth=JSON_DEPTH, max_values=JSON_VALUES, finite=True)
        except JsonRefused as exc:
            raise HttpError(self.url, f"{what} refused ({exc})", "json", exitcodes.ERROR) from None
        except ValueError:  # JSONDecodeError, UnicodeDecodeError: json's wording is not rinsync's
            raise HttpError(self.url, f"{what} is not JSON", "not-json", exitcodes.ERROR) from None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if isinstance(value, str) and value and len(value) < 512 else None


def plain_http_hosts(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The hosts ``RINSYNC_ALLOW_PLAIN_HTTP`` names (lower case)."""
    raw = (os.environ if environ is None else environ).get(ALLOW_PLAIN_HTTP_ENV, "")
    return frozenset(h.strip().lower().strip("[]") for h in raw.split(",") if h.strip())


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def may_send_secret(url: str, allowed: frozenset[str] = frozenset()) -> bool:
    """A secret goes only over HTTPS, to a loopback host, or to a host the operator allowed by name."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    return parts.scheme == "https" or is_loopback(host) or host in allowed


def url_problem(url: str) -> str | None:
    """Why ``requests`` could not fetch ``url`` (never showing credentials); None when it can."""
    from .untrusted import CONTROL

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


def credentials_problem(url: str) -> str | None:
    """What a base URL of the proxy or Open WebUI carries that it must not (rinsync authenticates with a key
    variable, and would print neither): ``user:password@`` or a query string; None when clean."""
    try:
        parts = urlsplit(url.strip())
        has_user = parts.username is not None or parts.password is not None
    except ValueError:
        return None  # url_problem says what is wrong
    if has_user:
        return "carries credentials (user:password@)"
    if parts.query:
        return "carries a query string"
    return None


def check_url(url: str, where: str) -> None:
    """A usage error (exit 2, one line, no credentials shown) for a URL ``requests`` could not fetch."""
    problem = url_problem(url)
    if problem:
        raise RinsyncError(f"{where}: {problem} (expected http(s)://host[:port]/path)", exitcodes.USAGE)


def check_secret(secret: Secret) -> None:
    """A usage error naming the variable when the secret cannot be sent in a header (the value never shown)."""
    problem = key_problem(secret.value)
    if not problem:
        return
    fix = f"set {secret.env} to the key alone, without line breaks, spaces or control characters"
    if problem.endswith("line break") and secret.env.isidentifier():
        fix += f", e.g. export {secret.env}=\"$(printf %s \"${secret.env}\" | tr -d '\\r\\n')\""
    raise RinsyncError(f"{secret.env} {problem}; nothing was sent ({fix}; its value is not shown)", exitcodes.USAGE)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


class HttpClient:
    """Bounded exchanges with one upstream. ``total``: seconds for all exchanges of this client (None: no
    overall deadline); ``exchange``: seconds for each one, redirects and body included."""

    def __init__(self, redactor: Redactor | None = None, *, total: float | None = None, exchange: float = 30.0,
                 connect: float = 5.0, read: float = 30.0, max_bytes: int = MAX_ANSWER_BYTES,
                 secret: Secret | None = None, environ: Mapping[str, str] | None = None,
                 accept: str = "application/json"):
        self.redactor = redactor or Redactor()
        self.deadline = None if total is None else time.monotonic() + total
        self.total = total
        self.exchange = exchange
        self.connect, self.read = connect, read
        self.max_bytes = max_bytes
        self.secret = secret
        self.allowed = plain_http_hosts(environ)
        self.headers = {"Accept": accept, "User-Agent": f"rinsync/{__version__}"}
        if secret is not None:
            self.redactor.add(secret.value)
            check_secret(secret)
        self.last_bound = f"{exchange:g}s"  # ... as a message says it

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def request(self, method: str, url: str, *, json_body: Any = None, headers: Mapping[str, str] | None = None,
                max_bytes: int | None = None, data: bytes | None = None) -> Answer:
        """One exchange; any status is an :class:`Answer`, every failure an :class:`HttpError`."""
        from .deadline import Watchdog

        self.redactor.add_url(url)
        shown = display_url(url)
        problem = url_problem(url)
        if problem:
            raise HttpError(shown, problem, "url", exitcodes.USAGE)
        sent = dict(self.headers, **(headers or {}))
        sent.update(self._auth(url, shown))
        seconds = min(self.exchange, self.remaining())
        self.last_bound = f"{self.exchange:g}s" if seconds >= self.exchange else \
            f"the total deadline of {self.total:g}s"
        if seconds <= 0:
            raise HttpError(shown, f"no complete answer within {self.last_bound}", "deadline")
        with Watchdog(seconds) as watchdog:
            try:
                return self._exchange(method, url, shown, sent, json_body, watchdog, max_bytes or self.max_bytes,
                                      data)
            except HttpError as exc:
                if exc.kind == "deadline":
                    raise HttpError(shown, f"no complete answer within {self.last_bound}", "deadline") from None
                raise
            except Exception as exc:  # noqa: BLE001 - every failure of an exchange is a failed exchange
                if watchdog.expired:
                    raise HttpError(shown, f"no complete answer within {self.last_bound}", "deadline") from None
                kind, reason = network_reason(exc, self.connect, self.read, urlsplit(url).hostname or "")
                raise HttpError(shown, self.redactor(reason), kind) from None

    def get(self, url: str, **kwargs: Any) -> Answer:
        return self.request("GET", url, **kwargs)

    def _auth(self, url: str, shown: str) -> dict[str, str]:
        if self.secret is None:
            return {}
        if may_send_secret(url, self.allowed):
            return {"Authorization": f"Bearer {self.secret.value}"}
        host = urlsplit(url).hostname or ""
        if not self.secret.required:
            log.warning("not sending %s over plain HTTP to %s", self.secret.env, shown)
            return {}
        raise HttpError(shown, f"refusing to send {self.secret.env} over plain HTTP to {host} (use https://, a "
                               f"loopback address, or allow this host with {ALLOW_PLAIN_HTTP_ENV}={host})",
                        "plain-http", exitcodes.USAGE)

    def _exchange(self, method: str, url: str, shown: str, headers: dict, json_body: Any, watchdog,
                  max_bytes: int, data: bytes | None = None) -> Answer:
        from .deadline import watched_session

        first = _origin(url)
        with watched_session(watchdog) as session:
            for _hop in range(MAX_REDIRECTS + 1):
                left = watchdog.remaining()
                timeout = (max(min(self.connect, left), 0.01), max(min(self.read, left), 0.01))
                response = session.request(method, url, headers=headers, json=json_body, data=data,
                                           timeout=timeout, stream=True, allow_redirects=False)
                try:
                    location = response.headers.get("Location")
                    if method == "GET" and response.status_code in REDIRECTS and location:
                        url, headers = self._redirect(url, location, shown, headers, first)
                        log.debug("redirected to %s", display_url(url))
                        continue
                    limit = max_bytes if 200 <= response.status_code < 300 else ERROR_BODY_BYTES
                    body = _read_body(response, limit, strict=200 <= response.status_code < 300, shown=shown,
                                      watchdog=watchdog)
                    reason = response.reason if isinstance(response.reason, str) else ""
                    return Answer(response.status_code, reason, response.headers, body, display_url(url))
                finally:
                    response.close()
        raise HttpError(shown, "too many redirects", "redirect", exitcodes.ERROR)

    def _redirect(self, url: str, location: str, shown: str, headers: dict,
                  first: tuple) -> tuple[str, dict]:
        target = urljoin(url, location.strip())
        problem = url_problem(target)
        if problem:
            raise HttpError(shown, f"redirected to an unusable URL ({problem})", "redirect", exitcodes.ERROR)
        self.redactor.add_url(target)
        if urlsplit(url).scheme == "https" and urlsplit(target).scheme == "http":
            raise HttpError(shown, f"redirected from https:// to plain http:// ({display_url(target)}); not followed",
                            "redirect", exitcodes.ERROR)
        if _origin(target) != first:  # the secret stays with the origin it was meant for
            headers = {k: v for k, v in headers.items() if k != "Authorization"}
        return target, headers


def _read_body(response, limit: int, strict: bool, shown: str, watchdog) -> bytes:
    """At most ``limit`` bytes of the body; past it a :class:`HttpError` (``strict``) or the cut body."""
    length = response.headers.get("Content-Length", "")
    if strict and length.isdigit() and int(length) > limit:
        raise HttpError(shown, f"response larger than {_size(limit)} (Content-Length)", "too-large")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if strict:
                raise HttpError(shown, f"response larger than {_size(limit)}", "too-large")
            break
        if watchdog.expired:
            break
    if watchdog.expired:  # the watchdog's shutdown can look like the end of a body without a length
        raise HttpError(shown, "no complete answer within the deadline", "deadline")
    plain = response.headers.get("Content-Encoding", "identity").strip().lower() in ("", "identity")
    if strict and plain and length.isdigit() and size < int(length):  # urllib3 1.x does not check it itself
        raise HttpError(shown, "connection broken while reading the response", "network")
    return b"".join(chunks)[:limit]


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def network_reason(exc: BaseException, connect: float, read: float, host: str) -> tuple[str, str]:
    """``(kind, reason)`` built from the exception's type only (its text can hold URLs and credentials)."""
    import requests

    chain = [exc]
    while chain[-1].__context__ is not None and len(chain) < 10:
        chain.append(chain[-1].__context__)
    names = " ".join(type(e).__name__ for e in chain)
    texts = " ".join(str(e) for e in chain)  # only searched, never shown
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timeout", f"connect timeout after {connect:g}s"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "ReadTimeout" in names:
        return "timeout", f"read timeout after {read:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "network", "TLS error (certificate or handshake)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in texts \
            or "ProtocolError" in names:
        return "network", "connection broken while reading the response"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "NameResolutionError" in names or "Name or service not known" in texts \
                or "nodename nor servname" in texts or "Temporary failure in name resolution" in texts \
                or "No address associated" in texts:
            return "network", f"DNS lookup failed for {host}"
        if "refused" in texts.lower():
            return "refused", "connection refused"
        if "unreachable" in texts.lower():
            return "network", "network unreachable"
        return "network", "connection failed"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)):
        return "network", "invalid URL or header"
    if isinstance(exc, UnicodeError):
        return "network", "a header could not be encoded"
    return "network", f"request failed ({type(exc).__name__})"
