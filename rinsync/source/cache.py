"""The catalog cache: the last good catalog and its validators, for conditional requests and offline syncs.

Nothing in it comes from request headers, and its URL is recorded without credentials (the query only as
a hash): a key never reaches the disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..diagnostics import RinsyncError
from ..redact import Redactor
from .catalog import MAX_BYTES

CACHE_DIR_NAME = ".rinsync-cache"


def cache_key(url: str) -> str:
    """The URL as recorded in the cache: no credentials, the query only as a hash (it may hold a token)."""
    import hashlib

    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = f"?sha256={hashlib.sha256(parts.query.encode()).hexdigest()[:16]}" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + query


@dataclass
class Fetched:
    """One answer of the catalog URL (or the cached body a 304 confirmed)."""

    payload: bytes
    url: str  # for messages (no query, no credentials)
    request_url: str
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304: payload is the cached body
    attempts: int = 1
    status: int = 200


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
        self.problem: str | None = None

    def load(self) -> tuple[bytes, dict] | None:
        """The cached body and meta; None when missing, damaged, or not rinsync's plain files (a planted link)."""
        import hashlib

        from ..files.safeopen import read_own
        from ..limits import load_json

        self.problem = None  # why an existing cache is not usable (for the message), None when missing
        try:
            raw_meta = read_own(self.meta_path, 1 << 20)
            payload = read_own(self.payload_path, MAX_BYTES)
            if raw_meta is None or payload is None:
                return None
            if len(payload) > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
            meta = load_json(raw_meta)
        except RinsyncError:  # a planted link, FIFO or device
            self.problem = "not rinsync's own plain file (a link, FIFO or device)"
            return None
        except (OSError, ValueError) as exc:  # damage, a nesting bomb
            self.problem = f"damaged: {getattr(exc, 'strerror', None) or str(exc).splitlines()[0][:80]}"
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(payload).hexdigest():
            self.problem = "damaged: its metadata does not match the catalog"
            return None
        return payload, meta

    def validators(self, url: str) -> dict[str, str]:
        """Conditional-request headers when the cached body came from the same URL."""
        return conditional_headers(self.load(), url)

    def store(self, fetched: Fetched, redactor: Redactor | None = None) -> bool:
        """Write the body and its meta; False (nothing written) when either holds a secret ``redactor`` knows."""
        import hashlib

        from ..files.atomic import write_atomic

        meta = {"url": cache_key(fetched.request_url), "etag": fetched.etag, "last_modified": fetched.last_modified,
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


def conditional_headers(cached: tuple[bytes, dict] | None, url: str) -> dict[str, str]:
    if cached is None or cached[1].get("url") != cache_key(url):
        return {}
    meta = cached[1]
    headers = {}
    if isinstance(meta.get("etag"), str):
        headers["If-None-Match"] = meta["etag"]
    if isinstance(meta.get("last_modified"), str):
        headers["If-Modified-Since"] = meta["last_modified"]
    return headers
