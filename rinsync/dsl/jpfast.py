"""Compile a parsed JMESPath tree into nested Python closures, once, for fast repeated searches.

Semantics are jmespath.py's own: the common node types are translated with the library's
helpers, function calls go through the same ``call_function`` (with its argument type checks),
and any other node type is handed to jmespath's TreeInterpreter for that subtree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jmespath import visitor as _visitor

Closure = Callable[[Any], Any]
_equals = _visitor._equals
_is_comparable = _visitor._is_comparable
_is_actual_number = _visitor._is_actual_number
_ORDER = {"lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge}


def is_false(value: Any) -> bool:
    return value == "" or value == [] or value == {} or value is None or value is False


class ClosureCompiler:
    """Turns AST nodes into closures bound to one functions object."""

    def __init__(self, interpreter: _visitor.TreeInterpreter):
        self.interpreter = interpreter
        self.functions = interpreter._functions

    def compile(self, node: dict) -> Closure:
        method = getattr(self, "_" + node["type"], None)
        if method is None:
            visit = self.interpreter.visit
            return lambda value: visit(node, value)
        return method(node)

    def _field(self, node: dict) -> Closure:
        key = node["value"]
        return lambda value: value.get(key) if isinstance(value, dict) else None

    def _subexpression(self, node: dict) -> Closure:
        steps = [self.compile(child) for child in node["children"]]
        if len(steps) == 2 and all(child["type"] == "field" for child in node["children"]):
            first, second = node["children"][0]["value"], node["children"][1]["value"]

            def two_fields(value: Any) -> Any:
                inner = value.get(first) if isinstance(value, dict) else None
                return inner.get(second) if isinstance(inner, dict) else None

            return two_fields

        def chain(value: Any) -> Any:
            for step in steps:
                value = step(value)
            return value

        return chain

    _index_expression = _subexpression
    _pipe = _subexpression

    def _literal(self, node: dict) -> Closure:
        constant = node["value"]
        return lambda _value: constant

    def _current(self, node: dict) -> Closure:
        return lambda value: value

    _identity = _current

    def _index(self, node: dict) -> Closure:
        position = node["value"]

        def index(value: Any) -> Any:
            if not isinstance(value, list):
                return None
            try:
                return value[position]
            except IndexError:
                return None

        return index

    def _filter_projection(self, node: dict) -> Closure:
        base, project, condition = (self.compile(child) for child in node["children"])

        def select(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            return [kept for item in items if not is_false(condition(item)) and (kept := project(item)) is not None]

        return select

    def _multi_select_dict(self, node: dict) -> Closure:
        pairs = [(child["value"], self.compile(child["children"][0])) for child in node["children"]]
        make = self.interpreter._dict_cls

        def select(value: Any) -> Any:
            if value is None:
                return None
            collected = make()
            for key, compute in pairs:
                collected[key] = compute(value)
            return collected

        return select

    def _comparator(self, node: dict) -> Closure:
        left, right = (self.compile(child) for child in node["children"])
        op = node["value"]
        if op == "eq":
            return lambda value: _equals(left(value), right(value))
        if op == "ne":
            return lambda value: not _equals(left(value), right(value))
        compare = _ORDER[op]

        def ordered(value: Any) -> Any:
            a, b = left(value), right(value)
            if not (_is_comparable(a) and _is_comparable(b)):
                return None
            return compare(a, b)

        return ordered

    def _or_expression(self, node: dict) -> Closure:
        left, right = (self.compile(child) for child in node["children"])

        def either(value: Any) -> Any:
            matched = left(value)
            return right(value) if is_false(matched) else matched

        return either

    def _and_expression(self, node: dict) -> Closure:
        left, right = (self.compile(child) for child in node["children"])

        def both(value: Any) -> Any:
            matched = left(value)
            return matched if is_false(matched) else right(value)

        return both

    def _not_expression(self, node: dict) -> Closure:
        inner = self.compile(node["children"][0])

        def negate(value: Any) -> bool:
            result = inner(value)
            if _is_actual_number(result) and result == 0:
                return False
            return not result

        return negate

    def _function_expression(self, node: dict) -> Closure:
        args = [self.compile(child) for child in node["children"]]
        name, call = node["value"], self.functions.call_function
        direct = self._direct_call(name, len(args))
        if direct is None:
            return lambda value: call(name, [arg(value) for arg in args])
        function, allowed = direct

        def invoke(value: Any) -> Any:
            resolved = [arg(value) for arg in args]
            for item, types in zip(resolved, allowed):
                if types is not None and type(item) not in types:
                    return call(name, resolved)  # jmespath raises its own type error
            return function(self.functions, *resolved)

        return invoke

    def _direct_call(self, name: str, argc: int):
        """(function, per-argument allowed types) when a call can skip jmespath's generic checks."""
        spec = self.functions.FUNCTION_TABLE.get(name)
        if spec is None or len(spec["signature"]) != argc:
            return None
        allowed = []
        for argument in spec["signature"]:
            if argument.get("variadic"):
                return None
            kinds = argument["types"]
            if not kinds:
                allowed.append(None)
                continue
            if any(kind not in _SIMPLE_TYPES for kind in kinds):
                return None
            allowed.append(frozenset(t for kind in kinds for t in _SIMPLE_TYPES[kind]))
        return spec["function"], allowed


# jmespath checks argument types by exact class name; these are the classes each name admits
# (subclasses and the library's own projection/expression types go the generic way).
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
