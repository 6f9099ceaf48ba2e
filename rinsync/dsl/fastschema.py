"""A JSON Schema subset compiled to Python checks, for validating thousands of catalog records fast.

The schema file stays the single statement of what is allowed: this module only turns its
keywords into closures once. A keyword it does not know is refused when compiling, so the
schema can never silently say more than is checked. It answers valid / not valid; the message
for an invalid record comes from jsonschema itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "examples", "default", "$defs"}


def compile_schema(schema: dict, root: dict | None = None) -> Check:
    """Compile ``schema`` (resolving ``#/$defs/...`` against ``root``) into a predicate."""
    root = root if root is not None else schema
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword.startswith("x-"):
            continue
        builder = _BUILDERS.get(keyword)
        if builder is None:
            raise ValueError(f"fastschema does not support the keyword {keyword!r}")
        checks.append(builder(value, schema, root))
    if not checks:
        return lambda _value: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    return lambda value: all(check(value) for check in checks)


def _type(value, _schema, _root) -> Check:
    names = set(value if isinstance(value, list) else [value])
    unknown = names - set(_TYPES)
    if unknown:
        raise ValueError(f"unknown JSON type {sorted(unknown)}")
    python_types = tuple({"object": dict, "array": list, "string": str, "null": type(None),
                          "boolean": bool, "number": (int, float), "integer": int}[n] for n in names)
    flat = tuple(t for group in python_types for t in (group if isinstance(group, tuple) else (group,)))
    bool_ok = "boolean" in names
    whole_floats = "integer" in names and "number" not in names

    def check(v: Any) -> bool:
        if isinstance(v, bool):
            return bool_ok
        if isinstance(v, flat):
            return True
        return whole_floats and isinstance(v, float) and v.is_integer()

    return check


def _required(value, _schema, _root) -> Check:
    keys = tuple(value)
    return lambda v: not isinstance(v, dict) or all(key in v for key in keys)


def _properties(value, schema, root) -> Check:
    compiled = tuple((key, compile_schema(sub, root)) for key, sub in value.items())
    extra = schema.get("additionalProperties", True)
    if extra is True:  # only the named properties need a look

        def named_only(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, sub in compiled:
                if key in v and not sub(v[key]):
                    return False
            return True

        return named_only
    table = dict(compiled)
    extra_check = compile_schema(extra, root) if isinstance(extra, dict) else None

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, item in v.items():
            sub = table.get(key)
            if sub is not None:
                if not sub(item):
                    return False
            elif extra_check is None or not extra_check(item):
                return False
        return True

    return check


def _additional(value, schema, root) -> Check:
    if "properties" in schema:
        return lambda _v: True  # handled together with properties
    return _properties({}, schema, root)


def _items(value, _schema, root) -> Check:
    sub = compile_schema(value, root)
    return lambda v: not isinstance(v, list) or all(sub(item) for item in v)


def _ref(value, _schema, root) -> Check:
    if not value.startswith("#/"):
        raise ValueError(f"fastschema only resolves local references, not {value!r}")
    target: Any = root
    for part in value[2:].split("/"):
        target = target[part]
    resolved: list[Check] = []

    def check(v: Any) -> bool:  # compiled lazily: references may be recursive
        if not resolved:
            resolved.append(compile_schema(target, root))
        return resolved[0](v)

    return check


def _bound(name: str, compare: Callable[[Any, Any], bool], kinds: tuple[type, ...], size: Callable) -> Callable:
    def builder(limit, _schema, _root) -> Check:
        return lambda v: not isinstance(v, kinds) or isinstance(v, bool) or compare(size(v), limit)

    builder.__name__ = name
    return builder


def _const(value, _schema, _root) -> Check:
    return lambda v: _same(v, value)


def _enum(value, _schema, _root) -> Check:
    options = list(value)
    return lambda v: any(_same(v, option) for option in options)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _one_of(value, _schema, root) -> Check:
    subs = [compile_schema(sub, root) for sub in value]
    return lambda v: sum(1 for sub in subs if sub(v)) == 1


def _any_of(value, _schema, root) -> Check:
    subs = [compile_schema(sub, root) for sub in value]
    return lambda v: any(sub(v) for sub in subs)


def _not(value, _schema, root) -> Check:
    sub = compile_schema(value, root)
    return lambda v: not sub(v)


def _property_names(value, _schema, root) -> Check:
    sub = compile_schema(value, root)
    return lambda v: not isinstance(v, dict) or all(sub(key) for key in v)


def _pattern(value, _schema, _root) -> Check:
    regex = re.compile(value)
    return lambda v: not isinstance(v, str) or regex.search(v) is not None


_BUILDERS: dict[str, Callable[[Any, dict, dict], Check]] = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "items": _items,
    "$ref": _ref,
    "pattern": _pattern,
    "minLength": _bound("minLength", lambda n, m: n >= m, (str,), len),
    "maxLength": _bound("maxLength", lambda n, m: n <= m, (str,), len),
    "minItems": _bound("minItems", lambda n, m: n >= m, (list,), len),
    "maxItems": _bound("maxItems", lambda n, m: n <= m, (list,), len),
    "const": _const,
    "enum": _enum,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "not": _not,
    "propertyNames": _property_names,
    "exclusiveMinimum": _bound("exclusiveMinimum", lambda n, m: n > m, (int, float), lambda v: v),
    "minimum": _bound("minimum", lambda n, m: n >= m, (int, float), lambda v: v),
    "maximum": _bound("maximum", lambda n, m: n <= m, (int, float), lambda v: v),
}
