"""What a sync decided, handed over by one-line hooks in ``sync.py`` and ``target.py`` while a report is collected.

Outside ``rinsync compile`` / ``openwebui sync`` with the report options (see :mod:`.cliopts`) no collector is
active and every hook does nothing.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

_ACTIVE: ContextVar[Collector | None] = ContextVar("rinsync_report_collector", default=None)


@dataclass
class Collector:
    source: str | None = None  # where the catalog came from (file, URL without credentials, cache)
    records: list = field(default_factory=list)
    decisions: list = field(default_factory=list)
    entries: list | None = None  # the compiled entries (standalone mode has no plan)
    today: Any = None
    rules_report: dict | None = None  # the rules' report: section (thresholds)
    redactor: Any = None
    old: list | None = None  # LiteLLM: the generated entries before the sync
    new: list | None = None  # LiteLLM: the generated entries the sync decided on
    written: bool = False  # the config (or include file) was replaced
    applied: bool = False  # the written config went live (reload ran)
    confirmed: bool | None = None  # the proxy confirmed it (None: no reload asked)
    error: str | None = None  # the error of a failure the command reported itself (exit 75)


@contextlib.contextmanager
def collecting(collector: Collector):
    token = _ACTIVE.set(collector)
    try:
        yield collector
    finally:
        _ACTIVE.reset(token)


def compiled(source, engine, result, redactor) -> None:
    """Hook in ``sync.run``: the catalog, the rules' report settings and the compile's decisions."""
    c = _ACTIVE.get()
    if c is None:
        return
    c.source = getattr(source, "label", None)
    c.rules_report = getattr(engine.ruleset, "report", None)
    c.records = list(getattr(source.catalog, "records", []))
    c.decisions, c.entries, c.today, c.redactor = result.decisions, result.entries, result.today, redactor


def planned(target: str, plan) -> None:
    """Hook in ``target.run_target``: the LiteLLM plan's generated entries before and after (``ConfigPlan.changes``;
    a standalone file has no plan to compare: its report compares nothing, as before)."""
    c = _ACTIVE.get()
    changes = getattr(plan, "changes", None)
    if c is None or target != "litellm" or getattr(plan, "merge", None) is None or changes is None:
        return
    c.old = [change.old for change in changes.values() if change.old is not None]
    c.new = [change.new for change in changes.values() if change.new is not None]


def written() -> None:
    """Hook in ``target.run_target``: the new files replaced the old ones."""
    c = _ACTIVE.get()
    if c is not None:
        c.written = True


def applying() -> None:
    """Hook in ``target.run_target`` before the applier runs."""
    c = _ACTIVE.get()
    if c is not None:
        c.applied, c.confirmed = True, False


def confirmed() -> None:
    """Hook in ``target.run_target`` after the proxy confirmed the new config."""
    c = _ACTIVE.get()
    if c is not None:
        c.confirmed = True


def failed(message: str) -> None:
    """Hook in ``cli.compile_command``: the message of a failure it prints and turns into an exit code itself."""
    c = _ACTIVE.get()
    if c is not None:
        c.error = message
