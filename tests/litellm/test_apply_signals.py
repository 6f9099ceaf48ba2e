"""Signals during an apply (issue 17, family 4), against the stand-in proxy (tests/standin_proxy.py).

rinsync runs in a subprocess so it can be signalled for real. The reload command used here makes the
stand-in stop confirming the first time it runs (``touch ONCE BROKEN``: it answers 503), and serve again
the second time (the rollback or the next sync): so a run is always caught in the middle of its confirmation.
Every run has a time limit; a hang fails the test.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers_sync import rinsync_cmd, subprocess_env, subset_catalog, wait_until
from hostile import assert_one_line_error, run_limited
from standin_proxy import StandIn

from rinsync.files.journal import journal_path
from rinsync.litellm.state import state_path
from rinsync.litellm.verify import load_model_list
from support import SAMPLE_CATALOG

KEY = "sk-signal-secret-0123456789abcdef"
KEY_ENV = "RINSYNC_TEST_PROXY_KEY"
# first run: the proxy stops answering (503) and rinsync waits; any later run: it answers again and re-reads
NEVER_CONFIRMS_ONCE = "if [ -e ONCE ]; then rm -f BROKEN; else touch ONCE BROKEN; fi; touch RELOAD"
LIMIT = 60.0


@pytest.fixture
def site(env, tmp_path, run_cli, httpserver):
    config = tmp_path / "config.yaml"
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config))
    assert done.code == 0, done.err
    smaller = tmp_path / "smaller.json"
    smaller.write_bytes(subset_catalog(SAMPLE_CATALOG, 24))
    proxy = StandIn(httpserver, config, tmp_path, KEY)
    return config, smaller, proxy


def args(config: Path, catalog: Path, proxy: StandIn, command: str | None, *extra: str) -> list[str]:
    reload = ["--reload-cmd", command, "--proxy", proxy.url, "--key-env", KEY_ENV] if command else []
    return ["compile", "--catalog", str(catalog), "--config", str(config), *reload, *extra]


def start(cwd: Path, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen(rinsync_cmd(*arguments), cwd=cwd, env=subprocess_env(**{KEY_ENV: KEY}),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def files(config: Path) -> dict[str, bytes | None]:
    return {p.name: (p.read_bytes() if p.exists() else None) for p in (config, state_path(config))}


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".rinsync-journal" in p.name or "rinsync-tmp" in p.name)


def contents(directory: Path) -> dict[str, bytes]:
    """Every file but the lock (which holds the pid of its last holder)."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and ".rinsync-lock" not in p.name}


def caught_in_confirmation(tmp_path: Path) -> None:
    assert wait_until(lambda: (tmp_path / "ONCE").exists(), LIMIT), "the reload command never ran"
    time.sleep(0.5)  # rinsync is now asking the proxy, which answers 503


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_confirmation_rolls_back_reloads_and_confirms_the_previous_config(site, tmp_path, sig):
    config, smaller, proxy = site
    old, served = files(config), proxy.served()
    run = start(tmp_path, *args(config, smaller, proxy, NEVER_CONFIRMS_ONCE, "--reload-timeout", "40"))
    caught_in_confirmation(tmp_path)
    run.send_signal(sig)
    out, err = run.communicate(timeout=LIMIT)
    assert run.returncode == 5, err
    assert "Traceback" not in err and KEY not in out + err
    [line] = [x for x in err.splitlines() if x.startswith("rinsync: error:")]
    assert line == ("rinsync: error: new config rejected by the proxy, previous config restored: rinsync was "
                    f"interrupted by {sig.name} before the proxy confirmed it")
    assert "serves the previous config" in err
    assert files(config) == old
    assert proxy.served() == served
    assert leftovers(tmp_path) == []


def test_a_sigkill_during_confirmation_is_completed_by_the_next_sync_even_with_no_changes(site, tmp_path):
    config, smaller, proxy = site
    run = start(tmp_path, *args(config, smaller, proxy, NEVER_CONFIRMS_ONCE, "--reload-timeout", "40"))
    caught_in_confirmation(tmp_path)
    run.kill()
    run.communicate(timeout=LIMIT)
    new = files(config)
    assert json.loads(journal_path(config).read_text())["phase"] == "applying"
    # the same sync again: "no changes" to write, but the unconfirmed apply is finished first
    done = run_limited(*args(config, smaller, proxy, NEVER_CONFIRMS_ONCE, "--reload-timeout", "20"), cwd=tmp_path,
                       timeout=LIMIT, **{KEY_ENV: KEY})
    assert done.code == 0, done.err
    assert "recovering: the apply journal .rinsync-journal.config.yaml.json records an apply a killed run left " \
           "unfinished (phase 'applying'" in done.err
    assert "recovered: the proxy serves the files on disk" in done.err
    assert "no changes" in done.err
    assert files(config) == new
    assert proxy.served() == [e["model_name"] for e in load_model_list(config)]
    assert leftovers(tmp_path) == []


def test_a_sigkill_during_the_reload_is_rolled_back_by_the_next_sync_when_the_new_files_are_not_served(
        site, tmp_path):
    config, smaller, proxy = site
    old, served = files(config), proxy.served()
    run = start(tmp_path, *args(config, smaller, proxy, "echo $$ > RELOADING; exec sleep 60"))
    assert wait_until(lambda: (tmp_path / "RELOADING").exists(), LIMIT)
    run.kill()
    run.communicate(timeout=LIMIT)
    subprocess.run(["kill", (tmp_path / "RELOADING").read_text().strip()], check=False)
    assert json.loads(journal_path(config).read_text())["phase"] == "applying"
    # a reload that does nothing: the new files are never served, so the saved ones are restored and confirmed;
    # then this sync writes its own change, which is rolled back in turn (exit 5), the files as before the kill
    done = run_limited(*args(config, smaller, proxy, "true", "--reload-timeout", "3"), cwd=tmp_path, timeout=LIMIT,
                       **{KEY_ENV: KEY})
    assert done.code == 5, done.err
    assert "recovered: new config rejected by the proxy, previous config restored: the proxy at" in done.err
    assert "the files are as they were before the interrupted apply" in done.err
    assert files(config) == old
    assert proxy.served() == served
    assert leftovers(tmp_path) == []


