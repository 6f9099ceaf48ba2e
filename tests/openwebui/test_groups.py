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
