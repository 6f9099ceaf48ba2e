"""rinsync's JMESPath functions and the static checks of expressions."""

from __future__ import annotations

import datetime as dt

import pytest

from rinsync.dsl.expr import Evaluator, check, function_table, parse_price, split_id

TODAY = dt.date(2026, 11, 24)


def search(expression: str, record: dict | None = None):
    evaluator = Evaluator(TODAY)
    return evaluator.search(evaluator.compile(expression), record or {})


@pytest.mark.parametrize("value, expected", [
    ("0.0000025", 2.5e-06), ("0", 0.0), ("-1", None), ("", None), (None, None), ("abc", None),
    ("1e-6", 1e-06), ("NaN", None), (" 0.5 ", 0.5), (3, 3.0), (True, None), ("-0.2", None),
])
def test_parse_price(value, expected):
    assert parse_price(value) == expected


def test_split_id():
    assert split_id("meta-llama/llama-3.3-70b-instruct:free") == ("meta-llama", "llama-3.3-70b-instruct:free", "free")
    assert split_id("~openai/gpt-latest") == ("~openai", "gpt-latest", "")
    assert split_id("auto") == ("", "auto", "")


def test_functions_on_records():
    record = {"id": "openai/gpt-4o:extended", "pricing": {"prompt": "0.000006", "completion": "-1"},
              "supported_parameters": ["tools"], "expiration_date": "2026-11-23", "description": "Fast."}
    assert search("variant(id)", record) == "extended"
    assert search("variant('openai/gpt-4o')") is None
    assert search("base_id(id)", record) == "openai/gpt-4o"
    assert search("provider(id)", record) == "openai"
    assert search("price(pricing.prompt)", record) == 6e-06
    assert search("price(pricing.completion)", record) is None
    assert search("per_million(pricing.prompt)", record) == 6.0
    assert search("has(supported_parameters, 'tools')", record) is True
    assert search("has(missing, 'tools')", record) is False
    assert search("expired(expiration_date)", record) is True
    assert search("expired('2026-11-24')") is False
    assert search("expired(`null`)") is False
    assert search("days_until('2026-12-01')") == 7
    assert search("today()") == "2026-11-24"
    assert search("regex_match(description, '^Fa')", record) is True
    assert search("regex_match(`null`, 'x')") is False
    assert search("lower('AbC')") == "abc" and search("upper('a')") == "A"
    assert search("is_alias('~openai/gpt-latest')") is True


def test_function_table_lists_every_custom_function_once():
    names = [name for name, _, _ in function_table()]
    assert names == sorted(set(names))
    assert {"price", "variant", "regex_match", "today", "has", "expired"} <= set(names)
    assert "contains" not in names  # built-ins are not listed as rinsync's
    assert all(doc for _, _, doc in function_table())


@pytest.mark.parametrize("expression, offset, code", [
    ("id == 'x' &&", 12, "jmespath-syntax"),
    ("id == 'x", 6, "jmespath-syntax"),
    ("foo(id)", 0, "jmespath-unknown-function"),
    ("id == 'a' || varient(id)", 13, "jmespath-unknown-function"),
    ("price()", 0, "jmespath-arity"),
    ("contains(id)", 0, "jmespath-arity"),
    ("regex_match(id, '[')", 0, "regex-syntax"),
    ("!pricing.prompt", 0, "jmespath-not-precedence"),
    ("   ", 0, "jmespath-empty"),
])
def test_check_reports_offset_inside_the_expression(expression, offset, code):
    problem = check(expression)
    assert problem is not None
    assert (problem.offset, problem.code) == (offset, code)


@pytest.mark.parametrize("expression", [
    "!(pricing.prompt) || !(pricing.completion)",
    "has(supported_parameters, 'tools') && price(pricing.prompt) < `0.000001`",
    "length(architecture.input_modalities) > `1`",
    "not_null(top_provider.max_completion_tokens, context_length)",
])
def test_valid_expressions_pass(expression):
    assert check(expression) is None


def test_unknown_function_hint_suggests_closest():
    assert check("varient(id)").hint == "did you mean variant()?"


def test_expressions_are_compiled_once():
    evaluator = Evaluator(TODAY)
    assert evaluator.compile("id") is evaluator.compile("id")
