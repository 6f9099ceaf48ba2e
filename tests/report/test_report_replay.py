"""Issue 19, replay: the 63 daily shared snapshots synced in order, a --report each day, each report checked
against an independent computation: added and removed from the config files before and after, the prompt
and completion price changes straight from the two catalogs' pricing strings."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from helpers_sync import load

from rinsync.litellm.entries import is_generated
from support import SHARED

HISTORY = sorted((SHARED / "catalogs" / "history").glob("openrouter-models-*.json"))
PRICES = {"prompt": "model_info.input_cost_per_token", "completion": "model_info.output_cost_per_token"}


def generated(config) -> dict[str, str]:
    """model name -> OpenRouter id of the config's generated entries."""
    if not config.exists():
        return {}
    return {e["model_name"]: e["model_info"]["openrouter_id"] for e in load(config)["model_list"] if is_generated(e)}


def pricing(path) -> dict[str, dict]:
    return {r["id"]: r.get("pricing") or {} for r in json.loads(path.read_bytes())["data"] if isinstance(r, dict)}


def usd(text) -> float | None:
    """OpenRouter's price string as USD per token: None when missing, "-1" (dynamic) or not a number."""
    if not isinstance(text, str) or text.strip() in ("", "-1"):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return float(value) if value.is_finite() and value >= 0 else None


def expected_price_changes(old_prices, new_prices, models: dict[str, str]) -> set[tuple]:
    changes = set()
    for name, source in models.items():
        for key, field in PRICES.items():
            before, after = usd(old_prices[source].get(key)), usd(new_prices[source].get(key))
            if before != after:
                rel = round((after - before) / before, 6) if before and after is not None else None
                changes.add((name, field, before, after, rel))
    return changes


def test_each_days_report_equals_an_independent_computation(env, run_cli):
    assert len(HISTORY) == 63, f"expected the 63 snapshots under {SHARED}/catalogs/history"
    config = env / "config.yaml"
    previous = None
    days_with = {"added": 0, "removed": 0, "prices": 0, "increases": 0}
    for day, catalog in enumerate(HISTORY):
        before = generated(config)
        out = env / f"report-{day}.json"
        result = run_cli("compile", "--catalog", str(catalog), "--config", str(config), "--force", "--report", str(out))
        assert result.code == 0, (catalog.name, result.err)
        after = generated(config)
        target = json.loads(out.read_text())["targets"]["litellm"]
        assert {(a["model"], a["openrouter_id"]) for a in target["added"]} == \
            {(n, after[n]) for n in set(after) - set(before)}, catalog.name
        assert {(r["model"], r["openrouter_id"]) for r in target["removed"]} == \
            {(n, before[n]) for n in set(before) - set(after)}, catalog.name
        reported = {(c["model"], c["field"], c["old"], c["new"], c["relative"]) for c in target["changed"]
                    if c["field"] in PRICES.values()}
        if previous is not None:
            common = {n: s for n, s in after.items() if n in before and before[n] == s}
            expected = expected_price_changes(pricing(previous), pricing(catalog), common)
            assert reported == expected, catalog.name
            increases = {(c["model"], c["field"]) for c in target["price_increases"] if c["field"] in PRICES.values()}
            assert increases == {(m, f) for m, f, _, _, rel in expected if rel is not None and rel > 0.1}
            days_with["prices"] += bool(expected)
            days_with["increases"] += bool(increases)
        days_with["added"] += bool(target["added"]) and previous is not None
        days_with["removed"] += bool(target["removed"])
        previous = catalog
    # the series exercises every kind (so the comparison above is not vacuous)
    assert all(count >= 3 for count in days_with.values()), days_with
