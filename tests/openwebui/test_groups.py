"""Access by group: names in the rules resolved through Open WebUI's API, an unknown group refused before any
write, grants on create, re-granted only when the rules' groups change (a stub Open WebUI on loopback)."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from rinsync.diagnostics import RinsyncError
from rinsync.dsl.rules import load_rules
from rinsync.engine import Engine
from rinsync.openwebui.records import build_records, flatten
from rinsync.openwebui.target import Settings, sync_records
from rinsync.source.catalog import load_catalog_file
from support import RULES_DIR, SAMPLE_CATALOG

TOKEN = "owui-group-token-0123456789"
# the brief's example: models above $10 per million output tokens only for the group premium
PREMIUM = "version: 1\nopenwebui:\n  groups: \"per_million(pricing.completion) > `10` && ['premium'] || null\"\n"


class StubWebUI:
    """Open WebUI 0.12.4's model, group and access endpoints, in memory."""

    def __init__(self, server, groups):
        self.records: dict[str, dict] = {}
        self.groups = groups
        self.writes: list[tuple[str, dict]] = []
        server.expect_request("/api/v1/models/all").respond_with_handler(
            lambda r: Response(json.dumps(list(self.records.values())), content_type="application/json"))
        server.expect_request("/api/v1/groups/").respond_with_json(groups)
        for path in ("/api/v1/models/create", "/api/v1/models/model/update", "/api/v1/models/model/access/update"):
            server.expect_request(path, method="POST").respond_with_handler(self._write)
        self.url = server.url_for("/").rstrip("/")
        self.order = StubOrder(server, [])

    def _write(self, request):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        form = request.get_json()
        self.writes.append((request.path, form))
        if request.path.endswith("/access/update"):
            self.records[form["id"]]["access_grants"] = form["access_grants"]
        else:
            old = self.records.get(form["id"], {})
            self.records[form["id"]] = {**form, "is_active": form.get("is_active", True),
                                        "access_grants": form.get("access_grants", old.get("access_grants"))}
        return Response(json.dumps(self.records[form["id"]]), content_type="application/json")


def records_for(tmp_path, rules_text: str = PREMIUM) -> list[dict]:
    extra = tmp_path / "90-groups.yaml"
    extra.write_text(rules_text)
    engine = Engine(load_rules([RULES_DIR, extra]), __import__("datetime").date(2026, 11, 24))
    result = engine.compile(load_catalog_file(SAMPLE_CATALOG).records)
    return build_records(engine, result.decisions)


def sync(stub: StubWebUI, records, tmp_path, dry_run: bool = False) -> list[str]:
    lines: list[str] = []
    settings = Settings(url=stub.url, token=TOKEN, state=tmp_path / "state.json", dry_run=dry_run)
    sync_records(records, settings, lambda text: text.replace(TOKEN, "***"), lines, [])
    return lines


def test_records_name_their_groups_by_the_rules(tmp_path):
    records = records_for(tmp_path)
    premium = {r["id"] for r in records if flatten(r).get("groups") == ["premium"]}
    everyone = {r["id"] for r in records if "groups" not in flatten(r)}
    assert premium and everyone
    prices = {e["model_name"]: e for e in Engine(load_rules([RULES_DIR]), __import__("datetime").date(2026, 11, 24))
              .compile(load_catalog_file(SAMPLE_CATALOG).records).entries}
    for name in premium:  # an independent look at the price the entry carries
        assert prices[name]["model_info"]["output_cost_per_token"] * 1e6 > 10


def test_grants_follow_the_groups_on_create_and_only_change_when_the_rules_do(httpserver, tmp_path):
    stub = StubWebUI(httpserver, [{"id": "g-prem", "name": "premium"}, {"id": "g-other", "name": "staff"}])
    records = records_for(tmp_path)
    sync(stub, records, tmp_path)
    premium = sorted(r["id"] for r in records if flatten(r).get("groups"))
    for model_id, record in stub.records.items():
        want = ([{"principal_type": "group", "principal_id": "g-prem", "permission": "read"}]
                if model_id in premium else [{"principal_type": "user", "principal_id": "*", "permission": "read"}])
        assert record["access_grants"] == want, model_id
    # an admin shares one premium model with staff too: a sync that changes nothing keeps it
    shared = premium[0]
    stub.records[shared]["access_grants"].append({"principal_type": "group", "principal_id": "g-other",
                                                  "permission": "read"})
    stub.writes.clear()
    sync(stub, records, tmp_path)
    assert stub.writes == [] and len(stub.records[shared]["access_grants"]) == 2
    # the rules stop limiting: those records become readable by everyone again
    sync(stub, records_for(tmp_path, "version: 1\nopenwebui: {}\n"), tmp_path)
    access = [(p, f["id"]) for p, f in stub.writes if p.endswith("/access/update")]
    assert sorted(i for _, i in access) == premium
    assert stub.records[shared]["access_grants"] == [{"principal_type": "user", "principal_id": "*",
                                                      "permission": "read"}]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_group_that_does_not_exist_is_one_line_before_any_write(httpserver, tmp_path, dry_run):
    stub = StubWebUI(httpserver, [{"id": "g-other", "name": "staff"}])
    with pytest.raises(RinsyncError) as caught:
        sync(stub, records_for(tmp_path), tmp_path, dry_run)
    message = caught.value.message
    assert caught.value.exit_code == 1 and "\n" not in message
    assert "'premium'" in message and "staff" in message and TOKEN not in message
    assert stub.writes == [] and not (tmp_path / "state.json").exists()


