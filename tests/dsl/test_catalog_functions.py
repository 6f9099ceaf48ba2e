"""Catalog-aware and benchmark functions: exists, base_model, family…, score, arena_elo, value."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from rinsync.dsl.catalogindex import CatalogIndex, base_model, family_key
from rinsync.dsl.expr import Evaluator, check, function_table
from support import CATALOGS

TODAY = dt.date(2026, 11, 24)
RECORDS = [
    {"id": "openai/gpt-4o", "canonical_slug": "openai/gpt-4o", "created": 100},
    {"id": "openai/gpt-4o:extended", "canonical_slug": "openai/gpt-4o", "created": 100},
    {"id": "openai/gpt-4o-2024-08-06", "created": 300},
    {"id": "openai/gpt-4o-2024-05-13", "created": 200},
    {"id": "openai/gpt-4-32k", "created": 50},
    {"id": "anthropic/claude-haiku-4.5", "canonical_slug": "anthropic/claude-4.5-haiku-20251001", "created": 400},
    {"id": "anthropic/claude-4.5-haiku", "created": 10},
    {"id": "qwen/qwen3.5-plus-02-15", "created": 500},
    {"id": "qwen/qwen3.5-plus-20260420", "created": 600},
    {"id": "x/no-created"},
]


def evaluator(records=RECORDS) -> Evaluator:
    ev = Evaluator(TODAY)
    ev.use_catalog(records)
    return ev


def search(expression: str, record: dict, ev: Evaluator | None = None):
    ev = ev or evaluator()
    return ev.search(ev.compile(expression), record)


@pytest.mark.parametrize("model_id, base", [
    ("openai/gpt-4o:extended", "openai/gpt-4o"),
    ("openai/gpt-4-32k", "openai/gpt-4"),
    ("openai/gpt-4-32k-0314", "openai/gpt-4-0314"),
    ("microsoft/phi-3-mini-128k-instruct", "microsoft/phi-3-mini-instruct"),
    ("microsoft/phi-3-mini-128k-instruct:free", "microsoft/phi-3-mini-instruct:free"),
    ("perplexity/llama-3.1-sonar-large-128k-online", "perplexity/llama-3.1-sonar-large-online"),
    ("meta-llama/llama-3.3-70b-instruct:free", "meta-llama/llama-3.3-70b-instruct"),
    ("openai/gpt-4o", None), (None, None), ("", None),
    ("acme/model-128kb", None),  # not a size: no word boundary after the k
])
def test_base_model(model_id, base):
    assert base_model(model_id) == base
    assert search("base_model(id)", {"id": model_id}) == base


def test_exists_reads_the_whole_catalog_not_the_record():
    record = {"id": "openai/gpt-4-32k"}
    assert search("exists('openai/gpt-4o')", record) is True
    assert search("exists(base_model(id))", {"id": "openai/gpt-4o:extended"}) is True
    assert search("exists(base_model(id))", record) is False  # openai/gpt-4 is not in RECORDS
    assert search("exists(`null`)", record) is False
    assert search("exists('openai/gpt-4o')", record, Evaluator(TODAY)) is False  # no catalog: empty index


def test_family_joins_variants_sizes_snapshots_and_canonical_slugs():
    ev = evaluator()
    assert search("family(id)", {"id": "openai/gpt-4o-2024-08-06"}, ev) == "openai/gpt-4o"
    assert search("family(id)", {"id": "openai/gpt-4o:extended"}, ev) == "openai/gpt-4o"
    assert search("family_members(id)", {"id": "openai/gpt-4o"}, ev) == [
        "openai/gpt-4o", "openai/gpt-4o-2024-05-13", "openai/gpt-4o-2024-08-06", "openai/gpt-4o:extended"]
    assert search("newest_in_family(id)", {"id": "openai/gpt-4o"}, ev) == "openai/gpt-4o-2024-08-06"
    # the canonical slug joins claude-haiku-4.5 with the id spelled claude-4.5-haiku
    assert search("family_members(id)", {"id": "anthropic/claude-haiku-4.5"}, ev) == [
        "anthropic/claude-4.5-haiku", "anthropic/claude-haiku-4.5"]
    assert search("newest_in_family(id)", {"id": "anthropic/claude-4.5-haiku"}, ev) == "anthropic/claude-haiku-4.5"
    assert search("family(id)", {"id": "qwen/qwen3.5-plus-02-15"}, ev) == "qwen/qwen3.5-plus"
    assert search("newest_in_family(id)", {"id": "qwen/qwen3.5-plus-02-15"}, ev) == "qwen/qwen3.5-plus-20260420"
    # an id outside the catalog: its own family, no members
    assert search("family(id)", {"id": "new/model-7b:free"}, ev) == "new/model-7b"
    assert search("family_members(id)", {"id": "new/model-7b"}, ev) == []
    assert search("newest_in_family(id)", {"id": "new/model-7b"}, ev) is None
    assert search("newest_in_family(id)", {"id": "x/no-created"}, ev) == "x/no-created"


def test_newest_ties_are_broken_by_id():
    index = CatalogIndex([{"id": "a/m:b", "created": 5}, {"id": "a/m", "created": 5}, {"id": "a/m-0101", "created": 1}])
    assert index.newest("a/m:b") == "a/m"
    assert family_key("a/m-2024-08-06:free") == "a/m"


BENCH = {"id": "g/m", "pricing": {"prompt": "0.000001", "completion": "0.000004"},
         "benchmarks": {"artificial_analysis": {"intelligence_index": 56, "coding_index": 76.1, "agentic_index": None},
                        "design_arena": [{"arena": "models", "elo": 1331}, {"arena": "agents", "elo": 1374},
                                         {"arena": "x"}]}}


def test_scores_prices_and_value():
    assert search("score(@, 'intelligence')", BENCH) == 56
    assert search("score(@, 'coding')", BENCH) == 76.1
    assert search("score(@, 'agentic')", BENCH) is None
    assert search("score(@, 'arena')", BENCH) == 1374
    assert search("arena_elo(@)", BENCH) == 1374
    assert search("blended_per_million(@)", BENCH) == 1.75  # (3 * 1 + 4) / 4
    assert search("value(score(@, 'intelligence'), blended_per_million(@))", BENCH) == 32.0
    plain = {"id": "p/m", "pricing": {"prompt": "0", "completion": "0"}, "benchmarks": None}
    assert search("score(@, 'intelligence')", plain) is None and search("arena_elo(@)", plain) is None
    assert search("value(`50`, blended_per_million(@))", plain) is None  # free: no ratio
    assert search("blended_per_million(@)", {"pricing": {"prompt": "-1", "completion": "-1"}}) is None
    assert search("score(@, 'coding') > `70`", BENCH) is True


def test_lint_checks_the_new_functions_like_every_function():
    assert check("score(@, 'inteligence')").code == "score-name"
    assert check("exists()").code == "jmespath-arity"
    assert check("famly(id)").message == "unknown function famly()"
    assert check("famly(id)").hint == "did you mean family()?"
    assert check("value(score(@, 'coding'), blended_per_million(@)) > `20`") is None
    names = {name for name, _, _ in function_table()}
    assert names >= {"exists", "base_model", "family", "family_members", "newest_in_family", "score",
                     "arena_elo", "blended_per_million", "value"}


def test_functions_are_listed_and_documented(run_cli):
    from support import REPO

    result = run_cli("functions")
    doc = (REPO / "docs" / "rules.md").read_text()
    for name in ("exists", "base_model", "family", "family_members", "newest_in_family", "score", "arena_elo",
                 "blended_per_million", "value"):
        assert any(line.startswith(f"{name}(") for line in result.out.splitlines()), name
        assert f"`{name}(" in doc, f"{name} is not in docs/rules.md"


def test_index_on_the_newest_catalog_is_consistent():
    records = json.loads(CATALOGS[-1].read_text())["data"]
    index = CatalogIndex(records)
    assert len(index.ids) == len(records)
    for record in records:
        members = index.members(record["id"])
        assert record["id"] in members
        assert index.newest(record["id"]) in members
        assert all(index.family(m) == index.family(record["id"]) for m in members)


def test_models_where_sees_the_whole_catalog(run_cli):
    from support import SAMPLE_CATALOG

    where = "(regex_match(id, '-[0-9]+k\\b') || variant(id) == 'extended') && exists(base_model(id))"
    result = run_cli("models", "--catalog", str(SAMPLE_CATALOG), "--where", where, "--json")
    assert result.code == 0
    assert [m["id"] for m in json.loads(result.out)["models"]] == ["openai/gpt-4o:extended"]


def test_lines_and_brands_fold_generations_sizes_and_qualifiers():
    records = [{"id": "openai/gpt-5-mini", "created": 10}, {"id": "openai/gpt-5.4-mini", "created": 30},
               {"id": "openai/gpt-4.1-mini:batch", "created": 20}, {"id": "openai/gpt-4o", "created": 5},
               {"id": "qwen/qwen3.5-27b", "created": 7}, {"id": "qwen/qwen3-8b-instruct", "created": 9}]
    ev = Evaluator(dt.date(2026, 11, 24))
    ev.use_catalog(records)
    assert search("line(id)", {"id": "openai/gpt-4.1-mini:batch"}, ev) == "openai/gpt-mini"
    assert search("newest_in_line(id)", {"id": "openai/gpt-5-mini"}, ev) == "openai/gpt-5.4-mini"
    assert search("line(id)", {"id": "openai/gpt-4o"}, ev) == "openai/gpt"
    assert search("newest_in_line(id)", {"id": "qwen/qwen3.5-27b"}, ev) == "qwen/qwen3-8b-instruct"
    assert search("brand(id)", {"id": "qwen/qwen3.5-27b"}, ev) == "qwen/qwen"
    assert search("newest_in_brand(id)", {"id": "openai/gpt-4o"}, ev) == "openai/gpt-5.4-mini"
    assert search("days_between('openai/gpt-4o', 'openai/gpt-5.4-mini')", {}, ev) == round(25 / 86400, 3)
    assert search("days_between('openai/gpt-4o', 'nope/x')", {}, ev) is None