def test_a_journal_without_a_reload_command_stops_the_sync_and_changes_nothing(site, tmp_path):
    config, smaller, proxy = site
    run = start(tmp_path, *args(config, smaller, proxy, NEVER_CONFIRMS_ONCE, "--reload-timeout", "40"))
    caught_in_confirmation(tmp_path)
    run.kill()
    run.communicate(timeout=LIMIT)
    before = contents(tmp_path)
    done = run_limited(*args(config, SAMPLE_CATALOG, proxy, None), cwd=tmp_path, timeout=LIMIT)
    assert_one_line_error(done, 1, "records an apply a killed run left unfinished",
                          "sync again with the same --reload-cmd and --proxy")
    assert contents(tmp_path) == before


@pytest.mark.parametrize("plant, code, fragment", [
    (lambda path: path.write_text('{"version": 1, "generator": "rinsync"}'), 1, "is damaged"),
    (lambda path: path.symlink_to("/etc/passwd"), 74, "symbolic link"),
    (lambda path: path.write_bytes(b"[" * 5_000_000), 1, "is damaged"),
])
def test_a_planted_or_damaged_journal_is_one_line_and_nothing_changes(site, tmp_path, plant, code, fragment):
    config, smaller, proxy = site
    plant(journal_path(config))
    before = files(config)
    done = run_limited(*args(config, smaller, proxy, "touch RELOAD"), cwd=tmp_path, timeout=LIMIT,
                       **{KEY_ENV: KEY})
    assert_one_line_error(done, code, fragment)
    assert files(config) == before


def test_the_journal_is_on_disk_before_the_files_are_replaced(site, tmp_path, run_cli, monkeypatch):
    """A kill right after the files were renamed, before any reload ran (the sync stopped there), is repaired."""
    from rinsync.litellm.config_target import ConfigTarget

    config, smaller, proxy = site
    served = proxy.served()
    monkeypatch.setenv(KEY_ENV, KEY)
    with monkeypatch.context() as patch:
        patch.setattr(ConfigTarget, "apply", lambda *a, **k: None)  # the run "dies" once the files are written
        done = run_cli(*args(config, smaller, proxy, "touch RELOAD"))
    assert done.code == 0, done.err
    document = json.loads(journal_path(config).read_text())
    assert document["phase"] == "writing" and proxy.served() == served
    assert KEY not in journal_path(config).read_text()
    done = run_cli(*args(config, smaller, proxy, "touch RELOAD"))
    assert done.code == 0, done.err
    assert "recovered: the proxy serves the files on disk" in done.err and "no changes" in done.err
    assert proxy.served() == [e["model_name"] for e in load_model_list(config)] != served
    assert leftovers(tmp_path) == []


def test_a_signal_during_the_reload_command_kills_it_and_rolls_back(site, tmp_path):
    import os

    config, smaller, proxy = site
    old, served = files(config), proxy.served()
    hangs_once = "if [ -e ONCE ]; then touch RELOAD; else touch ONCE; echo $$ > RELOADING; exec sleep 60; fi"
    run = start(tmp_path, *args(config, smaller, proxy, hangs_once, "--reload-timeout", "40"))
    assert wait_until(lambda: (tmp_path / "RELOADING").exists() and (tmp_path / "RELOADING").read_text().strip(),
                      LIMIT)
    pid = int((tmp_path / "RELOADING").read_text())
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=LIMIT)
    assert run.returncode == 5, err
    assert "interrupted by SIGTERM before the proxy confirmed it" in err and "Traceback" not in err
    with pytest.raises(ProcessLookupError):  # the reload command's process group was killed
        os.kill(pid, 0)
    assert files(config) == old and proxy.served() == served
    assert leftovers(tmp_path) == []


def test_include_mode_journal_is_repaired_by_an_include_mode_sync_only(site, tmp_path, run_cli, monkeypatch):
    from rinsync.litellm.config_target import ConfigTarget

    config, smaller, proxy = site
    monkeypatch.setenv(KEY_ENV, KEY)
    include = ["--include-file", "generated.yaml", "--migrate"]
    with monkeypatch.context() as patch:
        patch.setattr(ConfigTarget, "apply", lambda *a, **k: None)  # killed once the files are written
        done = run_cli(*args(config, smaller, proxy, "touch RELOAD", *include))
    assert done.code == 0, done.err
    named = {Path(f["path"]).name for f in json.loads(journal_path(config).read_text())["files"]}
    assert named == {"config.yaml", "generated.yaml", ".rinsync-state.generated.yaml.json"}
    before = contents(tmp_path)
    normal = run_cli(*args(config, smaller, proxy, "touch RELOAD"))  # a sync of another shape: refused
    assert normal.code == 1 and "an --include-file sync needs the same option" in normal.err
    assert contents(tmp_path) == before
    done = run_cli(*args(config, smaller, proxy, "touch RELOAD", "--include-file", "generated.yaml"))
    assert done.code == 0, done.err
    assert "recovered: the proxy serves the files on disk" in done.err
    assert leftovers(tmp_path) == []
