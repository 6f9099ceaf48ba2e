"""Every rules example in docs/rules.md is a valid rules file that works on a real catalog."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rinsync.dsl.rules import check_rules, load_rules
from rinsync.engine import Engine
from rinsync.source.catalog import load_catalog_file
from support import CATALOGS, REPO, RULES_DIR, SAMPLE_CATALOG, SHARED

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


# --- the curation recipes, on a real catalog ------------------------------------------------------

REAL = next(p for p in CATALOGS if "2026-08-19" in p.name)
OLD = next(p for p in CATALOGS if "2024-11-11" in p.name)


def _compile(tmp_path, block: str | None, catalog=REAL):
    paths = [RULES_DIR]
    if block is not None:
        path = tmp_path / "recipe.yaml"
        path.write_text(block)
        paths.append(path)
    return Engine(load_rules(paths), dt.date(2026, 11, 24)).compile(load_catalog_file(catalog).records)


def _kept(result) -> list[dict]:
    return [d.record for d in result.decisions if d.kept]


def _block(marker: str) -> str:
    return next(b for b in BLOCKS if marker in b)


def test_recipe_newest_per_family(tmp_path):
    from rinsync.dsl.catalogindex import CatalogIndex

    before = _kept(_compile(tmp_path, None))
    index = CatalogIndex(load_catalog_file(REAL).records)
    after = _kept(_compile(tmp_path, _block("id: newest-per-family")))
    families: dict[str, list[dict]] = {}
    for record in before:
        families.setdefault(index.family(record["id"]), []).append(record)
    expected = {min(group, key=lambda r: (-r["created"], r["id"]))["id"] for group in families.values()}
    assert {r["id"] for r in after} == expected
    assert len(after) < len(before) and "openai/gpt-4o-2024-11-20" in expected and "openai/gpt-4o" not in expected


def test_recipe_three_per_provider(tmp_path):
    before = _kept(_compile(tmp_path, None))
    after = {r["id"] for r in _kept(_compile(tmp_path, _block("id: three-per-provider")))}
    providers: dict[str, list[dict]] = {}
    for record in before:
        providers.setdefault(record["id"].split("/")[0], []).append(record)
    expected = {r["id"] for group in providers.values()
                for r in sorted(group, key=lambda r: (-r["created"], r["id"]))[:3]}
    assert after == expected and any(len(g) > 3 for g in providers.values())


def test_recipe_ten_cheapest_with_tools_and_vision(tmp_path):
    from rinsync.dsl.scores import blended_per_million

    result = _compile(tmp_path, _block("id: ten-cheapest"))
    kept = _kept(result)
    assert len(kept) == 10
    assert all("tools" in r["supported_parameters"] and "image" in r["architecture"]["input_modalities"]
               for r in kept)
    dropped = [d.record for d in result.decisions if d.selected_out_by is not None]
    assert dropped and max(blended_per_million(r) for r in kept) <= min(
        p for p in (blended_per_million(r) for r in dropped) if p is not None)


def test_recipe_drop_extended_beside_base(tmp_path):
    result = _compile(tmp_path, _block("id: drop-extended-beside-base"), OLD)
    assert result.decision_for("microsoft/phi-3-mini-128k-instruct").kept
    assert result.decision_for("openai/gpt-4o:extended").decided_by.id == "drop-extended-beside-base"
    assert result.decision_for("openai/gpt-3.5-turbo-16k").decided_by.id == "drop-extended-beside-base"


def test_recipe_scores_in_model_info(tmp_path):
    result = _compile(tmp_path, _block("intelligence_index: score(@, 'intelligence')"))
    entry = next(e for e in result.entries if e["model_info"]["openrouter_id"] == "google/gemini-3.7-flash")
    assert (entry["model_info"]["intelligence_index"], entry["model_info"]["coding_index"],
            entry["model_info"]["arena_elo"]) == (56, 76.1, 1374)


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
