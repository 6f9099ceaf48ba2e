"""Upstream text and numbers are data: checks that keep them from forging lines or poisoning the config.

A catalog is written by someone else. Its text may hold newlines or terminal controls (an id ending in
``\\n`` would reach the config and could forge a summary line in a cron log), its numbers may be
``NaN``/``Infinity`` or overflow to infinity. These helpers find such values and show them escaped.
Shared module: imports nothing from rinsync.
"""

from __future__ import annotations

import math
import re
from typing import Any

# C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides (they reorder a line)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
IDENTITY_FIELDS = ("id", "name", "canonical_slug")  # record text that is printed or becomes a name


def escape(text: str, limit: int = 120) -> str:
    """``text`` with every control character written as ``\\xNN``/``\\uNNNN``, cut at ``limit`` characters."""
    cut = text[:limit]
    shown = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", cut)
    return shown + ("..." if len(text) > limit else "")


def one_line(text: str) -> str:
    """A line fit for a log: control characters escaped, so it can never split or rewrite a line."""
    return escape(text, limit=len(text)) if CONTROL.search(text) else text


def record_problem(record: dict) -> str | None:
    """Why a catalog record is unusable: identity text with control characters, or a price or limit that is
    not a finite number (``NaN``, ``Infinity``, ``1e400``, ``"1e999999999"``); None when it is fine."""
    for key in IDENTITY_FIELDS:
        value = record.get(key)
        if isinstance(value, str) and CONTROL.search(value):
            return f"{key} holds a control character ('{escape(value)}')"
    for where, value in _numbers(record):
        if not _finite(value):
            return f"{where} is not a finite number ({escape(str(value), 40)})"
    return None


def _numbers(record: dict):
    """The record's top-level numbers and its prices and provider limits (the values that become costs/limits)."""
    for key, value in record.items():
        if isinstance(value, float):
            yield key, value
    for group in ("pricing", "top_provider"):
        values = record.get(group)
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, (float, str)):
                    yield f"{group}.{key}", value


def _finite(value: float | str) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    try:
        return math.isfinite(float(value))
    except ValueError:
        return True  # not a number at all: the schema and price() decide


def value_problem(value: Any, path: str = "") -> str | None:
    """The first string with a control character or non-finite number inside ``value`` (iterative), or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if CONTROL.search(item):
                return f"{where or 'value'} holds a control character ('{escape(item)}')"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{where or 'value'} is not a finite number ({item})"
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and CONTROL.search(key):
                    return f"key '{escape(key)}' holds a control character"
                stack.append((inner, name))
        elif isinstance(item, list):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
    return None
