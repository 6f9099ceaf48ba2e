"""Open WebUI model records from the engine's decisions, by the rules' ``openwebui:`` section.

Mirrors Open WebUI 0.12.4 (``open_webui/models/models.py`` ``ModelForm``/``ModelMeta``/``ModelParams``,
``open_webui/utils/models.py`` ``get_all_models``): a model record whose ``id`` equals a connection model's
id and whose ``base_model_id`` is null *overrides* that model: its ``name``, ``meta`` (``description``,
``tags`` as ``[{"name": ...}]``, ``capabilities``) and ``params`` replace the connection's bare entry, and
``is_active: false`` removes the model from every user's list. The connection model's id is LiteLLM's
``model_name``, so a record's id is the decision's entry ``model_name``.

A record is rinsync's when ``meta.rinsync.generated_by`` is ``rinsync`` (``ModelMeta`` keeps unknown keys,
and Open WebUI's model editor saves the whole ``meta`` back, so the marker survives an admin's edits).

The fields rinsync manages are flattened to dotted keys (``name``, ``description``, ``tags``, ``active``,
``capabilities.X``, ``params.X``) for the three-way merge; everything else in a record is Open WebUI's.
"""

from __future__ import annotations

from typing import Any

from jmespath import exceptions as jp_errors

from ..diagnostics import Finding, RulesError
from ..engine import Decision, Engine
from ..untrusted import CONTROL

MARKER_KEY = "rinsync"  # meta.rinsync = {"generated_by": "rinsync", "openrouter_id": ...}
GENERATED_BY = "rinsync"
SCALARS = ("name", "description", "tags", "active", "groups")


def is_ours(record: Any) -> bool:
    """True for Open WebUI model records carrying rinsync's marker in ``meta``."""
    meta = record.get("meta") if isinstance(record, dict) else None
    marker = meta.get(MARKER_KEY) if isinstance(meta, dict) else None
    return isinstance(marker, dict) and marker.get("generated_by") == GENERATED_BY


def _clean(text: str) -> str:
    """Upstream text without control characters (terminal escapes, bidi overrides); line breaks stay."""
    return CONTROL.sub(lambda m: "\n" if m.group() == "\n" else "", text)


