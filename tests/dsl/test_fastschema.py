"""The compiled schema checks agree with jsonschema: catalog records (real, mutated) and rules files."""

from __future__ import annotations

import copy
import json
import random

import pytest
import yaml
from jsonschema import Draft202012Validator

from rinsync.dsl.fastschema import compile_schema
from rinsync.resources import load_schema
from support import CATALOGS, REPO, RULES_DIR, SAMPLE_CATALOG

SCHEMA = load_schema("catalog.schema.json")
RECORD_SCHEMA = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/record"}
REFERENCE = Draft202012Validator(RECORD_SCHEMA)
FAST = compile_schema(RECORD_SCHEMA)

MUTATIONS = [
    lambda r: r.pop("id"),
    lambda r: r.update(id=""),
    lambda r: r.update(id="bad id\nwith newline"),
    lambda r: r.update(id=42),
    lambda r: r.update(id="x" * 201),
    lambda r: r.update(context_length="128000"),
    lambda r: r.update(context_length=-1),
    lambda r: r.update(context_length=True),
    lambda r: r.update(context_length=1.5),
    lambda r: r.update(context_length=None),
    lambda r: r.update(pricing={"prompt": ["0.1"]}),
    lambda r: r.update(pricing={"prompt": {"a": 1}}),
    lambda r: r.update(pricing="free"),
    lambda r: r.update(pricing=None),
    lambda r: r.update(pricing={"overrides": "x"}),
    lambda r: r.update(supported_parameters=["tools", 3]),
    lambda r: r.update(supported_parameters="tools"),
    lambda r: r.update(architecture={"input_modalities": "text"}),
    lambda r: r.update(architecture=[]),
    lambda r: r.update(top_provider={"max_completion_tokens": "4096"}),
    lambda r: r.update(top_provider={"max_completion_tokens": None}),
    lambda r: r.update(name=None),
    lambda r: r.update(name="n" * 501),
    lambda r: r.update(expiration_date=20260101),
    lambda r: r.update(extra_field={"anything": [1, 2]}),
]


def _records():
    for path in CATALOGS + [SAMPLE_CATALOG]:
        yield from json.loads(path.read_text())["data"]


def test_agrees_on_every_real_record():
    for record in _records():
        assert FAST(record) == REFERENCE.is_valid(record), record["id"]


def test_agrees_on_mutated_records():
    rng = random.Random(7)
    records = list(_records())
    checked = invalid = 0
    for record in rng.sample(records, 150):
        for mutate in MUTATIONS:
            candidate = copy.deepcopy(record)
            mutate(candidate)
            expected = REFERENCE.is_valid(candidate)
            assert FAST(candidate) == expected, (record["id"], candidate)
            checked += 1
            invalid += not expected
    assert checked == 150 * len(MUTATIONS) and invalid > checked // 2


def test_unknown_keyword_is_refused():
    with pytest.raises(ValueError, match="dependentRequired"):
        compile_schema({"dependentRequired": {"a": ["b"]}})


def test_rules_schema_agrees_with_jsonschema_on_every_rules_file():
    schema = load_schema("rules.v1.schema.json")
    fast, reference = compile_schema(schema), Draft202012Validator(schema)
    documents = []
    for path in sorted(RULES_DIR.glob("*.yaml")) + sorted((REPO / "tests" / "fixtures").rglob("*.yaml")):
        try:
            documents.append(yaml.safe_load(path.read_text()))
        except (yaml.YAMLError, ValueError):  # the corpus holds unreadable files on purpose
            continue
    documents += [
        {"version": 1, "rules": [{"id": "a", "include": "x", "except": "y"}]},
        {"version": 1, "rules": [{"id": "a", "exclude": "x", "except": ["y", 3]}]},
        {"version": 1, "rules": [{"id": "a"}]},
        {"version": True}, {"version": 1.0}, {"version": 1, "source": {"timeout": {"read": 0}}},
        {"version": 1, "capabilities": {"bad key": "x"}}, {"version": 1, "default_action": "exclude"},
        {"version": 1, "overrides": [{"when": "x", "name": ""}]},
    ]
    for document in documents:
        assert fast(document) == reference.is_valid(document), document
