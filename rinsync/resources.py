"""Where the shipped schemas and default rules live (package data, one copy).

``pip install .`` copies the top-level ``rules/`` and ``schemas/`` into the package
(setup.cfg maps them to ``rinsync.rules`` / ``rinsync.schemas``); in a source checkout or an
editable install they are read where they stand, beside the package.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def schemas_dir() -> Path:
    return _data_dir("schemas")


def default_rules_dir() -> Path:
    """The rules shipped with rinsync (the project's top-level ``rules/``)."""
    return _data_dir("rules")


@cache
def load_schema(name: str) -> dict:
    return json.loads((schemas_dir() / name).read_text(encoding="utf-8"))


def _subschema(name: str, definition: str | None) -> dict:
    schema = load_schema(name)
    return schema if definition is None else {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}


@cache
def schema_validator(name: str, definition: str | None = None):
    """jsonschema's validator for a shipped schema (or one of its $defs); built once, used for messages."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_subschema(name, definition))


@cache
def schema_check(name: str, definition: str | None = None):
    """The same schema compiled once to a fast valid/invalid predicate (see fastschema)."""
    from .dsl.fastschema import compile_schema

    return compile_schema(_subschema(name, definition))
