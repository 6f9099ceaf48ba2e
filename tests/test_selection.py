"""The set-level selection stage: schema, lint, engine, explain, rinsync test and coverage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rinsync.commands.lint import lint
from rinsync.diagnostics import RulesError
from rinsync.dsl.rules import check_rules, load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import CATALOGS, RULES_DIR

TODAY = dt.date(2026, 11, 24)
NEWEST = """version: 1
selections:
  - id: newest-3-per-family
    description: at most the three newest models of each family
    group_by: family(id)
    order_by: {desc: created}
    limit: 3
"""


def _records(*specs: tuple[str, int]) -> list[dict]:
    return [{"id": i, "created": c, "pricing": {"prompt": "0.000001", "completion": "0.000002"}} for i, c in specs]


QWEN = _records(("qwen/qwen3", 10), ("qwen/qwen3-0428", 40), ("qwen/qwen3-2507", 30), ("qwen/qwen3:free", 20),
                ("qwen/qwen3-20260101", 50), ("other/one", 1))


def write(tmp_path: Path, text: str, name: str = "90-local.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def compile_with(tmp_path: Path, text: str, records: list[dict]):
    ruleset = load_rules([RULES_DIR, write(tmp_path, text)])
    return Engine(ruleset, TODAY).compile(records)


def test_newest_three_per_family_drops_the_rest_with_a_reason(tmp_path):
    result = compile_with(tmp_path, NEWEST.replace("order_by: {desc: created}", "order_by: [{desc: created}]"), QWEN)
    kept = {e["model_info"]["openrouter_id"] for e in result.entries}
    assert kept == {"qwen/qwen3-20260101", "qwen/qwen3-0428", "qwen/qwen3-2507", "other/one"}
    fourth = result.decision_for("qwen/qwen3:free")
    assert not fourth.kept and fourth.entry is None and fourth.selected_out_by.id == "newest-3-per-family"
    assert fourth.dropped_reason == ("4th newest of family `qwen/qwen3`, limit 3, "
                                     "by selection `newest-3-per-family`")
    assert result.decision_for("qwen/qwen3").dropped_reason.startswith("5th newest of family `qwen/qwen3`")
    assert [t.rank for t in result.decision_for("qwen/qwen3-0428").selections] == [2]


def test_ties_are_broken_by_id_and_nulls_sort_last(tmp_path):
    records = _records(("a/m-b", 5), ("a/m-a", 5), ("a/m-c", 5)) + [{"id": "a/m-0", "pricing": {"prompt": "1"}}]
    text = "version: 1\nselections:\n  - id: two\n    order_by: {desc: created}\n    limit: 2\n"
    for order in (records, list(reversed(records))):
        result = compile_with(tmp_path, text, order)
        assert sorted(e["model_info"]["openrouter_id"] for e in result.entries) == ["a/m-a", "a/m-b"]
    result = compile_with(tmp_path, text.replace("limit: 2", "limit: 3"), records)
    assert result.decision_for("a/m-0").dropped_reason == "4th newest of the models it applies to, limit 3, " \
                                                          "by selection `two`"


def test_where_limits_the_scope_and_keep_while_is_cumulative(tmp_path):
    records = [{"id": f"p/m{i}", "created": i, "pricing": {"prompt": f"0.00000{i}", "completion": "0"}}
               for i in range(1, 7)] + [{"id": "q/other", "created": 0, "pricing": {"prompt": "0.000009"}}]
    text = """version: 1
selections:
  - id: cheap-budget
    where: provider(id) == 'p'
    order_by: per_million(pricing.prompt)
    keep_while: sum(map(&per_million(pricing.prompt), kept)) < `6`
