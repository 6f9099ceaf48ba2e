"""Every rules example in docs/rules.md is a valid rules file that works on a real catalog."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rinsync.dsl.rules import check_rules, load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import REPO, RULES_DIR, SAMPLE_CATALOG

DOC = REPO / "docs" / "rules.md"
BLOCKS = [b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S) if "version: 1" in b]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
def test_example_lints_clean_and_compiles(block, tmp_path):
    path = tmp_path / "example.yaml"
    path.write_text(block)
    _, findings = check_rules([path])
    assert findings == []
    shipped_ids = {rule.id for rule in load_rules([RULES_DIR]).rules}
    standalone = any(f"id: {rule_id}\n" in block for rule_id in shipped_ids)
    ruleset = load_rules([path] if standalone else [RULES_DIR, path])
    result = Engine(ruleset, dt.date(2026, 11, 24)).compile(load_catalog_file(SAMPLE_CATALOG).records)
    assert result.entries, "an example should keep some models of the sample catalog"


def test_recipes_do_what_they_say(tmp_path):
    def kept(block: str) -> set[str]:
        path = tmp_path / "recipe.yaml"
        path.write_text(block)
        result = Engine(load_rules([RULES_DIR, path]), dt.date(2026, 11, 24)).compile(
            load_catalog_file(SAMPLE_CATALOG).records)
        return {e["model_info"]["openrouter_id"] for e in result.entries}

    only = next(b for b in BLOCKS if "only-openai-anthropic" in b)
    assert {i.split("/")[0] for i in kept(only)} == {"openai", "anthropic"}
    cheap = next(b for b in BLOCKS if "drop-expensive" in b)
    assert "openai/gpt-4o" in kept(cheap) and "openai/gpt-4o:extended" not in kept(cheap)
    tools = next(b for b in BLOCKS if "tools-and-vision" in b)
    assert kept(tools) and "openai/gpt-3.5-turbo" not in kept(tools)


def test_there_are_examples():
    assert len(BLOCKS) >= 8
