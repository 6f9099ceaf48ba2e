"""Issue 17, family 8: the documented running total in keep_while is linear, and lint knows the bound.

The running total ``sum(map(&E, kept))`` used to evaluate E on every kept record for every candidate
(2,000 records 9 s, 4,000 records 36 s). The stage now keeps the total (rinsync/dsl/running.py); these
tests check that the decisions are exactly those of the written expression, count the evaluations (not the
seconds: speed lives in benchmarks/bench_selection.py), and check the lint finding for the forms that stay
quadratic.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from hostile import run_limited

from rinsync import selection as selection_module
from rinsync.commands.lint import lint
from rinsync.diagnostics import RulesError
from rinsync.dsl.exprcost import selection_evaluations
from rinsync.dsl.rules import load_rules
from rinsync.dsl.running import running_sums
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import CATALOGS, RULES_DIR

TODAY = dt.date(2026, 11, 24)
TOTAL = "sum(map(&(blended_per_million(@) || `0`), kept)) < `20`"  # docs/rules.md, word for word


def _rules(tmp_path: Path, keep_while: str, extra: str = "") -> Path:
    path = tmp_path / "90-select.yaml"
    path.write_text("version: 1\nselections:\n  - id: budget\n    order_by: {desc: created}\n"
                    f"    keep_while: {json.dumps(keep_while)}\n{extra}")
    return path


def _outcome(tmp_path: Path, keep_while: str, records: list[dict], extra: str = ""):
    ruleset = load_rules([RULES_DIR, _rules(tmp_path, keep_while, extra)])
    try:
        result = Engine(ruleset, TODAY).compile(records)
    except RulesError as exc:
        return "error", [f.text() for f in exc.findings]
    return "ok", [(d.model_id, d.kept, d.dropped_reason) for d in result.decisions]


def _written_expression_only(monkeypatch):
    monkeypatch.setattr(selection_module, "running_sums", lambda expression: None)


def _mixed_records(count: int) -> list[dict]:
    """Prices as strings, free (0), missing and dynamic ("-1"), integer and float context lengths."""
    prices = ["0.000001", "0", "-1", None, "0.0000003", "0.00002"]
    records = []
    for i in range(count):
        price = prices[i % len(prices)]
        pricing = {} if price is None else {"prompt": price, "completion": price}
        records.append({"id": f"p/m{i:04d}", "created": 1_700_000_000 + (i * 7919) % count, "pricing": pricing,
                        "context_length": 1000 + i if i % 2 else float(1000 + i)})
    return records


EXPRESSIONS = [
    TOTAL,
    "sum(map(&per_million(pricing.prompt), kept)) < `6`",  # fails on the first unpriced kept model
    "sum(map(&context_length, kept)) < `50000`",  # ints and floats mixed: the left fold of sum()
    "sum(map(&(per_million(pricing.prompt) || `0`), kept)) < `3` && sum(map(&context_length, kept)) < `9000`",
    "rank < `4` || sum(map(&(blended_per_million(@) || `0`), kept)) < `2`",
    "sum(map(&(blended_per_million(@) || `0`), kept)) < `40` && length(kept) < `30`",
    "sum(map(&created, kept)) < `0`",  # false at once from the second candidate on
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_running_totals_decide_exactly_as_the_written_expression(tmp_path, monkeypatch, expression):
    records = _mixed_records(120) + load_catalog_file(CATALOGS[-1]).records[:150]
    assert running_sums(expression) is not None
    fast = _outcome(tmp_path, expression, records)
    _written_expression_only(monkeypatch)
    assert _outcome(tmp_path, expression, records) == fast


def test_a_kept_value_sum_refuses_is_reported_as_before(tmp_path, monkeypatch):
    expression = "sum(map(&pricing.prompt, kept)) < `1`"  # strings: sum() refuses them
    fast = _outcome(tmp_path, expression, _mixed_records(10))
    assert fast[0] == "error" and "keep_while" in fast[1][0]
    _written_expression_only(monkeypatch)
    assert _outcome(tmp_path, expression, _mixed_records(10)) == fast


@pytest.mark.parametrize("expression", [
    "length(keys(@)) > `1` && sum(map(&created, kept)) > `0`",  # reads the context whole: not rewritten
    "model | sum(map(&created, kept)) > `0`",  # another value's kept
    "sum(map(&created, first.kept)) > `0`",
])
def test_expressions_that_could_see_the_slots_are_left_as_written(expression):
    assert running_sums(expression) is None


def test_the_element_expression_runs_once_per_kept_model(tmp_path, monkeypatch):
    records = _mixed_records(600)
    calls: dict[str, int] = {}
    ruleset = load_rules([RULES_DIR, _rules(tmp_path, "sum(map(&(`1`), kept)) < `100000`")])
    engine = Engine(ruleset, TODAY)
    search = engine.evaluator.search

    def counting(compiled, value):
        calls[compiled.text] = calls.get(compiled.text, 0) + 1
        return search(compiled, value)

    monkeypatch.setattr(engine.evaluator, "search", counting)
    result = engine.compile(records)
    kept = sum(1 for d in result.decisions if d.kept)
    assert kept >= 500
    assert calls.get("(`1`)") == kept  # once per kept model; the written form needs kept²/2 = 150,000+
    assert calls.get('"__running_0" < `100000`') == kept


def test_lint_warns_about_a_keep_while_that_stays_quadratic(tmp_path):
    quadratic = "max(map(&(blended_per_million(@) || `0`), kept)) < `5`"
    path = _rules(tmp_path, quadratic)
    findings = [f for f in lint([RULES_DIR, path]) if f.code == "selection-cost"]
    assert [(f.line, f.col, f.severity) for f in findings] == [(5, 17, "warning")]
    assert "200,010,000 evaluations" in findings[0].message and "limit: 500" in findings[0].hint
    for fine, extra in ((TOTAL, ""), ("length(kept) < `3`", ""), ("kept[-1].created > `5`", ""),
                        (quadratic, "    limit: 500\n")):
        assert not [f for f in lint([RULES_DIR, _rules(tmp_path, fine, extra)]) if f.code == "selection-cost"], fine


def test_cost_bound_of_the_forms():
    assert selection_evaluations(TOTAL, None) == 20_000
    assert selection_evaluations("length(kept[?created > `1`]) < `3`", None) == 20_000 * 20_001 // 2
    assert selection_evaluations("contains(map(&id, kept), id)", 300) == 20_000 * 300


def test_the_documented_running_total_over_a_large_group_finishes_under_limits(tmp_path):
    records = [{"id": f"p/m{i:05d}", "created": i, "pricing": {"prompt": "0", "completion": "0"},
                "context_length": 1000, "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
                "supported_parameters": ["tools"]} for i in range(6000)]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"data": records}))
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules, ignore=shutil.ignore_patterns("tests"))
    _rules(rules, TOTAL)
    result = run_limited("compile", "--rules", str(rules), "--catalog", str(catalog), "-o", "-", cwd=tmp_path,
                         timeout=60)  # the quadratic form took ~80 s for 6,000 records on this machine
    assert result.code == 0, result.err[-500:]
    assert result.out.count("model_name:") == 6000
