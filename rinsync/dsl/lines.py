"""Model lines and brands above families, for a curated chat view (``line``, ``brand``, ``newest_in_line``...).

``family()`` folds only snapshots, variants and sizes of one model (``openai/gpt-4o-2024-08-06`` ->
``openai/gpt-4o``). A *line* also folds its generations: the family without version numbers, parameter
sizes and release qualifiers (``openai/gpt-5.4-mini`` -> ``openai/gpt-mini``, ``qwen/qwen3.5-27b`` ->
``qwen/qwen``, ``google/gemini-2.5-pro-preview`` -> ``google/gemini-pro``). A *brand* is the provider
and the first word of the name without digits (``openai/gpt``, ``anthropic/claude``, ``google/gemma``):
the lines of one brand compete, so a line whose newest model is much older than its brand's newest is a
superseded generation. Built once per compile from the catalog index, on first use.
"""

from __future__ import annotations

import re
from typing import Any

from .catalogindex import CatalogIndex

# words that are versions: '4', '5.4', 'v2', 'v3.1', and a version with one letter ('4o', '3n', '4.6v')
_VERSION_WORD = re.compile(r"v?[0-9]+(?:\.[0-9]+)*[a-z]?")
# parameter sizes: '27b', 'a3b', 'e4b', '8x22b', '1t', '2.6b'
_SIZE_WORD = re.compile(r"[ae]?[0-9]+(?:\.[0-9]+)?[bmt]|[0-9]+x[0-9]+b")
_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)*")
# release qualifiers of one generation (the newest of them stands for the line)
QUALIFIERS = frozenset({"preview", "exp", "instruct", "it", "thinking", "reasoning", "high"})


def line_key(family: str) -> str:
    """The line of a family key: its words without versions, sizes and release qualifiers."""
    provider, slash, name = family.partition("/")
    words = []
    for word in name.split("-"):
        if _VERSION_WORD.fullmatch(word) or _SIZE_WORD.fullmatch(word):
            continue
        word = _DIGITS.sub("", word)
        if word and word not in QUALIFIERS:
            words.append(word)
    return f"{provider}{slash}{'-'.join(words) or name}"


def brand_key(family: str) -> str:
    """The brand of a family key: the provider and the first word of the name without digits."""
    provider, slash, name = family.partition("/")
    first = name.split("-", 1)[0]
    return f"{provider}{slash}{_DIGITS.sub('', first).strip('.') or first}"


class LineIndex:
    """Newest members of every line and brand of one catalog (by ``created``; ties: the first id)."""

    def __init__(self, catalog: CatalogIndex, records: list[dict]):
        self.catalog = catalog
        self.created: dict[str, float] = {}
        self._line: dict[str, str] = {}  # id -> line, brand of every catalog id (keys cost regexes: once)
        self._brand: dict[str, str] = {}
        lines: dict[str, list[str]] = {}
        brands: dict[str, list[str]] = {}
        for record in records:
            model_id = record.get("id")
            if not isinstance(model_id, str) or model_id in self.created:
                continue
            self.created[model_id] = _seconds(record.get("created"))
            family = catalog.family(model_id)
            self._line[model_id], self._brand[model_id] = line_key(family), brand_key(family)
            lines.setdefault(self._line[model_id], []).append(model_id)
            brands.setdefault(self._brand[model_id], []).append(model_id)
        self._newest_line = {key: self._newest(ids) for key, ids in lines.items()}
        self._newest_brand = {key: self._newest(ids) for key, ids in brands.items()}

    def _newest(self, ids: list[str]) -> str:
        return min(ids, key=lambda i: (-self.created[i], i))

    def line(self, model_id: str) -> str:
        return self._line.get(model_id) or line_key(self.catalog.family(model_id))

    def brand(self, model_id: str) -> str:
        return self._brand.get(model_id) or brand_key(self.catalog.family(model_id))

    def newest_in_line(self, model_id: str) -> str | None:
        return self._newest_line.get(self.line(model_id))

    def newest_in_brand(self, model_id: str) -> str | None:
        return self._newest_brand.get(self.brand(model_id))

    def days_between(self, first: str, second: str) -> float | None:
        """Days from the first catalog model's ``created`` to the second's; None when one is unknown."""
        a, b = self.created.get(first), self.created.get(second)
        if a is None or b is None or a == float("-inf") or b == float("-inf"):
            return None
        return round((b - a) / 86400, 3)


def _seconds(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("-inf")
