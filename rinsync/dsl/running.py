"""Running totals in a selection's ``keep_while``, kept by the stage instead of re-summed for every candidate.

``sum(map(&E, kept)) < `20``` (docs/rules.md) evaluates E on every record kept so far, for every candidate:
a group of n models costs n²/2 evaluations (2,000 records 9 s, 20,000 records many minutes). This module
finds each ``sum(map(&E, kept))`` that reads the context's own ``kept`` and rewrites the expression to read a
slot instead (``"__running_0" < `20```); the selection stage adds E of each record it keeps to the slot,
so a group costs n evaluations of E. The rewrite is exact or not made: the rewritten text must parse to the
original tree with each slot put back, and a slot is only used where the current value is the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from jmespath.lexer import Lexer

SLOT = "__running_{}"
# Node kinds whose children all see the same current value as the node itself (expref does not: its
# expression runs on each element; the first child of a pipe/projection/subexpression does, the rest not).
SAME_CURRENT = {"comparator", "and_expression", "or_expression", "not_expression", "multi_select_list",
                 "multi_select_dict", "key_val_pair", "function_expression"}
FIRST_CHILD_ONLY = {"subexpression", "index_expression", "pipe", "projection", "value_projection",
                     "filter_projection", "flatten"}
_SEES_THE_WHOLE = {"current", "identity", "value_projection"}


@dataclass(frozen=True)
class RunningSums:
    """A keep_while rewritten to read running totals: ``text`` reads each slot ``slots[i][0]``, whose value is
    the sum of the element expression ``slots[i][1]`` over the records kept so far."""

    text: str
    slots: tuple[tuple[str, str], ...]


@lru_cache(maxsize=256)
def running_sums(expression: str) -> RunningSums | None:
    """The rewrite of ``expression``; None when it has no ``sum(map(&E, kept))`` the stage can keep."""
    try:
        tree = jmespath.compile(expression).parsed
        tokens = list(Lexer().tokenize(expression))
    except jp_errors.JMESPathError:
        return None
    spans = _sum_spans(expression, tokens)
    if not spans:
        return None
    pieces, slots, last = [], [], 0
    for start, end, element in spans:
        key = SLOT.format(len(slots))
        pieces += [expression[last:start], f'"{key}"']
        slots.append((key, element, expression[start:end]))
        last = end
    text = "".join(pieces) + expression[last:]
    try:
        rewritten = jmespath.compile(text).parsed
        originals = {key: jmespath.compile(source).parsed for key, _, source in slots}
    except jp_errors.JMESPathError:
        return None
    if _restore(rewritten, originals) != tree or not _slots_read_the_context(rewritten, set(originals)):
        return None
    return RunningSums(text, tuple((key, element) for key, element, _ in slots))


def _sum_spans(expression: str, tokens: list[dict]) -> list[tuple[int, int, str]]:
    """(start, end, element expression text) of each outermost ``sum(map(&E, kept))``, by token positions."""
    closing = _matching_parens(tokens)
    spans: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens[:-9]):
        if spans and token["start"] < spans[-1][1]:
            continue  # inside a span already taken
        if not (_is(token, "unquoted_identifier", "sum") and _is(tokens[i + 1], "lparen")
                and _is(tokens[i + 2], "unquoted_identifier", "map") and _is(tokens[i + 3], "lparen")
                and _is(tokens[i + 4], "expref")):
            continue
        outer, inner = closing.get(i + 1), closing.get(i + 3)
        if outer is None or inner is None or inner != outer - 1:
            continue
        if not (_is(tokens[inner - 1], "unquoted_identifier", "kept") and _is(tokens[inner - 2], "comma")):
            continue
        element_start, element_end = tokens[i + 5]["start"], tokens[inner - 2]["start"]
        spans.append((token["start"], tokens[outer]["start"] + 1, expression[element_start:element_end].strip()))
    return spans


def _matching_parens(tokens: list[dict]) -> dict[int, int]:
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for index, token in enumerate(tokens):
        if token["type"] == "lparen":
            stack.append(index)
        elif token["type"] == "rparen" and stack:
            pairs[stack.pop()] = index
    return pairs


def _is(token: dict, kind: str, value: Any = None) -> bool:
    return token["type"] == kind and (value is None or token["value"] == value)


def _restore(node: Any, originals: dict[str, dict]) -> Any:
    """``node`` with each slot field replaced by the tree it stands for."""
    if isinstance(node, dict):
        if node.get("type") == "field" and node.get("value") in originals:
            return originals[node["value"]]
        return {key: _restore(value, originals) for key, value in node.items()}
    if isinstance(node, list):
        return [_restore(item, originals) for item in node]
    return node


def _slots_read_the_context(tree: dict, keys: set[str]) -> bool:
    """Every slot field is read where the current value is the whole context (not an element or a part), and
    nothing reads the context as a whole (it holds the slots besides the documented keys)."""
    stack: list[tuple[Any, bool]] = [(tree, True)]
    while stack:
        node, at_root = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "field" and node.get("value") in keys and not at_root:
            return False
        if at_root and kind in _SEES_THE_WHOLE:
            return False  # `@`, `*` or keys(@) at the top would see the slots too
        children = node.get("children", [])
        for index, child in enumerate(children):
            if kind in SAME_CURRENT and not (isinstance(child, dict) and child.get("type") == "expref"):
                stack.append((child, at_root))
            elif kind in FIRST_CHILD_ONLY and index == 0:
                stack.append((child, at_root))
            else:
                stack.append((child, False))
    return True
