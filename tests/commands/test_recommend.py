"""``rinsync recommend`` on the 2026-08-19 catalog: picks checked against an independent computation."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from spec_oracle import expected_drop

from rinsync.commands.recommend import Need, recommend, snippet
from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import CATALOGS, RULES_DIR

TODAY = dt.date(2026, 11, 24)
CATALOG = next(p for p in CATALOGS if "2026-08-19" in p.name)


def blended(record: dict) -> float | None:
    pricing = record.get("pricing") or {}
    try:
        prompt, completion = Decimal(pricing["prompt"]), Decimal(pricing["completion"])
    except (KeyError, ArithmeticError, TypeError):
        return None
    if prompt < 0 or completion < 0:
        return None
    return float((3 * prompt + completion) * 1_000_000 / 4)


def oracle_top(need_tools_vision: bool, budget: float, index: str, top: int) -> list[str]:
    """The best-by-score picks, computed from the raw catalog without rinsync."""
    raw = json.loads(CATALOG.read_text())["data"]
    ids = {r["id"] for r in raw}
    rows = {}
    for record in raw:
        if expected_drop(record, TODAY, ids):
            continue
        params = record.get("supported_parameters") or []
        inputs = (record.get("architecture") or {}).get("input_modalities") or []
        if need_tools_vision and not ("tools" in params and "image" in inputs):
            continue
        price = blended(record)
        points = ((record.get("benchmarks") or {}).get("artificial_analysis") or {}).get(index)
        if price is None or price > budget or points is None:
            continue
        base = record["id"].split(":")[0]
        # one per model: the plain id, else the cheapest variant
        if base in rows and (rows[base][0] == base or (record["id"] != base and rows[base][2] <= price)):
            continue
        rows[base] = (record["id"], points, price)
    ranked = sorted(rows.values(), key=lambda t: (-t[1], t[2], t[0]))
    return [model_id for model_id, _, _ in ranked[:top]]


@pytest.fixture(scope="module")
def ruleset():
    return load_rules([RULES_DIR])


@pytest.fixture(scope="module")
def records():
    return load_catalog_file(CATALOG).records


@pytest.mark.parametrize("by, index", [("intelligence", "intelligence_index"), ("coding", "coding_index")])
def test_best_by_score_matches_an_independent_ranking(ruleset, records, by, index):
    rec = recommend(ruleset, records, Need(["tools", "vision"], budget=2.0, by=by, top=5), TODAY)
    assert [p.id for p in rec.by_score] == oracle_top(True, 2.0, index, 5)
    assert all(p.price <= 2.0 for p in rec.by_score + rec.by_value)
    assert rec.by_value == sorted(rec.by_value, key=lambda p: -p.value)
    assert all(abs(p.value - p.score / p.price) < 1e-3 for p in rec.by_value)


def test_snippet_compiled_keeps_exactly_the_picks(ruleset, records, tmp_path):
    rec = recommend(ruleset, records, Need(["tools", "vision"], budget=2.0, top=3), TODAY)
    assert 3 <= len(rec.ids) <= 6
    path = tmp_path / "90-recommended.yaml"
    path.write_text(snippet(rec, "rinsync recommend --need tools,vision --budget 2"))
    result = Engine(load_rules([RULES_DIR, path]), TODAY).compile(records)
    assert sorted(e["model_info"]["openrouter_id"] for e in result.entries) == rec.ids


def test_min_context_and_modality_filter(ruleset, records):
    rec = recommend(ruleset, records, Need(["reasoning"], min_context=1_000_000, by="agentic", top=20), TODAY)
    by_id = {r["id"]: r for r in records}
    assert rec.by_score and all(by_id[p.id]["context_length"] >= 1_000_000 for p in rec.by_score)
    none = recommend(ruleset, records, Need([], budget=1.0, modality="image"), TODAY)
    assert none.fitting >= 1 and none.by_score == [] and none.ids == []


def test_cli_prints_picks_reasons_and_snippet(run_cli):
    result = run_cli("recommend", "--catalog", str(CATALOG), "--need", "tools", "--need", "vision",
                     "--budget", "2", "--top", "2")
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == "need: tools, vision; at most $2.00 per million tokens (3 input : 1 output)"
    top = oracle_top(True, 2.0, "intelligence_index", 2)
    assert lines[4].split()[:2] == ["1.", top[0]] and "the highest of the" in lines[4]
    assert lines[5].split()[:2] == ["2.", top[1]]
    assert "best value (intelligence per $ per million tokens):" in lines
    assert '    description: "rinsync recommend --need tools,vision --budget 2"' in lines
    assert any(line.startswith('    exclude: "!contains([') for line in lines)


def test_cli_errors_are_one_line(run_cli):
    result = run_cli("recommend", "--catalog", str(CATALOG), "--need", "tools,telepathy")
    assert result.code == 2 and result.out == ""
    assert result.err.strip().splitlines()[-1] == ("Error: Invalid value for '--need': unknown capability "
                                                   "'telepathy'; use: tools, vision, file, audio-in, audio-out, "
                                                   "image-out, reasoning, schema")
    assert "Traceback" not in result.err
    nothing = run_cli("recommend", "--catalog", str(CATALOG), "--modality", "image", "--budget", "1")
    assert nothing.code == 0
    assert nothing.err == ("rinsync: no scored model fits this need; loosen --budget, --min-context or --need, "
                           "or rank --by arena\n")


def test_min_score_keeps_weak_models_out(ruleset, records):
    rec = recommend(ruleset, records, Need(["tools", "vision"], budget=2.0, min_score=45, top=5), TODAY)
    assert rec.by_value and all(p.score >= 45 for p in rec.by_score + rec.by_value)
    loose = recommend(ruleset, records, Need(["tools", "vision"], budget=2.0, top=5), TODAY)
    assert [p.id for p in loose.by_score] == [p.id for p in rec.by_score]  # the best score well above 45
    assert any(p.score < 45 for p in loose.by_value)


def test_the_selection_in_recommend_md_keeps_the_three_best_coders_with_tools(ruleset, records, tmp_path):
    import re

    from support import REPO

    text = (REPO / "docs" / "recommend.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "three-best-coders" in b)
    path = tmp_path / "90-coders.yaml"
    path.write_text(block)
    result = Engine(load_rules([RULES_DIR, path]), TODAY).compile(records)
    kept = {e["model_info"]["openrouter_id"] for e in result.entries}
    before = [d.record for d in Engine(ruleset, TODAY).compile(records).decisions if d.kept]
    tools = [r for r in before if "tools" in (r.get("supported_parameters") or [])]
    coding = [((r.get("benchmarks") or {}).get("artificial_analysis") or {}).get("coding_index") for r in tools]
    expected = sorted((-c, r["id"]) for c, r in zip(coding, tools) if c is not None)[:3]
    assert kept == {model_id for _, model_id in expected}


def test_a_catalog_without_scores_says_so(run_cli):
    from support import SAMPLE_CATALOG

    result = run_cli("recommend", "--catalog", str(SAMPLE_CATALOG))
    assert result.code == 0
    assert result.out.splitlines()[0] == "need: any capabilities"
    assert result.err == (f"rinsync: no model of {SAMPLE_CATALOG} is scored on intelligence (OpenRouter's catalog "
                          "carries benchmarks since 2026); try --by arena or a newer catalog\n")


def test_free_only_budget_lists_each_model_once(ruleset, records):
    rec = recommend(ruleset, records, Need([], budget=0.0, top=2), TODAY)
    assert rec.by_score and all(p.price == 0 for p in rec.by_score) and rec.by_value == []
    assert not {p.id for p in rec.free} & {p.id for p in rec.by_score}
    assert "free (the :free variant)" in rec.by_score[0].reason


def test_the_examples_in_recommend_md_are_real_output(run_cli):
    import re
    import shlex

    from support import REPO

    text = (REPO / "docs" / "recommend.md").read_text()
    examples = re.findall(r"```console\n\$ (rinsync recommend [^\n]+)\n(.*?)```", text, re.S)
    assert len(examples) == 2
    for command, shown in examples:
        args = [str(CATALOG) if a.endswith(CATALOG.name) else a for a in shlex.split(command)[1:]]
        result = run_cli(*args)
        assert result.code == 0 and result.out == shown, command
