"""OpenRouter price strings as numbers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_MISSING_PRICES = {"", "-1", None}


def parse_price(value: Any) -> float | None:
    """USD per token from an OpenRouter price string; None when unknown (missing, ``"-1"``)."""
    if isinstance(value, bool) or value in _MISSING_PRICES:
        return None
    if isinstance(value, (int, float)):
        return None if value < 0 else float(value)
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return float(number)


def per_million(value: Any) -> float | None:
    """USD per million tokens from an OpenRouter price string; None when unknown."""
    price = parse_price(value)
    return None if price is None else float(Decimal(str(price)) * 1_000_000)
