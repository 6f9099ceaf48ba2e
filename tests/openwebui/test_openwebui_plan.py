"""The three-way plan and its application: never another's record, admin edits kept, exact partial reports."""

from __future__ import annotations

import copy

import pytest

from rinsync import exitcodes
from rinsync.diagnostics import RinsyncError
from rinsync.openwebui.apply import apply_plan, failure
from rinsync.openwebui.plan import PUBLIC_READ, plan, shrink_refusal
from rinsync.openwebui.records import flatten, to_record


def generated(model_id: str, description: str = "generated", vision: bool = True, active: bool = True) -> dict:
    return to_record(model_id, f"or/{model_id}", {"name": model_id.upper(), "description": description,
                                                  "tags": ["openai"], "active": active,
                                                  "capabilities.vision": vision, "params.function_calling": "native"})


def stored(record: dict, **meta) -> dict:
    """A record as Open WebUI's GET /api/v1/models/all returns it."""
    out = copy.deepcopy(record)
    out.update(user_id="admin", is_active=out.get("is_active", True), access_grants=[], created_at=1, updated_at=1,
               version_id="v1")
    out["meta"].update({"profile_image_url": "/static/favicon.png", "knowledge": None, **meta})
    return out


class Recorder:
    """Stands in for rinsync.openwebui.client.Client: records requests, fails the N-th one."""

    def __init__(self, fail_at: int | None = None):
        self.calls: list[tuple[str, object]] = []
        self.fail_at = fail_at

    def _call(self, kind: str, arg) -> None:
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RinsyncError(f"{kind} refused: HTTP 400 bad form", exitcodes.OPENWEBUI_FAILED)
        self.calls.append((kind, arg))

    def create(self, form):
        self._call("create", form["id"])

    def update(self, form):
        self._call("update", form)

    def delete(self, model_id):
        self._call("delete", model_id)


def test_first_sync_creates_public_records_and_nothing_else():
    custom = {"id": "team-helper", "base_model_id": "m/a", "name": "Team", "meta": {}, "params": {}}
    result = plan([generated("m/a"), generated("m/b")], [custom], {})
    assert [(c.kind, c.model_id) for c in result.changes] == [("create", "m/a"), ("create", "m/b")]
    assert result.changes[0].form["access_grants"] == PUBLIC_READ
    assert result.ours_before == 0 and not result.foreign


def test_records_of_others_are_never_touched_even_with_a_generated_id():
    admins = {"id": "m/a", "name": "mine", "meta": {"description": "mine"}, "params": {}, "is_active": True}
    custom = {"id": "team", "base_model_id": "m/b", "name": "Team", "meta": {}, "params": {}, "is_active": True}
    result = plan([generated("m/a")], [admins, custom], {})
    assert result.changes == [] and result.foreign == ["m/a"]


def test_unchanged_records_need_no_request_and_the_base_is_refreshed():
    record = generated("m/a")
    result = plan([record], [stored(record)], {"m/a": flatten(record)})
    assert result.changes == [] and result.unchanged == {"m/a": flatten(record)}


def test_admin_edits_survive_and_generated_changes_elsewhere_apply():
    old = generated("m/a", description="old text")
    current = stored(old)
    current["meta"]["description"] = "the admin's text"
    current["meta"]["capabilities"]["file_upload"] = False  # a key rinsync never generated
    current["params"]["temperature"] = 0.2
    current["is_active"] = False  # the admin switched it off
    new = generated("m/a", description="new text", vision=False)
    result = plan([new], [current], {"m/a": flatten(old)})
    (change,) = result.changes
    assert change.kind == "update" and change.fields == ["capabilities.vision"]
    form = change.form
    assert form["meta"]["description"] == "the admin's text"
    assert form["meta"]["capabilities"] == {"vision": False, "file_upload": False}
    assert form["params"] == {"function_calling": "native", "temperature": 0.2}
    assert form["is_active"] is False
    assert "profile_image_url" not in form["meta"]  # left to the server, which keeps it
    assert form["meta"]["knowledge"] is None and form["meta"]["rinsync"]["generated_by"] == "rinsync"
    assert result.kept == {"m/a": ["active", "description"]} and result.conflicts == {"m/a": ["description"]}


def test_without_a_base_generated_values_win_with_a_note():
    current = stored(generated("m/a", description="edited"))
    result = plan([generated("m/a")], [current], {}, created={"m/a"})
    assert result.changes[0].fields == ["description"] and "no last-sync state" in result.notes[0]


def test_records_of_models_no_longer_generated_are_deleted_and_guarded():
    ours = [stored(generated(f"m/{i}")) for i in range(4)]
    result = plan([generated("m/0")], ours, {r["id"]: flatten(r) for r in ours})
    assert [(c.kind, c.model_id) for c in result.changes] == [("delete", "m/1"), ("delete", "m/2"), ("delete", "m/3")]
    assert "refusing to delete 3 of rinsync's 4 Open WebUI records (75% > 50%)" in shrink_refusal(result, 0.5, False)
    assert shrink_refusal(result, 0.5, True) is None and shrink_refusal(result, 0.8, False) is None


