"""A fleet of three REAL LiteLLM proxies sharing one config file, each in gunicorn mode (docs/fleet.md).

``rinsync compile --reload-cmd 'kill -HUP $(cat pidN)' --proxy URL1 --proxy URL2 --proxy URL3`` (the command
with ``{index}``: one SIGHUP per replica, canary first). Meanwhile a client sends requests round-robin to
every replica. Asserted:

* 0 failed requests for models served before and after, on any replica;
* the sync ends (exit 0) with every replica serving exactly the compiled set with the compiled values;
* a replica whose reload does not take effect (replica 2's command does nothing) makes the whole fleet
  roll back: exit 5, one error line naming replica 2, the file back byte for byte, every replica serving
  the previous set.

Lean on purpose (a 2-core machine): one gunicorn worker per replica, 40-model catalogs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fleet_load import RoundRobin, cut, start_all
from load import GunicornProxy

import harness
from harness import MASTER_KEY
from support import RULES_DIR

REPLICAS = 3



def names(config: Path) -> list[str]:
    return [e["model_name"] for e in harness.load_model_list(config)]


@pytest.mark.integration
def test_a_fleet_sharing_one_file_is_synced_under_load_and_rolled_back_as_one(tmp_path, fake_openrouter):
    harness.require_integration("litellm")
    rules = tmp_path / "90-attribution.yaml"
    rules.write_text(harness.attribution_rules(fake_openrouter.api_base))
    config = tmp_path / "config.yaml"
    config.write_text(harness.hand_written_config(fake_openrouter.api_base))
    first, second = cut(tmp_path, "v0.json", 0, 40), cut(tmp_path, "v1.json", 8, 48)

    def compile_(catalog: Path, *extra: str):
        return harness.run_rinsync("compile", "--catalog", catalog, "--rules", RULES_DIR, "--rules", rules,
                                   "--config", config, *extra, env={"LITELLM_MASTER_KEY": MASTER_KEY}, timeout=400)

    assert compile_(first).returncode == 0
    proxies = [GunicornProxy(config, log_dir=tmp_path / f"proxy{i}", workers=1) for i in range(1, REPLICAS + 1)]
    try:
        start_all(proxies)
        for i, proxy in enumerate(proxies, 1):
            (tmp_path / f"pid{i}").write_text(str(proxy.proc.pid))
        hup = f"kill -HUP $(cat {tmp_path}/pid{{index}})"
        fleet = [a for p in proxies for a in ("--proxy", p.url)]
        before = names(config)
        nxt = tmp_path / "next.yaml"
        assert compile_(second, "--output", nxt).returncode == 0
        hand = {e["model_name"] for e in harness.load_model_list(config) if not harness.is_generated(e)}
        coming = set(names(nxt)) | hand
        with RoundRobin([p.url for p in proxies], MASTER_KEY) as load:
            load.set_window([n for n in before if n in coming], sorted(set(before) ^ coming))
            time.sleep(1.0)
            done = compile_(second, "--reload-cmd", hup, *fleet, "--reload-timeout", "120")
            assert done.returncode == 0, done.stderr
            after = names(config)
            assert set(after) == coming and set(after) != set(before)
            for proxy in proxies:
                assert f"confirmed: the proxy at {proxy.url} serves the new config" in done.stderr
                harness.assert_serves_exactly(proxy.models(), after)
                harness.assert_model_info_matches([e for e in harness.load_model_list(config)
                                                   if harness.is_generated(e)], proxy.model_info())
            load.set_window(after, [])
            time.sleep(1.0)

            # replica 2 ignores its reload: the canary already serves the new set and must go back
            kept = {p: p.read_bytes() for p in (config, tmp_path / ".rinsync-state.config.yaml.json")}
            load.set_window([n for n in after if n in set(before)], sorted(set(before) ^ set(after)))
            ignore_2 = f"[ {{index}} = 2 ] || kill -HUP $(cat {tmp_path}/pid{{index}})"
            rejected = compile_(first, "--reload-cmd", ignore_2, *fleet, "--reload-timeout", "20")
            assert rejected.returncode == 5, rejected.stderr
            errors = [line for line in rejected.stderr.splitlines() if line.startswith("rinsync: error:")]
            assert len(errors) == 1 and errors[0].startswith(
                "rinsync: error: new config rejected by the proxy, previous config restored: replica 2 of 3: the "
                f"proxy at {proxies[1].url} did not serve the new config within 20s"), rejected.stderr
            assert errors[0].endswith(f"replica 3 ({proxies[2].url}): previous config (never reloaded)"), errors[0]
            assert "Traceback" not in rejected.stderr
            assert {p: p.read_bytes() for p in kept} == kept
            for proxy in proxies:
                harness.assert_serves_exactly(proxy.models(), after)
            load.set_window(after, [])
            time.sleep(1.0)
        assert MASTER_KEY not in "".join(r.stdout + r.stderr for r in (done, rejected))
        records = load.snapshot()
        failed = load.failures()
        stall = max(r["end"] - r["start"] for r in records)
        print(f"\n{len(records)} requests to {REPLICAS} replicas, {len(failed)} failed that must not, "
              f"{len(load.resets())} connection reset(s) retried, longest request {stall:.2f}s")
        assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"
        assert len([r for r in records if r["kind"] == "chat" and r["must"]]) > 30
    finally:
        for proxy in proxies:
            proxy.stop()
