"""Applying syncs to the REAL LiteLLM proxy under load, the zero-downtime way (docs/apply.md).

The proxy runs in gunicorn mode (``litellm --run_gunicorn --num_workers 2``); every sync is
``rinsync compile --reload-cmd CMD --proxy URL`` with CMD ``kill -HUP <master pid>`` or
``scripts/gunicorn-rolling-reload.sh`` (new workers first, then the old ones retired), in turn. Meanwhile a client keeps
requests flowing through the proxy: ``GET /v1/models`` and chat completions (answered by the
harness's FakeOpenRouter on loopback) for models that stay, appear and disappear. Asserted:

* zero failed requests for models served before and after each sync, and zero failed ``/v1/models``
  (a connection reset before any answer is retried once, as the OpenAI SDK does; resets are counted);
* every sync ends (exit 0) with the proxy serving exactly the compiled set with the compiled values,
  and no request started after rinsync returned sees the previous set;
* rollback: a reload command that does not take effect (``true``) ends with exit 5, the previous
  files back byte for byte and served, and still no failed request.

Bounded: every loop has a deadline; everything stays on 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from load import GunicornProxy, Load

import harness
from harness import MASTER_KEY
from support import REPO, RULES_DIR, SHARED

CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
WORKERS = 2
CLIENTS = 1  # one client, always a request in flight; concurrent clients: see docs/apply.md and bench_apply.py


def versions(tmp: Path) -> list[Path]:
    """Four catalogs cut from one real capture: models disappear, appear, and change price."""
    data = json.loads(CATALOG.read_bytes())
    records = data["data"][:90]
    cuts = [records[0:60], records[10:70], copy.deepcopy(records[10:70]), records[5:75]]
    for record in cuts[2][:15]:  # the same models, new prices: values change, the set does not
        record["pricing"]["prompt"] = str(float(record["pricing"]["prompt"]) * 2 + 1e-7)
    paths = []
    for i, cut in enumerate(cuts):
        path = tmp / f"catalog-v{i}.json"
        path.write_text(json.dumps({**data, "data": cut}))
        paths.append(path)
    return paths


def names(config: Path) -> list[str]:
    return [e["model_name"] for e in harness.load_model_list(config)]


@pytest.mark.integration
def test_syncs_under_load_lose_no_request_and_a_reload_without_effect_is_rolled_back(tmp_path, fake_openrouter):
    harness.require_integration("litellm")
    rules = tmp_path / "90-attribution.yaml"
    rules.write_text(harness.attribution_rules(fake_openrouter.api_base))
    config = tmp_path / "config.yaml"
    config.write_text(harness.hand_written_config(fake_openrouter.api_base))
    catalogs = versions(tmp_path)

    def sync(catalog: Path, reload_cmd: str, timeout: str = "60"):
        return harness.run_rinsync("compile", "--catalog", catalog, "--rules", RULES_DIR, "--rules", rules,
                                   "--config", config, "--reload-cmd", reload_cmd, "--proxy", proxy.url,
                                   "--reload-timeout", timeout, env={"LITELLM_MASTER_KEY": MASTER_KEY},
                                   timeout=240)

    first = harness.run_rinsync("compile", "--catalog", catalogs[0], "--rules", RULES_DIR, "--rules", rules,
                                "--config", config)
    assert first.returncode == 0, first.stderr
    proxy = GunicornProxy(config, log_dir=tmp_path / "proxy", workers=WORKERS)
    proxy.start()
    try:
        hup = f"kill -HUP {proxy.proc.pid}"
        rolling = f"{REPO / 'scripts' / 'gunicorn-rolling-reload.sh'} 'kill -s %s {proxy.proc.pid}' {WORKERS} 12"
        with Load(proxy.url, MASTER_KEY, clients=CLIENTS) as load:
            before = names(config)
            load.set_window(before, [])
            time.sleep(1.0)
            changes = []
            starts = []
            for catalog, reload_cmd in zip(catalogs[1:] + catalogs[:1], [hup, rolling, hup, rolling], strict=True):
                old_set = set(before)
                # the next set is known only after compiling: a dry run tells which names move
                plan = harness.run_rinsync("compile", "--catalog", catalog, "--rules", RULES_DIR, "--rules", rules,
                                           "--config", config, "--dry-run", "-v")
                assert plan.returncode == 0, plan.stderr
                added = [line[4:] for line in plan.stdout.splitlines() + plan.stderr.splitlines()
                         if line.startswith("  + ")]
                removed = {line[4:] for line in plan.stdout.splitlines() + plan.stderr.splitlines()
                           if line.startswith("  - ")}
                changed = [line for line in plan.stdout.splitlines() + plan.stderr.splitlines()
                           if line.startswith("  ~ ")]
                load.set_window([n for n in before if n not in removed], added + sorted(removed))
                starts.append(time.monotonic())
                done = sync(catalog, reload_cmd, timeout="120")
                returned = time.monotonic()
                assert done.returncode == 0, done.stderr
                assert "confirmed: the proxy at" in done.stderr and "serves the new config" in done.stderr
                after = names(config)
                new_entries = harness.load_model_list(config)
                harness.assert_serves_exactly(proxy.models(), after)
                harness.assert_model_info_matches([e for e in new_entries if harness.is_generated(e)],
                                                  proxy.model_info())
                changes.append((len(added), len(removed), returned, frozenset(after)))
                load.set_window(after, [])
                time.sleep(1.5)
                assert old_set != set(after) or (catalog == catalogs[2] and len(changed) >= 10)
                before = after

            # rollback: the reload command does nothing, so the proxy keeps the old config
            starts.append(time.monotonic())
            kept = {p: p.read_bytes() for p in (config, tmp_path / ".rinsync-state.config.yaml.json")}
            rejected = sync(catalogs[1], "true", timeout="8")
            assert rejected.returncode == 5, rejected.stderr
            errors = [line for line in rejected.stderr.splitlines() if line.startswith("rinsync: error:")]
            assert len(errors) == 1 and errors[0].startswith(
                "rinsync: error: new config rejected by the proxy, previous config restored: the proxy at "
                f"{proxy.url} did not serve the new config within 8s"), rejected.stderr
            assert "Traceback" not in rejected.stderr
            assert "confirmed: the proxy at" in rejected.stderr and "serves the previous config" in rejected.stderr
            assert {p: p.read_bytes() for p in kept} == kept
            harness.assert_serves_exactly(proxy.models(), before)
            time.sleep(1.0)
        assert MASTER_KEY not in "".join(r.stdout + r.stderr for r in (done, rejected))

        records = load.snapshot()
        failed = load.failures()
        models_ok = [r for r in records if r["kind"] == "models" and r["status"] == 200]
        stall = max(r["end"] - r["start"] for r in records)
        resets = [r for r in records if r["reset"]]
        print(f"\n{len(records)} requests, {len(failed)} failed that must not, {len(resets)} connection reset(s) "
              f"retried, longest request {stall:.2f}s, changes per sync (added, removed): "
              f"{[(a, r) for a, r, _, _ in changes]}")
        assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"
        assert len([r for r in records if r["kind"] == "chat" and r["must"]]) > 50
        assert len(models_ok) > 30
        # after rinsync returned, nobody saw the previous set any more
        for (added, removed, returned, after), next_start in zip(changes, starts[1:], strict=True):
            later = [r for r in models_ok if returned < r["start"] < next_start]
            assert later and all(r["served"] == after for r in later), (added, removed)
        # models that appeared answer, models that went away do not (the load saw both sides)
        volatile = [r for r in records if r["kind"] == "chat" and not r["must"]]
        assert any(r["status"] == 200 for r in volatile) and any(r["status"] != 200 for r in volatile)
    finally:
        proxy.stop()
