"""Issue 9, family 6: 63 daily real catalogs through `rinsync compile --config`, as an hourly cron would.

After every step: exit 0 (the shrink guard never fires on real churn), hand-written entries and top-level
keys unchanged, a hand edit on a generated entry kept, the generated entries equal to a fresh compile of
that snapshot, the file untouched by a second run on the same snapshot, backups and state bounded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers_sync import load, new_site, subset_catalog

from rinsync.engine import Engine, compile_date
from rinsync.files.backups import stamped_backups
from rinsync.litellm.entries import is_generated
from rinsync.litellm.state import KEEP_GENERATIONS, state_path
from rinsync.source.catalog import load_catalog_file
from support import RULES_DIR, SHARED

HISTORY = sorted((SHARED / "catalogs" / "history").glob("openrouter-models-*.json"))
EDITED = "openrouter/qwen-qwen3.5-27b"  # present in every snapshot


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("OPENROUTER_API_KEY", "RINSYNC_MAX_REMOVE_FRACTION", "RINSYNC_SOURCE_URL"):
        monkeypatch.delenv(name, raising=False)
    return new_site(tmp_path)


def split(config: Path) -> tuple[dict, list, dict[str, dict]]:
    document = load(config)
    entries = document.pop("model_list")
    return document, [e for e in entries if not is_generated(e)], {e["model_name"]: e for e in entries
                                                                    if is_generated(e)}


def add_temperature(config: Path) -> None:
    text = config.read_text()
    found = re.search(rf"^( *)- model_name: {re.escape(EDITED)}\n +litellm_params:\n", text, re.M)
    assert found
    config.write_text(text[:found.end()] + f"{found.group(1)}    temperature: 0.3\n" + text[found.end():])


def test_replay_of_63_daily_catalogs(site, run_cli, monkeypatch):
    assert len(HISTORY) == 63, f"expected the 63 snapshots under {SHARED}/catalogs/history"
    from rinsync.dsl.rules import load_rules

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795478400")
    engine = Engine(load_rules([RULES_DIR]), compile_date())
    top, hand, _ = split(site)
    written = 0
    for step, snapshot in enumerate(HISTORY):
        label = f"step {step} ({snapshot.name})"
        result = run_cli("compile", "--config", str(site), "--catalog", str(snapshot))
        assert result.code == 0, f"{label}: {result.err}"
        assert "warning" not in result.err, f"{label}: {result.err}"
        written += "no changes" not in result.err
        if step == 0:
            add_temperature(site)
        now_top, now_hand, generated = split(site)
        assert now_top == top and now_hand == hand, label
        assert generated[EDITED]["litellm_params"]["temperature"] == 0.3, label
        expected = {e["model_name"]: e for e in engine.compile(load_catalog_file(snapshot).records).entries}
        generated[EDITED] = json.loads(json.dumps(generated[EDITED]))
        del generated[EDITED]["litellm_params"]["temperature"]
        assert generated == expected, label
        # the cron runs again within the hour: same catalog, nothing to do, nothing touched
        before, mtime = site.read_bytes(), site.stat().st_mtime_ns
        state_before = state_path(site).read_bytes()
        again = run_cli("compile", "--config", str(site), "--catalog", str(snapshot))
        assert again.code == 0 and "no changes, file left as it was" in again.err, f"{label}: {again.err}"
        assert site.read_bytes() == before and site.stat().st_mtime_ns == mtime, label
        if step:  # (after step 0 the state records the hand-edited config's hash once)
            assert state_path(site).read_bytes() == state_before, label
        assert len(stamped_backups(site)) <= 5, label
        assert len(json.loads(state_before)["generations"]) <= KEEP_GENERATIONS, label
        assert not [p for p in site.parent.iterdir() if "rinsync-tmp" in p.name], label
    assert written >= 40  # the series really changes the config most days


def test_shrink_guard_judges_shrinkage_not_churn(site, run_cli):
    year_ago = SHARED / "catalogs" / "openrouter-models-2025-05-23.json"
    today = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
    assert run_cli("compile", "--config", str(site), "--catalog", str(year_ago)).code == 0
    before = len(split(site)[2])
    result = run_cli("compile", "--config", str(site), "--catalog", str(today))  # grew while replacing most
    assert result.code == 0, result.err
    removed = int(re.search(r"-(\d+) removed", result.err).group(1))
    assert removed > before / 2 and len(split(site)[2]) > before
    truncated = site.parent / "truncated.json"
    truncated.write_bytes(subset_catalog(today, 100))  # a genuinely short answer
    config_before = site.read_bytes()
    refused = run_cli("compile", "--config", str(site), "--catalog", str(truncated))
    assert refused.code == 3
    errors = [line for line in refused.err.splitlines() if line.startswith("rinsync: error:")]
    assert len(errors) == 1 and "refusing to remove" in errors[0] and "fewer > 50%" in errors[0]
    assert "Traceback" not in refused.err and site.read_bytes() == config_before
