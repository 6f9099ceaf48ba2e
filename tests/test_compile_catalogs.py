"""Compile every shared real catalog with the shipped rules and check every entry against the spec."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from spec_oracle import expected_drop, expected_model_info, expected_name

from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import CATALOGS, RULES_DIR, SAMPLE_CATALOG

TODAY = dt.date(2026, 11, 24)
@pytest.fixture(scope="module")
def ruleset():
    return load_rules([RULES_DIR])


@pytest.mark.parametrize("path", CATALOGS + [SAMPLE_CATALOG], ids=lambda p: Path(p).stem)
def test_every_entry_follows_the_spec(path: Path, ruleset):
    raw = {r["id"]: r for r in json.loads(Path(path).read_text())["data"]}
    result = Engine(ruleset, TODAY).compile(load_catalog_file(path).records)
    kept = {e["model_info"]["openrouter_id"]: e for e in result.entries}

    for model_id, record in raw.items():
        reason = expected_drop(record, TODAY, set(raw))
        decision = result.decision_for(model_id)
        if reason:
            assert model_id not in kept, f"{model_id} should be dropped ({reason})"
            assert decision.decided_by.id == reason
        else:
            assert model_id in kept, f"{model_id} should be kept, got {decision.dropped_reason}"

    names = [e["model_name"] for e in result.entries]
    assert names == sorted(names) and len(set(names)) == len(names)
    for model_id, entry in kept.items():
        record = raw[model_id]
        params, info = entry["litellm_params"], entry["model_info"]
        assert entry["model_name"] == expected_name(model_id)
        assert params == {"model": f"openrouter/{model_id}", "api_key": "os.environ/OPENROUTER_API_KEY"}
        for key, expected in expected_model_info(record).items():
            if expected is None:
                assert key not in info, f"{model_id}: {key} must be omitted"
            else:
                assert info[key] == expected and type(info[key]) is type(expected), (model_id, key)


def test_catalogs_exercise_every_drop_reason(ruleset):
    reasons = set()
    for path in CATALOGS + [SAMPLE_CATALOG]:
        records = json.loads(Path(path).read_text())["data"]
        ids = {r["id"] for r in records}
        for record in records:
            reasons.add(expected_drop(record, TODAY, ids))
    assert reasons >= {"drop-unpriced", "drop-expired", "drop-deprecated", "drop-extended-variants"}


def test_spec_examples_of_names_and_exceptions(ruleset):
    result = Engine(ruleset, TODAY).compile(load_catalog_file(SAMPLE_CATALOG).records)
    by_id = {e["model_info"]["openrouter_id"]: e for e in result.entries}
    assert by_id["openai/gpt-4o"]["model_name"] == "openrouter/openai-gpt-4o"
    assert by_id["meta-llama/llama-3.3-70b-instruct:free"]["model_name"] == \
        "openrouter/meta-llama-llama-3.3-70b-instruct-free"
    online = result.decision_for("perplexity/llama-3.1-sonar-large-128k-online")
    assert online.kept and online.matches[0].rule.id == "drop-extended-variants" and online.matches[0].excepted
    assert not result.decision_for("openai/gpt-4o:extended").kept
    auto = by_id["openrouter/auto"]["model_info"]
    assert "input_cost_per_token" not in auto and "output_cost_per_token" not in auto


def test_expiry_follows_the_compile_date(ruleset):
    records = load_catalog_file(CATALOGS[-1]).records
    expiring = next(r for r in records if r.get("expiration_date") == "2026-12-31")
    before = Engine(ruleset, dt.date(2026, 12, 31)).decide(expiring)
    after = Engine(ruleset, dt.date(2027, 1, 1)).decide(expiring)
    assert before.kept and not after.kept and after.decided_by.id == "drop-expired"


@pytest.mark.parametrize("path", [CATALOGS[0], CATALOGS[-1]], ids=lambda p: Path(p).stem)
def test_output_is_byte_identical_across_runs_and_loads_back(path, run_cli, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert run_cli("compile", "--catalog", str(path), "--output", str(first)).code == 0
    assert run_cli("compile", "--catalog", str(path), "--output", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()
    config = yaml.safe_load(first.read_text())
    assert len(config["model_list"]) > 50
    assert "&id" not in first.read_text(), "no YAML anchors/aliases in generated configs"
