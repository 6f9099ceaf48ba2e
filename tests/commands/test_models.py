"""``rinsync models``: capability and cost search over a catalog file."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from rinsync.cli import main
from rinsync.commands.models import format_price, per_million

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "sample-catalog.json"
REAL = Path("/work/shared/catalogs/openrouter-models-2026-08-19.json")
OLDEST = Path("/work/shared/catalogs/openrouter-models-2024-02-18.json")
TOOLS_VISION_UNDER_1 = ("has(supported_parameters, 'tools') && has(architecture.input_modalities, 'image') "
                        "&& per_million(pricing.prompt) < `1`")


@pytest.fixture
def run(monkeypatch, capsys):
    def _run(*args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(REPO)
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795478400")  # 2026-11-24
        with pytest.raises(SystemExit) as exc:
            main(["models", *args])
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return _run


def raw_records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["data"]


def prompt_per_million(record: dict) -> Decimal | None:
    value = (record.get("pricing") or {}).get("prompt")
    if value in (None, "", "-1"):
        return None
    return Decimal(value) * 1_000_000


def table_ids(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[1:]]


def test_vision_and_tools_under_one_dollar_on_the_sample(run):
    code, out, err = run("--catalog", "examples/sample-catalog.json", "--where", TOOLS_VISION_UNDER_1)
    assert code == 0
    expected = sorted(r["id"] for r in raw_records(SAMPLE)
                      if "tools" in (r.get("supported_parameters") or [])
                      and "image" in r["architecture"]["input_modalities"]
                      and prompt_per_million(r) is not None and prompt_per_million(r) < 1)
    assert expected == ["nvidia/nemotron-nano-12b-v2-vl:free", "qwen/qwen3.8-27b"]
    assert table_ids(out) == expected
    assert err == "rinsync: 2 of 32 models match\n"


def test_table_shows_prices_per_million_context_and_flags(run):
    code, out, _ = run("--catalog", "examples/sample-catalog.json", "--where", "id == 'openai/gpt-4o' || "
                       "id == 'openrouter/auto' || id == 'z-ai/glm-4.5' || id == 'mancer/weaver'")
    assert code == 0
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    assert rows == [
        ["ID", "INPUT $/M", "OUTPUT $/M", "CONTEXT", "MAX OUT", "FLAGS"],
        ["mancer/weaver", "-", "-", "8000", "6000", "schema"],
        ["openai/gpt-4o", "2.50", "10.00", "128000", "16384", "tools,vision,file,schema"],
        ["openrouter/auto", "dynamic", "dynamic", "2000000", "-",
         "tools,vision,file,audio-in,image-out,reasoning,schema"],
        ["z-ai/glm-4.5", "0.60", "2.20", "131072", "98304", "tools,reasoning,expires:2026-12-31"],
    ]


def test_expired_flag_follows_the_compile_date(run, monkeypatch):
    code, out, _ = run("--catalog", "examples/sample-catalog.json", "--where", "expired(expiration_date)")
    assert table_ids(out) == ["anthropic/claude-3.7-sonnet:thinking", "nvidia/nemotron-nano-12b-v2-vl:free"]
    assert all(line.endswith(",expired") for line in out.splitlines()[1:])


def test_sort_descending_limit_and_missing_values_last(run):
    code, out, err = run("--catalog", "examples/sample-catalog.json", "--sort", "-input", "--json")
    assert code == 0
    models = json.loads(out)["models"]
    prices = [m["input_per_million"] for m in models]
    known = [p for p in prices if p is not None]
    assert known == sorted(known, reverse=True)
    assert prices[len(known):] == [None, None]  # openrouter/auto (dynamic) and mancer/weaver (no price)
    assert {m["id"] for m in models[len(known):]} == {"openrouter/auto", "mancer/weaver"}
    code, out, err = run("--catalog", "examples/sample-catalog.json", "--sort", "-input", "--limit", "3")
    assert table_ids(out) == ["openai/gpt-4o:extended", "meta-llama/llama-3.1-70b-instruct:nitro",
                              "anthropic/claude-3.7-sonnet:beta"]
    assert err == "rinsync: 32 of 32 models match (showing 3)\n"
    code, out, _ = run("--catalog", "examples/sample-catalog.json", "--sort", "context", "--limit", "2")
    assert table_ids(out) == ["mancer/weaver", "openai/gpt-3.5-turbo"]


def test_json_output(run):
    code, out, _ = run("--catalog", "examples/sample-catalog.json", "--where", "starts_with(id, 'google/')",
                       "--sort", "-output", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["total"], data["matched"], data["where"], data["sort"]) == (
        32, 3, "starts_with(id, 'google/')", "-output")
    assert [m["id"] for m in data["models"]] == ["google/gemini-2.5-pro", "google/gemini-2.5-flash-image",
                                                 "google/lyria-3-clip-preview"]
    pro = data["models"][0]
    assert pro == {"id": "google/gemini-2.5-pro", "name": "Google: Gemini 2.5 Pro", "input_per_million": 1.25,
                   "output_per_million": 10.0, "dynamic_price": False, "context_length": 1048576,
                   "max_output_tokens": 65536, "created": 1750169544, "blended_per_million": 3.4375,
                   "intelligence": None, "coding": None, "agentic": None, "arena_elo": None,
                   "flags": ["tools", "vision", "file", "audio-in", "reasoning", "schema"]}


def test_real_catalog_cost_search_matches_an_independent_count(run):
    code, out, err = run("--catalog", str(REAL), "--where", TOOLS_VISION_UNDER_1, "--json")
    assert code == 0
    expected = sorted(r["id"] for r in raw_records(REAL)
                      if "tools" in (r.get("supported_parameters") or [])
                      and "image" in (r["architecture"].get("input_modalities") or [])
                      and prompt_per_million(r) is not None and prompt_per_million(r) < 1)
    data = json.loads(out)
    assert len(expected) > 10
    assert [m["id"] for m in data["models"]] == expected
    assert data["total"] == 414


def test_oldest_catalog_format_is_normalised_before_search(run):
    code, out, _ = run("--catalog", str(OLDEST), "--where", "has(architecture.input_modalities, 'image')",
                       "--sort", "-context")
    assert code == 0
    expected = [r["id"] for r in raw_records(OLDEST) if r["architecture"]["modality"] == "multimodal"]
    assert sorted(table_ids(out)) == sorted(expected)
    assert table_ids(out)[0] == "openai/gpt-4-vision-preview"  # 128000, the largest context


@pytest.mark.parametrize(("where", "column", "code"), [
    ("hass(supported_parameters, 'tools')", 1, "jmespath-unknown-function"),
    ("has(supported_parameters, 'tools') &&", 38, "jmespath-syntax"),
    ("has(supported_parameters)", 1, "jmespath-arity"),
    ("id == \"x'", 7, "jmespath-syntax"),
])
def test_bad_where_is_located_inside_the_expression_and_exits_2(run, where, column, code):
    status, out, err = run("--catalog", "examples/sample-catalog.json", "--where", where)
    assert status == 2
    assert out == ""
    first, shown, caret = err.splitlines()
    assert first.startswith(f"--where:1:{column}: error {code} ")
    assert shown == f"  {where}"
    assert caret == "  " + " " * (column - 1) + "^"


def test_where_failing_on_a_record_names_the_model(run):
    status, out, err = run("--catalog", "examples/sample-catalog.json", "--where", "contains(hugging_face_id, 'x')")
    assert status == 2
    assert "--where:1:1: error jmespath-runtime failed on model '" in err
    assert "invalid type for value: None" in err


def test_usage_errors(run):
    status, _, err = run()
    assert status == 2 and "--catalog FILE is required" in err
    status, _, err = run("--catalog", "examples/sample-catalog.json", "--sort", "price")
    assert status == 2 and "unknown sort field 'price'" in err
    status, _, err = run("--catalog", "examples/sample-catalog.json", "--limit", "0")
    assert status == 2


def test_nothing_matching_is_not_an_error(run):
    status, out, err = run("--catalog", "examples/sample-catalog.json", "--where", "context_length > `10000000`")
    assert (status, out, err) == (0, "", "rinsync: 0 of 32 models match\n")


def test_price_helpers():
    assert per_million("0.0000025") == 2.5
    assert per_million("-1") is None and per_million(None) is None
    assert [format_price(v) for v in (0.0, 2.5, 0.1, 0.045, 15.0, 0.0375)] == ["0", "2.50", "0.10", "0.045",
                                                                               "15.00", "0.0375"]
    assert format_price(None) == "-" and format_price(None, dynamic=True) == "dynamic"
