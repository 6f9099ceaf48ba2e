"""An upper bound on how much work a JMESPath expression can do per record, found before it runs.

JMESPath has no loops: the only way an expression does more than linear work is by duplicating values
(``[@, @]``, ``{a: @, b: @}``) and feeding the copies through further steps: ``[@,@] | [@,@] | …``
doubles the value at every stage, so thirty stages reach a billion values from a short expression.
:func:`growth` bounds, for every node, the size of its result as a multiple of the record's size, and
the largest intermediate result on the way; rules whose bound passes
:data:`~rinsync.limits.MAX_EXPRESSION_GROWTH` are refused when they load (and by ``rinsync lint``).
"""

from __future__ import annotations

from typing import Any

_SEQUENTIAL = {"subexpression", "index_expression", "pipe"}
_PROJECTIONS = {"projection", "value_projection", "filter_projection"}
_ADDITIVE = {"multi_select_list", "multi_select_dict"}


def growth(node: Any) -> tuple[int, int]:
    """(result, peak): bounds on the size of the node's result and of any intermediate, per record size."""
    if not isinstance(node, dict):
        return 1, 1
    kind = node.get("type")
    children = [c for c in node.get("children", []) if isinstance(c, dict)]
    parts = [growth(child) for child in children]
    peak = max((p for _, p in parts), default=1)
    if kind in _SEQUENTIAL or kind in _PROJECTIONS:
        out = 1
        for index, (child_out, child_peak) in enumerate(parts):
            if kind == "filter_projection" and index == 2:  # the condition: run on each element
                peak = max(peak, out * child_peak)
                continue
            peak = max(peak, out * child_peak)
            out *= child_out
        return out, max(peak, out)
    if kind in _ADDITIVE:
        out = sum(o for o, _ in parts) or 1
        return out, max(peak, out)
    if kind == "function_expression" and any(c.get("type") == "expref" for c in children):
        out = 1
        for child_out, _ in parts:  # map(&expr, array), sort_by(array, &expr): expr on each element
            out *= child_out
        return out, max(peak, out)
    if kind in ("function_expression", "comparator", "or_expression", "and_expression"):
        out = sum(o for o, _ in parts) or 1  # a function may return (a copy of) any of its arguments
        return out, max(peak, out)
    out = max((o for o, _ in parts), default=1)  # field, current, literal, flatten, not, expref, key_val_pair
    return out, max(peak, out)


# --------------------------------------------------------------------------- selections: cost over a group

MAX_RECORDS = 20_000  # the catalog limit (rinsync.source.catalog.MAX_RECORDS): the largest possible group
MAX_GROUP_EVALUATIONS = 10_000_000  # documented bound (docs/rules.md): element evaluations per selection
_CONSTANT_READS = {("function_expression", "length")}


def keep_while_reads_kept(expression: str) -> bool:
    """True when ``keep_while`` reads the records kept so far one by one for every candidate (``kept[?…]``,
    ``max_by(kept, …)``, ``map(&E, kept)`` outside the running totals rinsync keeps, see
    :mod:`rinsync.dsl.running`): a group of n models then costs n²/2 evaluations."""
    import jmespath
    from jmespath import exceptions as jp_errors

    from .running import FIRST_CHILD_ONLY, SAME_CURRENT, running_sums

    plan = running_sums(expression)
    try:
        tree = jmespath.compile(plan.text if plan else expression).parsed
    except jp_errors.JMESPathError:
        return False
    stack: list[tuple[Any, bool, Any]] = [(tree, True, None)]
    while stack:
        node, at_root, parent = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "field" and node.get("value") == "kept" and at_root:
            constant = parent is not None and (
                (parent.get("type"), parent.get("value")) in _CONSTANT_READS
                or parent.get("type") == "index_expression" and parent["children"][1].get("type") == "index")
            if not constant:
                return True
        for index, child in enumerate(node.get("children", [])):
            same = (kind in SAME_CURRENT and not (isinstance(child, dict) and child.get("type") == "expref")) \
                or (kind in FIRST_CHILD_ONLY and index == 0)
            stack.append((child, at_root and same, node))
    return False


def selection_evaluations(expression: str, limit: int | None, records: int = MAX_RECORDS) -> int:
    """An upper bound on keep_while's element evaluations for one group of ``records`` models: n when it reads
    ``kept`` only through running totals, ``length`` or an index; else the kept prefix for every candidate
    (n·limit with a limit, n²/2 without)."""
    if not keep_while_reads_kept(expression):
        return records
    if limit is not None:
        return records * min(limit, records)
    return records * (records + 1) // 2
