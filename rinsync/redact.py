"""Secrets never shown: one redactor for every message, log line and error of rinsync.

A :class:`Redactor` knows the secrets of a run (API keys, the master key, the Open WebUI token, the
password and credential-like query values of a URL) in every form they can take in text: as given, with
the surrounding whitespace a shell or ``.env`` left on them, URL-quoted, and each of their whitespace- or
control-separated pieces. :func:`display_url` shows a URL as ``scheme://host[:port]/path`` only.
Shared module: imports nothing from rinsync but :mod:`rinsync.untrusted`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

from .untrusted import CONTROL

# query parameters of a URL whose values are credentials
CREDENTIAL_PARAMS = ("key", "token", "secret", "pass", "auth", "sig", "credential", "session", "code")
# text shaped like a key or a bearer token, redacted even when the key itself is unknown (an echoed header)
KEY_SHAPE = re.compile(r"\b(sk-|Bearer\s+)[A-Za-z0-9._~+/=\-]{3,}")
MIN_SECRET = 4  # shorter values are not redacted (they would blank out ordinary words)


class Redactor:
    """Replaces known secrets in any text with ``***``; :meth:`quoted` also anything shaped like a key."""

    def __init__(self, secrets: list[str | None] | None = None):
        self.secrets: list[str] = []
        self.hidden: list[str] = []  # not shown, but not a secret a response must not contain
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """A secret in every form: as given, stripped, URL-quoted, and each piece between spaces or controls."""
        if not secret:
            return
        forms = {secret, secret.strip(), quote(secret, safe=""), quote_plus(secret), unquote(secret)}
        forms.update(part for part in re.split(r"[\s\x00-\x1f\x7f]+", CONTROL.sub(" ", secret)) if part)
        for form in forms:
            if len(form) >= MIN_SECRET and form not in self.secrets:
                self.secrets.append(form)
        self.secrets.sort(key=len, reverse=True)

    def hide(self, text: str | None) -> None:
        if text and len(text) >= MIN_SECRET and text not in self.hidden:
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
        self.hide(username)  # not a secret (it may well be a word of the catalog), but never shown
        if username:
            self.hide(parts.netloc.rpartition("@")[0])  # user:password as written, quoted or not
        if parts.query:
            for form in (parts.query, quote(parts.query, safe="=&")):
                self.hide(form)
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                if any(mark in name.lower() for mark in CREDENTIAL_PARAMS):
                    self.add(value)
                else:
                    self.hide(value if len(value) >= 8 else None)

    def __call__(self, text: str) -> str:
        for secret in self.secrets + self.hidden:
            text = text.replace(secret, "***")
        return text

    def quoted(self, text: str) -> str:
        """Text quoted from a server (an error body): known secrets and anything shaped like a key removed."""
        return KEY_SHAPE.sub(lambda m: m.group(1) + "***", self(text))

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


def display_url(url: str) -> str:
    """``scheme://host[:port]/path`` only: never credentials or query strings in messages."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<invalid URL>"


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a bearer token (HTTP headers carry Latin-1 text without controls or
    spaces); None when it can. Never quotes the value."""
    if value[-1:] in ("\r", "\n") and value:
        return "ends with a line break"
    if value != value.strip():
        return "starts or ends with a space"
    for i, char in enumerate(value, 1):
        if CONTROL.match(char) or char in "\r\n\t":
            return f"holds a control character (character {i})"
        if char.isspace():
            return f"holds a space (character {i})"
        if ord(char) > 0xFF:
            return f"holds a character an HTTP header cannot carry (character {i}, not Latin-1)"
    return None
