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
