"""rinsync diff: the report a sync would give, between two catalogs or the config and a catalog; writes nothing."""

from __future__ import annotations

import json

from helpers_sync import new_site, snapshot
from hostile import assert_one_line_error, run_limited
from jsonschema import Draft202012Validator

from rinsync.resources import load_schema
from support import SHARED

OLD = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"
NEW = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
VALIDATOR = Draft202012Validator(load_schema("report.v1.schema.json"))


def test_diff_of_two_catalogs_equals_the_report_of_the_sync_between_them(env, run_cli):
    config = env / "config.yaml"
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(config)).code == 0
    files = snapshot(env)
    result = run_cli("diff", str(OLD), str(NEW), "--format", "json")
    assert result.code == 0, result.err
    assert snapshot(env) == files  # writes nothing
    diffed = json.loads(result.out)
    VALIDATOR.validate(diffed)
    assert diffed["baseline"]["catalog"]["source"].endswith("2026-05-01.json")
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(config), "--report", "r.json").code == 0
    synced = json.loads((env / "r.json").read_text())
    assert diffed["targets"] == synced["targets"]


def test_diff_against_the_config_shows_what_the_next_sync_reports(env, run_cli):
    config = new_site(env)  # with hand-written entries
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(config)).code == 0
    files = snapshot(env)
    result = run_cli("diff", "--config", str(config), str(NEW), "--format", "json")
    assert result.code == 0, result.err
    assert snapshot(env) == files
    diffed = json.loads(result.out)
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(config), "--report", "r.json").code == 0
    assert diffed["targets"] == json.loads((env / "r.json").read_text())["targets"]


def test_text_digest_and_fail_on(env, run_cli):
    result = run_cli("diff", str(OLD), str(NEW))
    assert result.code == 0
    assert result.out.startswith("report (diff, compile date 2026-11-24: catalog ")
    assert "litellm: 412 generated models: +142 added, -89 removed" in result.out
    failing = run_cli("diff", str(OLD), str(NEW), "--fail-on", "removed", "--fail-on", "expiring")
    assert failing.code == 1 and "--fail-on: the report has removed" in failing.err
    assert run_cli("diff", str(NEW), str(NEW), "--fail-on", "removed", "--fail-on", "price-increase").code == 0
    higher = json.loads(run_cli("diff", str(OLD), str(NEW), "--format", "json", "--price-threshold", "200").out)
    assert all(c["relative"] > 2 for c in higher["targets"]["litellm"]["price_increases"])


def test_wrong_arguments_are_usage_errors(env, run_cli):
    assert run_cli("diff", str(NEW)).code == 2
    assert run_cli("diff", str(OLD), str(NEW), str(NEW)).code == 2
    assert run_cli("diff", "--config", str(env / "missing.yaml"), str(NEW)).code == 2


def test_a_broken_catalog_is_one_line_and_bounded(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[" * 100000)
    result = run_limited("diff", str(NEW), str(bad), cwd=tmp_path)
    assert_one_line_error(result, 1, "bad.json")


def rules_with_report(directory, section: str):
    import shutil

    from support import RULES_DIR

    directory.mkdir()
    for path in RULES_DIR.glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    (directory / "50-report.yaml").write_text(f"version: 1\nreport: {section}\n")
    return directory


def test_the_rules_report_section_sets_the_thresholds_and_options_win(env, run_cli):
    rules = rules_with_report(env / "rules", "{price_increase_threshold: 200, expiring_days: 400}")
    by_rules = json.loads(run_cli("diff", str(OLD), str(NEW), "--rules", str(rules), "--format", "json").out)
    assert by_rules["settings"] == {"price_increase_threshold": 2.0, "expiring_days": 400}
    increases = by_rules["targets"]["litellm"]["price_increases"]
    assert increases and all(c["relative"] > 2 for c in increases)
    assert by_rules["targets"]["litellm"]["expiring"]  # a year ahead: models with an expiration_date show up
    by_option = json.loads(run_cli("diff", str(OLD), str(NEW), "--rules", str(rules), "--format", "json",
                                   "--price-threshold", "50").out)
    assert by_option["settings"] == {"price_increase_threshold": 0.5, "expiring_days": 400}
    out = env / "r.json"
    assert run_cli("compile", "--catalog", str(NEW), "--rules", str(rules), "--config", str(env / "c.yaml"),
                   "--dry-run", "--report", str(out)).code == 0
    assert json.loads(out.read_text())["settings"] == {"price_increase_threshold": 2.0, "expiring_days": 400}


def test_a_bad_report_section_is_a_rules_finding(env, run_cli):
    rules = rules_with_report(env / "rules", "{price_increase_threshold: -5}")
    result = run_cli("diff", str(OLD), str(NEW), "--rules", str(rules))
    assert result.code == 1
    assert "50-report.yaml:2" in result.out + result.err
