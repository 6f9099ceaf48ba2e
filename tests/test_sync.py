"""End-to-end syncs from a local catalog server into config/litellm/config.yaml."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from helpers_sync import (
    CATALOG_DIR,
    CATALOG_NEW,
    CATALOG_OLD,
    EXAMPLE_CONFIG,
    dump,
    entry,
    load,
    new_site,
    snapshot,
    subset_catalog,
)

from rinsync.files.lock import ConfigLock
from rinsync.litellm.entries import is_generated
from rinsync.litellm.state import state_path

CATALOGS = sorted(CATALOG_DIR.glob("openrouter-models-*.json"))




def hand_part(config: Path) -> tuple[dict, list]:
    document = load(config)
    top = {k: v for k, v in document.items() if k != "model_list"}
    return top, [e for e in document["model_list"] if not is_generated(e)]


def test_every_shared_catalog_in_turn_keeps_hand_entries_and_top_level_keys(env, server, run_cli):
    config = new_site(env)
    original = EXAMPLE_CONFIG.read_text()
    top, hand = hand_part(config)
    assert len(hand) == 4 and list(top) == ["general_settings", "litellm_settings", "router_settings"]
    for catalog in CATALOGS:
        server.serve(catalog.read_bytes())
        result = run_cli("compile", "--config", str(config), "--source-url", server.url, "--force")
        assert result.code == 0, (catalog.name, result.err)
        assert hand_part(config) == (top, hand), catalog.name
        text = config.read_text()
        # everything above model_list, comments included, is the operator's text byte for byte
        assert text.split("model_list:")[0] == original.split("model_list:")[0]
        generated = [e for e in load(config)["model_list"] if is_generated(e)]
        assert generated and all(e["model_name"].startswith("openrouter/") for e in generated)
        # the summary line; the change report's digest may follow it (issue 19: removed models, price increases)
        summary = next(line for line in result.err.splitlines() if " generated models: +" in line)
        assert summary.startswith(f"rinsync: {len(generated)} generated models: +")
        assert summary.endswith("kept 4 hand-written entries -> config/litellm/config.yaml")
    assert server.requests[0]["path"] == "/api/v1/models?output_modalities=all"


def test_hand_written_openrouter_entry_wins_over_generated(env, run_cli):
    config = new_site(env)
    document = load(config)
    mine = {"model_name": "openrouter/openai-gpt-4o",
            "litellm_params": {"model": "openrouter/openai/gpt-4o", "api_key": "os.environ/OPENROUTER_API_KEY",
                               "temperature": 0.2}}
    also_mine = {"model_name": "my-router", "litellm_params": {"model": "openrouter/openrouter/auto"}}
    document["model_list"] += [mine, also_mine]
    config.write_text(dump(document))
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert result.code == 0, result.err
    assert "1 skipped (hand-written name wins)" in result.err
    assert "  ! openrouter/openai-gpt-4o: skipped, a hand-written entry already uses this model_name" in result.err
    gpt4o = [e for e in load(config)["model_list"] if e["model_name"] == "openrouter/openai-gpt-4o"]
    assert gpt4o == [mine]
    assert entry(config, "my-router") == also_mine


def test_missing_config_is_created(env, run_cli):
    config = env / "new" / "dir" / "config.yaml"
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert result.code == 0, result.err
    assert list(load(config)) == ["model_list"] and len(load(config)["model_list"]) == 412
    assert not list(config.parent.glob("*.backup*"))  # nothing to back up


def test_unparseable_config_is_an_error_and_nothing_is_written(env, run_cli):
    config = new_site(env)
    config.write_text("model_list:\n  - model_name: x\n   bad: indentation\n")
    before = snapshot(env)
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert result.code == 1
    assert result.err.startswith("rinsync: error: config/litellm/config.yaml: not valid YAML (")
    assert result.err.rstrip().endswith("nothing written")
    assert {k: v for k, v in snapshot(env).items() if ".rinsync-lock" not in k} == before


def test_backups_mode_and_retention(env, run_cli):
    config = new_site(env)
    os.chmod(config, 0o640)
    versions = [config.read_bytes()]
    for catalog in [CATALOG_OLD, CATALOG_NEW, CATALOG_OLD, CATALOG_NEW]:
        assert run_cli("compile", "--config", str(config), "--catalog", str(catalog), "--backups", "2").code == 0
        versions.append(config.read_bytes())
    assert stat.S_IMODE(config.stat().st_mode) == 0o640  # the original file's mode is kept
    latest = config.with_name("config.yaml.backup")
    assert latest.read_bytes() == versions[-2]
    stamped = sorted(config.parent.glob("config.yaml.backup.*"))
    assert [p.read_bytes() for p in stamped] == versions[-3:-1]
    for backup in [latest, *stamped]:
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_path(config).stat().st_mode) == 0o600


def test_second_identical_sync_changes_nothing(env, run_cli):
    config = new_site(env)
    assert run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW)).code == 0
    before = snapshot(env)
    mtime = config.stat().st_mtime_ns
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW))
    assert result.code == 0
    assert result.err.strip().endswith("no changes, file left as it was")
    assert snapshot(env) == before and config.stat().st_mtime_ns == mtime


def test_validate_cmd_gets_the_new_file_before_it_replaces_the_old(env, run_cli):
    config = new_site(env)
    seen = env / "seen.yaml"
    checker = env / "check.py"
    checker.write_text("import shutil, sys, yaml\n"
                       "assert sys.argv[1] == '--config'\n"
                       "doc = yaml.safe_load(open(sys.argv[2]))\n"
                       f"shutil.copy(sys.argv[2], {str(seen)!r})\n"
                       "sys.exit(0 if len(doc['model_list']) > 100 else 1)\n")
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW),
                     "--validate-cmd", f"{sys.executable} {checker} --config %s")
    assert result.code == 0, result.err
    assert seen.read_bytes() == config.read_bytes()
    assert not list(config.parent.glob(".config.yaml.*"))


def test_validate_cmd_failure_keeps_the_config(env, server, run_cli):
    config = new_site(env)
    before = snapshot(env)
    server.serve(CATALOG_NEW.read_bytes())
    checker = env / "check.py"
    checker.write_text("import sys\nprint('litellm: unknown key foo', file=sys.stderr)\nsys.exit(3)\n")
    after_checker = snapshot(env)
    result = run_cli("compile", "--config", str(config), "--source-url", server.url,
                     "--validate-cmd", f"{sys.executable} {checker}")
    assert result.code == 4
    assert "rinsync: warning: validate: litellm: unknown key foo" in result.err
    assert "failed --validate-cmd" in result.err and "kept config/litellm/config.yaml unchanged" in result.err
    remaining = {k: v for k, v in snapshot(env).items() if ".rinsync-lock" not in k}
    assert remaining == after_checker and set(after_checker) - set(before) == {"check.py"}


def test_validate_cmd_not_found(env, run_cli):
    config = new_site(env)
    before = config.read_bytes()
    result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW),
                     "--validate-cmd", "/nonexistent/litellm-check")
    assert result.code == 4 and "command not found" in result.err
    assert config.read_bytes() == before


def test_lock_held_by_another_sync_exits_75(env, run_cli):
    config = new_site(env)
    before = config.read_bytes()
    with ConfigLock(config):
        result = run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW), "--lock-timeout", "0.2")
    assert result.code == 75
    assert "another rinsync" in result.err and f"(pid {os.getpid()})" in result.err
    assert config.read_bytes() == before


def test_truncated_upstream_answer_is_refused_by_the_shrink_guard(env, server, run_cli):
    config = new_site(env)
    server.serve(CATALOG_NEW.read_bytes())
    assert run_cli("compile", "--config", str(config), "--source-url", server.url).code == 0
    before = snapshot(env)
    server.serve(subset_catalog(CATALOG_NEW, 30))  # a valid but degraded answer
    result = run_cli("compile", "--config", str(config), "--source-url", server.url)
    assert result.code == 3
    assert {k: v for k, v in snapshot(env).items()} == before  # config, state and cache unchanged


def test_standalone_output_mode(env, server, run_cli):
    server.serve(CATALOG_NEW.read_bytes())
    out = env / "generated.yaml"
    result = run_cli("compile", "--source-url", server.url, "--output", str(out))
    assert result.code == 0, result.err
    assert list(load(out)) == ["model_list"] and len(load(out)["model_list"]) == 412
    assert not (env / "config").exists()  # no merge into the default config
    to_stdout = run_cli("compile", "--catalog", str(CATALOG_NEW), "--output", "-")
    assert to_stdout.out == out.read_text()


def test_catalog_must_be_a_file_or_cache(env, run_cli):
    result = run_cli("compile", "--catalog", "nope.json")
    assert result.code == 2 and "'nope.json' is not a file (or 'cache')" in result.err


def test_exit_codes_are_documented():
    from rinsync import exitcodes

    docs = (Path(__file__).resolve().parents[1] / "docs" / "sync.md").read_text()
    for name in ("OK", "ERROR", "USAGE", "SHRINK_REFUSED", "VALIDATE_FAILED", "IO_ERROR", "TEMPFAIL"):
        assert f"| {getattr(exitcodes, name)} |" in docs, name


def test_state_holds_no_secret_looking_values(env, run_cli):
    config = new_site(env)
    assert run_cli("compile", "--config", str(config), "--catalog", str(CATALOG_NEW)).code == 0
    from rinsync.litellm.state import read_generations

    generations, _ = read_generations(state_path(config))
    entries = generations[0].entries
    assert len(entries) == 412
    assert {e["litellm_params"]["api_key"] for e in entries.values()} == {"os.environ/OPENROUTER_API_KEY"}
