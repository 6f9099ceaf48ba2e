"""Every shipped filter rule says which words of the original spec it implements, quoting them exactly."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine
from support import RULES_DIR, SHARED

SPEC = SHARED / "spec" / "dynamic-models.md"


def _plain(text: str) -> str:
    return re.sub(r"[*`]", "", text)


def test_each_filter_rule_quotes_the_spec():
    spec = _plain(SPEC.read_text())
    rules = [r for r in load_rules([RULES_DIR]).rules if r.origin.file.endswith("10-filter.yaml")]
    assert [r.id for r in rules] == ["drop-unpriced", "drop-expired", "drop-deprecated", "drop-extended-variants"]
    for rule in rules:
        quote = re.match(r'Spec: "([^"]+)"', rule.description)
        assert quote, f"{rule.id}: the description must start with Spec: \"<the spec's words>\""
        assert quote.group(1) in spec, f"{rule.id}: {quote.group(1)!r} is not in {SPEC.name}"


@pytest.mark.parametrize("pricing, kept", [
    ({"prompt": "0.000001"}, True),  # a prompt price and no completion price is pricing information
    ({"completion": "0.000001"}, True),
    ({"prompt": "-1", "completion": "-1"}, True),  # dynamic (routers)
    ({"prompt": "0", "completion": "0"}, True),  # free
    ({}, False),
    ({"prompt": "", "completion": ""}, False),
    (None, False),
])
def test_available_means_has_pricing_information(pricing, kept):
    engine = Engine(load_rules([RULES_DIR]), dt.date(2026, 11, 24))
    record = {"id": "a/b"} if pricing is None else {"id": "a/b", "pricing": pricing}
    decision = engine.decide(record)
    assert decision.kept is kept
    if not kept:
        assert decision.decided_by.id == "drop-unpriced"
