"""The set-level stage: per group of kept models, keep the first N in an order and/or while a condition holds.

Runs after the per-record rules and before name collisions. Deterministic: ties in the order are
broken by id, models without an order value come last, groups are walked in sorted key order.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from .decision import Decision, SelectionTrace
from .diagnostics import RulesError
from .dsl.expr import truthy
from .dsl.rules import Origin, Selection
from .dsl.running import running_sums

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
    totals = _RunningTotals(selection, search)
    for rank, decision in enumerate(ordered, start=1):
        place = f"{ordinal(rank)} {words} of {where}"
        if stopped is None and selection.limit is not None and len(kept) >= selection.limit:
            stopped = f"limit {selection.limit}"
        if stopped is None and selection.keep_while is not None:
            context = {"id": decision.model_id, "model": decision.record, "rank": rank, "group": key,
                       "kept": kept, "first": ordered[0].record}  # kept: read, never changed
            if not truthy(totals.evaluate(context)):
                stopped = f"keep_while false from `{decision.model_id}` on"
        if stopped is None:
            kept.append(decision.record)
            totals.add(decision.record)
            limit = f", limit {selection.limit}" if selection.limit is not None else ""
            reason = f"{place}{limit}, kept by selection `{selection.id}`"
        else:
            reason = f"{place}, {stopped}, by selection `{selection.id}`"
            decision.drop(reason)
            decision.selected_out_by = selection
        decision.selections.append(SelectionTrace(selection, key, rank, stopped is None, reason))


class _RunningTotals:
    """Evaluates one group's keep_while, keeping each ``sum(map(&E, kept))`` in it as a running total.

    E is evaluated once per kept record (not once per kept record per candidate): linear in the group
    instead of quadratic. The totals equal ``sum()`` over the kept values: a left fold, which is what
    Python 3.11's sum() computes; later Pythons compensate float sums, so there the kept values are summed
    by sum() itself (one C loop, no expression evaluation). When E gives a non-number or fails on a kept
    record, the group goes back to evaluating the written expression, which reports it as before.
    """

    _FOLD = sys.version_info < (3, 12)

    def __init__(self, selection: Selection, search: Search):
        self.selection, self.search = selection, search
        self.plan = running_sums(selection.keep_while) if selection.keep_while is not None else None
        self.values: list[list] = [[] for _ in self.plan.slots] if self.plan else []
        self.totals: list[Any] = [0 for _ in self.values]

    def evaluate(self, context: dict) -> Any:
        what = f"'keep_while' of selection '{self.selection.id}'"
        if self.plan is None:
            return self.search(self.selection.keep_while, context, self.selection.keep_origin, what)
        for (slot, _), total, values in zip(self.plan.slots, self.totals, self.values, strict=True):
            context[slot] = total if self._FOLD else sum(values)
        return self.search(self.plan.text, context, self.selection.keep_origin, what)

    def add(self, record: dict) -> None:
        if self.plan is None:
            return
        what = f"'keep_while' of selection '{self.selection.id}'"
        for index, (_, element) in enumerate(self.plan.slots):
            try:
                value = self.search(element, record, self.selection.keep_origin, what)
            except RulesError:
                value = None
            if type(value) not in (int, float):  # sum() would refuse it: let the written expression say so
                self.plan = None
                return
            if self._FOLD:
                self.totals[index] = self.totals[index] + value
            else:
                self.values[index].append(value)
