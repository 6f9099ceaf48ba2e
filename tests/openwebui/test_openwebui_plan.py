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
    result = plan([generated("m/a")], [current], {})
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
