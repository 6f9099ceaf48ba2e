"""The change report of one target, a pure function of the old and new generated entries and the decisions.

Old entries are the generated entries the config held before the sync, new ones the generated entries the sync
decided to write (the merge plan's, hand edits included), so the report and the config cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

SCHEMA_ID = "https://rinsync.dev/schemas/report.v1.schema.json"
DEFAULT_THRESHOLD = 0.10  # price increases above 10% are listed apart
DEFAULT_EXPIRING_DAYS = 14
SECTIONS = ("litellm_params", "model_info")
SKIPPED_FIELDS = {"model_info.generated_by"}  # rinsync's marker, never a change
_SECRET_WORDS = ("key", "secret", "token", "password", "authorization")
_REDACTED = "<redacted>"


def resolve_settings(threshold_percent: float | None, expiring_days: int | None, rules_section: dict | None) -> dict:
    """The report's settings: an option (or its environment variable) wins over the rules' ``report:`` section,
    which wins over the defaults. The threshold is given in percent and kept as a fraction."""
    section = rules_section or {}
    percent = threshold_percent if threshold_percent is not None else section.get("price_increase_threshold")
    days = expiring_days if expiring_days is not None else section.get("expiring_days")
    return {"price_increase_threshold": DEFAULT_THRESHOLD if percent is None else percent / 100,
            "expiring_days": DEFAULT_EXPIRING_DAYS if days is None else int(days)}


def is_price(field: str) -> bool:
    """Fields holding a price in USD (per token, per query, ...): LiteLLM's ``*cost*`` keys."""
    return "cost" in field.rsplit(".", 2)[-1] or ".search_context_cost_per_query" in field


def _secret_field(field: str) -> bool:
    """A key whose string value may be a credential (``api_key``, ``aws_secret_access_key``, ``Authorization``)."""
    last = field.rsplit(".", 1)[-1].lower()
    return any(word in last for word in _SECRET_WORDS)


def _clean(value: Any) -> Any:
    """A value JSON can carry: NaN and infinities (a hand-edited ``.nan``) become null, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # a YAML date or timestamp in a hand edit


def _shown(field: str, value: Any) -> Any:
    """A value as the report may carry it: a literal credential in a hand-edited entry never leaves the host."""
    if isinstance(value, str) and _secret_field(field) and not value.startswith("os.environ/"):
        return _REDACTED
    return _clean(value)


def flatten(entry: dict) -> dict[str, Any]:
    """The fields rinsync writes, as dotted paths: ``model_info.input_cost_per_token`` -> value."""
    out: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict) and value:
            for key in value:
                walk(value[key], f"{path}.{key}")
        else:
            out[path] = value

    for section in SECTIONS:
        block = entry.get(section)
        if isinstance(block, dict):
            for key in block:
                walk(block[key], f"{section}.{key}")
    for field in SKIPPED_FIELDS:
        out.pop(field, None)
    return out


def relative(old: Any, new: Any) -> float | None:
    """(new - old) / old for two finite numbers with old > 0, rounded to 6 places; else None."""
    if isinstance(old, bool) or isinstance(new, bool):
        return None
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        return None
    if not (math.isfinite(old) and math.isfinite(new)) or old <= 0:
        return None
    return round((new - old) / old, 6)


def _by_name(entries: list) -> dict[str, dict]:
    named: dict[str, dict] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("model_name"), str):
            named.setdefault(entry["model_name"], entry)
    return named


def _source_id(entry: dict) -> str | None:
    info = entry.get("model_info")
    value = info.get("openrouter_id") if isinstance(info, dict) else None
    return value if isinstance(value, str) else None


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind: ``true`` and ``1`` differ, ``1`` and ``1.0`` do not, NaN equals NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _days_left(value: Any, today: dt.date) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return (dt.date.fromisoformat(value[:10]) - today).days
    except ValueError:
        return None


def target_changes(old_entries: list, new_entries: list, expirations: dict[str, Any], today: dt.date,
                   threshold: float = DEFAULT_THRESHOLD, expiring_days: int = DEFAULT_EXPIRING_DAYS) -> dict:
    """One target's report: added, removed, changed (per model and field), price_increases, expiring.

    ``expirations``: OpenRouter id -> the catalog's ``expiration_date`` (decisions of this compile).
    Every list is sorted, so the same inputs give the same report.
    """
    old, new = _by_name(old_entries), _by_name(new_entries)
    added = [{"model": n, "openrouter_id": _source_id(new[n])} for n in sorted(set(new) - set(old))]
    removed = [{"model": n, "openrouter_id": _source_id(old[n])} for n in sorted(set(old) - set(new))]
    changed: list[dict] = []
    for name in sorted(set(old) & set(new)):
        before, after = flatten(old[name]), flatten(new[name])
        for field in sorted(set(before) | set(after)):
            a, b = before.get(field), after.get(field)
            if field in before and field in after and _same(a, b):
                continue
            item = {"model": name, "field": field, "old": _shown(field, a), "new": _shown(field, b)}
            if is_price(field):
                item["relative"] = relative(a, b)
            changed.append(item)
    increases = [c for c in changed if c.get("relative") is not None and c["relative"] > threshold]
    increases.sort(key=lambda c: (-c["relative"], c["model"], c["field"]))
    expiring = []
    for name in sorted(new):
        source = _source_id(new[name])
        days = _days_left(expirations.get(source), today) if source else None
        if days is not None and days <= expiring_days:
            expiring.append({"model": name, "openrouter_id": source,
                             "expiration_date": str(expirations[source])[:10], "days_left": days})
    return {"models": len(new), "models_before": len(old), "added": added, "removed": removed,
            "changed": changed, "changed_models": len({c["model"] for c in changed}),
            "price_increases": increases, "expiring": expiring}


def expirations_of(decisions: list) -> dict[str, Any]:
    """OpenRouter id -> expiration_date of every kept record that has one."""
    out: dict[str, Any] = {}
    for decision in decisions:
        record = getattr(decision, "record", None)
        if getattr(decision, "entry", None) is not None and isinstance(record, dict) \
                and record.get("expiration_date"):
            out[str(record.get("id"))] = record["expiration_date"]
    return out


def catalog_date(records: list) -> str | None:
    """The catalog's date: the day (UTC) its newest model was created (deterministic, unlike a fetch time)."""
    newest = max((r.get("created") for r in records if isinstance(r, dict) and isinstance(r.get("created"), int)
                  and not isinstance(r.get("created"), bool)), default=None)
    if newest is None:
        return None
    try:
        return dt.datetime.fromtimestamp(newest, tz=dt.UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def notable(report: dict) -> bool:
    """Something an operator must hear about: a failed run, removed models, price increases, expiring models."""
    if report.get("outcome", {}).get("exit_code", 0) != 0:
        return True
    return any(t.get(k) for t in report.get("targets", {}).values()
               for k in ("removed", "price_increases", "expiring"))


def build_report(targets: dict[str, dict], catalog: dict, today: dt.date, settings: dict,
                 outcome: dict) -> dict:
    """The whole report (the JSON written by --report, schema ``schemas/report.v1.schema.json``)."""
    report = {"$schema": SCHEMA_ID, "version": 1, "compile_date": today.isoformat(), "catalog": catalog,
              "settings": settings, "targets": targets, "outcome": outcome}
    report["notable"] = notable(report)
    report["totals"] = {kind: sum(len(t.get(kind, [])) for t in targets.values())
                        for kind in ("added", "removed", "changed", "price_increases", "expiring")}
    return report


def to_json(report: dict) -> str:
    """Deterministic JSON: sorted keys, two-space indent, a final newline."""
    import json

    return json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
