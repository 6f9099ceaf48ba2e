"""The change report of one target as a pure function: added, removed, changed, price increases, expiring."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from jsonschema import Draft202012Validator

from rinsync.report.changes import build_report, notable, target_changes, to_json
from rinsync.resources import load_schema

TODAY = dt.date(2026, 11, 24)


def entry(name: str, source: str, prompt: float = 1e-6, completion: float = 2e-6, **info) -> dict:
    return {"model_name": name,
            "litellm_params": {"model": f"openrouter/{source}", "api_key": "os.environ/OPENROUTER_API_KEY"},
            "model_info": {"mode": "chat", "input_cost_per_token": prompt, "output_cost_per_token": completion,
                           **info, "generated_by": "rinsync", "openrouter_id": source}}


def report_of(old, new, expirations=None, **kw) -> dict:
    return target_changes(old, new, expirations or {}, TODAY, **kw)


def test_added_and_removed_name_models_with_their_openrouter_ids():
    old = [entry("or/b", "b/b"), entry("or/a", "a/a")]
    new = [entry("or/c", "c/c"), entry("or/a", "a/a")]
    got = report_of(old, new)
    assert got["added"] == [{"model": "or/c", "openrouter_id": "c/c"}]
    assert got["removed"] == [{"model": "or/b", "openrouter_id": "b/b"}]
    assert got["changed"] == [] and got["models"] == 2 and got["models_before"] == 2


def test_one_change_item_per_model_and_field_with_relative_change_for_prices():
    old = [entry("or/a", "a/a", prompt=1e-6, max_input_tokens=1000, supports_vision=False)]
    new = [entry("or/a", "a/a", prompt=3e-6, max_input_tokens=2000, supports_vision=True,
                 search_context_cost_per_query={"search_context_size_low": 0.01})]
    got = report_of(old, new)["changed"]
    by_field = {c["field"]: c for c in got}
    assert set(by_field) == {"model_info.input_cost_per_token", "model_info.max_input_tokens",
                             "model_info.supports_vision",
                             "model_info.search_context_cost_per_query.search_context_size_low"}
    assert by_field["model_info.input_cost_per_token"] == {"model": "or/a", "field": "model_info.input_cost_per_token",
                                                           "old": 1e-6, "new": 3e-6, "relative": 2.0}
    assert by_field["model_info.max_input_tokens"] == {"model": "or/a", "field": "model_info.max_input_tokens",
                                                       "old": 1000, "new": 2000}  # not a price: no relative
    added_price = by_field["model_info.search_context_cost_per_query.search_context_size_low"]
    assert added_price["old"] is None and added_price["relative"] is None


def test_price_increases_above_the_threshold_sorted_by_size():
    old = [entry("or/a", "a/a", 1e-6, 1e-6), entry("or/b", "b/b", 1e-6, 1e-6), entry("or/c", "c/c", 1e-6, 1e-6)]
    new = [entry("or/a", "a/a", 1.1e-6, 1e-6),  # exactly +10%: not above
           entry("or/b", "b/b", 1.5e-6, 0.5e-6),  # +50% in, -50% out
           entry("or/c", "c/c", 1e-6, 4e-6)]  # +300% out
    got = report_of(old, new)["price_increases"]
    assert [(c["model"], c["field"], c["relative"]) for c in got] == [
        ("or/c", "model_info.output_cost_per_token", 3.0), ("or/b", "model_info.input_cost_per_token", 0.5)]
    assert [c["model"] for c in report_of(old, new, threshold=0.05)["price_increases"]] == ["or/c", "or/b", "or/a"]


def test_expiring_within_n_days_of_the_compile_date():
    new = [entry("or/soon", "x/soon"), entry("or/edge", "x/edge"), entry("or/later", "x/later"),
           entry("or/past", "x/past"), entry("or/none", "x/none")]
    expirations = {"x/soon": "2026-11-30", "x/edge": "2026-12-08", "x/later": "2026-12-09", "x/past": "2026-11-20",
                   "x/gone": "2026-11-25"}  # x/gone is not generated: not reported
    got = report_of([], new, expirations)["expiring"]
    assert [(e["model"], e["days_left"]) for e in got] == [("or/edge", 14), ("or/past", -4), ("or/soon", 6)]
    assert [e["model"] for e in report_of([], new, expirations, expiring_days=3)["expiring"]] == ["or/past"]


def test_the_marker_is_no_change_and_a_literal_key_in_a_hand_edited_entry_is_redacted():
    old = entry("or/a", "a/a")
    new = entry("or/a", "a/a")
    new["litellm_params"]["api_key"] = "sk-live-hand-pasted-secret"
    new["model_info"]["generated_by"] = "someone"
    got = report_of([old], [new])
    assert [(c["field"], c["new"]) for c in got["changed"]] == [("litellm_params.api_key", "<redacted>")]
    assert "sk-live" not in json.dumps(got)


def test_the_same_entries_in_any_order_give_byte_identical_json():
    old = [entry(f"or/m{i}", f"m/{i}", prompt=i * 1e-7 + 1e-7) for i in range(30)]
    new = [entry(f"or/m{i}", f"m/{i}", prompt=(i % 7) * 1e-7 + 1e-7) for i in range(5, 40)]
    shuffled_old, shuffled_new = old[:], new[:]
    random.Random(7).shuffle(shuffled_old)
    random.Random(8).shuffle(shuffled_new)

    def text(o, n):
        return to_json(build_report({"litellm": report_of(o, n)}, {"source": "f", "date": None, "records": 1},
                                    TODAY, {"price_increase_threshold": 0.1, "expiring_days": 14},
                                    {"command": "diff", "exit_code": 0, "dry_run": True, "written": False,
                                     "applied": False, "confirmed": None, "error": None}))

    first = text(old, new)
    assert first == text(shuffled_old, shuffled_new)
    Draft202012Validator(load_schema("report.v1.schema.json")).validate(json.loads(first))


@pytest.mark.parametrize(("target", "code", "expected"), [
    ({"removed": [], "price_increases": [], "expiring": []}, 0, False),
    ({"removed": [{"model": "x"}], "price_increases": [], "expiring": []}, 0, True),
    ({"removed": [], "price_increases": [{"model": "x"}], "expiring": []}, 0, True),
    ({"removed": [], "price_increases": [], "expiring": [{"model": "x"}]}, 0, True),
    ({"removed": [], "price_increases": [], "expiring": []}, 75, True),
])
def test_notable_means_removed_price_increase_expiring_or_failed(target, code, expected):
    assert notable({"targets": {"litellm": target}, "outcome": {"exit_code": code}}) is expected


def test_booleans_numbers_and_non_finite_values():
    old = entry("or/a", "a/a", supports_vision=1, max_input_tokens=1000, extra=[1.0, float("nan")])
    new = entry("or/a", "a/a", supports_vision=True, max_input_tokens=1000.0, extra=[1.0, float("nan")])
    new["model_info"]["weird"] = float("inf")
    got = report_of([old], [new])["changed"]
    assert [(c["field"], c["old"], c["new"]) for c in got] == [("model_info.supports_vision", 1, True),
                                                               ("model_info.weird", None, None)]
    changed = report_of([old], [entry("or/a", "a/a", extra=[float("nan"), 2.0])])["changed"]
    assert {"model": "or/a", "field": "model_info.extra", "old": [1.0, None], "new": [None, 2.0]} in changed
    json.loads(to_json({"changed": changed}))  # strict JSON: no NaN
