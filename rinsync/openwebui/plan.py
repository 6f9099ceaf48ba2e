"""The three-way plan: generated records, Open WebUI's current records, the last generated fields (base).

Pure: no I/O. Per managed field of one of rinsync's records: unchanged since rinsync wrote it (current ==
base) -> the generated value; edited by an admin (current != base) -> the admin's value stays. rinsync's
records for models no longer generated are deleted.

A record is rinsync's only when rinsync created it (its id is in the state's ``created``) AND it still
carries rinsync's marker. Every other record is never planned for: records without the marker (custom
workspace models, other connections' overrides, an admin's own record for a generated id) and marked
records rinsync did not create (an admin's copy of a generated model carries the marker in its copied
meta; a record left from a lost state), which are listed in ``Plan.unowned``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .records import MARKER_KEY, flatten, is_ours, to_record

# anyone may read (use) a generated model; Open WebUI 0.12.4 shows a connection model without a record to
# admins only, so a private record would hide every generated model from ordinary users
PUBLIC_READ = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
# meta keys the server keeps when they are left out of an update (and validates when sent)
SERVER_KEPT_META = ("profile_image_url", "background_image_url", "voice_avatar", "chat_variables_schema")
_MISSING = object()


@dataclass
class Change:
    kind: str  # "create" | "update" | "delete"
    model_id: str
    form: dict | None = None  # the request body (create/update)
    fields: list[str] = field(default_factory=list)  # changed managed fields (update)
    generated: dict | None = None  # the generated fields to record as the base once applied


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)  # id -> fields whose admin edits were kept
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # id -> edited fields rinsync would change
    foreign: list[str] = field(default_factory=list)  # generated ids whose record is not rinsync's
    unowned: list[str] = field(default_factory=list)  # ids of marked records rinsync did not create: left alone
    created: set[str] = field(default_factory=set)  # ids rinsync created that are still there and its own
    unchanged: dict[str, dict] = field(default_factory=dict)  # id -> generated fields (base refreshed)
    ours_before: int = 0
    notes: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def plan(generated: list[dict], current: list[dict], base: dict[str, dict], created: set[str] | None = None) -> Plan:
    """What to create, update and delete so Open WebUI shows ``generated`` (records.to_record shape).

    ``created``: the ids rinsync created there (openwebui/state.py); None: the ids of ``base``."""
    created = set(base) if created is None else set(created)
    by_id = {r["id"]: r for r in current}
    owned = {r["id"] for r in current if r["id"] in created and is_ours(r)}
    result = Plan(ours_before=len(owned), created=owned,
                  unowned=sorted(r["id"] for r in current if is_ours(r) and r["id"] not in created))
    wanted = set()
    no_base = []
    for record in generated:
        model_id = record["id"]
        wanted.add(model_id)
        gen_fields = flatten(record)
        existing = by_id.get(model_id)
        if existing is None:
            form = copy.deepcopy(record)
            form["access_grants"] = copy.deepcopy(PUBLIC_READ)
            result.changes.append(Change("create", model_id, form, sorted(gen_fields), gen_fields))
            continue
        if model_id not in owned:
            result.foreign.append(model_id)
            continue
        previous = base.get(model_id)
        if previous is None:
            no_base.append(model_id)
        merged, kept, conflicts = merge_fields(previous, flatten(existing), gen_fields)
        if kept:
            result.kept[model_id] = kept
        if conflicts:
            result.conflicts[model_id] = conflicts
        form = update_form(existing, record, merged)
        changed = changed_fields(existing, form)
        if changed:
            result.changes.append(Change("update", model_id, form, changed, gen_fields))
        else:
            result.unchanged[model_id] = gen_fields
    for model_id in sorted(owned - wanted):
        result.changes.append(Change("delete", model_id))
    taken = [model_id for model_id in result.unowned if model_id in wanted]
    if taken:
        result.notes.append(f"{len(taken)} Open WebUI record(s) with a generated id carry rinsync's marker but rinsync "
                            f"has no record of creating them (e.g. {taken[0]}; a lost or older state?): left alone, "
                            "not updated; delete them in Open WebUI and the next sync creates them as its own")
    if no_base:
        result.notes.append(f"no last-sync state for {len(no_base)} of rinsync's Open WebUI records (e.g. "
                            f"{no_base[0]}): generated values replace theirs (edits since the last sync are not kept)")
    return result


def merge_fields(base: dict | None, current: dict, generated: dict) -> tuple[dict, list[str], list[str]]:
    """The managed fields after the merge, the fields whose admin edits were kept, and the kept ones that
    rinsync would otherwise have changed (conflicts)."""
    merged: dict[str, Any] = {}
    kept: list[str] = []
    conflicts: list[str] = []
    keys = set(generated) | set(base or {})
    for key in sorted(keys):
        new = generated.get(key, _MISSING)
        if base is None:
            if new is not _MISSING:
                merged[key] = new
            continue
        old = base.get(key, _MISSING)
        now = current.get(key, _MISSING)
        if now == old or (old is _MISSING and now == new):
            if new is not _MISSING:
                merged[key] = new
            continue
        kept.append(key)
        if now is not _MISSING:
            merged[key] = now
        if new != old:
            conflicts.append(key)
    # fields only the admin set (not generated, not in the base) stay as they are
    for key, value in current.items():
        if key not in keys:
            merged[key] = value
    return merged, kept, conflicts


def update_form(existing: dict, record: dict, merged: dict) -> dict:
    """The ``/model/update`` body: the record as Open WebUI holds it, with the merged managed fields."""
    meta = {k: copy.deepcopy(v) for k, v in (existing.get("meta") or {}).items() if k not in SERVER_KEPT_META}
    params = {k: copy.deepcopy(v) for k, v in (existing.get("params") or {}).items() if k != "model_controls"}
    target = to_record(existing["id"], record["meta"][MARKER_KEY]["openrouter_id"], merged)
    for key in ("description", "tags", "capabilities"):
        meta.pop(key, None)
    meta.update(target["meta"])
    for key in [k for k in params if f"params.{k}" not in merged]:
        params.pop(key)
    params.update(target["params"])
    form = {"id": existing["id"], "base_model_id": existing.get("base_model_id"), "name": target["name"],
            "meta": meta, "params": params}
    if "is_active" in target:
        form["is_active"] = target["is_active"]
    return form


def changed_fields(existing: dict, form: dict) -> list[str]:
    """Managed fields (and the marker) that differ between the record and the update body."""
    before, after = flatten(existing), flatten(form)
    fields = sorted(k for k in set(before) | set(after) if before.get(k, _MISSING) != after.get(k, _MISSING)
                    and (k in after or k != "active"))
    if (existing.get("meta") or {}).get(MARKER_KEY) != form["meta"].get(MARKER_KEY):
        fields.append(MARKER_KEY)
    return fields


def shrink_refusal(result: Plan, max_fraction: float, force: bool) -> str | None:
    """A refusal when more than ``max_fraction`` of rinsync's records would be deleted (None: fine)."""
    deletes = len(result.of("delete"))
    if force or not result.ours_before or deletes / result.ours_before <= max_fraction:
        return None
    return (f"refusing to delete {deletes} of rinsync's {result.ours_before} Open WebUI records "
            f"({deletes / result.ours_before:.0%} > {max_fraction:.0%}); use --force to accept, or raise "
            "--max-remove-fraction")
