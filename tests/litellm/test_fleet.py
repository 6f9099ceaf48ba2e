"""`rinsync compile --reload-cmd … --proxy A --proxy B --proxy C`: a fleet, without real proxies.

Three stand-in proxies (tests/standin_proxy.py, each its own pytest-httpserver) read the one config
file at their "reload": ``touch rN/RELOAD`` makes replica N re-read it. The same paths run against three
real LiteLLM proxies in tests/integration/test_fleet_shared_file.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_sync import subset_catalog
from pytest_httpserver import HTTPServer
from standin_proxy import StandIn

from rinsync.apply import Change
from rinsync.litellm.fleet import FleetApplier, split_proxies
from rinsync.litellm.state import state_path
from rinsync.litellm.verify import load_model_list
from support import SAMPLE_CATALOG

KEY = "sk-fleet-secret-0123456789abcdef"
KEY_ENV = "RINSYNC_TEST_PROXY_KEY"
REPLICAS = 3


@pytest.fixture
def fleet(env, tmp_path, run_cli, monkeypatch):
    """A config synced from the sample catalog, a smaller catalog to sync next, three stand-ins on it."""
    monkeypatch.setenv(KEY_ENV, KEY)
    config = tmp_path / "config.yaml"
    done = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config))
    assert done.code == 0, done.err
    smaller = tmp_path / "smaller.json"
    smaller.write_bytes(subset_catalog(SAMPLE_CATALOG, 24))
    servers, proxies = [], []
    for i in range(1, REPLICAS + 1):
        server = HTTPServer(host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        (tmp_path / f"r{i}").mkdir()
        proxies.append(StandIn(server, config, tmp_path / f"r{i}", KEY))

    def sync(command: str, *extra: str, urls: list[str] | None = None):
        args = [a for url in (urls or [p.url for p in proxies]) for a in ("--proxy", url)]
        result = run_cli("compile", "--catalog", str(smaller), "--config", str(config), "--reload-cmd", command,
                         "--key-env", KEY_ENV, *args, *extra)
        assert KEY not in result.out + result.err, "the key leaked"
        assert "Traceback" not in result.err
        return result

    yield config, proxies, sync
    for server in servers:
        server.clear()
        server.stop()


def files(config: Path) -> dict[str, bytes | None]:
    return {p.name: (p.read_bytes() if p.exists() else None) for p in (config, state_path(config))}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("rinsync: error:")]


def test_per_replica_command_rolls_out_canary_first_each_confirmed_on_its_own_address(fleet, tmp_path):
    config, proxies, sync = fleet
    before = proxies[0].served()
    done = sync(f"echo {{index}} {{proxy}} >> {tmp_path}/ran; touch {tmp_path}/r{{index}}/RELOAD")
    assert done.code == 0, done.err
    after = [e["model_name"] for e in load_model_list(config)]
    assert after != before
    assert all(p.served() == after for p in proxies)
    assert (tmp_path / "ran").read_text().splitlines() == [f"{i} {p.url}" for i, p in enumerate(proxies, 1)]
    # the canary is confirmed before the second replica is touched, and so on down the fleet
    steps = [line for line in done.err.splitlines() if "reload: ran" in line or "confirmed: the proxy at" in line]
    assert len(steps) == 2 * REPLICAS, done.err
    for i, proxy in enumerate(proxies):
        assert f"r{i + 1}/RELOAD for the new config" in steps[2 * i]
        assert f"confirmed: the proxy at {proxy.url} serves the new config" in steps[2 * i + 1]
    assert f"confirmed: all {REPLICAS} replicas serve the new config" in done.err


def test_one_command_for_all_runs_once_then_every_replica_is_confirmed(fleet, tmp_path):
    config, proxies, sync = fleet
    flags = " ".join(f"{tmp_path}/r{i}/RELOAD" for i in range(1, REPLICAS + 1))
    done = sync(f"echo once >> {tmp_path}/ran; touch {flags}")
    assert done.code == 0, done.err
    assert (tmp_path / "ran").read_text() == "once\n"
    after = [e["model_name"] for e in load_model_list(config)]
    assert all(p.served() == after for p in proxies)
    for proxy in proxies:
        assert f"confirmed: the proxy at {proxy.url} serves the new config" in done.err


@pytest.mark.parametrize("failing, batch", [(1, "1"), (2, "1"), (3, "2")])
def test_a_replica_that_does_not_take_it_rolls_the_whole_fleet_back(fleet, tmp_path, failing, batch):
    config, proxies, sync = fleet
    kept = files(config)
    served = [p.served() for p in proxies]
    # replica `failing` ignores its reload; the others reload every time they are told to
    done = sync(f"[ {{index}} = {failing} ] || touch {tmp_path}/r{{index}}/RELOAD", "--reload-timeout", "2",
                "--fleet-batch", batch)
    assert done.code == 5, done.err
    assert files(config) == kept, "the previous config is back byte for byte"
    assert [p.served() for p in proxies] == served, "every replica serves the previous config again"
    [line] = error_lines(done.err)
    assert line.startswith("rinsync: error: new config rejected by the proxy, previous config restored: "
                           f"replica {failing} of {REPLICAS}: the proxy at {proxies[failing - 1].url} did not serve "
                           "the new config within 2s")
    now = [f"replica {i} ({p.url}): previous config" + (" (never reloaded)" if i > failing else "")
           for i, p in enumerate(proxies, 1)]
    assert line.endswith("; now " + ", ".join(now)), line
    # nothing after the failed replica (and its batch) was ever told to reload
    reloads = [ln for ln in done.err.splitlines() if "reload: ran" in ln]
    assert len([ln for ln in reloads if "for the new config (" in ln]) == max(failing, 2 if batch == "2" else 1)
    if failing < REPLICAS:
        assert not any(f"r{REPLICAS}/RELOAD" in ln for ln in reloads)


def test_the_progress_record_follows_every_replica(fleet, tmp_path):
    config, proxies, _ = fleet
    seen: list[list[dict]] = []

    class NoSnapshot:  # what was written is left in place: only the replicas' states matter here
        paths: list[Path] = []

        def restore(self) -> None:
            pass

    applier = FleetApplier(f"touch {tmp_path}/r{{index}}/RELOAD", [p.url for p in proxies], KEY,
                           on_progress=lambda progress: seen.append(progress))
    assert [r["state"] for r in applier.progress] == ["untouched"] * REPLICAS
    applier.apply(Change(config, NoSnapshot()))
    assert applier.progress == [{"proxy": p.url, "index": i, "state": "serves-new"}
                                for i, p in enumerate(proxies, 1)]
    # replica 2 is reloading while 1 already serves the new config and 3 was never touched
    assert [r["state"] for r in seen[4]] == ["serves-new", "reloading", "untouched"]


def test_proxy_lists_from_the_environment_and_bad_urls(fleet, run_cli, monkeypatch, tmp_path):
    config, proxies, _ = fleet
    assert split_proxies(("http://a:1, http://b:2", "http://c:3 http://a:1/v1")) == [
        "http://a:1", "http://b:2", "http://c:3"]
    monkeypatch.setenv("RINSYNC_PROXY_URL", ",".join(p.url for p in proxies))
    smaller = tmp_path / "smaller.json"
    done = run_cli("compile", "--catalog", str(smaller), "--config", str(config), "--key-env", KEY_ENV,
                   "--reload-cmd", f"touch {tmp_path}/r{{index}}/RELOAD")
    assert done.code == 0, done.err
    assert all(f"confirmed: the proxy at {p.url} serves the new config" in done.err for p in proxies)
    kept = files(config)
    bad = run_cli("compile", "--catalog", str(SAMPLE_CATALOG), "--config", str(config), "--key-env", KEY_ENV,
                  "--reload-cmd", "touch {index}", "--proxy", "http://127.0.0.1:1;rm -rf x")
    assert bad.code == 2 and "--proxy" in bad.err and "Traceback" not in bad.err
    assert files(config) == kept


def test_after_the_canary_a_batch_reloads_together_each_still_confirmed(fleet, tmp_path):
    config, proxies, sync = fleet
    done = sync(f"touch {tmp_path}/r{{index}}/RELOAD", "--fleet-batch", "2")
    assert done.code == 0, done.err
    steps = [("reload" if "reload: ran" in ln else "confirm", next(i for i, p in enumerate(proxies, 1)
                                                                    if f"r{i}/RELOAD" in ln or p.url in ln))
             for ln in done.err.splitlines() if "reload: ran" in ln or "confirmed: the proxy at" in ln]
    assert steps == [("reload", 1), ("confirm", 1), ("reload", 2), ("reload", 3), ("confirm", 2), ("confirm", 3)]
    after = [e["model_name"] for e in load_model_list(config)]
    assert all(p.served() == after for p in proxies)


def test_a_replica_that_is_not_a_litellm_proxy_stops_the_sync_before_anything_is_written(fleet, httpserver):
    config, proxies, sync = fleet
    kept = files(config)
    urls = [proxies[0].url, httpserver.url_for("/").rstrip("/"), proxies[2].url]  # answers 500 to everything
    done = sync("touch RELOAD-{index}", urls=urls)
    assert done.code == 1, done.err
    [line] = error_lines(done.err)
    assert line.startswith(f"rinsync: error: replica 2 of 3: the proxy at {urls[1]} answered HTTP 500")
    assert line.endswith("nothing written (--reload-cmd needs the proxy to confirm the new config)")
    assert files(config) == kept and not list(config.parent.glob("RELOAD-*"))


def test_one_command_for_all_that_misses_a_replica_rolls_all_back(fleet, tmp_path):
    config, proxies, sync = fleet
    kept = files(config)
    served = [p.served() for p in proxies]
    done = sync(f"echo ran >> {tmp_path}/ran; touch {tmp_path}/r1/RELOAD {tmp_path}/r2/RELOAD", "--reload-timeout", "2")
    assert done.code == 5, done.err
    assert (tmp_path / "ran").read_text() == "ran\nran\n", "once for the new config, once for the previous"
    assert files(config) == kept and [p.served() for p in proxies] == served
    [line] = error_lines(done.err)
    assert f"replica 3 of 3: the proxy at {proxies[2].url} did not serve the new config within 2s" in line
    assert line.endswith("; now " + ", ".join(f"replica {i} ({p.url}): previous config"
                                              for i, p in enumerate(proxies, 1)))
