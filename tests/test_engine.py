"""Rule semantics: last match wins, exceptions, overrides, capabilities, limits, collisions."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from rinsync.diagnostics import RinsyncError, RulesError
from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine, compile_date
from rinsync.litellm.entries import is_generated
from rinsync.source.catalog import normalize_record

TODAY = dt.date(2026, 11, 24)


def engine_for(tmp_path: Path, text: str) -> Engine:
    (tmp_path / "rules.yaml").write_text("version: 1\n" + textwrap.dedent(text))
    return Engine(load_rules([tmp_path]), TODAY)


def record(model_id: str, **extra) -> dict:
    base = {"id": model_id, "name": model_id, "context_length": 8000,
            "pricing": {"prompt": "0.000001", "completion": "0.000002"},
            "architecture": {"modality": "text->text"}, "top_provider": {"max_completion_tokens": 4000}}
    base.update(extra)
    return normalize_record(base)


def test_last_matching_rule_decides(tmp_path):
    engine = engine_for(tmp_path, """
        rules:
          - id: drop-openai
            exclude: provider(id) == 'openai'
          - id: keep-gpt-4o
            include: id == 'openai/gpt-4o'
    """)
    kept = engine.decide(record("openai/gpt-4o"))
    dropped = engine.decide(record("openai/gpt-3.5-turbo"))
    assert kept.kept and kept.decided_by.id == "keep-gpt-4o"
    assert [m.rule.id for m in kept.matches] == ["drop-openai", "keep-gpt-4o"]
    assert not dropped.kept and dropped.dropped_reason == "excluded by rule 'drop-openai'"


def test_default_action_exclude_with_allowlist(tmp_path):
    engine = engine_for(tmp_path, """
        default_action: exclude
        rules:
          - id: only-anthropic
            include: provider(id) == 'anthropic'
    """)
    assert engine.decide(record("anthropic/claude-3.5-sonnet")).kept
    dropped = engine.decide(record("openai/gpt-4o"))
    assert not dropped.kept and dropped.decided_by is None
    assert dropped.dropped_reason == "excluded by default_action"


def test_exception_keeps_a_model_despite_the_exclusion(tmp_path):
    engine = engine_for(tmp_path, """
        rules:
          - id: drop-extended
            exclude: regex_match(id, '-[0-9]+k')
            except:
              - contains(id, 'online')
              - contains(id, 'sonar')
    """)
    online = engine.decide(record("perplexity/llama-3-sonar-large-32k-online"))
    chat = engine.decide(record("01-ai/yi-34b-200k"))
    assert online.kept and online.matches[0].excepted
    assert not chat.kept


def test_overrides_apply_in_order_later_wins_and_null_removes(tmp_path):
    engine = engine_for(tmp_path, """
        defaults:
          litellm_params: {api_key: os.environ/OPENROUTER_API_KEY, temperature: 0.7, top_p: 1.0}
          model_info: {mode: chat}
        overrides:
          - id: cool
            when: provider(id) == 'openai'
            litellm_params: {temperature: 0.2, extra_headers: {X-Title: one}}
          - id: reasoning-no-temperature
            when: starts_with(id, 'openai/o')
            litellm_params: {temperature: null, extra_headers: {X-Title: two}}
            model_info: {mode: null, supports_reasoning: true}
    """)
    o1 = engine.decide(record("openai/o1")).entry
    assert o1["litellm_params"] == {"model": "openrouter/openai/o1", "api_key": "os.environ/OPENROUTER_API_KEY",
                                    "top_p": 1.0, "extra_headers": {"X-Title": "two"}}
    assert "mode" not in o1["model_info"] and o1["model_info"]["supports_reasoning"] is True
    gpt = engine.decide(record("openai/gpt-4o")).entry
    assert gpt["litellm_params"]["temperature"] == 0.2
    other = engine.decide(record("mistralai/mistral-large")).entry
    assert other["litellm_params"]["temperature"] == 0.7 and "extra_headers" not in other["litellm_params"]


def test_entries_do_not_share_mutable_defaults(tmp_path):
    engine = engine_for(tmp_path, """
        defaults:
          litellm_params: {extra_headers: {X-Title: t}}
    """)
    a = engine.decide(record("a/one")).entry
    b = engine.decide(record("b/two")).entry
    a["litellm_params"]["extra_headers"]["X-Title"] = "changed"
    assert b["litellm_params"]["extra_headers"]["X-Title"] == "t"


def test_max_tokens_never_exceeds_what_the_model_accepts(tmp_path):
    engine = engine_for(tmp_path, """
        defaults:
          litellm_params: {max_tokens: 8192}
    """)
    small = engine.decide(record("a/small", top_provider={"max_completion_tokens": 4000}))
    unknown = engine.decide(record("a/ctx-only", context_length=2048, top_provider={"max_completion_tokens": None}))
    large = engine.decide(record("a/large", top_provider={"max_completion_tokens": 100000}))
    assert small.entry["litellm_params"]["max_tokens"] == 4000 and "lowered to 4000" in small.notes[0]
    assert unknown.entry["litellm_params"]["max_tokens"] == 2048
    assert large.entry["litellm_params"]["max_tokens"] == 8192 and not large.notes


def test_name_collision_is_an_error_naming_both_ids(tmp_path):
    engine = engine_for(tmp_path, """
        name: "openrouter/{slug}"
    """)
    with pytest.raises(RinsyncError) as info:
        engine.compile([record("openai/gpt-4o"), record("azure/gpt-4o")])
    assert "'openrouter/gpt-4o' would be used by 'azure/gpt-4o' and 'openai/gpt-4o'" in info.value.message


def test_collision_resolved_by_an_override_name(tmp_path):
    engine = engine_for(tmp_path, """
        name: "openrouter/{slug}"
        overrides:
          - id: azure-names
            when: provider(id) == 'azure'
            name: "openrouter/azure-{slug}"
    """)
    names = [e["model_name"] for e in engine.compile([record("openai/gpt-4o"), record("azure/gpt-4o")]).entries]
    assert names == ["openrouter/azure-gpt-4o", "openrouter/gpt-4o"]


def test_collision_keep_first(tmp_path):
    engine = engine_for(tmp_path, """
        name: "openrouter/{slug}"
        collisions: keep-first
    """)
    result = engine.compile([record("openai/gpt-4o"), record("azure/gpt-4o")])
    assert [e["model_info"]["openrouter_id"] for e in result.entries] == ["azure/gpt-4o"]
    assert result.decision_for("openai/gpt-4o").dropped_reason == "name 'openrouter/gpt-4o' already used by " \
        "'azure/gpt-4o'"


def test_runtime_type_error_points_at_the_rule_and_names_the_model(tmp_path):
    engine = engine_for(tmp_path, """
        rules:
          - id: tools-only
            include: contains(supported_parameters, 'tools')
    """)
    with pytest.raises(RulesError) as info:
        engine.decide(record("old/model"))
    finding = info.value.findings[0]
    assert (finding.line, finding.col, finding.code) == (5, 14, "jmespath-runtime")
    assert "old/model" in finding.message


def test_capability_null_omits_key_and_marker_is_set(tmp_path):
    engine = engine_for(tmp_path, """
        capabilities:
          max_output_tokens: top_provider.max_completion_tokens
    """)
    entry = engine.decide(record("a/b", top_provider={"max_completion_tokens": None})).entry
    assert "max_output_tokens" not in entry["model_info"]
    assert is_generated(entry) and entry["model_info"]["openrouter_id"] == "a/b"
    assert not is_generated({"model_name": "x", "litellm_params": {"model": "openrouter/a/b"}})


def test_compile_date_honours_source_date_epoch():
    assert compile_date({"SOURCE_DATE_EPOCH": "1795478400"}) == dt.date(2026, 11, 24)
    with pytest.raises(RinsyncError):
        compile_date({"SOURCE_DATE_EPOCH": "yesterday"})
