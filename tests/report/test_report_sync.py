"""--report, the digest and the hooks: the report a sync writes agrees with the config it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_sync import load, new_site, subset_catalog
from jsonschema import Draft202012Validator

from rinsync.litellm.entries import is_generated
from rinsync.litellm.state import state_path
from rinsync.resources import load_schema
from support import SHARED

OLD = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"
NEW = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
VALIDATOR = Draft202012Validator(load_schema("report.v1.schema.json"))


@pytest.fixture
def site(env):
    return new_site(env)


def read_report(path: Path) -> dict:
    report = json.loads(path.read_text())
    VALIDATOR.validate(report)
    return report


def value_at(entry: dict, field: str):
    value = entry
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def generated(config: Path) -> dict[str, dict]:
    return {e["model_name"]: e for e in load(config)["model_list"] if is_generated(e)}


def test_the_report_of_a_sync_agrees_with_the_config_it_wrote(site, run_cli):
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(site)).code == 0
    before = generated(site)
    out = site.parent / "report.json"
    result = run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--report", str(out))
    assert result.code == 0, result.err
    after = generated(site)
    target = read_report(out)["targets"]["litellm"]
    assert {a["model"] for a in target["added"]} == set(after) - set(before)
    assert {r["model"] for r in target["removed"]} == set(before) - set(after)
    assert all(a["openrouter_id"] == after[a["model"]]["model_info"]["openrouter_id"] for a in target["added"])
    assert target["changed"], "the two catalogs differ in prices"
    for change in target["changed"]:
        assert value_at(before[change["model"]], change["field"]) == change["old"]
        assert value_at(after[change["model"]], change["field"]) == change["new"]
    changed_models = {n for n in set(before) & set(after) if before[n] != after[n]}
    assert {c["model"] for c in target["changed"]} == changed_models
    assert target["models"] == len(after)
    # notable (removed models, price increases): the digest is printed without -v
    assert "price increases above 10%" in result.err and "removed (" in result.err
    outcome = read_report(out)["outcome"]
    assert outcome == {"command": "compile", "exit_code": 0, "dry_run": False, "written": True, "applied": False,
                       "confirmed": None, "error": None}


def test_dry_run_writes_the_same_report_and_nothing_else(site, run_cli):
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(site)).code == 0
    config_bytes = site.read_bytes()
    dry, real = site.parent / "dry.json", site.parent / "real.json"
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--dry-run", "--report", str(dry)).code == 0
    assert site.read_bytes() == config_bytes
    again = site.parent / "dry2.json"
    run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--dry-run", "--report", str(again))
    assert dry.read_bytes() == again.read_bytes()  # deterministic
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--report", str(real)).code == 0
    dry_report, real_report = read_report(dry), read_report(real)
    assert dry_report["outcome"]["dry_run"] is True and dry_report["outcome"]["written"] is False
    assert dry_report["targets"] == real_report["targets"]


def test_a_refused_sync_writes_its_report_with_the_exit_code_and_keeps_the_config(site, run_cli, env):
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(site)).code == 0
    config_bytes = site.read_bytes()
    small = env / "small.json"
    small.write_bytes(subset_catalog(NEW, 20))
    out = env / "report.json"
    result = run_cli("compile", "--catalog", str(small), "--config", str(site), "--report", str(out))
    assert result.code == 3
    assert site.read_bytes() == config_bytes
    report = read_report(out)
    assert report["outcome"]["exit_code"] == 3 and report["outcome"]["written"] is False
    assert "refusing to remove" in report["outcome"]["error"]
    assert report["notable"] is True and len(report["targets"]["litellm"]["removed"]) > 300
    assert "outcome:" not in result.err  # the error line says it; the digest of a failure is in the report


def test_an_unavailable_catalog_still_writes_a_report(site, run_cli, env):
    out = env / "report.json"
    result = run_cli("compile", "--catalog", "cache", "--config", str(site), "--report", str(out))
    assert result.code == 75
    report = read_report(out)
    assert report["outcome"]["exit_code"] == 75 and report["targets"] == {}
    assert "no cached catalog" in report["outcome"]["error"]
    assert "outcome:" not in result.err  # one error line on the terminal, as for every failure
    verbose = run_cli("compile", "--catalog", "cache", "--config", str(site), "-v")
    assert verbose.code == 75 and "outcome: exit 75 (catalog unavailable, config kept)" in verbose.err


def test_digest_only_when_notable_or_verbose(site, run_cli):
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(site)).code == 0
    quiet = run_cli("compile", "--catalog", str(NEW), "--config", str(site))
    assert quiet.code == 0 and "outcome:" not in quiet.err
    verbose = run_cli("compile", "--catalog", str(NEW), "--config", str(site), "-v")
    assert "outcome: exit 0 (ok)" in verbose.err and "litellm: " in verbose.err


def test_a_report_path_that_cannot_be_written_is_a_warning_not_a_failure(site, run_cli, env):
    (env / "real.json").write_text("{}")
    (env / "link.json").symlink_to(env / "real.json")
    result = run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--report", str(env / "link.json"))
    assert result.code == 0
    assert "warning: --report" in result.err and "Traceback" not in result.err
    assert (env / "real.json").read_text() == "{}"  # a planted link is not followed


def test_a_hand_pasted_key_never_reaches_the_report(site, run_cli, env):
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(site)).code == 0
    text = site.read_text()
    text = text.replace("api_key: os.environ/OPENROUTER_API_KEY", "api_key: sk-or-v1-pasted-by-hand-0123456789", 1)
    site.write_text(text)
    state_path(site).unlink()  # no merge base: the generated value replaces the hand edit, a reported change
    out = env / "report.json"
    result = run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--report", str(out), "-v")
    assert result.code == 0
    assert "sk-or-v1-pasted" not in out.read_text() + result.err + result.out
    keys = [c for c in read_report(out)["targets"]["litellm"]["changed"] if c["field"] == "litellm_params.api_key"]
    assert [(c["old"], c["new"]) for c in keys] == [("<redacted>", "os.environ/OPENROUTER_API_KEY")]


def test_a_failing_sync_with_every_report_option_is_still_one_error_line(env):
    from helpers_sync import closed_port_url
    from hostile import assert_one_line_error, run_limited

    config = new_site(env)
    config.write_text("model_list: [\n")
    before = config.read_bytes()
    result = run_limited("compile", "--catalog", str(NEW), "--config", str(config), "--report", "r.json",
                         "--metrics-file", "m.prom", "--notify", closed_port_url(), "--notify-timeout", "2", cwd=env)
    assert_one_line_error(result, 1, "config.yaml", "not valid YAML")
    assert config.read_bytes() == before
    report = read_report(env / "r.json")
    assert report["outcome"]["exit_code"] == 1 and "not valid YAML" in report["outcome"]["error"]
    assert "rinsync_last_exit_code 1" in (env / "m.prom").read_text()


def test_openwebui_sync_reports_its_models_and_expiring_ones(env, run_cli, monkeypatch):
    from helpers_sync import closed_port_url

    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-openwebui-test-token-0123")
    out = env / "r.json"
    result = run_cli("openwebui", "sync", "--url", closed_port_url().rsplit("/api", 1)[0], "--catalog", str(NEW),
                     "--config", str(env / "c.yaml"), "--report", str(out), "--expiring-days", "400")
    assert result.code == 6
    report = read_report(out)
    assert report["outcome"]["command"] == "openwebui sync" and report["outcome"]["exit_code"] == 6
    target = report["targets"]["openwebui"]
    assert target["models"] == 412 and target["expiring"]
    assert "sk-openwebui-test" not in out.read_text()


def test_a_report_or_metrics_path_naming_the_config_is_refused(site, run_cli):
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(site)).code == 0
    before = site.read_bytes()
    for option in ("--report", "--metrics-file"):
        result = run_cli("compile", "--catalog", str(NEW), "--config", str(site), option, str(site))
        assert result.code == 2 and "same file as --config" in result.err
        assert site.read_bytes() == before
    same = run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--report", "x", "--metrics-file", "x")
    assert same.code == 2 and site.read_bytes() == before
