"""Benchmark scores and prices of a catalog record, as rules, `rinsync models` and `recommend` read them."""

from __future__ import annotations

from typing import Any

from ..untrusted import number
from .prices import per_million

# Artificial Analysis indexes in `benchmarks.artificial_analysis`, by short name.
INDEXES = {"intelligence": "intelligence_index", "coding": "coding_index", "agentic": "agentic_index"}
SCORE_NAMES = tuple(INDEXES) + ("arena",)


def _number(value: Any) -> float | int | None:
    return number(value)  # NaN, 1e400 or 10**400 from the JSON is no score


def _benchmarks(record: Any) -> dict:
    if not isinstance(record, dict):
        return {}
    value = record.get("benchmarks")
    return value if isinstance(value, dict) else {}


def index_score(record: Any, name: str) -> float | int | None:
    """An Artificial Analysis index ('intelligence', 'coding', 'agentic', or its full key); None if absent."""
    key = INDEXES.get(name, name)
    analysis = _benchmarks(record).get("artificial_analysis")
    return _number(analysis.get(key)) if isinstance(analysis, dict) else None


def arena_elo(record: Any) -> float | int | None:
    """The highest Design Arena elo over the arenas and categories the model is rated in; None if unrated."""
    entries = _benchmarks(record).get("design_arena")
    if not isinstance(entries, list):
        return None
    elos = [_number(e.get("elo")) for e in entries if isinstance(e, dict)]
    elos = [e for e in elos if e is not None]
    return max(elos) if elos else None


def score(record: Any, name: str) -> float | int | None:
    """``index_score`` for the index names, ``arena_elo`` for 'arena'."""
    return arena_elo(record) if name == "arena" else index_score(record, name)


def blended_per_million(record: Any) -> float | None:
    """USD per million tokens at 3 input : 1 output tokens (the blend Artificial Analysis quotes).

    None when either price is unknown or dynamic ("-1").
    """
    pricing = record.get("pricing") if isinstance(record, dict) else None
    if not isinstance(pricing, dict):
        return None
    prompt, completion = per_million(pricing.get("prompt")), per_million(pricing.get("completion"))
    if prompt is None or completion is None:
        return None
    return round((3 * prompt + completion) / 4, 9)


def value(points: Any, price: Any) -> float | None:
    """Score points per USD per million tokens; None when either is missing or the price is 0 (free)."""
    points, price = _number(points), _number(price)
    if points is None or price is None or price <= 0:
        return None
    return round(points / price, 6)
