"""--metrics-file: Prometheus' text format, read back with prometheus_client's own parser."""

from __future__ import annotations

import time

import pytest
from helpers_sync import new_site
from prometheus_client.parser import text_string_to_metric_families

from support import SHARED

OLD = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"
NEW = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"


def samples(path) -> dict[tuple[str, tuple], float]:
    parsed = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


@pytest.fixture
def site(env):
    return new_site(env)


def test_a_successful_run_writes_every_metric(site, run_cli, env):
    metrics = env / "rinsync.prom"
    assert run_cli("compile", "--catalog", str(OLD), "--config", str(site)).code == 0
    started = time.time()
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--metrics-file", str(metrics)).code == 0
    got = samples(metrics)
    run_at = got[("rinsync_last_run_timestamp_seconds", ())]
    assert started - 1 <= run_at <= time.time() + 1
    assert got[("rinsync_last_success_timestamp_seconds", ())] == run_at
    assert got[("rinsync_last_exit_code", ())] == 0
    assert 0 <= got[("rinsync_duration_seconds", ())] <= time.time() - started + 1
    assert got[("rinsync_models", (("target", "litellm"),))] == 412
    assert got[("rinsync_changes", (("kind", "added"),))] == 142
    assert got[("rinsync_changes", (("kind", "removed"),))] == 89
    assert got[("rinsync_changes", (("kind", "price_increases"),))] > 0
    assert ("rinsync_changes", (("kind", "expiring"),)) in got


def test_a_failed_run_keeps_the_last_success_time(site, run_cli, env):
    metrics = env / "rinsync.prom"
    assert run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--metrics-file", str(metrics)).code == 0
    success = samples(metrics)[("rinsync_last_success_timestamp_seconds", ())]
    time.sleep(0.05)
    failed = run_cli("compile", "--catalog", "cache", "--config", str(site), "--metrics-file", str(metrics))
    assert failed.code == 75
    got = samples(metrics)
    assert got[("rinsync_last_exit_code", ())] == 75
    assert got[("rinsync_last_success_timestamp_seconds", ())] == success
    assert got[("rinsync_last_run_timestamp_seconds", ())] > success


def test_a_first_failed_run_has_no_success_time(site, run_cli, env):
    metrics = env / "rinsync.prom"
    assert run_cli("compile", "--catalog", "cache", "--config", str(site), "--metrics-file", str(metrics)).code == 75
    got = samples(metrics)
    assert got[("rinsync_last_exit_code", ())] == 75
    assert ("rinsync_last_success_timestamp_seconds", ()) not in got


@pytest.mark.parametrize("previous", ["garbage\x00\xff", "rinsync_last_success_timestamp_seconds nan\n",
                                      "rinsync_last_success_timestamp_seconds\n", "x" * (2 << 20)])
def test_a_damaged_previous_file_is_replaced_not_trusted(site, run_cli, env, previous):
    metrics = env / "rinsync.prom"
    metrics.write_text(previous)
    assert run_cli("compile", "--catalog", "cache", "--config", str(site), "--metrics-file", str(metrics)).code == 75
    got = samples(metrics)
    assert got[("rinsync_last_exit_code", ())] == 75
    assert ("rinsync_last_success_timestamp_seconds", ()) not in got


def test_a_planted_link_at_the_metrics_path_is_a_warning(site, run_cli, env):
    victim = env / "victim.txt"
    victim.write_text("keep me")
    (env / "rinsync.prom").symlink_to(victim)
    link = str(env / "rinsync.prom")
    result = run_cli("compile", "--catalog", str(NEW), "--config", str(site), "--metrics-file", link)
    assert result.code == 0 and "warning: --metrics-file" in result.err
    assert victim.read_text() == "keep me"
