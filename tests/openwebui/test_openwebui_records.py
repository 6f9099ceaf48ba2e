"""Open WebUI records from decisions: the shipped rules against the spec oracle on every shared catalog,
the section's merge and lint positions, and the record's shape."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from spec_oracle import expected_openwebui, expected_shown

from rinsync.diagnostics import RulesError
from rinsync.dsl.expr import format_tokens, format_usd, plain_text, truncate_text
from rinsync.dsl.rules import check_rules, load_rules
from rinsync.engine import Engine
from rinsync.openwebui.records import build_records, flatten, is_ours, view
from rinsync.source.catalog import load_catalog_file
from support import RULES_DIR

TODAY = dt.date(2026, 11, 24)


def test_every_record_of_every_shared_catalog_matches_the_oracle(catalogs):
    engine = Engine(load_rules([RULES_DIR]), TODAY)
    checked = 0
    for path in catalogs:
        catalog = load_catalog_file(path).records
        shown = expected_shown(catalog)
        result = engine.compile(catalog)
        by_name = {d.entry["model_name"]: d.record for d in result.decisions if d.kept}
        records = build_records(engine, result.decisions)
        assert [r["id"] for r in records] == sorted(by_name)
        for record in records:
            want = expected_openwebui(by_name[record["id"]], TODAY, shown)
            got = view(flatten(record))
            assert got == want, (path.name, record["id"])
            assert is_ours(record) and record["base_model_id"] is None
            checked += 1
    assert checked > 1500


def test_hand_written_names_get_no_record():
    engine = Engine(load_rules([RULES_DIR]), TODAY)
    result = engine.compile(load_catalog_file(Path("examples/sample-catalog.json")).records)
    names = [e["model_name"] for e in result.entries]
    records = build_records(engine, result.decisions, {names[0]})
    assert [r["id"] for r in records] == sorted(names[1:])


def test_later_files_override_keys_and_null_removes_one(tmp_path):
    (tmp_path / "90-local.yaml").write_text(
        "version: 1\nopenwebui:\n  description: \"'house model'\"\n  capabilities:\n    web_search: null\n"
        "    vision: '`false`'\n")
    ruleset = load_rules([RULES_DIR, tmp_path / "90-local.yaml"])
    assert "capabilities.web_search" not in ruleset.openwebui
    engine = Engine(ruleset, TODAY)
    result = engine.compile(load_catalog_file(Path("examples/sample-catalog.json")).records)
    record = next(r for r in build_records(engine, result.decisions) if r["id"] == "openrouter/openai-gpt-4o")
    assert record["meta"]["description"] == "house model"
    assert record["meta"]["capabilities"]["vision"] is False
    assert "web_search" not in record["meta"]["capabilities"]


@pytest.mark.parametrize("text, code, where", [
    ("openwebui:\n  capabilities:\n    vision: has(architecture.input_modalities, 'image') && vison(id)\n",
     "jmespath-unknown-function", "4:60"),
    ("openwebui:\n  tags: '[provider(id)'\n", "jmespath-syntax", "3:23"),
    ("openwebui:\n  show: '`true`'\n", "schema-unknown-key", "3:3"),
    ("openwebui:\n  capabilities:\n    vision: 3\n", "schema-type", "4:13"),
])
def test_broken_openwebui_sections_are_reported_where_they_are(tmp_path, text, code, where):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\n" + text)
    _, findings = check_rules([path])
    errors = [f for f in findings if f.severity == "error"]
    assert errors, findings
    assert (errors[0].code, f"{errors[0].line}:{errors[0].col}") == (code, where), errors[0]


def test_a_runtime_failure_names_the_key_and_the_model(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nopenwebui:\n  description: \"join(', ', name)\"\n")
    engine = Engine(load_rules([path]), TODAY)
    result = engine.compile([{"id": "a/b", "name": "B", "context_length": 1, "pricing": {}}])
    with pytest.raises(RulesError) as caught:
        build_records(engine, result.decisions)
    finding = caught.value.findings[0]
    assert finding.code == "jmespath-runtime" and (finding.line, finding.col) == (3, 16)
    assert "openwebui 'description' failed on model 'a/b'" in finding.message


@pytest.mark.parametrize("amount, shown", [(2.5, "$2.50"), (0.225, "$0.23"), (0.125, "$0.13"), (0, "$0.00"),
                                           (0.00005, "$0.00005"), (1234.5, "$1,234.50"),
                                           (-0.5, "-$0.50")])
def test_usd(amount, shown):
    assert format_usd(amount) == shown


@pytest.mark.parametrize("count, shown", [(128000, "128K"), (1048576, "1.05M"), (1_000_000, "1M"), (512, "512"),
                                          (32768, "33K")])
def test_tokens(count, shown):
    assert format_tokens(count) == shown


def test_plain_and_truncate():
    assert plain_text("See [the docs](https://x.test/a)  and **bold**\n`code`.") == "See the docs and bold code."
    text = "One. " + "word " * 60
    assert truncate_text(text, 100).endswith("…") and len(truncate_text(text, 100)) <= 100
    assert truncate_text("A first sentence here. " + "x" * 200, 40) == "A first sentence here."
    assert truncate_text("short", 10) == "short"
    assert truncate_text("abcdefghijklmnop", 8) == "abcdefg…"


def test_lint_with_a_catalog_runs_the_openwebui_expressions(run_cli, tmp_path):
    bad = tmp_path / "90-bad.yaml"
    bad.write_text("version: 1\nopenwebui:\n  description: \"join(', ', name)\"\n")
    r = run_cli("lint", "--catalog", "examples/sample-catalog.json", str(RULES_DIR), str(bad))
    assert r.code == 1
    assert f"{bad}:3:16: error jmespath-runtime openwebui 'description' failed on model" in r.out


def test_a_name_served_by_a_hand_written_litellm_entry_gets_no_record(tmp_path):
    from rinsync.litellm.target import hand_names

    config = tmp_path / "config.yaml"
    config.write_text("model_list:\n  - model_name: openrouter/openai-gpt-4o\n    litellm_params: {model: gpt-4o}\n"
                      "include: [team.yaml]\n")
    (tmp_path / "team.yaml").write_text("model_list:\n  - model_name: openrouter/openai-gpt-3.5-turbo\n"
                                        "    litellm_params: {model: gpt-3.5-turbo}\n")
    engine = Engine(load_rules([RULES_DIR]), TODAY)
    result = engine.compile(load_catalog_file(Path("examples/sample-catalog.json")).records)
    ids = {r["id"] for r in build_records(engine, result.decisions, hand_names(config, None))}
    assert "openrouter/openai-gpt-4o" not in ids and "openrouter/openai-gpt-3.5-turbo" not in ids
    assert len(ids) == len(result.entries) - 2


def test_hostile_descriptions_stay_linear_under_time_and_memory_limits(tmp_path):
    """Megabytes of brackets, link openers and emphasis marks in descriptions: bounded time and memory."""
    import json
    import resource
    import subprocess
    import sys

    from support import REPO, TODAY_EPOCH

    base = {"context_length": 8192, "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "pricing": {"prompt": "0.000001", "completion": "0.000002"}, "supported_parameters": ["tools"]}
    bodies = ["[" * 2_000_000, "](" * 1_000_000, "[a](" * 500_000, "**" * 1_000_000 + "x. " * 100_000]
    records = [dict(base, id=f"evil/model-{i}", name=f"Evil {i}", description=body) for i, body in enumerate(bodies)]
    catalog = tmp_path / "hostile.json"
    catalog.write_text(json.dumps({"data": records}))

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    for i in range(len(bodies)):
        done = subprocess.run([sys.executable, "-m", "rinsync", "explain", f"evil/model-{i}", "--catalog", str(catalog),
                               "--rules", str(RULES_DIR)], capture_output=True, text=True, timeout=30,
                              preexec_fn=limits, cwd=REPO,
                              env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": TODAY_EPOCH})
        assert done.returncode == 0, done.stderr[-500:]
        record = done.stdout.split("openwebui record:", 1)[1]
        assert "$1.00 in / $2.00 out per 1M tokens · 8K context" in record
        assert len(record) < 3000


def test_control_characters_in_upstream_text_never_reach_open_webui():
    engine = Engine(load_rules([RULES_DIR]), TODAY)
    record = {"id": "evil/model", "name": "Evil", "context_length": 8192,
              "description": "Looks \x1b[31mred\x1b[0m and \u202eflipped\u202c.\nSecond line.",
              "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
              "pricing": {"prompt": "0.000001", "completion": "0.000002"}}
    (built,) = build_records(engine, engine.compile([record]).decisions)
    assert built["meta"]["description"] == ("Looks [31mred[0m and flipped. Second line.\n\n"
                                            "$1.00 in / $2.00 out per 1M tokens · 8K context")
