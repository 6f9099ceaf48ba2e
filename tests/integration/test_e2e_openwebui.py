"""End to end (marker ``e2e``): rinsync syncs a real catalog into a LiteLLM config, the REAL
proxy serves it, the REAL Open WebUI lists it; a sync of a NEWER catalog plus a proxy restart
makes the new models appear in Open WebUI and the removed ones disappear.

One proxy + one Open WebUI start and one proxy restart for the whole class; the tests run in
order (the second one syncs the newer catalog).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import harness
from harness import FAKE_OPENROUTER_KEY, FakeOpenRouter, LiteLLMProxy, OpenWebUI
from support import RULES_DIR, SAMPLE_CATALOG, SHARED

OLD = SHARED / "catalogs" / "openrouter-models-2026-05-01.json"
NEW = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"
HAND_NAMES = harness.HAND_WRITTEN_NAMES


@dataclass
class Stack:
    dir: Path
    config: Path
    extra_rules: Path
    old: list[dict]  # standalone compile of OLD
    new: list[dict]  # standalone compile of NEW
    proxy: LiteLLMProxy
    webui: OpenWebUI
    notes: dict = field(default_factory=dict)

    @property
    def old_names(self) -> set[str]:
        return {e["model_name"] for e in self.old}

    @property
    def new_names(self) -> set[str]:
        return {e["model_name"] for e in self.new}


@pytest.fixture(scope="class")
def stack(tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm", "openwebui")
    for catalog in (OLD, NEW):
        if not catalog.is_file():
            pytest.fail(f"shared catalog {catalog} missing (set RINSYNC_SHARED_DIR)")
    d = tmp_path_factory.mktemp("e2e-sync")
    config, extra = harness.fake_site(d, fake_openrouter.api_base)
    old = harness.compile_standalone(d / "old.yaml", OLD, RULES_DIR, extra)
    new = harness.compile_standalone(d / "new.yaml", NEW, RULES_DIR, extra)
    harness.compile_into_config(config, OLD, RULES_DIR, extra)
    with LiteLLMProxy(config, log_dir=d / "proxy") as proxy:
        with OpenWebUI(proxy.url + "/v1", openai_key=proxy.master_key, log_dir=d / "webui") as webui:
            yield Stack(d, config, extra, old, new, proxy, webui)


def wait_for_ids(webui: OpenWebUI, expected: set[str], timeout: float = 15) -> list[str]:
    """Open WebUI's model ids once they equal ``expected`` (or the last answer after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        ids = webui.model_ids(refresh=False)
        if set(ids) == expected or time.monotonic() > deadline:
            return ids
        time.sleep(1)


