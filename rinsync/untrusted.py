"""Upstream text and numbers are data: checks that keep them from forging lines or poisoning the config.

A catalog is written by someone else. Its text may hold newlines or terminal controls (an id ending in
``\\n`` would reach the config and could forge a summary line in a cron log), its numbers may be
``NaN``/``Infinity`` or overflow to infinity. These helpers find such values and show them escaped.
Shared module: imports nothing from rinsync.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

# C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides (they reorder a line)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
IDENTITY_FIELDS = ("id", "name", "canonical_slug")  # record text that is printed or becomes a name
FLOAT_MAX = sys.float_info.max


def escape(text: str, limit: int = 120) -> str:
    """``text`` with every control character written as ``\\xNN``/``\\uNNNN``, cut at ``limit`` characters."""
    cut = text[:limit]
    shown = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", cut)
    return shown + ("..." if len(text) > limit else "")


def one_line(text: str) -> str:
    """A line fit for a log: control characters escaped, so it can never split or rewrite a line."""
    return escape(text, limit=len(text)) if CONTROL.search(text) else text


def finite(value: Any) -> bool:
    """False for a number no float can hold: ``NaN``, ``Infinity``, an integer such as ``10**400`` (JSON
    integers have no size limit) or a numeric string that overflows (``"1e999999999"``). True for anything
    else, non-numbers included (the schema and the readers decide those). The one check of upstream numbers."""
    kind = type(value)
    if kind is int:
        return -FLOAT_MAX <= value <= FLOAT_MAX  # exact: Python compares an int with a float without converting
    if kind is float:
        return math.isfinite(value)
    if kind is str:
        try:
            return math.isfinite(float(value))
        except (ValueError, OverflowError):
            return True  # not a number at all: the schema and price() decide
    return True


def number(value: Any) -> int | float | None:
    """``value`` when it is a JSON number a float can hold, else None (booleans are not numbers)."""
    if type(value) not in (int, float) or not finite(value):
        return None
    return value


def record_problem(record: dict) -> str | None:
    """Why a catalog record is unusable: identity text with control characters, or a number anywhere in it
    that no float can hold (``NaN``, ``Infinity``, ``1e400``, ``10**400``, a price ``"1e999999999"``); None
    when it is fine."""
    for key in IDENTITY_FIELDS:
        value = record.get(key)
        if isinstance(value, str) and CONTROL.search(value):
            return f"{key} holds a control character ('{escape(value)}')"
    where = _first_non_finite(record)
    if where is not None:
        path, value = where
        return f"{path} is not a finite number ({shown_number(value)})"
    return None


def _first_non_finite(record: dict) -> tuple[str, Any] | None:
    """The first number (anywhere) or price string (in ``pricing``/``top_provider``) that no float can hold.

    Iterative and path-free on the way down (a catalog is walked whole on every compile); the path is built
    only for the value found."""
    stack: list[tuple[Any, tuple]] = [(record, ())]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is dict:
            strings = len(path) == 1 and path[0] in ("pricing", "top_provider")
            for key, inner in item.items():
                if type(inner) in (dict, list) or (type(inner) in (int, float) or strings and type(inner) is str) \
                        and not finite(inner):
                    stack.append((inner, path + (key,)))
        elif kind is list:
            stack.extend((inner, path + (index,)) for index, inner in enumerate(item)
                         if type(inner) in (dict, list, int, float) and (type(inner) in (dict, list)
                                                                        or not finite(inner)))
        elif path:
            return _dotted(path), item
    return None


def _dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def shown_number(value: Any) -> str:
    """A number for a message: escaped, cut, and a huge integer by its size instead of its digits."""
    text = str(value) if not isinstance(value, int) else _int_text(value)
    return escape(text, 40)


def _int_text(value: int) -> str:
    """A huge integer shown by its size (its digits could be thousands long; str() of more than 4300
    digits is itself an error)."""
    digits = value.bit_length() * 0.30103
    return f"an integer of about {digits:.0f} digits" if digits > 30 else str(value)


def value_problem(value: Any, path: str = "") -> str | None:
    """The first string with a control character or non-finite number inside ``value`` (iterative), or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if CONTROL.search(item):
                return f"{where or 'value'} holds a control character ('{escape(item)}')"
        elif type(item) in (int, float):
            if not finite(item):
                return f"{where or 'value'} is not a finite number ({shown_number(item)})"
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and CONTROL.search(key):
                    return f"key '{escape(key)}' holds a control character"
                stack.append((inner, name))
        elif isinstance(item, list):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
    return None
