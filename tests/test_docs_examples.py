"""Every rules example in docs/rules.md is a valid rules file that works on a real catalog."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rinsync.dsl.rules import check_rules, load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import REPO, RULES_DIR, SAMPLE_CATALOG, SHARED

DOC = REPO / "docs" / "rules.md"
SUPPORT_CATALOG_2026 = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
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


def test_the_openrouter_bills_recipe_leaves_every_price_out(tmp_path):
    """docs/rules.md's 'OpenRouter's billed cost wins' recipe (also in docs/pricing.md) removes every
    cost key the shipped rules write, and nothing else."""
    recipe = next(b for b in BLOCKS if "openrouter-bills" in b)
    assert f"```yaml\n{recipe}```" in (REPO / "docs" / "pricing.md").read_text()
    shipped = load_rules([RULES_DIR])
    cost_keys = {key for key in shipped.capabilities if "cost" in key}
    nulled = set(re.findall(r"^ {6}(\w+): null$", recipe, re.M))
    assert nulled == cost_keys and len(cost_keys) >= 20

    catalog = load_catalog_file(SUPPORT_CATALOG_2026).records
    path = tmp_path / "90-local.yaml"
    path.write_text(recipe)
    today = dt.date(2026, 11, 24)
    before = Engine(shipped, today).compile(catalog).entries
    after = Engine(load_rules([RULES_DIR, path]), today).compile(catalog).entries
    assert [e["model_name"] for e in after] == [e["model_name"] for e in before]
    written = {k for e in before for k in e["model_info"] if "cost" in k}
    assert written == cost_keys - {"input_cost_per_image_token"}  # no catalog lists image_token yet
    for old, new in zip(before, after):
        assert new["model_info"] == {k: v for k, v in old["model_info"].items() if "cost" not in k}
        assert new["litellm_params"] == old["litellm_params"]
