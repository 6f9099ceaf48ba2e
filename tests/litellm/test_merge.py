"""Three-way merge against the last generated state, the plan, the shrink guard, the splice of model_list."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers_sync import CATALOG_2024, CATALOG_NEW, CATALOG_OLD, dump, entry, load, new_site

from rinsync.diagnostics import RinsyncError
from rinsync.litellm.configfile import (
    ExistingConfig,
    check_shrink,
    merge3,
    plan_merge,
    read_config,
    render,
)
from rinsync.litellm.state import load_base, state_bytes, state_path

GEN = {"generated_by": "rinsync"}


def gen(name: str, **info) -> dict:
    return {"model_name": name, "litellm_params": {"model": f"openrouter/{name}", "api_key": "os.environ/K"},
            "model_info": {"mode": "chat", **info, **GEN, "openrouter_id": name}}


def existing(entries: list, **top) -> ExistingConfig:
    document = {**top, "model_list": entries}
    return ExistingConfig(path=None, raw=yaml.safe_dump(document).encode(), document=document, model_list=entries)


# --------------------------------------------------------------------------- merge3


def test_merge3_kubectl_rules():
    kept, conflicts = [], []
    base = {"a": 1, "b": 1, "c": 1, "d": 1}
    current = {"a": 1, "b": 2, "c": 1, "d": 5, "hand": True}  # b, d edited by hand; hand added
    new = {"a": 9, "b": 1, "c": 1, "d": 7}  # a, d changed by the generator
    merged = merge3(base, current, new, "", kept, conflicts)
    assert merged == {"a": 9, "b": 2, "c": 1, "d": 5, "hand": True}
    assert kept == ["b", "hand"] and conflicts == ["d"]


def test_merge3_hand_deletion_sticks_and_new_key_arrives():
    kept, conflicts = [], []
    merged = merge3({"x": 1, "y": 1}, {"y": 1}, {"x": 1, "y": 1, "z": 3}, "", kept, conflicts)
    assert merged == {"y": 1, "z": 3} and kept == ["x"]


def test_plan_added_removed_changed_skipped():
    hand = {"model_name": "mine", "litellm_params": {"model": "openrouter/x/y"}}  # no marker: hand-written
    shadow = {"model_name": "b", "litellm_params": {"model": "openai/b"}}
    current = [hand, shadow, gen("a", price=1), gen("gone", price=1)]
    compiled = [gen("a", price=2), gen("b"), gen("c")]
    plan = plan_merge(existing(current), compiled, {"a": gen("a", price=1), "gone": gen("gone", price=1)})
    assert plan.added == ["c"] and plan.removed == ["gone"] and plan.skipped == ["b"]
    assert [(c.name, c.fields) for c in plan.changed] == [("a", ["model_info.price"])]
    assert plan.entries[:2] == [hand, shadow]  # hand-written first, exactly as they were
    assert [e["model_name"] for e in plan.entries[2:]] == ["a", "c"]


def test_plan_without_state_replaces_generated_entries():
    current = [gen("a", price=1, temperature=0.1)]
    plan = plan_merge(existing(current), [gen("a", price=2)], None)
    assert plan.entries == [gen("a", price=2)]
    assert any("no usable last-sync state" in note for note in plan.notes)


def test_markers_always_restored():
    edited = gen("a")
    edited["model_info"]["openrouter_id"] = "edited"
    plan = plan_merge(existing([edited]), [gen("a")], {"a": gen("a")})
    assert plan.entries[0]["model_info"]["openrouter_id"] == "a"


@pytest.mark.parametrize("removed,total,fraction,force,refused", [
    (5, 10, 0.5, False, False), (6, 10, 0.5, False, True), (6, 10, 0.5, True, False),
    (10, 10, 1.0, False, False), (1, 10, 0.0, False, True), (0, 0, 0.5, False, False),
])
def test_shrink_guard(removed, total, fraction, force, refused):
    current = [gen(f"m{i}") for i in range(total)]
    compiled = [gen(f"m{i}") for i in range(removed, total)]
    plan = plan_merge(existing(current), compiled, {})
    assert len(plan.removed) == removed
    message = check_shrink(plan, fraction, force)
    assert (message is not None) == refused
    if refused:
        assert f"refusing to remove {removed} of {total} generated models" in message


def test_shadowed_names_do_not_count_for_the_guard():
    current = [{"model_name": f"m{i}", "litellm_params": {"model": "x"}} for i in range(3)]
    current += [gen(f"m{i}") for i in range(4)]
    plan = plan_merge(existing(current), [gen(f"m{i}") for i in range(4)], {})
    assert sorted(plan.removed) == ["m0", "m1", "m2"] and plan.remove_fraction() == 0.0


# --------------------------------------------------------------------------- reading and rendering


def test_unparseable_and_wrong_shapes(tmp_path):
    path = tmp_path / "c.yaml"
    for text, message in [("model_list: [\n", "not valid YAML"), ("- a\n- b\n", "top level must be a mapping"),
                          ("model_list: {a: 1}\n", "'model_list' must be a list")]:
        path.write_text(text)
        with pytest.raises(RinsyncError) as info:
            read_config(path)
        assert message in info.value.message and "nothing written" in info.value.message
        assert info.value.exit_code == 1
    assert read_config(tmp_path / "missing.yaml").raw is None
    path.write_text("")
    assert read_config(path).document == {}


def test_render_keeps_other_sections_verbatim(tmp_path):
    text = ("# header comment\ngeneral_settings:   # inline\n  master_key: 'os.environ/MK'\n\n"
            "model_list:\n  - model_name: mine   # my model\n    litellm_params: {model: openai/gpt-4o}\n"
            "# trailing comment of the list\n\nlitellm_settings:\n  drop_params: True\n")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    config = read_config(path)
    out = render(config, config.hand_written + [gen("a")]).decode()
    assert out.startswith("# header comment\ngeneral_settings:   # inline\n  master_key: 'os.environ/MK'\n\n")
    assert out.endswith("# trailing comment of the list\n\nlitellm_settings:\n  drop_params: True\n")
    assert yaml.safe_load(out)["model_list"][1] == gen("a")


def test_render_falls_back_to_a_full_dump_when_anchors_cross_sections(tmp_path):
    text = ("model_list:\n- &mine\n  model_name: mine\n  litellm_params: {model: openai/gpt-4o}\n"
            "router_settings:\n  fallbacks: [*mine]\n")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    config = read_config(path)
    out = yaml.safe_load(render(config, config.hand_written + [gen("a")]))
    assert list(out) == ["model_list", "router_settings"]
    assert out["router_settings"] == config.document["router_settings"]


def test_render_appends_model_list_when_absent(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("general_settings: {master_key: x}  # keep me")
    config = read_config(path)
    out = render(config, [gen("a")]).decode()
    assert out.startswith("general_settings: {master_key: x}  # keep me\nmodel_list:\n")


# --------------------------------------------------------------------------- state


def test_state_generations_survive_a_crash_between_writes(tmp_path):
    config = tmp_path / "config.yaml"
    old_bytes, new_bytes = b"old: 1\n", b"new: 1\n"
    state_path(config).write_bytes(state_bytes(config, [gen("a", price=1)], old_bytes, None))
    config.write_bytes(old_bytes)
    assert load_base(config, old_bytes).entries == {"a": gen("a", price=1)}
    # the next run writes the state first, then is killed before the config rename
    state_path(config).write_bytes(state_bytes(config, [gen("a", price=2)], new_bytes, old_bytes))
    assert load_base(config, old_bytes).entries == {"a": gen("a", price=1)}
    assert load_base(config, new_bytes).entries == {"a": gen("a", price=2)}
    edited = load_base(config, b"hand edited\n")
    assert edited.entries == {"a": gen("a", price=2)} and edited.note == "config edited since the last sync"


def test_state_missing_or_corrupt(tmp_path):
    config = tmp_path / "config.yaml"
    assert load_base(config, b"x").entries is None
    state_path(config).write_text("{not json")
    base = load_base(config, b"x")
    assert base.entries is None and "unreadable" in base.note


# --------------------------------------------------------------------------- through the CLI


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    return new_site(tmp_path)


def sync(run_cli, config, catalog, *extra):
    return run_cli("compile", "--config", str(config), "--catalog", str(catalog), *extra)


def edit(config, name, change):
    document = load(config)
    for item in document["model_list"]:
        if item.get("model_name") == name:
            change(item)
    config.write_text(dump(document))


def test_three_way_merge_example(site, run_cli):
    """The operator sets temperature on openrouter/openai-gpt-4o; the next sync keeps it and updates prices."""
    assert sync(run_cli, site, CATALOG_OLD).code == 0
    before = entry(site, "openrouter/openai-gpt-4o")
    assert "temperature" not in before["litellm_params"]
    edit(site, "openrouter/openai-gpt-4o", lambda e: e["litellm_params"].update(temperature=0.7))
    # a second model, whose price changes between the captures, with a hand edit and a hand deletion
    edit(site, "openrouter/deepseek-deepseek-chat", lambda e: (e["litellm_params"].update(max_tokens=4096),
                                                              e["model_info"].pop("supports_vision")))
    result = sync(run_cli, site, CATALOG_NEW, "-v")
    assert result.code == 0, result.err
    after = entry(site, "openrouter/openai-gpt-4o")
    assert after["litellm_params"]["temperature"] == 0.7
    assert after["model_info"]["cache_read_input_token_cost"] == 1.25e-06  # new in the 2026-08 capture
    # the old capture lists no cache price: a cached token cost the prompt price (docs/pricing.md)
    old_info = before["model_info"]
    assert old_info["cache_read_input_token_cost"] == old_info["input_cost_per_token"] != 1.25e-06
    old_ds = next(e for e in load(site.parent / "config.yaml.backup")["model_list"]
                  if e["model_name"] == "openrouter/deepseek-deepseek-chat")
    ds = entry(site, "openrouter/deepseek-deepseek-chat")
    assert ds["litellm_params"]["max_tokens"] == 4096 and "supports_vision" not in ds["model_info"]
    assert ds["model_info"]["input_cost_per_token"] != old_ds["model_info"]["input_cost_per_token"]
    assert "= openrouter/openai-gpt-4o: kept hand edits litellm_params.temperature" in result.err
    # and the edit keeps surviving later syncs
    assert sync(run_cli, site, CATALOG_NEW).code == 0
    assert entry(site, "openrouter/openai-gpt-4o")["litellm_params"]["temperature"] == 0.7


def test_conflicting_edit_keeps_the_operator_value(site, run_cli):
    assert sync(run_cli, site, CATALOG_OLD).code == 0
    edit(site, "openrouter/deepseek-deepseek-chat", lambda e: e["model_info"].update(input_cost_per_token=1e-9))
    result = sync(run_cli, site, CATALOG_NEW, "-v")
    assert entry(site, "openrouter/deepseek-deepseek-chat")["model_info"]["input_cost_per_token"] == 1e-9
    assert "kept hand value over a new generated value for model_info.input_cost_per_token" in result.err


def test_without_state_hand_edits_are_replaced_with_a_warning(site, run_cli):
    assert sync(run_cli, site, CATALOG_OLD).code == 0
    edit(site, "openrouter/openai-gpt-4o", lambda e: e["litellm_params"].update(temperature=0.7))
    state_path(site).write_text("garbage")
    result = sync(run_cli, site, CATALOG_NEW)
    assert result.code == 0
    assert "warning: no usable last-sync state" in result.err
    assert "temperature" not in entry(site, "openrouter/openai-gpt-4o")["litellm_params"]
    assert json.loads(state_path(site).read_text())["version"] == 1  # repaired


def test_deleting_a_generated_entry_by_hand_is_undone(site, run_cli):
    assert sync(run_cli, site, CATALOG_OLD).code == 0
    document = load(site)
    document["model_list"] = [e for e in document["model_list"] if e["model_name"] != "openrouter/openai-gpt-4o"]
    site.write_text(dump(document))
    result = sync(run_cli, site, CATALOG_OLD)
    assert "+1 added" in result.err
    assert entry(site, "openrouter/openai-gpt-4o")


def test_dry_run_prints_the_plan_and_writes_nothing(site, run_cli, tmp_path):
    assert sync(run_cli, site, CATALOG_OLD).code == 0
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = sync(run_cli, site, CATALOG_NEW, "--dry-run")
    assert result.code == 0
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    out = result.out.splitlines()
    assert "  + openrouter/anthropic-claude-opus-4.7" in out or any(line.startswith("  + ") for line in out)
    assert any(line.startswith("  - ") for line in out)
    assert any(line.startswith("  ~ openrouter/openai-gpt-4o: model_info.cache_read_input_token_cost")
               for line in out)
    assert out[-1].startswith("rinsync: dry run: 412 generated models: +") and out[-1].endswith("(nothing written)")


def test_shrink_guard_refuses_then_force(site, run_cli):
    assert sync(run_cli, site, CATALOG_NEW).code == 0
    before = site.read_bytes()
    result = sync(run_cli, site, CATALOG_2024)
    assert result.code == 3
    assert "refusing to remove" in result.err and "kept config/litellm/config.yaml unchanged" in result.err
    assert site.read_bytes() == before
    assert sync(run_cli, site, CATALOG_2024, "--max-remove-fraction", "0.99").code == 0
    assert site.read_bytes() != before
    site.write_bytes(before)
    state_path(site).unlink()
    assert sync(run_cli, site, CATALOG_2024, "--force").code == 0