def test_apply_goes_create_update_delete_and_records_exactly_what_was_applied():
    before = [stored(generated("m/b", description="x")), stored(generated("m/c"))]
    base = {r["id"]: flatten(r) for r in before}
    result = plan([generated("m/a"), generated("m/b")], before, base)
    client = Recorder()
    applied = apply_plan(client, result, base)
    assert [k for k, _ in client.calls] == ["create", "update", "delete"]
    assert applied.error is None and [c.kind for c in applied.done] == ["create", "update", "delete"]
    assert set(applied.base) == {"m/a", "m/b"} and applied.base["m/b"]["description"] == "generated"


@pytest.mark.parametrize("fail_at, done, message", [
    (0, 0, "nothing applied (0 of 3 changes), Open WebUI is as it was"),
    (2, 2, "applied 2 of 3 changes before it (1 created, 1 updated; the last: update m/b), the rest not"),
])
def test_a_failed_request_stops_the_run_and_says_what_was_applied(fail_at, done, message):
    before = [stored(generated("m/b", description="x")), stored(generated("m/c"))]
    base = {r["id"]: flatten(r) for r in before}
    result = plan([generated("m/a"), generated("m/b")], before, base)
    client = Recorder(fail_at)
    applied = apply_plan(client, result, base)
    assert len(client.calls) == done == len(applied.done)
    error = failure(result, applied)
    assert error.exit_code == exitcodes.OPENWEBUI_FAILED
    assert "\n" not in error.message and message in error.message and "refused: HTTP 400" in error.message
    # the new base: applied changes recorded, the rest still at their old base
    assert applied.base["m/c"] == base["m/c"]
    assert ("m/a" in applied.base) == (done >= 1)
    assert applied.base["m/b"]["description"] == ("generated" if done == 2 else "x")


# -- ownership: only what rinsync created (issue 17, family 6) ------------------------------------------------


def admin_copy(record: dict) -> dict:
    """An admin's clone as Open WebUI 0.12.4's admin UI makes it: the whole record, marker included, new id."""
    out = stored(record)
    out.update(id=f"{record['id']}-clone", name=f"{record['name']} (Clone)", base_model_id=record["id"])
    return out


def test_an_admins_copy_of_a_generated_model_is_never_updated_or_deleted():
    a, b = generated("m/a"), generated("m/b")
    current = [stored(a), stored(b), admin_copy(a)]
    base = {"m/a": flatten(a), "m/b": flatten(b)}
    # m/a is no longer generated: rinsync's m/a goes, the admin's copy of it stays
    result = plan([b], current, base, created={"m/a", "m/b"})
    assert [(c.kind, c.model_id) for c in result.changes] == [("delete", "m/a")]
    assert result.unowned == ["m/a-clone"] and result.foreign == []
    assert result.ours_before == 2  # the shrink guard counts rinsync's records only
    applied = apply_plan(Recorder(), result, base)
    assert applied.created == {"m/b"} and set(applied.base) == {"m/b"}


def test_a_marked_record_rinsync_did_not_create_is_left_alone_even_with_a_generated_id():
    a = generated("m/a", description="old")
    result = plan([generated("m/a", description="new")], [stored(a)], {}, created=set())
    assert result.changes == [] and result.foreign == ["m/a"] and result.unowned == ["m/a"]
    assert "carry rinsync's marker but rinsync has no record of creating them (e.g. m/a" in result.notes[0]
    assert shrink_refusal(result, 0.0, False) is None


def test_a_created_record_that_lost_the_marker_is_no_longer_rinsyncs():
    a = generated("m/a")
    unmarked = stored(a)
    del unmarked["meta"]["rinsync"]
    result = plan([], [unmarked], {"m/a": flatten(a)}, created={"m/a"})
    assert result.changes == [] and result.created == set()


def test_creates_are_recorded_as_created_and_a_failed_create_is_not():
    result = plan([generated("m/a"), generated("m/b")], [], {}, created=set())
    assert apply_plan(Recorder(), result, {}).created == {"m/a", "m/b"}
    assert apply_plan(Recorder(fail_at=1), result, {}).created == {"m/a"}


def test_state_records_created_ids_and_reads_a_version_1_state_as_created_by_its_base(tmp_path):
    import json

    from rinsync.openwebui.state import load_state, state_bytes

    path = tmp_path / ".rinsync-state.openwebui.json"
    url = "http://127.0.0.1:8080"
    a = flatten(generated("m/a"))
    # a state written before ownership: the base only, per instance (another instance too)
    path.write_text(json.dumps({"version": 1, "instances": {url: {"m/a": a}, "http://other": {"m/x": a}}}))
    owned, note = load_state(path, url + "/")
    assert note is None and owned.created == {"m/a"} and owned.base == {"m/a": a}
    data = state_bytes(path, url, {"m/a": a, "m/b": a}, {"m/a", "m/b"})
    document = json.loads(data)
    assert document["version"] == 2
    assert document["instances"][url] == {"created": ["m/a", "m/b"], "base": {"m/a": a, "m/b": a}}
    assert document["instances"]["http://other"] == {"created": ["m/x"], "base": {"m/x": a}}
    path.write_bytes(data)
    owned, _ = load_state(path, url)
    assert owned.created == {"m/a", "m/b"}
    # ids in the base that are not created are not rinsync's (a hand-edited state cannot widen ownership)
    document["instances"][url]["created"] = ["m/a"]
    path.write_text(json.dumps(document))
    owned, _ = load_state(path, url)
    assert owned.created == {"m/a"} and set(owned.base) == {"m/a"}
