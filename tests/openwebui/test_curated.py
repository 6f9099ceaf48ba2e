"""The curated chat view of the shipped rules: few models shown, no brand lost, LiteLLM still serves all,
``curated: null`` shows everything, and an admin who switches a hidden model on keeps it on."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine
from rinsync.openwebui.plan import plan
from rinsync.openwebui.records import build_records, flatten
from rinsync.source.catalog import load_catalog_file
from support import REPO, RULES_DIR, TODAY_EPOCH

TODAY = dt.date(2026, 11, 24)


def compiled(path, rules=None):
    engine = Engine(load_rules(rules or [RULES_DIR]), TODAY)
    catalog = load_catalog_file(path).records
    result = engine.compile(catalog)
    return catalog, result, build_records(engine, result.decisions)


def shown_ids(records) -> set[str]:
    return {r["meta"]["rinsync"]["openrouter_id"] for r in records if r.get("is_active", True)}


def brand(model_id: str) -> str:
    """The test's own brand: provider and the first word of the name, digits and dots removed."""
    provider, name = model_id.lstrip("~").split("/", 1)
    return provider + "/" + re.sub(r"[0-9.]", "", re.split(r"[-:]", name)[0])


def test_the_2026_08_19_selector_lists_at_most_150_while_litellm_serves_all_412(catalogs):
    path = next(p for p in catalogs if p.name == "openrouter-models-2026-08-19.json")
    _, result, records = compiled(path)
    assert len(result.entries) == 412 and len(records) == 412
    shown = shown_ids(records)
    assert 100 <= len(shown) <= 150, len(shown)
    # the example: of the gpt-4o family only one model, neither a :batch nor a dated snapshot
    assert not any(i.endswith(":batch") or re.search(r"-\d{4}-\d{2}-\d{2}$", i) for i in shown)
    assert "openai/gpt-4o-2024-08-06" not in shown and "openai/gpt-4o:batch" not in shown
    assert {"openai/gpt-5.5-pro", "anthropic/claude-sonnet-5", "anthropic/claude-opus-5"} <= shown
    assert "openai/gpt-5-mini" not in shown and "openai/gpt-5.4-mini" in shown  # a newer generation wins


def test_no_brand_loses_its_newest_model_on_any_catalog(catalogs):
    checked = 0
    for path in catalogs:
        catalog, result, records = compiled(path)
        created = {r["id"]: r.get("created") or 0 for r in catalog}
        shown = shown_ids(records)
        assert len(shown) < len(records), path.name
        kept = [d.model_id for d in result.decisions if d.kept]
        # what the plain rule hides (safety classifiers, expiring models) and aliases are no brand's face
        eligible = [i for i in kept if "guard" not in i.lower() and not i.startswith("~")
                    and not i.endswith(":batch")]
        brands: dict[str, list[str]] = {}
        for model_id in eligible:
            brands.setdefault(brand(model_id), []).append(model_id)
        listed = set(created)

        def model(model_id: str, listed: set[str] = listed) -> str:  # a variant or dated snapshot: its model
            bare = model_id.split(":")[0]
            undated = re.sub(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{2}-\d{2})$", "", bare)
            return undated if undated in listed else bare

        for name, ids in brands.items():
            newest = max(created[i] for i in ids)
            tops = {model(i) for i in ids if created[i] == newest}
            visible = {model(i) for i in shown if brand(i) == name}
            assert visible, (path.name, name)
            assert tops & visible or any(created.get(i, 0) >= newest for i in visible), (path.name, name, tops)
            checked += 1
    assert checked > 300


def test_curated_null_shows_every_model_again(tmp_path, catalogs):
    path = next(p for p in catalogs if p.name == "openrouter-models-2026-08-19.json")
    local = tmp_path / "90-local.yaml"
    local.write_text("version: 1\nopenwebui: {curated: null}\n")
    _, _, records = compiled(path, [RULES_DIR, local])
    hidden = {r["id"] for r in records if not r.get("is_active", True)}
    assert len(records) == 412
    assert all("guard" in r["meta"]["rinsync"]["openrouter_id"] for r in records if r["id"] in hidden), hidden


@pytest.mark.parametrize("rounds", [1, 3])
def test_an_admin_who_switches_a_hidden_model_on_keeps_it_on_across_syncs(catalogs, rounds):
    path = next(p for p in catalogs if p.name == "openrouter-models-2026-08-19.json")
    _, _, records = compiled(path)
    hidden = next(r for r in records if r["meta"]["rinsync"]["openrouter_id"] == "openai/gpt-4o-2024-08-06")
    assert hidden["is_active"] is False
    first = plan(records, [], {})
    current = {c.model_id: dict(c.form, is_active=c.form.get("is_active", True)) for c in first.of("create")}
    base = {c.model_id: c.generated for c in first.of("create")}
    current[hidden["id"]]["is_active"] = True  # the admin switches it on in Open WebUI
    for _ in range(rounds):
        again = plan(records, list(current.values()), base)
        assert again.kept == {hidden["id"]: ["active"]}
        assert not again.of("create") and not again.of("delete")
        for change in again.of("update"):
            assert change.model_id != hidden["id"] or change.form.get("is_active") is True
        assert hidden["id"] not in {c.model_id for c in again.of("update")}
        base.update(again.unchanged)
    # and a model the admin did not touch still follows the rules
    other = next(r for r in records if r.get("is_active") is False and r["id"] != hidden["id"])
    assert flatten(current[other["id"]])["active"] is False


def test_lint_warns_when_the_rules_hide_a_whole_brand_and_not_for_the_shipped_view(tmp_path, catalogs):
    from rinsync.commands.lint import lint

    path = next(p for p in catalogs if p.name == "openrouter-models-2026-08-19.json")
    records = load_catalog_file(path).records
    assert not [f for f in lint([RULES_DIR], records, TODAY) if f.code == "openwebui-brand-hidden"]
    local = tmp_path / "90-local.yaml"
    local.write_text("version: 1\nopenwebui:\n  curated: \"!starts_with(id, 'anthropic/')\"\n")
    found = [f for f in lint([RULES_DIR, local], records, TODAY) if f.code == "openwebui-brand-hidden"]
    assert len(found) == 1 and (found[0].file, found[0].line) == (str(local), 3), found
    assert "anthropic/claude" in found[0].message and found[0].severity == "warning"


def test_explain_shows_visibility_and_access(tmp_path, catalogs):
    import subprocess
    import sys

    path = next(p for p in catalogs if p.name == "openrouter-models-2026-08-19.json")
    local = tmp_path / "90-local.yaml"
    local.write_text("version: 1\nopenwebui:\n"
                     "  groups: \"per_million(pricing.completion) > `10` && ['premium'] || null\"\n")

    def explain(model: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "rinsync", "explain", model, "--catalog", str(path), "--rules",
                               str(RULES_DIR), "--rules", str(local)], capture_output=True, text=True, timeout=120,
                              env={"SOURCE_DATE_EPOCH": TODAY_EPOCH, "PATH": "/usr/bin:/bin"}, cwd=REPO)
        assert done.returncode == 0, done.stderr
        return [ln for ln in done.stdout.splitlines() if ln.startswith(("openwebui visibility", "openwebui access"))]

    assert explain("openai/gpt-4o-2024-08-06") == [
        "openwebui visibility: hidden from chat by the curated view (curated:); LiteLLM still serves it, an admin "
        "can switch it on", "openwebui access: every user"]
    assert explain("openai/gpt-5.5-pro") == ["openwebui visibility: shown in the chat selector",
                                             "openwebui access: members of premium only"]