@pytest.mark.e2e
class TestSyncShowsUpInOpenWebUI:
    def test_openwebui_lists_exactly_the_synced_models(self, stack: Stack):
        expected = [e["model_name"] for e in stack.old] + HAND_NAMES
        ids = stack.webui.model_ids()
        harness.assert_serves_exactly(ids, expected)
        assert ids == stack.proxy.models()  # same order as the proxy
        r = harness.rinsync_verify(stack.proxy.url, stack.config)
        assert r.returncode == 0, r.stdout + r.stderr

    def test_newer_catalog_after_restart_adds_and_removes_models(self, stack: Stack):
        added = stack.new_names - stack.old_names
        removed = stack.old_names - stack.new_names
        assert added and removed, "the two catalogs must differ both ways for this test to mean anything"

        harness.compile_into_config(stack.config, NEW, RULES_DIR, stack.extra_rules)

        # synced but not restarted: the proxy (and so Open WebUI) still serve the old set,
        # and verify says exactly what is stale
        r = harness.rinsync_verify(stack.proxy.url, stack.config)
        assert r.returncode == 1
        lines = r.stdout.splitlines()
        missing = {ln.split()[1] for ln in lines if ln.startswith("missing: ")}
        extra = {ln.split()[1] for ln in lines if ln.startswith("extra: ")}
        assert (missing, extra) == (added, removed)
        assert set(stack.webui.model_ids()) == stack.old_names | set(HAND_NAMES)

        stack.proxy.restart()
        expected = stack.new_names | set(HAND_NAMES)
        harness.assert_serves_exactly(stack.proxy.models(), expected)
        ids = wait_for_ids(stack.webui, expected)  # plain GET /api/models: cache TTL is 1 s
        harness.assert_serves_exactly(ids, expected)
        assert added <= set(ids)
        assert not removed & set(ids)
        harness.assert_serves_exactly(stack.webui.model_ids(refresh=True), expected)

        r = harness.rinsync_verify(stack.proxy.url, stack.config)
        assert r.returncode == 0, r.stdout + r.stderr
        stack.notes["added"] = sorted(added)

    def test_chat_to_a_newly_added_model_through_openwebui(self, stack: Stack, fake_openrouter: FakeOpenRouter):
        if "added" not in stack.notes:
            pytest.skip("needs the previous test (sync of the newer catalog)")
        name = stack.notes["added"][0]
        or_id = next(e["model_info"]["openrouter_id"] for e in stack.new if e["model_name"] == name)
        fake_openrouter.clear()
        status, body = harness.http_json(
            "POST",
            f"{stack.webui.url}/api/chat/completions",
            body={"model": name, "messages": [{"role": "user", "content": "hi"}], "stream": False},
            headers=stack.webui.auth,
            timeout=60,
        )
        assert status == 200, body
        assert body["choices"][0]["message"]["content"] == fake_openrouter.reply
        reqs = fake_openrouter.chat_requests()
        assert reqs, fake_openrouter.requests
        assert reqs[-1]["json"]["model"] == or_id
        assert reqs[-1]["headers"]["authorization"] == f"Bearer {FAKE_OPENROUTER_KEY}"
        assert reqs[-1]["headers"]["http-referer"] == harness.REFERER


# --------------------------------------------------------------------------------------------------
# Open WebUI model records (issue 11): rinsync openwebui sync against the real Open WebUI 0.12.4


OPENWEBUI_KEY_ENV = "OPENWEBUI_API_KEY"
USER = {"name": "Uma User", "email": "uma@example.test", "password": "Uma-pass-1234!", "role": "user"}
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


@dataclass
class RecordsStack:
    dir: Path
    config: Path
    extra_rules: Path
    proxy: LiteLLMProxy
    webui: OpenWebUI
    user_auth: dict
    notes: dict = field(default_factory=dict)

    @property
    def state(self) -> Path:
        return self.config.parent / ".rinsync-state.openwebui.json"

    def sync(self, *args: str, catalog: Path = OLD, token: str | None = None):
        """``rinsync openwebui sync`` with the admin's token in OPENWEBUI_API_KEY."""
        token = self.webui.token() if token is None else token
        r = harness.run_rinsync("openwebui", "sync", "--url", self.webui.url, "--catalog", catalog,
                                "--rules", RULES_DIR, "--rules", self.extra_rules, "--config", self.config, *args,
                                env={OPENWEBUI_KEY_ENV: token})
        assert token not in r.stdout + r.stderr, "the Open WebUI token was printed"
        assert "Traceback" not in r.stderr, r.stderr
        return r

    def admin(self, method: str, path: str, body=None):
        status, data = harness.http_json(method, self.webui.url + path, body=body, headers=self.webui.auth, timeout=60)
        assert status == 200, f"{method} {path} -> {status}: {data}"
        return data

    def user_models(self) -> dict[str, dict]:
        """``GET /api/models`` as an ordinary user sees it (no admin bypass), by id."""
        status, body = harness.http_json("GET", self.webui.url + "/api/models?refresh=true", headers=self.user_auth,
                                         timeout=60)
        assert status == 200, body
        return {m["id"]: m for m in body["data"]}

    def records(self) -> dict[str, dict]:
        return {r["id"]: r for r in self.admin("GET", "/api/v1/models/all")}


