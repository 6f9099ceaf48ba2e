"""Compiled closures give exactly jmespath's own results (and errors) on real records."""

from __future__ import annotations

import datetime as dt
import json

import jmespath
import pytest

from rinsync.dsl.expr import Evaluator, RinsyncFunctions
from rinsync.dsl.rules import load_rules
from support import CATALOGS, RULES_DIR, SAMPLE_CATALOG

TODAY = dt.date(2026, 11, 24)
EXTRA = [
    "id", "pricing.prompt", "top_provider.max_completion_tokens || context_length",
    "context_length > `100000` && !(pricing.prompt == '0')", "context_length >= `8192`",
    "pricing.prompt < `1`", "architecture.input_modalities[0]", "supported_parameters[?starts_with(@, 'top')]",
    "length(supported_parameters || `[]`)", "architecture.input_modalities[*]", "pricing.*",
    "{a: id, b: context_length}", "[id, name]", "supported_parameters | [0]", "`0` || id", "!`0`",
    "sort_by([{c: context_length}], &c)[0].c", "not_null(per_request_limits, `\"none\"`)",
    "pricing.overrides[].prompt", "id != 'openai/gpt-4o'", "starts_with(id, 'openai/')",
    "contains(supported_parameters, 'tools')", "top_provider.is_moderated == `false`",
]


def expressions() -> list[str]:
    ruleset = load_rules([RULES_DIR])
    texts = [r.expression for r in ruleset.rules] + [e for r in ruleset.rules for e in r.excepts]
    return texts + [c.expression for c in ruleset.capabilities.values()] + EXTRA


def records() -> list[dict]:
    return [r for path in CATALOGS + [SAMPLE_CATALOG] for r in json.loads(path.read_text())["data"]]


def outcome(search, record):
    try:
        return "ok", search(record)
    except (jmespath.exceptions.JMESPathError, TypeError) as exc:
        return "error", type(exc)


def test_same_results_as_the_interpreter_on_every_record():
    evaluator = Evaluator(TODAY)
    options = jmespath.Options(custom_functions=RinsyncFunctions(TODAY))
    compared = errors = 0
    for text in expressions():
        compiled, reference = evaluator.compile(text), jmespath.compile(text)
        for record in records():
            expected = outcome(lambda r, parsed=reference: parsed.search(r, options=options), record)
            assert outcome(compiled.search, record) == expected, (text, record["id"])
            compared += 1
            errors += expected[0] == "error"
    assert compared > 50_000 and errors > 0  # old records make contains(null, …) raise


def test_type_errors_are_raised_like_the_interpreter():
    evaluator = Evaluator(TODAY)
    with pytest.raises(jmespath.exceptions.JMESPathTypeError):
        evaluator.search(evaluator.compile("contains(missing, 'x')"), {})
