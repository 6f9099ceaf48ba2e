"""Name templates: ``{field|filter|filter('a', 'b')}`` over an allowlist of fields and filters.

Nothing here evaluates code or reaches attributes: a template is parsed into literal text
and field lookups, each checked against the tables below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .expr import split_id

FIELDS: dict[str, str] = {
    "id": "the full OpenRouter id, e.g. meta-llama/llama-3.3-70b-instruct:free",
    "provider": "the part of the id before the first '/', e.g. meta-llama",
    "model": "the part of the id after the first '/', variant included, e.g. llama-3.3-70b-instruct:free",
    "slug": "the model part without the variant, e.g. llama-3.3-70b-instruct",
    "variant": "the suffix after ':' (free, extended, thinking…), empty when none",
    "base_id": "the id without its variant, e.g. meta-llama/llama-3.3-70b-instruct",
    "name": "the catalog's display name, e.g. 'Meta: Llama 3.3 70B Instruct'",
    "canonical_slug": "the catalog's canonical slug (dated), empty when absent",
}


def _slugify(value: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", value.lower()).strip("-")


FILTERS: dict[str, tuple[int, Callable[..., str], str]] = {
    "lower": (0, lambda v: v.lower(), "lower case"),
    "upper": (0, lambda v: v.upper(), "upper case"),
    "slug": (0, _slugify, "lower case, runs of other characters than a-z 0-9 . _ - become '-'"),
    "replace": (2, lambda v, old, new: v.replace(old, new), "replace('old', 'new'): every occurrence"),
    "strip": (0, lambda v: v.strip(), "remove surrounding white space"),
    "prefix": (1, lambda v, p: p + v if v else v, "prefix('-'): prepend the text when the value is not empty"),
    "suffix": (1, lambda v, s: v + s if v else v, "suffix('-'): append the text when the value is not empty"),
    "default": (1, lambda v, d: v or d, "default('x'): use the text when the value is empty"),
}


class TemplateError(Exception):
    """A template problem at a character offset inside the template."""

    def __init__(self, offset: int, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.offset, self.code, self.message, self.hint = offset, code, message, hint


@dataclass(frozen=True)
class _Field:
    name: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]


_IDENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
_STRING = re.compile(r"\s*'((?:[^'\\]|\\.)*)'\s*|\s*\"((?:[^\"\\]|\\.)*)\"\s*")


class Template:
    """A parsed, checked name template."""

    def __init__(self, source: str):
        self.source = source
        self.parts: list[str | _Field] = _parse(source)

    def fields(self) -> set[str]:
        return {p.name for p in self.parts if isinstance(p, _Field)}

    def render(self, record: dict) -> str:
        values = template_values(record)
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = values.get(part.name, "")
            for name, args in part.filters:
                value = FILTERS[name][1](value, *args)
            out.append(value)
        return "".join(out)


def template_values(record: dict) -> dict[str, str]:
    """The allowlisted fields of a catalog record, all strings."""
    model_id = str(record.get("id") or "")
    provider, model, variant = split_id(model_id)
    return {
        "id": model_id,
        "provider": provider,
        "model": model,
        "slug": model.partition(":")[0],
        "variant": variant,
        "base_id": model_id.partition(":")[0],
        "name": str(record.get("name") or ""),
        "canonical_slug": str(record.get("canonical_slug") or ""),
    }


def _parse(source: str) -> list[str | _Field]:
    parts: list[str | _Field] = []
    literal: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "{" and source.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and source.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "}":
            raise TemplateError(i, "template-syntax", "unmatched '}'", "write '}}' for a literal brace")
        elif char == "{":
            end = _closing_brace(source, i)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_parse_field(source, i + 1, end))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def _closing_brace(source: str, start: int) -> int:
    quote = None
    for j in range(start + 1, len(source)):
        char = source[j]
        if quote:
            if char == "\\":
                continue
            if char == quote and source[j - 1] != "\\":
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "}":
            return j
        elif char == "{":
            break
    raise TemplateError(start, "template-syntax", "unclosed '{'", "close the field with '}' or write '{{'")


def _parse_field(source: str, start: int, end: int) -> _Field:
    match = _IDENT.match(source, start, end)
    if not match:
        raise TemplateError(start, "template-syntax", "expected a field name after '{'",
                            f"fields: {', '.join(FIELDS)}")
    name = match.group(1)
    if name not in FIELDS:
        raise TemplateError(match.start(1), "template-field", f"unknown template field '{name}'",
                            f"fields: {', '.join(FIELDS)}")
    pos = match.end()
    filters = []
    while pos < end:
        if source[pos] != "|":
            what = "attribute access is not allowed" if source[pos] in ".[" else f"unexpected {source[pos]!r}"
            raise TemplateError(pos, "template-syntax", what, "use {field|filter} with the listed filters")
        filter_match = _IDENT.match(source, pos + 1, end)
        if not filter_match:
            raise TemplateError(pos + 1, "template-syntax", "expected a filter name after '|'")
        filter_name = filter_match.group(1)
        if filter_name not in FILTERS:
            raise TemplateError(filter_match.start(1), "template-filter", f"unknown template filter '{filter_name}'",
                                f"filters: {', '.join(FILTERS)}")
        pos = filter_match.end()
        args: list[str] = []
        if pos < end and source[pos] == "(":
            args, pos = _parse_args(source, pos + 1, end)
        arity = FILTERS[filter_name][0]
        if len(args) != arity:
            raise TemplateError(filter_match.start(1), "template-filter",
                                f"filter '{filter_name}' takes {arity} argument(s), got {len(args)}",
                                FILTERS[filter_name][2])
        filters.append((filter_name, tuple(args)))
    return _Field(name, tuple(filters))


def _parse_args(source: str, pos: int, end: int) -> tuple[list[str], int]:
    args: list[str] = []
    while True:
        if pos < end and source[pos] == ")" and not args:
            return args, pos + 1
        match = _STRING.match(source, pos, end)
        if not match:
            raise TemplateError(pos, "template-syntax", "filter arguments are quoted strings",
                                "e.g. replace('/', '-')")
        raw = match.group(1) if match.group(1) is not None else match.group(2)
        args.append(re.sub(r"\\(.)", r"\1", raw))
        pos = match.end()
        if pos < end and source[pos] == ",":
            pos += 1
            continue
        if pos < end and source[pos] == ")":
            return args, pos + 1
        raise TemplateError(pos, "template-syntax", "expected ',' or ')' in filter arguments")