def kept_records(catalog: Path) -> dict[str, dict]:
    """model_name -> raw catalog record of every model the shipped rules keep (by the spec oracle)."""
    import datetime as dt
    import json

    from spec_oracle import expected_drop, expected_name, expected_shown

    today = dt.date(2026, 11, 24)
    records = json.loads(catalog.read_text())["data"]
    ids = {r["id"] for r in records}
    shown = expected_shown(records)  # the curated view, by the oracle; remembered on each record
    return {expected_name(r["id"]): dict(r, _oracle_shown=r["id"] in shown) for r in records
            if expected_drop(r, today, ids) is None}


def expected_webui(record: dict) -> dict:
    import datetime as dt

    from spec_oracle import expected_openwebui

    shown = {record["id"]} if record.get("_oracle_shown", True) else set()
    return expected_openwebui(record, dt.date(2026, 11, 24), shown)


def assert_user_list_matches_oracle(stack: RecordsStack, catalog: Path) -> dict[str, dict]:
    """Every kept model: shown to a user with the oracle's capabilities, description and tags when active,
    absent when hidden. Returns what the user sees."""
    seen = stack.user_models()
    kept = kept_records(catalog)
    wrong = []
    shown = set()
    foreign = stack.notes.get("foreign")
    for name, record in sorted(kept.items()):
        if name == foreign:  # the admin's own (private) record: not rinsync's, not the oracle's
            continue
        want = expected_webui(record)
        if not want["active"]:
            if name in seen:
                wrong.append(f"{name}: hidden by the rules but shown")
            continue
        shown.add(name)
        model = seen.get(name)
        if model is None:
            wrong.append(f"{name}: not shown")
            continue
        meta = model["info"]["meta"]
        got = {"name": model["name"], "description": meta.get("description"),
               "tags": [t["name"] for t in model.get("tags", [])], "capabilities": meta.get("capabilities")}
        for key in got:
            if got[key] != want[key] and not (key == "description" and name in stack.notes.get("edited", {})):
                wrong.append(f"{name}: {key} {got[key]!r} != {want[key]!r}")
    assert not wrong, f"{len(wrong)} differences, e.g.:\n" + "\n".join(wrong[:10])
    # a user sees exactly the active generated models (hand-written ones have no record: admins only)
    assert set(seen) - set(stack.notes.get("custom", [])) == shown
    return seen


@pytest.fixture(scope="class")
def records_stack(tmp_path_factory, fake_openrouter: FakeOpenRouter):
    harness.require_integration("litellm", "openwebui")
    d = tmp_path_factory.mktemp("e2e-records")
    config, extra = harness.fake_site(d, fake_openrouter.api_base)
    harness.compile_into_config(config, OLD, RULES_DIR, extra)
    with LiteLLMProxy(config, log_dir=d / "proxy") as proxy:
        with OpenWebUI(proxy.url + "/v1", openai_key=proxy.master_key, log_dir=d / "webui",
                       env={"ENABLE_API_KEYS": "true"}) as webui:
            status, user = harness.http_json("POST", f"{webui.url}/api/v1/auths/add", body=USER, headers=webui.auth)
            assert status == 200 and user.get("role") == "user", user
            yield RecordsStack(d, config, extra, proxy, webui, {"Authorization": f"Bearer {user['token']}"})


