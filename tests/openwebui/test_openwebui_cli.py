"""rinsync openwebui sync and compile --openwebui: one-line errors, documented exit codes, the token never
shown, nothing written when the token is missing (the real Open WebUI runs in tests/integration/)."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys

from support import REPO, SAMPLE_CATALOG, TODAY_EPOCH

TOKEN = "owui-secret-token-0123456789"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_token_is_a_usage_error_before_anything(run_cli, env, monkeypatch):
    monkeypatch.delenv("OPENWEBUI_API_KEY", raising=False)
    r = run_cli("openwebui", "sync", "--url", "http://127.0.0.1:9", "--catalog", str(SAMPLE_CATALOG),
                "--rules", str(REPO / "rules"))
    assert r.code == 2
    assert r.err.strip().splitlines() == ["rinsync: error: OPENWEBUI_API_KEY is not set: Open WebUI needs an admin's "
                                          "API key or token (Settings > Account > API keys); nothing written"]


def test_compile_with_openwebui_and_no_token_writes_no_config(run_cli, env, monkeypatch):
    monkeypatch.delenv("OPENWEBUI_API_KEY", raising=False)
    config = env / "config.yaml"
    config.write_text("model_list: []\n")
    r = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"), "--config", str(config),
                "--openwebui", "http://127.0.0.1:9")
    assert r.code == 2 and "OPENWEBUI_API_KEY is not set" in r.err and "Traceback" not in r.err
    assert config.read_bytes() == b"model_list: []\n"


def test_unreachable_open_webui_exit_6_one_line_token_never_shown(run_cli, env, monkeypatch):
    monkeypatch.setenv("OPENWEBUI_API_KEY", TOKEN)
    url = f"http://127.0.0.1:{closed_port()}"
    r = run_cli("openwebui", "sync", "--url", url, "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"),
                "--config", str(env / "config.yaml"))
    assert r.code == 6
    assert r.err.strip().splitlines() == [f"rinsync: error: reading Open WebUI's model records: Open WebUI at {url} "
                                          "did not answer (connection refused)"]
    assert TOKEN not in r.out + r.err
    assert not (env / ".rinsync-state.openwebui.json").exists()


def test_compile_writes_the_config_then_reports_the_open_webui_failure(run_cli, env, monkeypatch):
    monkeypatch.setenv("OPENWEBUI_API_KEY", TOKEN)
    config = env / "config.yaml"
    r = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"), "--config", str(config),
                "--openwebui", f"http://127.0.0.1:{closed_port()}")
    assert r.code == 6, r.err
    assert "generated models: +" in r.err and config.is_file()
    assert r.err.strip().splitlines()[-1].startswith("rinsync: error: reading Open WebUI's model records: ")
    assert TOKEN not in r.out + r.err and "Traceback" not in r.err


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_something_else_at_the_url_is_a_one_line_error_under_limits(tmp_path):
    """A server that is not Open WebUI (the harness's fake OpenRouter): exit 6, one line, in bounded time/memory."""
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    import harness

    with harness.FakeOpenRouter() as fake:
        env = {"PATH": "/usr/bin:/bin", "OPENWEBUI_API_KEY": TOKEN, "SOURCE_DATE_EPOCH": TODAY_EPOCH,
               "NO_PROXY": "127.0.0.1"}
        done = subprocess.run([sys.executable, "-m", "rinsync", "openwebui", "sync", "--url", fake.url, "--catalog",
                               str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"), "--config",
                               str(tmp_path / "config.yaml")], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60, preexec_fn=_limited)
    assert done.returncode == 6, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"rinsync: error: reading Open WebUI's model records: HTTP 404 at {fake.url}/api/v1/models/all (is "
        f"{fake.url} Open WebUI, 0.6 or newer?)"]
    assert TOKEN not in done.stdout + done.stderr


