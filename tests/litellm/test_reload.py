"""`rinsync compile --reload-cmd … --proxy …` and `rinsync verify --wait` without a real proxy.

A small stand-in proxy (pytest-httpserver) answers /v1/models and /model/info from the config as it
was at its last "reload": the reload command `touch RELOAD` makes it re-read the files on its next
request, `true` changes nothing, `touch BROKEN` makes it answer 503 from then on. The same paths run
against the real LiteLLM proxy in tests/integration/test_apply_proxy.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers_sync import CATALOG_NEW, new_site, subprocess_env, subset_catalog
from standin_proxy import StandIn

from rinsync.files.snapshot import Snapshot
from rinsync.litellm.state import state_path
from rinsync.litellm.verify import load_model_list
from support import REPO, SAMPLE_CATALOG

KEY = "sk-reload-secret-0123456789abcdef"
KEY_ENV = "RINSYNC_TEST_PROXY_KEY"


@pytest.fixture
def site(env, tmp_path, run_cli, httpserver, monkeypatch):
    """A config synced from the sample catalog, a smaller catalog to sync next, a stand-in proxy on it."""
    monkeypatch.setenv(KEY_ENV, KEY)
    config = tmp_path / "config.yaml"
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config))
    assert done.code == 0, done.err
    smaller = tmp_path / "smaller.json"
    smaller.write_bytes(subset_catalog(SAMPLE_CATALOG, 24))
    proxy = StandIn(httpserver, config, tmp_path, KEY)

    def sync(catalog: Path, command: str, *extra: str):
        result = run_cli("compile", "--catalog", str(catalog), "--config", str(config), "--reload-cmd", command,
                         "--proxy", proxy.url, "--key-env", KEY_ENV, *extra)
        assert KEY not in result.out + result.err, "the key leaked"
        assert "Traceback" not in result.err
        return result

    return config, smaller, proxy, sync


def files(config: Path) -> dict[str, bytes | None]:
    paths = [config, state_path(config)]
    return {p.name: (p.read_bytes() if p.exists() else None) for p in paths}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("rinsync: error:")]


def test_a_changed_config_is_reloaded_and_confirmed(site):
    config, smaller, proxy, sync = site
    before = proxy.served()
    done = sync(smaller, "touch RELOAD")
    assert done.code == 0, done.err
    assert "reload: ran touch RELOAD for the new config" in done.err
    assert f"confirmed: the proxy at {proxy.url} serves the new config" in done.err
    assert proxy.served() == [e["model_name"] for e in load_model_list(config)]
    assert proxy.served() != before


def test_an_unchanged_config_runs_no_reload(site, tmp_path):
    config, _, proxy, sync = site
    done = sync(SAMPLE_CATALOG, "touch RAN")
    assert done.code == 0, done.err
    assert "no changes" in done.err
    assert not (tmp_path / "RAN").exists()


def test_a_reload_without_effect_is_rolled_back_exit_5(site, tmp_path):
    config, smaller, proxy, sync = site
    old = files(config)
    started = time.monotonic()
    done = sync(smaller, "true", "--reload-timeout", "2")
    assert done.code == 5, done.err
    assert time.monotonic() - started < 15
    [line] = error_lines(done.err)
    assert line.startswith(f"rinsync: error: new config rejected by the proxy, previous config restored: the proxy "
                           f"at {proxy.url} did not serve the new config within 2s (0 missing, ")
    assert "rollback: restored" in done.err and "confirmed: the proxy at" in done.err
    assert "serves the previous config" in done.err
    assert files(config) == old  # config and state byte for byte


def test_a_failing_reload_command_is_rolled_back_and_its_output_redacted(site, monkeypatch):
    config, smaller, proxy, sync = site
    old = files(config)
    done = sync(smaller, f'echo "using $RINSYNC_TEST_PROXY_KEY"; echo "key {KEY} refused" >&2; exit 3')
    assert done.code == 5, done.err
    [line] = error_lines(done.err)
    assert "new config rejected by the proxy, previous config restored: the reload command (" in line
    assert "failed with exit 3: key *** refused" in line
    assert "reload: using ***" in done.err
    assert files(config) == old


def test_a_hanging_reload_command_is_killed(site):
    config, smaller, proxy, sync = site
    old = files(config)
    started = time.monotonic()
    done = sync(smaller, "sleep 60", "--reload-timeout", "1")
    assert time.monotonic() - started < 20
    assert done.code == 5, done.err
    [line] = error_lines(done.err)
    assert "the reload command (sleep 60) did not finish within 1s" in line
    assert files(config) == old


def test_a_restore_the_proxy_does_not_serve_is_said_loudly(site):
    config, smaller, proxy, sync = site
    old = files(config)
    done = sync(smaller, "touch BROKEN", "--reload-timeout", "1")
    assert done.code == 5, done.err
    [line] = error_lines(done.err)
    assert line.startswith("rinsync: error: PROXY AND CONFIG DISAGREE: the new config was not served (")
    assert "the previous config was put back, but the proxy did not serve the previous config within 1s" in line
    assert "check the proxy now" in line
    assert files(config) == old


def test_a_wrong_key_stops_the_sync_before_anything_is_written(site, tmp_path, monkeypatch):
    config, smaller, proxy, sync = site
    old = files(config)
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-0000000000")
    done = sync(smaller, "touch RAN")
    assert done.code == 1, done.err
    [line] = error_lines(done.err)
    assert "answered HTTP 400 to GET /v1/models: No connected db." in line
    assert line.endswith("nothing written (--reload-cmd needs the proxy to confirm the new config)")
    assert "sk-wrong-key" not in done.err
    assert files(config) == old
    assert not (tmp_path / "RAN").exists()


def test_a_proxy_that_is_down_does_not_stop_the_sync(site, tmp_path, run_cli):
    config, smaller, proxy, sync = site
    done = run_cli("compile", "--catalog", str(smaller), "--config", str(config), "--reload-cmd", "touch RAN",
                   "--proxy", "http://127.0.0.1:9", "--key-env", KEY_ENV, "--reload-timeout", "1")
    assert (tmp_path / "RAN").exists()  # the command ran: it might be what starts the proxy
    assert done.code == 5, done.err
    assert "PROXY AND CONFIG DISAGREE" in done.err and "connection refused" in done.err


def test_include_mode_rollback_removes_the_new_include_file(env, tmp_path, run_cli, httpserver, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    config = tmp_path / "config.yaml"
    config.write_text("general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\n"
                      "model_list:\n  - model_name: mine  # hand-written\n    litellm_params: {model: openai/gpt-4o}\n")
    old = config.read_bytes()
    proxy = StandIn(httpserver, config, tmp_path, KEY)
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config), "--include-file", "gen.yaml",
                   "--reload-cmd", "true", "--proxy", proxy.url, "--key-env", KEY_ENV, "--reload-timeout", "1")
    assert done.code == 5, done.err
    assert "new config rejected by the proxy, previous config restored" in done.err
    assert config.read_bytes() == old
    assert not (tmp_path / "gen.yaml").exists()
    assert not state_path(tmp_path / "gen.yaml").exists()
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config), "--include-file", "gen.yaml",
                   "--reload-cmd", "touch RELOAD", "--proxy", proxy.url, "--key-env", KEY_ENV)
    assert done.code == 0, done.err
    assert "mine" in proxy.served() and len(proxy.served()) > 20


@pytest.mark.parametrize("args, message", [
    (["--reload-cmd", "true"], "--reload-cmd needs --proxy URL (or RINSYNC_PROXY_URL)"),
    (["--reload-cmd", "true", "--proxy", "http://127.0.0.1:9", "--output", "x.yaml"],
     "--reload-cmd applies a merged --config; it does not work with --output"),
])
def test_usage_errors(env, run_cli, args, message):
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), *args)
    assert done.code == 2
    assert message in done.err
    assert not Path("x.yaml").exists()


def test_an_empty_reload_command_from_the_environment_means_no_reload(env, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("RINSYNC_RELOAD_CMD", "")
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(tmp_path / "c.yaml"))
    assert done.code == 0, done.err
    assert "reload" not in done.err


# --------------------------------------------------------------------------
# rinsync verify --wait
# --------------------------------------------------------------------------


def test_verify_wait_returns_once_the_proxy_agrees(site, run_cli, tmp_path):
    config, smaller, proxy, _ = site
    done = run_cli("compile", "--catalog", str(smaller), "--config", str(config))
    assert done.code == 0
    args = ("verify", "--proxy", proxy.url, "--config", str(config), "--key-env", KEY_ENV)
    assert run_cli(*args).code == 1
    timer = threading.Timer(1.0, (tmp_path / "RELOAD").touch)
    timer.start()
    started = time.monotonic()
    done = run_cli(*args, "--wait", "20")
    timer.join()
    assert done.code == 0, done.err
    assert 0.9 < time.monotonic() - started < 10
    assert done.out == ""
    assert "OK: the proxy at" in done.err and "(after " in done.err


def test_verify_wait_gives_up_with_the_last_differences(site, run_cli):
    config, smaller, proxy, _ = site
    run_cli("compile", "--catalog", str(smaller), "--config", str(config))
    started = time.monotonic()
    done = run_cli("verify", "--proxy", proxy.url, "--config", str(config), "--key-env", KEY_ENV, "--wait", "1")
    assert 1 <= time.monotonic() - started < 10
    assert done.code == 1
    assert done.out.startswith("extra: ")
    assert "disagrees with" in done.err and "(waited 1s)" in done.err


def test_verify_wait_on_a_proxy_that_stays_down_exits_75(env, run_cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model_list: []\n")
    started = time.monotonic()
    done = run_cli("verify", "--proxy", "http://127.0.0.1:9", "--config", str(config), "--wait", "1")
    assert 1 <= time.monotonic() - started < 10
    assert done.code == 75
    assert error_lines(done.err) == [
        "rinsync: error: cannot reach the LiteLLM proxy at http://127.0.0.1:9: connection refused (is it running? "
        "retry when it is up)"]


# --------------------------------------------------------------------------
# files.snapshot
# --------------------------------------------------------------------------


def test_snapshot_restores_contents_modes_and_removes_new_files(tmp_path):
    kept, new = tmp_path / "config.yaml", tmp_path / "gen.yaml"
    kept.write_bytes(b"old\n")
    kept.chmod(0o640)
    snap = Snapshot([new, kept, kept])
    assert snap.paths == [new, kept]
    kept.write_bytes(b"new\n")
    kept.chmod(0o600)
    new.write_bytes(b"generated\n")
    snap.restore()
    assert kept.read_bytes() == b"old\n" and kept.stat().st_mode & 0o777 == 0o640
    assert not new.exists()
    snap.restore()  # twice is fine
    assert kept.read_bytes() == b"old\n"


def test_snapshot_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_bytes(b"old")
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    snap = Snapshot([link], follow=[link])
    real.write_bytes(b"new")
    snap.restore()
    assert link.is_symlink() and real.read_bytes() == b"old"


def test_snapshot_never_follows_a_link_it_was_not_told_to(tmp_path):
    from rinsync.diagnostics import RinsyncError

    state, elsewhere = tmp_path / ".rinsync-state.config.yaml.json", tmp_path / "elsewhere"
    state.write_bytes(b"{}")
    snap = Snapshot([state])
    state.unlink()
    elsewhere.write_bytes(b"keep")
    state.symlink_to(elsewhere)  # planted between the sync and its rollback
    with pytest.raises(RinsyncError) as caught:
        snap.restore()
    assert caught.value.exit_code == 74
    assert elsewhere.read_bytes() == b"keep"


# --------------------------------------------------------------------------
# scripts/sync-and-reload.sh
# --------------------------------------------------------------------------


def test_sync_and_reload_script(env, server, httpserver):
    """The script reloads through rinsync only after a sync that changed the config, confirmed by the proxy;
    75 and 5 pass through, and a 5 leaves the config as it was."""
    config = new_site(env)
    proxy = StandIn(httpserver, config, env, KEY)
    marker = env / "reloads.log"
    wrapper = [str(REPO / "scripts" / "sync-and-reload.sh"), "--source-url", server.url]
    wrapper_env = subprocess_env(RINSYNC_BIN=f"{sys.executable} -m rinsync", RINSYNC_RETRY_BACKOFF="0.01",
                                 RINSYNC_RELOAD_CMD=f"echo reloaded >> {marker}; touch RELOAD",
                                 RINSYNC_PROXY_URL=proxy.url, LITELLM_MASTER_KEY=KEY, RINSYNC_RELOAD_TIMEOUT="2")

    def sync(**extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run(wrapper, env={**wrapper_env, **extra}, cwd=env, capture_output=True, text=True,
                              timeout=60)
        assert KEY not in done.stdout + done.stderr and "Traceback" not in done.stderr
        return done

    server.serve(CATALOG_NEW.read_bytes())
    first = sync()
    assert first.returncode == 0, first.stderr
    assert marker.read_text() == "reloaded\n"
    assert "serves the new config" in first.stderr
    assert proxy.served() == [e["model_name"] for e in load_model_list(config)]
    second = sync()
    assert second.returncode == 0 and "no changes" in second.stderr
    assert marker.read_text() == "reloaded\n"
    server.serve(b"<html>maintenance</html>", status=503)
    third = sync()
    assert third.returncode == 75 and "LiteLLM not reloaded" in third.stderr
    assert marker.read_text() == "reloaded\n"
    server.serve(subset_catalog(CATALOG_NEW, 300))
    kept = config.read_bytes()
    fourth = sync(RINSYNC_RELOAD_CMD="true", RINSYNC_MAX_REMOVE_FRACTION="1")
    assert fourth.returncode == 5, fourth.stderr
    assert "previous config restored" in fourth.stderr and "the proxy did not take the new config" in fourth.stderr
    assert config.read_bytes() == kept