@pytest.mark.e2e
class TestOpenWebUIRecords:
    def test_before_a_sync_users_see_nothing_and_a_bad_token_changes_nothing(self, records_stack: RecordsStack):
        stack = records_stack
        # Open WebUI 0.12.4 shows a connection model without a record to admins only
        assert stack.user_models() == {}
        r = stack.sync(token="not-a-valid-token")
        assert r.returncode == 6, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert "refused the token (HTTP 401); set OPENWEBUI_API_KEY to an admin's" in lines[0], r.stderr
        assert not stack.state.exists()
        assert stack.records() == {}

    def test_sync_shows_every_model_with_the_oracles_capabilities_description_and_tags(self, records_stack):
        stack = records_stack
        dry = stack.sync("--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert stack.records() == {}, "a dry run wrote records"
        kept = kept_records(OLD)
        assert f"dry run: {len(kept)} Open WebUI model records: +{len(kept)} created" in dry.stdout

        # with an admin's API key (Settings > Account > API keys), as the docs tell operators
        api_key = stack.admin("POST", "/api/v1/auths/api_key")["api_key"]
        assert api_key.startswith("sk-")
        r = stack.sync(token=api_key)
        assert r.returncode == 0, r.stderr
        assert f"{len(kept)} Open WebUI model records: +{len(kept)} created, -0 deleted, ~0 updated" in r.stderr
        seen = assert_user_list_matches_oracle(stack, OLD)
        hidden = {n for n, rec in kept.items() if not expected_webui(rec)["active"]}
        assert hidden and not hidden & set(seen)
        admin_ids = set(stack.webui.model_ids())
        assert not hidden & admin_ids, "is_active: false must hide a model from admins too"
        assert set(HAND_NAMES) <= admin_ids
        # params reach the record (Open WebUI strips them from /api/models)
        records = stack.records()
        for name, record in kept.items():
            want = expected_webui(record)["params"]
            assert records[name]["params"] == want, name
            grants = [(g["principal_type"], g["principal_id"], g["permission"]) for g in records[name]["access_grants"]]
            assert grants == [("user", "*", "read")], name
        again = stack.sync()
        assert again.returncode == 0 and "+0 created, -0 deleted, ~0 updated" in again.stderr, again.stderr
        assert "no changes" in again.stderr

    def test_a_text_only_model_is_marked_but_open_webui_does_not_refuse_images_server_side(
            self, records_stack: RecordsStack, fake_openrouter: FakeOpenRouter):
        stack = records_stack
        seen = stack.user_models()
        name = next(n for n, m in sorted(seen.items()) if m["info"]["meta"]["capabilities"]["vision"] is False)
        assert "image" not in kept_records(OLD)[name]["architecture"].get("input_modalities", [])
        # The refusal is the chat page's (Chat.svelte: "Model {{modelName}} is not vision capable", read from
        # info.meta.capabilities.vision); /api/chat/completions in 0.12.4 forwards the image regardless
        fake_openrouter.clear()
        content = [{"type": "text", "text": "what is this?"},
                   {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}}]
        status, body = harness.http_json("POST", f"{stack.webui.url}/api/chat/completions", headers=stack.user_auth,
                                         body={"model": name, "stream": False,
                                               "messages": [{"role": "user", "content": content}]}, timeout=60)
        assert status == 200, body
        sent = fake_openrouter.chat_requests()[-1]["json"]["messages"][-1]["content"]
        assert any(part.get("type") == "image_url" for part in sent), sent

    def test_admin_edits_and_custom_models_survive_the_next_sync(self, records_stack: RecordsStack):
        stack = records_stack
        old, new = kept_records(OLD), kept_records(NEW)
        # an edited model whose generated description also changes in the newer catalog (a conflict later)
        edited = next(n for n in sorted(old) if n in new and expected_webui(old[n])["active"]
                      and expected_webui(old[n])["description"] != expected_webui(new[n])["description"])
        record = stack.admin("GET", f"/api/v1/models/model?id={edited}")
        record["meta"]["description"] = "Our team's pick for long documents."
        stack.admin("POST", "/api/v1/models/model/update", {k: record[k] for k in ("id", "name", "meta", "params")})
        base = next(n for n in sorted(old) if n in new and n != edited and expected_webui(old[n])["active"])
        custom = {"id": "team-helper", "base_model_id": base, "name": "Team helper",
                  "meta": {"description": "Answers with the team's style guide."}, "params": {"system": "Be brief."},
                  "access_grants": [{"principal_type": "user", "principal_id": "*", "permission": "read"}]}
        stack.admin("POST", "/api/v1/models/create", custom)
        # an admin's own record for a model the newer catalog adds: rinsync must leave it alone
        foreign = next(n for n in sorted(new) if n not in old and expected_webui(new[n])["active"])
        stack.admin("POST", "/api/v1/models/create",
                    {"id": foreign, "name": "Admin's own", "meta": {"description": "mine"}, "params": {}})
        stack.notes.update(edited={edited: record["meta"]["description"]}, custom=["team-helper"], foreign=foreign)
        before = stack.records()

        r = stack.sync("-v")
        assert r.returncode == 0, r.stderr
        assert f"= {edited}: kept the admin's description" in r.stdout + r.stderr
        after = stack.records()
        assert after["team-helper"] == before["team-helper"]
        assert after[edited]["meta"]["description"] == "Our team's pick for long documents."
        seen = assert_user_list_matches_oracle(stack, OLD)
        assert seen[edited]["info"]["meta"]["description"] == "Our team's pick for long documents."
        assert seen["team-helper"]["info"]["meta"]["description"] == "Answers with the team's style guide."

    def test_an_admins_copy_of_a_generated_model_survives_the_next_syncs(self, records_stack: RecordsStack):
        """Issue 17 family 6. Open WebUI 0.12.4's admin UI clones a model (Settings > Models > Clone,
        src/lib/components/admin/Settings/Models.svelte cloneHandler): it reads the whole record
        (GET /api/v1/models/model?id=X), takes it with id ``X-clone``, name ``NAME (Clone)`` and
        base_model_id X, and the create page posts it to /api/v1/models/create (routes/(app)/workspace/models/
        create/+page.svelte onSubmit) with the copied meta, rinsync's marker included. Done here the same way,
        for a model the newer catalog drops, so the next test's sync deletes the original but not the copy."""
        stack = records_stack
        if "custom" not in stack.notes:
            pytest.skip("needs the previous test (admin edits)")
        old, new = kept_records(OLD), kept_records(NEW)
        original = next(n for n in sorted(old) if n not in new and expected_webui(old[n])["active"])
        model = stack.admin("GET", f"/api/v1/models/model?id={original}")
        assert model["meta"]["rinsync"]["generated_by"] == "rinsync"
        clone = {**model, "id": f"{model['id']}-clone", "name": f"{model['name']} (Clone)",
                 "base_model_id": model["id"],
                 "meta": {**model["meta"], "profile_image_url": model["meta"].get("profile_image_url")
                          or "/static/favicon.png"},
                 "params": {**model["params"]}}
        stack.admin("POST", "/api/v1/models/create", clone)
        copied = stack.records()[clone["id"]]
        assert copied["meta"]["rinsync"] == model["meta"]["rinsync"]  # the copy carries rinsync's marker
        stack.notes.update(clone=clone["id"], cloned=original)
        stack.notes["custom"] = [*stack.notes["custom"], clone["id"]]

        r = stack.sync("-v")
        assert r.returncode == 0, r.stderr
        assert f"? {clone['id']}: carries rinsync's marker but rinsync did not create it" in r.stdout + r.stderr
        assert f"- {clone['id']}" not in r.stdout + r.stderr
        after = stack.records()
        assert after[clone["id"]] == copied
        assert_user_list_matches_oracle(stack, OLD)

    def test_compile_with_openwebui_follows_a_newer_catalog(self, records_stack: RecordsStack):
        stack = records_stack
        if "edited" not in stack.notes:
            pytest.skip("needs the previous test (admin edits)")
        old, new = kept_records(OLD), kept_records(NEW)
        dropped = set(old) - set(new)
        assert dropped
        r = harness.run_rinsync("compile", "--catalog", NEW, "--rules", RULES_DIR, "--rules", stack.extra_rules,
                                "--config", stack.config, "--openwebui", stack.webui.url, "-v",
                                env={OPENWEBUI_KEY_ENV: stack.webui.token()})
        assert r.returncode == 0, r.stderr
        assert stack.webui.token() not in r.stdout + r.stderr
        foreign = stack.notes["foreign"]
        assert f"! {foreign}: an Open WebUI record rinsync did not create has this id; left alone" in r.stderr
        stack.proxy.restart()
        records = stack.records()
        assert not dropped & set(records), "records of dropped models must leave Open WebUI"
        assert records[foreign]["name"] == "Admin's own" and records[foreign]["meta"]["description"] == "mine"
        assert "team-helper" in records
        if "clone" in stack.notes:  # the admin's copy of a model this catalog drops: the original went, the copy not
            assert stack.notes["cloned"] in dropped and stack.notes["clone"] in records
        (edited, text), = stack.notes["edited"].items()
        assert records[edited]["meta"]["description"] == text
        seen = wait_for_user_models(stack, NEW)
        assert not dropped & set(seen)


    def test_a_refused_request_stops_the_sync_and_says_exactly_what_was_applied(self, records_stack: RecordsStack):
        """A real refusal: Open WebUI rejects a model id with a space (routers/models.py is_valid_model_id)."""
        stack = records_stack
        if "foreign" not in stack.notes:
            pytest.skip("needs the previous tests")
        # a far smaller catalog would delete most of rinsync's records: the shrink guard refuses, nothing changes
        before = stack.records()
        small = stack.sync(catalog=SAMPLE_CATALOG)
        assert small.returncode == 3, small.stderr
        assert small.stderr.strip().splitlines()[-1].startswith("rinsync: error: refusing to delete ")
        assert stack.records() == before
        new = kept_records(NEW)
        first, second = [new[n]["id"] for n in sorted(new) if n != stack.notes["foreign"]][:2]
        renames = stack.dir / "renames.yaml"
        renames.write_text(
            "version: 1\noverrides:\n"
            f"  - {{id: rename-ok, when: \"id == '{first}'\", name: \"aaa-ok-{{slug}}\"}}\n"
            f"  - {{id: rename-bad, when: \"id == '{second}'\", name: \"zzz bad {{slug}}\"}}\n")
        before = stack.records()
        state_before = stack.state.read_bytes()
        r = stack.sync("--rules", renames, catalog=NEW)
        assert r.returncode == 6, r.stderr
        lines = r.stderr.strip().splitlines()
        ok_name, bad_name = f"aaa-ok-{new_slug(first)}", f"zzz bad {new_slug(second)}"
        assert lines[-1].startswith(f"rinsync: error: Open WebUI sync failed: creating {bad_name}: HTTP 422 body.id: "
                                    "String should match pattern"), lines
        assert lines[-1].endswith(f"; applied 1 of 4 changes before it (1 created; the last: create {ok_name}), the "
                                  "rest not; run the sync again to finish"), lines[-1]
        after = stack.records()
        assert set(after) == set(before) | {ok_name}  # exactly the one create, no delete
        assert stack.state.read_bytes() != state_before
        # the next sync without the renames removes what the failed run added, and nothing else changes
        r = stack.sync(catalog=NEW)
        assert r.returncode == 0, r.stderr
        assert "+0 created, -1 deleted, ~0 updated" in r.stderr, r.stderr
        assert stack.records().keys() == before.keys()
        assert stack.webui.token() not in stack.state.read_text()


def new_slug(model_id: str) -> str:
    """The ``slug`` name field of docs/rules.md: the model part of the id without its variant."""
    return model_id.partition("/")[2].partition(":")[0]


def wait_for_user_models(stack: RecordsStack, catalog: Path, timeout: float = 20) -> dict[str, dict]:
    """The user's list once it matches the oracle for ``catalog`` (the proxy was just restarted)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return assert_user_list_matches_oracle(stack, catalog)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
