"""``rinsync diff``: the change report between two catalogs, or between the config and a catalog; writes nothing.

Both sides are compiled with the same rules and compile date, and the report is computed by the same function
a sync uses (:func:`rinsync.report.changes.target_changes`), so ``diff`` shows what a sync would report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..report.changes import build_report, catalog_date, expirations_of, target_changes

FAIL_ON = {"removed": "removed", "price-increase": "price_increases", "expiring": "expiring"}


def _catalog_info(catalog) -> dict:
    return {"source": catalog.source, "date": catalog_date(catalog.records), "records": len(catalog.records)}


def diff_catalogs(ruleset, old, new, today: dt.date, settings: dict) -> dict:
    """The report of a sync from catalog ``old`` to catalog ``new`` (both :class:`Catalog`), no hand edits."""
    from ..engine import Engine

    engine = Engine(ruleset, today)
    before = engine.compile(old.records)
    after = engine.compile(new.records)
    target = target_changes(before.entries, after.entries, expirations_of(after.decisions), today,
                            settings["price_increase_threshold"], settings["expiring_days"])
    report = build_report({"litellm": target}, _catalog_info(new), today, settings, _outcome())
    report["baseline"] = {"catalog": _catalog_info(old)}
    return report


def diff_config(ruleset, config: Path, new, today: dt.date, settings: dict) -> dict:
    """The report a sync of catalog ``new`` into ``config`` would give (its merge plan, hand edits kept)."""
    from ..dsl.rules import display_path
    from ..engine import Engine
    from ..litellm.configfile import plan_merge, read_config
    from ..litellm.entries import is_generated
    from ..litellm.state import load_base

    result = Engine(ruleset, today).compile(new.records)
    existing = read_config(config)
    base = load_base(config, existing.raw, existing.generated)
    plan = plan_merge(existing, result.entries, base.entries)
    target = target_changes(existing.generated, [e for e in plan.entries if is_generated(e)],
                            expirations_of(result.decisions), today, settings["price_increase_threshold"],
                            settings["expiring_days"])
    report = build_report({"litellm": target}, _catalog_info(new), today, settings, _outcome())
    report["baseline"] = {"config": display_path(config), "models": len(existing.generated)}
    return report


def _outcome() -> dict:
    return {"command": "diff", "exit_code": 0, "dry_run": True, "written": False, "applied": False,
            "confirmed": None, "error": None}


def failing(report: dict, fail_on: tuple[str, ...]) -> list[str]:
    """The --fail-on kinds the report has items of."""
    return [kind for kind in fail_on
            if any(t.get(FAIL_ON[kind]) for t in report["targets"].values())]