# ---- the selector's order (Open WebUI's model order list) ------------------------------------------------


class StubOrder:
    """Open WebUI 0.12.4's models settings (GET/POST /api/v1/configs/models), in memory."""

    def __init__(self, server, order):
        self.config = {"DEFAULT_MODELS": "x", "DEFAULT_PINNED_MODELS": None, "MODEL_ORDER_LIST": order,
                       "DEFAULT_MODEL_METADATA": {"keep": 1}, "DEFAULT_MODEL_PARAMS": None}
        self.posts: list[dict] = []
        server.expect_request("/api/v1/configs/models", method="GET").respond_with_handler(
            lambda r: Response(json.dumps(self.config), content_type="application/json"))
        server.expect_request("/api/v1/configs/models", method="POST").respond_with_handler(self._post)

    def _post(self, request):
        self.posts.append(request.get_json())
        self.config = request.get_json()
        return Response(json.dumps(self.config), content_type="application/json")


def test_the_rules_order_the_selector_by_provider_then_newest(tmp_path):
    records = records_for(tmp_path, "version: 1\nopenwebui: {}\n")
    catalog = {r["id"]: r for r in load_catalog_file(SAMPLE_CATALOG).records}
    by_name = {r["id"]: catalog[r["meta"]["rinsync"]["openrouter_id"]] for r in records}
    order = records.order
    assert sorted(order) == sorted(by_name)
    keys = [(by_name[i]["id"].split("/")[0], -(by_name[i].get("created") or 0)) for i in order]
    assert keys == sorted(keys)  # provider ascending, then the newest first


def test_the_order_is_written_when_empty_and_an_admins_order_is_left_alone(httpserver, tmp_path):
    stub = StubWebUI(httpserver, [])
    order = stub.order
    records = records_for(tmp_path, "version: 1\nopenwebui: {}\n")
    warnings: list[str] = []
    settings = Settings(url=stub.url, token=TOKEN, state=tmp_path / "state.json")
    lines: list[str] = []
    sync_records(records, settings, str, lines, warnings)
    assert [p["MODEL_ORDER_LIST"] for p in order.posts] == [records.order]
    assert order.config["DEFAULT_MODEL_METADATA"] == {"keep": 1}  # the other settings sent back as they were
    assert (tmp_path / "state-order.json").stat().st_mode & 0o777 == 0o600
    # the rules' order changes (a new model first): rinsync's own list is replaced
    records.order = records.order[::-1]
    sync_records(records, settings, str, [], warnings)
    assert order.config["MODEL_ORDER_LIST"] == records.order and len(order.posts) == 2
    # an admin reorders by hand: left alone, with a warning; a dry run does not write either
    order.config["MODEL_ORDER_LIST"] = sorted(records.order)
    records.order = records.order[::-1]
    for dry_run in (False, True):
        warnings.clear()
        sync_records(records, Settings(url=stub.url, token=TOKEN, state=tmp_path / "state.json", dry_run=dry_run),
                     str, [], warnings)
        assert len(order.posts) == 2 and order.config["MODEL_ORDER_LIST"] == sorted(records.order)
        assert any("set by an admin" in w for w in warnings), warnings


def test_an_open_webui_without_the_order_setting_is_a_warning_not_a_failure(httpserver, tmp_path):
    httpserver.expect_request("/api/v1/models/all").respond_with_json([])
    httpserver.expect_request("/api/v1/models/create", method="POST").respond_with_handler(
        lambda r: Response(json.dumps(r.get_json()), content_type="application/json"))
    warnings: list[str] = []
    lines: list[str] = []
    records = records_for(tmp_path, "version: 1\nopenwebui: {}\n")
    sync_records(records, Settings(url=httpserver.url_for("/").rstrip("/"), token=TOKEN,
                                   state=tmp_path / "state.json"), str, lines, warnings)
    assert any(w.startswith("Open WebUI's model order was not set: ") and TOKEN not in w for w in warnings), warnings
    assert (tmp_path / "state.json").is_file() and not (tmp_path / "state-order.json").exists()


def test_hostile_group_names_from_open_webui_stay_on_one_bounded_line(httpserver, tmp_path):
    from hostile import assert_one_line_error, run_limited

    groups = [{"id": f"g{i}", "name": f"team\n{i}\x1b[31m\u202e" + "x" * 5000} for i in range(2000)]
    stub = StubWebUI(httpserver, groups + [{"id": 7, "name": None}, "junk"])
    (tmp_path / "90-groups.yaml").write_text(PREMIUM)
    result = run_limited("openwebui", "sync", "--url", stub.url, "--catalog", str(SAMPLE_CATALOG), "--rules",
                         str(RULES_DIR), "--rules", str(tmp_path / "90-groups.yaml"), "--config",
                         str(tmp_path / "config.yaml"), cwd=tmp_path, OPENWEBUI_API_KEY=TOKEN)
    line = assert_one_line_error(result, 1, "'premium'", "no group in Open WebUI")
    assert "\x1b" not in line and "\u202e" not in line and len(line) < 1200
    assert TOKEN not in result.out + result.err
    assert stub.writes == [] and not (tmp_path / ".rinsync-state.openwebui.json").exists()
