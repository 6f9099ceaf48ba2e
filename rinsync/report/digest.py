"""The human digest of a report: a few lines an operator reads in a terminal, a log or a chat message."""

from __future__ import annotations

import json
from typing import Any

from ..untrusted import one_line

EXIT_MEANINGS = {0: "ok", 1: "error", 2: "usage error", 3: "shrink guard refused", 4: "--validate-cmd failed",
                 5: "the proxy did not serve the new config, previous config restored",
                 6: "Open WebUI sync failed or partly applied", 74: "write failed",
                 75: "catalog unavailable, config kept"}
LIMIT = 20  # lines per list; the rest is in the JSON report


def money(field: str, value: Any) -> str:
    """A price as people read it: per million tokens for per-token fields."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "none" if value is None else one_line(str(value))
    if "token" in field.rsplit(".", 1)[-1]:
        return f"${value * 1_000_000:,.4g}/M"
    return f"${value:,.4g}"


def _value(change: dict, side: str) -> str:
    value = change[side]
    return money(change["field"], value) if "relative" in change else one_line(json.dumps(value, sort_keys=True))


def _percent(rel: float | None) -> str:
    return "" if rel is None else f" ({rel * 100:+.0f}%)"


def _short(field: str) -> str:
    return field.split(".", 1)[1] if "." in field else field


def _listed(title: str, items: list[str], limit: int, count: str | None = None) -> list[str]:
    if not items:
        return []
    lines = [f"  {title} ({count or len(items)}):"] + [f"    {one_line(i)}" for i in items[:limit]]
    if len(items) > limit:
        lines.append(f"    ... and {len(items) - limit} more (see --report FILE or --format json)")
    return lines


_MAIN_PRICES = ("input_cost_per_token", "output_cost_per_token")


def _increases_by_model(increases: list[dict]) -> list[str]:
    """One line per model, its largest increases first (the list arrives sorted by size); a price equal to one
    already shown (the cache prices that follow the prompt price) is counted, not repeated."""
    grouped: dict[str, list[dict]] = {}
    for change in increases:
        grouped.setdefault(change["model"], []).append(change)
    lines = []
    for model, changes in grouped.items():
        changes = sorted(changes, key=lambda c: (-c["relative"], _short(c["field"]) not in _MAIN_PRICES, c["field"]))
        seen: set[tuple] = set()
        shown: list[str] = []
        for c in changes:
            if (c["old"], c["new"]) in seen or len(shown) == 2:
                continue
            seen.add((c["old"], c["new"]))
            shown.append(f"{_short(c['field'])} {money(c['field'], c['old'])} -> {money(c['field'], c['new'])}"
                         f"{_percent(c.get('relative'))}")
        rest = len(changes) - len(shown)
        lines.append(f"{model}: {', '.join(shown)}" + (f" (+{rest} more prices)" if rest else ""))
    return lines


def render(report: dict, detailed: bool = False, limit: int = LIMIT, with_error: bool = True) -> list[str]:
    """The digest's lines (no prefix). ``detailed``: also added models and every changed field; ``with_error``:
    the failed run's error line too (not on the terminal, which has just printed it)."""
    outcome = report.get("outcome", {})
    code = outcome.get("exit_code", 0)
    catalog = report.get("catalog", {})
    settings = report.get("settings", {})
    command = outcome.get("command", "sync")
    what = f"{command}, dry run" if outcome.get("dry_run") and command != "diff" else command
    head = f"report ({what}, compile date {report.get('compile_date')}: catalog {catalog.get('date') or '?'}"
    head += f" from {one_line(str(catalog.get('source')))}"
    baseline = report.get("baseline", {})
    if "catalog" in baseline:
        old = baseline["catalog"]
        head += f" against {old.get('date') or '?'} from {one_line(str(old.get('source')))}"
    elif "config" in baseline:
        head += f" against {one_line(str(baseline['config']))}"
    lines = [head + ")"]
    for name, t in sorted(report.get("targets", {}).items()):
        lines.append(f"{name}: {t.get('models', 0)} generated models: +{len(t.get('added', []))} added, "
                     f"-{len(t.get('removed', []))} removed, ~{t.get('changed_models', 0)} changed "
                     f"({len(t.get('changed', []))} fields), {len(t.get('price_increases', []))} price increases, "
                     f"{len(t.get('expiring', []))} expiring")
        lines += _listed("removed", [f"- {r['model']} ({r['openrouter_id']})" for r in t.get("removed", [])], limit)
        increases = t.get("price_increases", [])
        models = _increases_by_model(increases)
        threshold = settings.get("price_increase_threshold", 0.1) * 100
        lines += _listed(f"price increases above {threshold:g}%", models, limit,
                         f"{len(models)} models, {len(increases)} prices")
        lines += _listed(f"expiring within {settings.get('expiring_days', 14)} days",
                         [f"{e['model']} ({e['openrouter_id']}): {e['expiration_date']}, "
                          + ("expired" if e["days_left"] < 0 else f"in {e['days_left']} days")
                          for e in t.get("expiring", [])], limit)
        if detailed:
            lines += _listed("added", [f"+ {a['model']} ({a['openrouter_id']})" for a in t.get("added", [])], limit)
            lines += _listed("changed", [f"~ {c['model']} {_short(c['field'])}: {_value(c, 'old')} -> "
                                         f"{_value(c, 'new')}{_percent(c.get('relative'))}"
                                         for c in t.get("changed", [])], limit * 5)
    state = [f"exit {code} ({EXIT_MEANINGS.get(code, 'see rinsync --help')})"]
    if outcome.get("written"):
        state.append("config written")
    elif outcome.get("command") != "diff":
        state.append("nothing written")
    if outcome.get("applied"):
        state.append("reload confirmed by the proxy" if outcome.get("confirmed") else "reload NOT confirmed")
    if outcome.get("error") and with_error:
        state.append(one_line(str(outcome["error"])))
    lines.append("outcome: " + "; ".join(state))
    return lines


def text(report: dict, detailed: bool = False, with_error: bool = True) -> str:
    return "\n".join(render(report, detailed, with_error=with_error)) + "\n"
