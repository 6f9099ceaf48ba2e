"""The documented bounds on what rinsync reads (docs/security.md, "Parsers, rules and state").

Every file rinsync parses (rules, rule tests, the config and the files it includes, the state sidecar,
the catalog cache) is read through :func:`read_regular`: a regular file, opened without blocking, of at
most a known size. JSON goes through :func:`load_json`, which turns nesting too deep for Python's
parser into a plain ``ValueError``. YAML is bounded by :mod:`rinsync.yamlguard`.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_YAML_BYTES = 16 * 1024 * 1024  # a rules file, rule test, config or included file
MAX_YAML_NODES = 1_000_000  # YAML nodes after expanding every alias (a billion-laughs file has 10^9)
MAX_YAML_DEPTH = 100  # nesting of YAML collections (real configs and rules stay under 10)
MAX_REGEX_MEMORY = 8 * 1024 * 1024  # bytes RE2 may use for one compiled pattern
MAX_EXPRESSION_GROWTH = 10_000  # how many times an expression may multiply the size of a record


class ReadRefused(OSError):
    """A file that is not a bounded regular file; ``reason`` says why, for a one-line message."""

    def __init__(self, reason: str, too_large: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.strerror = reason
        self.too_large = too_large


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes.

    Checked before opening (a FIFO or device is never opened, so nothing can block), opened with
    ``O_NONBLOCK``, checked again on the open descriptor, and read with a bound. Raises
    :class:`FileNotFoundError`, :class:`ReadRefused` or another :class:`OSError`.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ReadRefused(f"it is {_kind(info.st_mode)}, not a regular file")
    if info.st_size > limit:
        raise ReadRefused(f"it is {info.st_size:,} bytes, more than the limit of {limit:,}", too_large=True)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped between stat and open
            raise ReadRefused(f"it is {_kind(opened.st_mode)}, not a regular file")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ReadRefused(f"it grew past the limit of {limit:,} bytes while being read", too_large=True)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_json(data: bytes | str) -> Any:
    """``json.loads``, with nesting too deep to parse reported as ``ValueError`` (never RecursionError)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
