"""Validate a rules document against ``rules.v1.schema.json``; errors become located findings."""

from __future__ import annotations

import difflib
from typing import Any

from ..diagnostics import Finding
from ..resources import schema_check, schema_validator
from .yamlsource import SourceMap

RULES_SCHEMA = "rules.v1.schema.json"
def validate_rules(data: Any, source: SourceMap) -> list[Finding]:
    """Schema findings for one rules document, one per problem the user made."""
    if schema_check(RULES_SCHEMA)(data):
        return []
    return schema_findings(schema_validator(RULES_SCHEMA), data, source)


def schema_findings(validator, data: Any, source: SourceMap, *, code_prefix: str = "schema",
                    document: str = "the rules file") -> list[Finding]:
    """Located findings for every jsonschema error, oneOf/anyOf noise collapsed, one per place."""
    findings: dict[tuple, Finding] = {}
    for error in validator.iter_errors(data):
        finding = _to_finding(_collapse(error), source, code_prefix, document)
        findings.setdefault((finding.line, finding.col, finding.code), finding)
    return sorted(findings.values())


def _collapse(error):
    """Replace oneOf/anyOf noise by the sub-error the user most likely meant."""
    from jsonschema.exceptions import best_match

    while error.validator in ("oneOf", "anyOf") and error.context and "x-message" not in error.schema:
        error = best_match(error.context)
    return error


def _to_finding(error, source: SourceMap, prefix: str, document: str) -> Finding:
    path = tuple(error.absolute_path)
    where = _describe(path, document)
    value = error.instance
    schema = error.schema
    hint = schema.get("description") if isinstance(schema, dict) else None
    kind = error.validator
    if "x-message" in schema and kind in ("oneOf", "anyOf"):
        return source.finding(path, f"{prefix}-shape", schema["x-message"])
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(k for k in value if k not in schema.get("properties", {}))
        key = extra[0] if extra else ""
        close = difflib.get_close_matches(key, allowed, n=1)
        tip = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
        return source.finding(path + (key,), f"{prefix}-unknown-key", f"unknown key '{key}' in {where}",
                              key=True, hint=tip)
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return source.finding(path, f"{prefix}-required", f"{where} is missing required key '{missing}'", key=True)
    if kind == "type":
        expected = schema.get("type")
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return source.finding(path, f"{prefix}-type",
                              f"{where} must be {_article(expected)}, not {_json_type(value)}", hint=hint)
    if kind == "const":
        return source.finding(path, f"{prefix}-value", f"{where} must be {schema['const']!r} (got {value!r})",
                              hint=hint)
    if kind == "enum":
        shown = ", ".join(str(o) for o in schema["enum"])
        return source.finding(path, f"{prefix}-value", f"{where} must be one of: {shown} (got {value!r})")
    if kind == "pattern":
        return source.finding(path, f"{prefix}-pattern", f"{where} {value!r} does not match {schema['pattern']}",
                              hint=hint)
    if kind in ("minLength", "minItems"):
        return source.finding(path, f"{prefix}-empty", f"{where} must not be empty", hint=hint)
    return source.finding(path, prefix, f"{where}: {error.message}", hint=hint)


def _describe(path: tuple, document: str) -> str:
    if not path:
        return document
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"'{text}'"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _article(expected: Any) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
             "integer": "an integer", "boolean": "a boolean"}
    return names.get(str(expected), str(expected))
