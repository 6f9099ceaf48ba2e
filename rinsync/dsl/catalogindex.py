"""What a rule may ask about the rest of the catalog: ids, variant bases, families. Built once per compile."""

from __future__ import annotations

import re
from typing import Any

# A context-size marker inside an id: '-16k', '-32k', '-128k' (as the shipped rule matches it).
_SIZE = re.compile(r"-[0-9]+k\b")
# A trailing snapshot stamp: -2024-08-06, -20260420, -0613, -2507, -02-15.
_STAMP = re.compile(r"-(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}|[0-9]{4}|[0-9]{2}-[0-9]{2})$")


def base_model(model_id: str | None) -> str | None:
    """The id a variant belongs to: ':extended' or a '-NNk' size removed, else the ':variant' removed.

    ``openai/gpt-4o:extended`` -> ``openai/gpt-4o``; ``openai/gpt-4-32k-0314`` -> ``openai/gpt-4-0314``;
    ``microsoft/phi-3-mini-128k-instruct:free`` -> ``microsoft/phi-3-mini-instruct:free`` (the variant
    suffix stays: the base of a free long-context model is the free short one); ``x:free`` -> ``x``.
    None when the id is no variant.
    """
    if not model_id:
        return None
    if model_id.endswith(":extended"):
        return model_id[: -len(":extended")]
    if _SIZE.search(model_id):
        return _SIZE.sub("", model_id, count=1)
    if ":" in model_id:
        return model_id.partition(":")[0]
    return None


def family_key(text: str) -> str:
    """An id or canonical slug without its ':variant', '-NNk' size and trailing snapshot date."""
    key = _SIZE.sub("", text.partition(":")[0])
    return _STAMP.sub("", key)


class CatalogIndex:
    """Ids, families and their newest members of one catalog, for the catalog-aware functions."""

    __slots__ = ("ids", "_records", "_family", "_members", "_newest")

    def __init__(self, records: list[dict]):
        self.ids: frozenset[str] = frozenset(r["id"] for r in records if isinstance(r.get("id"), str))
        self._records = records
        self._family: dict[str, str] | None = None  # families are built on first use

    def _families(self) -> dict[str, str]:
        if self._family is not None:
            return self._family
        parent: dict[str, str] = {}

        def find(key: str) -> str:
            root = key
            while parent.setdefault(root, root) != root:
                root = parent[root]
            while parent[key] != root:
                parent[key], key = root, parent[key]
            return root

        def union(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)  # the sorted-first key names the family

        created: dict[str, Any] = {}
        for record in self._records:
            model_id = record.get("id")
            if not isinstance(model_id, str):
                continue
            own = family_key(model_id)
            find(own)
            slug = record.get("canonical_slug")
            if isinstance(slug, str) and slug and not model_id.startswith("~"):
                union(own, family_key(slug))
            created[model_id] = record.get("created")
        self._family = {model_id: find(family_key(model_id)) for model_id in created}
        members: dict[str, list[str]] = {}
        for model_id in sorted(created):
            members.setdefault(self._family[model_id], []).append(model_id)
        self._members = members
        self._newest = {key: min(ids, key=lambda i: (-_number(created[i]), i)) for key, ids in members.items()}
        return self._family

    def exists(self, model_id: Any) -> bool:
        return model_id in self.ids

    def family(self, model_id: str) -> str:
        return self._families().get(model_id) or family_key(model_id)

    def members(self, model_id: str) -> list[str]:
        key = self.family(model_id)  # builds the families on first use
        return list(self._members.get(key, ()))

    def newest(self, model_id: str) -> str | None:
        key = self.family(model_id)
        return self._newest.get(key)


def _number(value: Any) -> float:
    """``created`` as a number for ordering; records without one count as oldest."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("-inf")


EMPTY = CatalogIndex([])