def test_explain_shows_the_open_webui_record(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    kept = run_cli("explain", "meta-llama/llama-guard-3-8b", "--catalog", str(SAMPLE_CATALOG))
    assert kept.code == 0
    lines = kept.out.splitlines()
    record = lines[lines.index("openwebui record:"):]
    assert "  id: openrouter/meta-llama-llama-guard-3-8b" in record
    assert "  active: false" in record and "    vision: false" in record and "    function_calling: legacy" in record
    dropped = run_cli("explain", "openai/gpt-4o:extended", "--catalog", str(SAMPLE_CATALOG))
    assert "openwebui record it would have had if kept:" in dropped.out.splitlines()


def test_sync_and_reload_still_reloads_litellm_when_only_open_webui_failed(env, httpserver):
    """rinsync reloads LiteLLM and the proxy confirms before the Open WebUI step, so its failure (6) comes
    with LiteLLM already serving the new config."""
    from helpers_sync import subprocess_env
    from standin_proxy import StandIn

    from rinsync.litellm.verify import load_model_list

    marker = env / "reloads.log"
    config = env / "config/litellm/config.yaml"
    proxy = StandIn(httpserver, config, env, "sk-proxy-key-for-this-test")
    wrapper_env = subprocess_env(RINSYNC_BIN=f"{sys.executable} -m rinsync",
                                 RINSYNC_RELOAD_CMD=f"echo reloaded >> {marker}; touch RELOAD",
                                 RINSYNC_PROXY_URL=proxy.url, LITELLM_MASTER_KEY="sk-proxy-key-for-this-test",
                                 RINSYNC_OPENWEBUI_URL=f"http://127.0.0.1:{closed_port()}", OPENWEBUI_API_KEY=TOKEN)
    done = subprocess.run([str(REPO / "scripts" / "sync-and-reload.sh"), "--catalog", str(SAMPLE_CATALOG), "--rules",
                           str(REPO / "rules")], env=wrapper_env, cwd=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 6, done.stderr
    assert config.is_file() and marker.read_text() == "reloaded\n"
    assert "serves the new config" in done.stderr
    assert "the Open WebUI sync failed or was partly applied (LiteLLM's config is applied)" in done.stderr
    assert proxy.served() == [e["model_name"] for e in load_model_list(config)]
    assert TOKEN not in done.stdout + done.stderr


def test_in_compile_an_open_webui_refusal_is_exit_6_because_the_config_was_written(run_cli, env, monkeypatch):
    """Exit 3 and 75 promise an unchanged config; after the config is written, the Open WebUI step says 6."""
    from rinsync import exitcodes
    from rinsync.diagnostics import RinsyncError
    from rinsync.openwebui import target

    def refuse(*_args, **_kwargs):
        raise RinsyncError("refusing to delete 300 of rinsync's 400 Open WebUI records (75% > 50%); use --force to "
                           "accept, or raise --max-remove-fraction; Open WebUI left as it was",
                           exitcodes.SHRINK_REFUSED)

    monkeypatch.setattr(target, "sync_records", refuse)
    monkeypatch.setenv("OPENWEBUI_API_KEY", TOKEN)
    config = env / "config.yaml"
    r = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"), "--config", str(config),
                "--openwebui", "http://127.0.0.1:9")
    assert r.code == 6 and config.is_file()
    assert r.err.strip().splitlines()[-1] == (
        "rinsync: error: Open WebUI not synced: refusing to delete 300 of rinsync's 400 Open WebUI records (75% > "
        "50%); use --force to accept, or raise --max-remove-fraction; Open WebUI left as it was (the LiteLLM config "
        "was written)")
    standalone = run_cli("openwebui", "sync", "--url", "http://127.0.0.1:9", "--catalog", str(SAMPLE_CATALOG),
                         "--rules", str(REPO / "rules"), "--config", str(config))
    assert standalone.code == 3


def test_a_failing_openwebui_expression_stops_compile_before_any_write(run_cli, env, monkeypatch):
    monkeypatch.setenv("OPENWEBUI_API_KEY", TOKEN)
    bad = env / "90-bad.yaml"
    bad.write_text("version: 1\nopenwebui:\n  description: \"join(', ', name)\"\n")
    config = env / "config.yaml"
    r = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--rules", str(REPO / "rules"), "--rules", str(bad),
                "--config", str(config), "--openwebui", "http://127.0.0.1:9")
    assert r.code == 1 and "error jmespath-runtime openwebui 'description' failed on model" in r.err
    assert not config.exists()
