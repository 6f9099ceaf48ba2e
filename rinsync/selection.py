"""The set-level stage: per group of kept models, keep the first N in an order and/or while a condition holds.

Runs after the per-record rules and before name collisions. Deterministic: ties in the order are
broken by id, models without an order value come last, groups are walked in sorted key order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .decision import Decision, SelectionTrace
from .dsl.expr import truthy
from .dsl.rules import Origin, Selection

Search = Callable[[str, dict, Origin, str], Any]  # (expression, value, origin, what) -> result


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _group_label(selection: Selection, key: str) -> str:
    text = selection.group_by
    if not text:
        return "the models it applies to"
    for function, word in (("family(", "family"), ("provider(", "provider")):
        if text.replace(" ", "").startswith(function):
            return f"{word} `{key}`"
    return f"group `{key}`"


def _order_words(selection: Selection) -> str:
    if not selection.order:
        return "by id"
    if selection.order[0].expression.strip() == "created":  # later keys only break ties
        return "newest" if selection.order[0].descending else "oldest"
    return "by " + ", ".join(f"`{k.expression}`" + (" descending" if k.descending else "")
                             for k in selection.order)


def _kind(value: Any) -> int:
    """0 numbers, 1 strings, 2 anything else (null, lists, booleans…): sorted as missing."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 0
    if isinstance(value, str):
        return 1
    return 2


def _group_key(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def apply_selection(selection: Selection, decisions: list[Decision], search: Search) -> None:
    """Drop, in ``decisions``, the kept models this selection does not keep; record a trace on each."""
    scope = [d for d in decisions if d.kept and d.values is not None]
    if selection.where is not None:
        scope = [d for d in scope if truthy(search(selection.where, d.record, selection.where_origin,
                                                   f"'where' of selection '{selection.id}'"))]
    groups: dict[str, list[tuple[list, Decision]]] = {}
    for decision in scope:
        key = "" if selection.group_by is None else _group_key(
            search(selection.group_by, decision.record, selection.group_origin,
                   f"'group_by' of selection '{selection.id}'"))
        if key is None:
            continue  # no group: left alone
        values = [search(k.expression, decision.record, k.origin, f"'order_by' of selection '{selection.id}'")
                  for k in selection.order]
        groups.setdefault(key, []).append((values, decision))

    for key in sorted(groups):
        _walk(selection, key, _ordered(selection, groups[key]), search)


def _ordered(selection: Selection, items: list[tuple[list, Decision]]) -> list[Decision]:
    """Stable sorts, last key first: ties keep the order of the next key, finally of the id."""
    items = sorted(items, key=lambda item: item[1].model_id)
    for position in reversed(range(len(selection.order))):
        descending = selection.order[position].descending
        present = [item for item in items if _kind(item[0][position]) < 2]
        missing = [item for item in items if _kind(item[0][position]) == 2]  # nulls last, either way
        present.sort(key=lambda item: (_kind(item[0][position]), item[0][position]), reverse=descending)
        items = present + missing
    return [decision for _, decision in items]


def _walk(selection: Selection, key: str, ordered: list[Decision], search: Search) -> None:
    kept: list[dict] = []
    stopped: str | None = None  # why the rest of the group is dropped
    where = _group_label(selection, key)
    words = _order_words(selection)
    for rank, decision in enumerate(ordered, start=1):
        place = f"{ordinal(rank)} {words} of {where}"
        if stopped is None and selection.limit is not None and len(kept) >= selection.limit:
            stopped = f"limit {selection.limit}"
        if stopped is None and selection.keep_while is not None:
            context = {"id": decision.model_id, "model": decision.record, "rank": rank, "group": key,
                       "kept": kept, "first": ordered[0].record}  # kept: read, never changed
            if not truthy(search(selection.keep_while, context, selection.keep_origin,
                                 f"'keep_while' of selection '{selection.id}'")):
                stopped = f"keep_while false from `{decision.model_id}` on"
        if stopped is None:
            kept.append(decision.record)
            limit = f", limit {selection.limit}" if selection.limit is not None else ""
            reason = f"{place}{limit}, kept by selection `{selection.id}`"
        else:
            reason = f"{place}, {stopped}, by selection `{selection.id}`"
            decision.drop(reason)
            decision.selected_out_by = selection
        decision.selections.append(SelectionTrace(selection, key, rank, stopped is None, reason))
