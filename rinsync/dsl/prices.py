"""OpenRouter price strings as numbers."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ..untrusted import finite

_MISSING_PRICES = {"", "-1", None}


def parse_price(value: Any) -> float | None:
    """USD per token from an OpenRouter price string; None when unknown (missing, ``"-1"``)."""
    if isinstance(value, bool) or value in _MISSING_PRICES:
        return None
    if isinstance(value, (int, float)):
        if not finite(value):
            return None  # NaN, Infinity, 1e400 and 10**400 from the JSON are not prices
        number = float(value)
        return number if number >= 0 else None
    if not isinstance(value, str):
        return None
    return _parse_price_text(value)


@lru_cache(maxsize=4096)
def _parse_price_text(value: str) -> float | None:
    """A price string as a number (catalogs repeat a few hundred distinct strings, so it is cached)."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    price = float(number)  # "1e999999999" is a finite Decimal but an infinite float
    return price if math.isfinite(price) else None


def per_million(value: Any) -> float | None:
    """USD per million tokens from an OpenRouter price string; None when unknown."""
    price = parse_price(value)
    if price is None:
        return None
    scaled = float(Decimal(str(price)) * 1_000_000)
    return scaled if math.isfinite(scaled) else None
