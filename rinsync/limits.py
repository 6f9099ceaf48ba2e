"""The documented bounds on what rinsync reads (docs/security.md, "Parsers, rules and state").

Every file rinsync parses (rules, rule tests, the config and the files it includes, the state sidecar,
the catalog cache) is read through :func:`read_regular`: a regular file, opened without blocking, of at
most a known size. JSON goes through :func:`load_json`, which turns nesting too deep for Python's
parser into a plain ``ValueError``. YAML is bounded by :mod:`rinsync.yamlguard`.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
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


class JsonRefused(ValueError):
    """JSON rinsync will not use: nested too deep, too many values, or a number no float can hold."""


def load_json(data: bytes | str, max_depth: int | None = None, max_values: int | None = None,
              finite: bool = False) -> Any:
    """``json.loads``, with nesting too deep to parse reported as ``ValueError`` (never RecursionError).

    For answers of servers (:mod:`rinsync.httpclient`): ``max_depth`` bounds the nesting of arrays and
    objects, ``max_values`` the number of values, and ``finite`` refuses ``NaN``/``Infinity``, a float
    that overflows (``1e400``) and an integer beyond float range (it would break every later comparison).
    Raises :class:`JsonRefused` (a ``ValueError``) naming the problem.
    """
    hooks = {"parse_constant": _refuse_constant, "parse_float": _finite_float, "parse_int": _float_range_int} \
        if finite else {}
    try:
        value = json.loads(data, **hooks)
    except RecursionError:
        raise JsonRefused("nested too deeply") from None
    if max_depth is not None or max_values is not None:
        _check_shape(value, max_depth or 10**9, max_values or 10**12)
    return value


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"holds {name}, not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"holds a number no float can hold ({text[:20]}{'...' if len(text) > 20 else ''})")
    return value


def _float_range_int(text: str) -> int:
    if len(text.lstrip("-")) > 309:  # checked before int() (whose own digit limit is a ValueError of its kind)
        raise JsonRefused(f"holds an integer of {len(text.lstrip('-'))} digits, beyond float range")
    value = int(text)
    if abs(value) > _FLOAT_MAX:
        raise JsonRefused("holds an integer beyond float range")
    return value


_FLOAT_MAX = int(sys.float_info.max)


def _check_shape(value: Any, max_depth: int, max_values: int) -> None:
    """Iteratively: nesting at most ``max_depth``, at most ``max_values`` values."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > max_values:
            raise JsonRefused(f"holds more than {max_values:,} values")
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise JsonRefused(f"nested more than {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in children)