def _tags(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    tags: list[str] = []
    for item in items:
        if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
            name = str(item).strip()
            if name not in tags:
                tags.append(name)
    return tags


class RecordBuilder:
    """The ``openwebui:`` expressions compiled once (with the engine's evaluator and functions)."""

    def __init__(self, engine: Engine):
        self.evaluator = engine.evaluator
        compile_ = self.evaluator.compile
        self._fields = [(c.key, compile_(c.expression), c.origin) for c in engine.ruleset.openwebui.values()]
        self.hidden_by: str | None = None  # the key that hid the last record fields() built (active, curated)

    @property
    def configured(self) -> bool:
        return bool(self._fields)

    def fields(self, record: dict) -> dict[str, Any]:
        """The managed fields for one catalog record (dotted keys; null results left out)."""
        out: dict[str, Any] = {}
        for key, parsed, origin in self._fields:
            try:
                value = self.evaluator.search(parsed, record)
            except (jp_errors.JMESPathError, TypeError, ValueError) as exc:
                message = str(exc).splitlines()[0]
                raise RulesError([Finding(origin.file, origin.line, origin.col, "jmespath-runtime",
                                          f"openwebui '{key}' failed on model '{record.get('id')}': {message}",
                                          hint="guard missing fields, e.g. `supported_parameters || `[]``")]) from None
            if key == "groups":  # group names that may use the model; none: everyone
                value = sorted(_clean(t) for t in _tags(value) or []) or None
            elif key == "tags":
                value = _tags(value)
                value = [t for t in map(_clean, value)] if value is not None else None
            elif key in ("name", "description") and value is not None:
                value = _clean(str(value) if not isinstance(value, str) else value) or None
            elif key in ("active", "curated") or key.startswith("capabilities."):
                value = None if value is None else bool(value) if not isinstance(value, bool) else value
            if value is not None:
                out[key] = value
        curated = out.pop("curated", None)
        self.hidden_by = "active" if out.get("active") is False else "curated" if curated is False else None
        if curated is not None:  # the curated view hides what the plain rule shows, never the reverse
            out["active"] = out.get("active", True) and curated
        return out

    def record(self, decision: Decision) -> dict | None:
        """The Open WebUI record of a kept decision (None for a dropped one)."""
        if not decision.kept or not decision.entry:
            return None
        fields = self.fields(decision.record)
        fields.setdefault("name", decision.entry["model_name"])
        return to_record(decision.entry["model_name"], decision.model_id, fields)


def visibility(fields: dict[str, Any], hidden_by: str | None) -> list[str]:
    """Who sees the model in Open WebUI's chat, in words (for explain and lint)."""
    if fields.get("active", True) is False:
        why = "the curated view (curated:)" if hidden_by == "curated" else "active:"
        shown = f"hidden from chat by {why}; LiteLLM still serves it, an admin can switch it on"
    else:
        shown = "shown in the chat selector"
    groups = fields.get("groups")
    who = f"members of {', '.join(groups)} only" if groups else "every user"
    return [f"visibility: {shown}", f"access: {who}"]


def view(fields: dict[str, Any]) -> dict:
    """Flattened fields in the shape of the rules' ``openwebui:`` section (for explain and rule tests)."""
    out: dict[str, Any] = {k: fields[k] for k in SCALARS if k in fields}
    for part in ("capabilities", "params"):
        nested = {k.split(".", 1)[1]: v for k, v in fields.items() if k.startswith(part + ".")}
        if nested:
            out[part] = nested
    return out


def to_record(model_id: str, openrouter_id: str, fields: dict[str, Any]) -> dict:
    """A ``ModelForm``-shaped record from flattened fields, with rinsync's marker."""
    meta: dict[str, Any] = {MARKER_KEY: {"generated_by": GENERATED_BY, "openrouter_id": openrouter_id}}
    if fields.get("groups"):  # who may read it (access grants, set by target.py through Open WebUI's API)
        meta[MARKER_KEY]["groups"] = list(fields["groups"])
    if "description" in fields:
        meta["description"] = fields["description"]
    if "tags" in fields:
        meta["tags"] = [{"name": t} for t in fields["tags"]]
    capabilities = {k.split(".", 1)[1]: v for k, v in fields.items() if k.startswith("capabilities.")}
    if capabilities:
        meta["capabilities"] = capabilities
    params = {k.split(".", 1)[1]: v for k, v in fields.items() if k.startswith("params.")}
    record = {"id": model_id, "base_model_id": None, "name": fields.get("name", model_id), "meta": meta,
              "params": params}
    if "active" in fields:
        record["is_active"] = fields["active"]
    return record


def flatten(record: dict) -> dict[str, Any]:
    """The managed fields of an Open WebUI record (as it comes back from the API), as dotted keys."""
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    params = record.get("params") if isinstance(record.get("params"), dict) else {}
    out: dict[str, Any] = {}
    if record.get("name") is not None:
        out["name"] = record["name"]
    if meta.get("description") is not None:
        out["description"] = meta["description"]
    if isinstance(meta.get("tags"), list):
        out["tags"] = [t.get("name") if isinstance(t, dict) else t for t in meta["tags"]]
    if "is_active" in record:
        out["active"] = record["is_active"]
    marker = meta.get(MARKER_KEY)
    if isinstance(marker, dict) and isinstance(marker.get("groups"), list) and marker["groups"]:
        out["groups"] = [str(g) for g in marker["groups"]]
    for key, value in (meta.get("capabilities") or {}).items():
        out[f"capabilities.{key}"] = value
    for key, value in params.items():
        out[f"params.{key}"] = value
    return out


class Records(list):
    """Records sorted by id, and ``order``: their ids in the rules' selector order (None: no order rule)."""

    order: list[str] | None = None


def build_records(engine: Engine, decisions: list[Decision], skip: set[str] | frozenset = frozenset()) -> Records:
    """Records of every kept decision whose name is not in ``skip`` (names a hand-written LiteLLM entry
    serves instead), sorted by id, with the rules' order of their ids."""
    builder = RecordBuilder(engine)
    records = Records(sorted((r for r in map(builder.record, decisions) if r is not None and r["id"] not in skip),
                             key=lambda r: r["id"]))
    keys = engine.ruleset.openwebui_order
    if keys:
        from .order import ordered_ids

        wanted = {r["id"] for r in records}
        items = [(d.entry["model_name"], [_order_value(engine, k, d.record) for k in keys])
                 for d in decisions if d.kept and d.entry and d.entry["model_name"] in wanted]
        records.order = ordered_ids(keys, items)
    return records


def _order_value(engine: Engine, key, record: dict) -> Any:
    try:
        return engine.evaluator.search(engine.evaluator.compile(key.expression), record)
    except (jp_errors.JMESPathError, TypeError, ValueError) as exc:
        origin = key.origin
        raise RulesError([Finding(origin.file, origin.line, origin.col, "jmespath-runtime",
                                  f"openwebui order key failed on model '{record.get('id')}': "
                                  f"{str(exc).splitlines()[0]}")]) from None