"""
    result = compile_with(tmp_path, text, records)
    kept = sorted(e["model_info"]["openrouter_id"] for e in result.entries)
    assert kept == ["p/m1", "p/m2", "p/m3", "q/other"]  # 1+2=3 < 6 keeps m3; 1+2+3=6 stops at m4
    assert result.decision_for("p/m4").dropped_reason == (
        "4th by `per_million(pricing.prompt)` of the models it applies to, keep_while false from `p/m4` on, "
        "by selection `cheap-budget`")
    assert result.decision_for("p/m6").dropped_reason.endswith("keep_while false from `p/m4` on, "
                                                               "by selection `cheap-budget`")
    assert result.decision_for("q/other").selections == []


def test_selection_runs_after_rules_and_before_collisions(tmp_path):
    records = _records(("a/x", 1), ("a/x-2025-01-01", 2)) + [
        {"id": "a/x-2026-01-01", "created": 3, "pricing": {}}]  # unpriced: dropped by a rule first
    text = NEWEST.replace("limit: 3", "limit: 1") + "name: same-name\n"
    result = compile_with(tmp_path, text, records)  # without the selection, two names would collide
    assert [e["model_info"]["openrouter_id"] for e in result.entries] == ["a/x-2025-01-01"]
    assert result.decision_for("a/x-2026-01-01").decided_by.id == "drop-unpriced"
    assert result.decision_for("a/x-2026-01-01").selections == []


def test_runtime_error_in_a_selection_names_the_model_and_place(tmp_path):
    text = "version: 1\nselections:\n  - id: bad\n    order_by: contains(description, 'x')\n    limit: 1\n"
    with pytest.raises(RulesError) as caught:
        compile_with(tmp_path, text, QWEN)
    finding = caught.value.findings[0]
    assert (Path(finding.file).name, finding.line, finding.col, finding.code) == ("90-local.yaml", 4, 15,
                                                                                  "jmespath-runtime")
    assert finding.message.startswith("'order_by' of selection 'bad' failed on model '")


@pytest.mark.parametrize("text, where, code", [
    ("  - id: s\n    order_by: created\n", (3, 5), "schema-shape"),
    ("  - id: s\n    limit: 0\n", (4, 12), "schema"),
    ("  - id: s\n    limit: 1\n    order_by: [{up: created}]\n", (5, 15), "schema-shape"),
    ("  - id: s\n    limit: 1\n    group_by: famly(id)\n", (5, 15), "jmespath-unknown-function"),
    ("  - id: s\n    limit: 1\n    order_by: [{desc: \"score(@, 'iq')\"}]\n", (5, 24), "score-name"),
    ("  - id: drop-expired\n    limit: 1\n", (3, 9), "duplicate-rule-id"),
    ("  - id: s\n    limit: 1\n    keep_whle: rank < `2`\n", (5, 5), "schema-unknown-key"),
])
def test_lint_reports_bad_selections_where_they_are(tmp_path, text, where, code):
    path = write(tmp_path, "version: 1\nselections:\n" + text)
    _, findings = check_rules([RULES_DIR, path])
    mine = [f for f in findings if f.file.endswith("90-local.yaml")]
    assert [(f.line, f.col, f.code) for f in mine] == [(*where, code)], [f.text() for f in mine]


def test_lint_with_a_catalog_warns_about_a_selection_that_drops_nothing(tmp_path):
    path = write(tmp_path, NEWEST.replace("limit: 3", "limit: 50"))
    findings = lint([RULES_DIR, path], load_catalog_file(CATALOGS[-1]).records, TODAY)
    drops_nothing = [f for f in findings if f.code == "selection-drops-nothing"]
    assert [(f.line, f.col, f.message) for f in drops_nothing] == [
        (3, 9, "selection 'newest-3-per-family' drops no model of the catalog (414 models)")]
    path.write_text(NEWEST)
    findings = lint([RULES_DIR, path], load_catalog_file(CATALOGS[-1]).records, TODAY)
    assert not [f for f in findings if f.code == "selection-drops-nothing"]


def test_explain_names_the_selection(run_cli, tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"data": QWEN}))
    rules = write(tmp_path, NEWEST)
    result = run_cli("explain", "qwen/qwen3:free", "--catalog", str(catalog), "--rules", str(RULES_DIR),
                     "--rules", str(rules))
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[1] == (f"verdict: DROPPED - 4th newest of family `qwen/qwen3`, limit 3, by selection "
                        f"`newest-3-per-family` ({rules}:3:9)")
    assert (f"selection newest-3-per-family at {rules}:3:9: 4th newest of family `qwen/qwen3`, limit 3, "
            "by selection `newest-3-per-family`") in lines
    kept = run_cli("explain", "qwen/qwen3-0428", "--catalog", str(catalog), "--rules", str(RULES_DIR),
                   "--rules", str(rules)).out.splitlines()
    assert kept[1] == "verdict: KEPT - kept (no rule excluded it)"
    assert (f"selection newest-3-per-family at {rules}:3:9: 2nd newest of family `qwen/qwen3`, limit 3, "
            "kept by selection `newest-3-per-family`") in kept


def _test_file(tmp_path: Path, rules: Path, tests: str) -> Path:
    records = "\n".join(f"  - {{id: '{r['id']}', created: {r['created']}, pricing: {{prompt: '1', completion: '1'}}}}"
                        for r in QWEN)
    path = tmp_path / "sel.test.yaml"
    path.write_text(f"version: 1\nrules: [{RULES_DIR}, {rules}]\nrecords:\n{records}\ntests:\n{tests}")
    return path


def test_rinsync_test_can_name_a_selection_as_what_dropped_a_model(run_cli, tmp_path):
    rules = write(tmp_path, NEWEST)
    path = _test_file(tmp_path, rules, "  - name: fourth newest goes\n    model: 'qwen/qwen3:free'\n"
                                       "    dropped_by: newest-3-per-family\n"
                                       "  - name: newest stays\n    model: qwen/qwen3-20260101\n    kept: true\n")
    result = run_cli("test", str(path))
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1] == "2 passed, 0 failed"
    assert "selection 'newest-3-per-family'" not in result.out  # covered: it ranked tested models

    path = _test_file(tmp_path, rules, "  - name: wrongly expected\n    model: qwen/qwen3-0428\n"
                                       "    dropped_by: newest-3-per-family\n"
                                       "  - name: typo\n    model: 'qwen/qwen3:free'\n"
                                       "    dropped_by: newest-3-per-famly\n")
    result = run_cli("test", str(path))
    assert result.code == 1
    assert ("FAIL wrongly expected: model 'qwen/qwen3-0428': expected dropped_by selection "
            "'newest-3-per-family', got kept") in result.out
    assert ("FAIL typo: model 'qwen/qwen3:free': expected dropped_by 'newest-3-per-famly', but the rules have no "
            "rule 'newest-3-per-famly' (did you mean 'newest-3-per-family'?)") in result.out


def test_coverage_counts_selections(run_cli, tmp_path):
    rules = write(tmp_path, NEWEST.replace("group_by: family(id)", "where: provider(id) == 'nobody'\n"
                                                                   "    group_by: family(id)"))
    path = _test_file(tmp_path, rules, "  - name: kept\n    model: other/one\n    kept: true\n")
    result = run_cli("test", "--fail-uncovered", str(path))
    assert result.code == 1
    assert f"{rules}:3:9: coverage: selection 'newest-3-per-family' ranks no tested model" in result.out
