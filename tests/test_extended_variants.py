"""The shipped rule on extended-context variants, on every shared catalog: dropped beside the base, else kept."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from spec_oracle import expected_drop, extended_base

from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import CATALOGS, RULES_DIR

TODAY = dt.date(2026, 11, 24)
EXCEPTED = ("128k-online", "sonar")


@pytest.fixture(scope="module")
def ruleset():
    return load_rules([RULES_DIR])


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: Path(p).stem)
def test_every_extended_variant_is_dropped_exactly_when_its_base_is_there(path, ruleset):
    raw = json.loads(Path(path).read_text())["data"]
    ids = {r["id"] for r in raw}
    result = Engine(ruleset, TODAY).compile(load_catalog_file(path).records)
    checked = 0
    for record in raw:
        base = extended_base(record["id"])
        if base is None or any(word in record["id"] for word in EXCEPTED):
            continue
        checked += 1
        decision = result.decision_for(record["id"])
        by_this_rule = not decision.kept and decision.decided_by is not None and \
            decision.decided_by.id == "drop-extended-variants"
        if base in ids:
            assert by_this_rule, f"{record['id']}: its base {base} is in the catalog, it must be dropped"
        else:
            assert not by_this_rule, f"{record['id']}: {base} is not in the catalog, it is the only version"
            assert decision.kept == (expected_drop(record, TODAY, ids) is None)
    if "2024-02-18" not in str(path):
        assert checked, "every catalog but the oldest has extended variants"


@pytest.mark.parametrize("name", ["2024-11-11", "2025-04-06", "2025-05-23", "2025-10-06"])
def test_phi_3_128k_models_are_kept_where_they_are_the_only_version(name, ruleset):
    path = next(p for p in CATALOGS if name in p.name)
    result = Engine(ruleset, TODAY).compile(load_catalog_file(path).records)
    for model_id in ("microsoft/phi-3-medium-128k-instruct", "microsoft/phi-3-mini-128k-instruct",
                     "microsoft/phi-3.5-mini-128k-instruct"):
        decision = result.decision_for(model_id)
        assert decision.kept, f"{model_id} in {name}: {decision.dropped_reason}"
        match = next(m for m in decision.matches if m.rule.id == "drop-extended-variants")
        assert match.excepted


def test_gpt_4o_extended_is_dropped_beside_gpt_4o():
    path = next(p for p in CATALOGS if "2025-10-06" in p.name)
    result = Engine(load_rules([RULES_DIR]), TODAY).compile(load_catalog_file(path).records)
    assert result.decision_for("openai/gpt-4o").kept
    assert result.decision_for("openai/gpt-4o:extended").dropped_reason == "excluded by rule 'drop-extended-variants'"
