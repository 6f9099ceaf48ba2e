"""Issue 19 on the REAL LiteLLM proxy: the change report and the metrics of a sync applied with --reload-cmd.

A sync whose reload the proxy confirms reports ``applied`` and ``confirmed``; one whose reload does nothing is
rolled back (exit 5) and reports ``confirmed: false``, and its metrics keep the last success time.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from load import GunicornProxy
from prometheus_client.parser import text_string_to_metric_families

import harness
from harness import MASTER_KEY
from support import RULES_DIR, SHARED

CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"


def cut(tmp: Path, name: str, records: list) -> Path:
    data = json.loads(CATALOG.read_bytes())
    path = tmp / name
    path.write_text(json.dumps({**data, "data": records}))
    return path


def metrics(path: Path) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(path.read_text()) for s in f.samples
            if not s.labels}



@pytest.fixture
def fake_openrouter():
    """This module's own fake upstream (not the session's): the proxy here starts with nothing another test left."""
    with harness.FakeOpenRouter() as fake:
        yield fake

@pytest.mark.integration
def test_report_and_metrics_of_an_applied_and_of_a_rolled_back_sync(tmp_path, fake_openrouter):
    harness.require_integration("litellm")
    rules = tmp_path / "90-attribution.yaml"
    rules.write_text(harness.attribution_rules(fake_openrouter.api_base))
    config = tmp_path / "config.yaml"
    config.write_text(harness.hand_written_config(fake_openrouter.api_base))
    records = json.loads(CATALOG.read_bytes())["data"][:40]
    dearer = copy.deepcopy(records[5:40])
    raised = [r for r in dearer if float(r["pricing"]["prompt"]) > 0][:5]  # from 0, a rise has no relative size
    for record in raised:
        record["pricing"]["prompt"] = str(float(record["pricing"]["prompt"]) * 3)
    v0, v1 = cut(tmp_path, "v0.json", records[:30]), cut(tmp_path, "v1.json", dearer)
    report, prom = tmp_path / "report.json", tmp_path / "rinsync.prom"

    def sync(catalog: Path, reload_cmd: str, timeout: str):
        return harness.run_rinsync("compile", "--catalog", catalog, "--rules", RULES_DIR, "--rules", rules,
                                   "--config", config, "--reload-cmd", reload_cmd, "--proxy", proxy.url,
                                   "--reload-timeout", timeout, "--report", report, "--metrics-file", prom,
                                   env={"LITELLM_MASTER_KEY": MASTER_KEY}, timeout=240)

    first = harness.run_rinsync("compile", "--catalog", v0, "--rules", RULES_DIR, "--rules", rules,
                                "--config", config)
    assert first.returncode == 0, first.stderr
    proxy = GunicornProxy(config, log_dir=tmp_path / "proxy", workers=1)
    proxy.start()
    try:
        done = sync(v1, f"kill -HUP {proxy.proc.pid}", "120")
        assert done.returncode == 0, done.stderr
        got = json.loads(report.read_text())
        assert got["outcome"] == {"command": "compile", "exit_code": 0, "dry_run": False, "written": True,
                                  "applied": True, "confirmed": True, "error": None}
        target = got["targets"]["litellm"]
        assert len(target["removed"]) == 5 and len(target["added"]) == 10
        assert len(raised) == 5 and {c["model"] for c in target["price_increases"]} == {
            e["model_name"] for e in harness.load_model_list(config)
            if harness.is_generated(e) and e["model_info"]["openrouter_id"] in {r["id"] for r in raised}}
        harness.assert_serves_exactly(proxy.models(), [e["model_name"] for e in harness.load_model_list(config)])
        success = metrics(prom)["rinsync_last_success_timestamp_seconds"]
        assert metrics(prom)["rinsync_last_exit_code"] == 0
        assert "removed (5)" in done.stderr  # notable: the digest follows the summary

        kept = config.read_bytes()
        rejected = sync(v0, "true", "8")
        assert rejected.returncode == 5, rejected.stderr
        assert config.read_bytes() == kept
        got = json.loads(report.read_text())
        assert got["outcome"]["exit_code"] == 5
        assert got["outcome"]["applied"] is True and got["outcome"]["confirmed"] is False
        assert "rolled back" in got["outcome"]["error"] or "previous config restored" in got["outcome"]["error"]
        after = metrics(prom)
        assert after["rinsync_last_exit_code"] == 5
        assert after["rinsync_last_success_timestamp_seconds"] == success
        assert MASTER_KEY not in report.read_text() + prom.read_text() + done.stderr + rejected.stderr
    finally:
        proxy.stop()
