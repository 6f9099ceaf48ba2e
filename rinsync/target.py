"""The target protocol: what a target (LiteLLM config, Open WebUI records, …) does in one sync.

``rinsync.sync`` gets the catalog, compiles it, and runs the declared targets in order through
:func:`run_targets`; it knows nothing of a target's files or API. A target goes through these steps:

1. ``check()``: before the catalog is fetched, what can fail without it (a key variable not set…).
2. ``prepare(compiled)``: from the engine's decisions, what it will write. Every target prepares before
   any target writes, so a failing expression never leaves one target written and the next not.
3. ``locked()``: a context held from ``plan`` to the end of ``apply``.
4. ``plan(report)``: read what is there now and compare: a plan object (``report.plans[name]``).
5. ``gate(plan, report)``: the shrink guard (raises, exit 3) and the dry run (returns True: stop here).
6. ``write(plan, report)``: make the change; returns what was written (None: nothing changed).
7. ``apply(written, report)``: make the running service take it and confirm, rolling back itself when
   the service does not (exit 5).
8. ``rollback(written, report)``: put back what ``write`` replaced (for a caller whose later step fails).

Lines to show go to ``report.lines`` / ``report.warnings``; errors are :class:`RinsyncError` with a
documented exit code. A new target is a new module implementing this protocol, not a branch in sync.py.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import exitcodes
from .diagnostics import RinsyncError
from .report import collect as report_hook


@dataclass
class Compiled:
    """What every target gets: the engine (for target-specific rules sections) and its result."""

    engine: Any  # rinsync.engine.Engine
    result: Any  # rinsync.engine.CompileResult: the decisions with the rules' evaluated values
    records: list[dict]  # the catalog's records


@dataclass
class SyncReport:
    lines: list[str] = field(default_factory=list)  # summary and per-model lines
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    text: str | None = None  # standalone "-o -": the YAML to print
    exit_code: int = exitcodes.OK
    plans: dict[str, Any] = field(default_factory=dict)  # target name -> its plan (the change report reads it)


class Target(Protocol):
    name: str  # "litellm", "openwebui": the key of report.plans and of the site file's targets
    title: str  # how messages name it ("Open WebUI")
    failure_code: int  # the exit code of a failure after an earlier target wrote
    written_note: str  # what a later target's failure message says this one did ("the LiteLLM config was written")
    keeps_cache: bool  # the fetched catalog is cached once this target committed (under its lock)

    def check(self) -> None: ...

    def prepare(self, compiled: Compiled, report: SyncReport) -> None: ...

    def locked(self) -> AbstractContextManager: ...

    def plan(self, report: SyncReport) -> Any: ...

    def gate(self, plan: Any, report: SyncReport) -> bool: ...

    def write(self, plan: Any, report: SyncReport) -> Any | None: ...

    def apply(self, written: Any, report: SyncReport) -> None: ...

    def rollback(self, written: Any, report: SyncReport) -> None: ...


def run_target(target: Target, report: SyncReport, committed: Callable[[], None] = lambda: None) -> None:
    """One prepared target: plan, gate, write, apply under its lock; ``committed`` once it is done (not on a
    dry run or a refusal)."""
    with target.locked():
        plan = target.plan(report)
        report.plans[target.name] = plan
        report_hook.planned(target.name, plan)  # the change report (rinsync/report/): no-op unless collected
        if target.gate(plan, report):
            return
        written = target.write(plan, report)
        if written is not None:
            report.written = True
            report_hook.written()
            applies = getattr(target, "applies", lambda: False)()
            if applies:
                report_hook.applying()
            target.apply(written, report)
            if applies:
                report_hook.confirmed()
        committed()


def run_targets(targets: list[Target], compiled: Compiled, report: SyncReport, dry_run: bool,
                store_cache: Callable[[], None] = lambda: None) -> None:
    """Every target prepared, then each run in order. A target failing after an earlier one ran fails with its
    own exit code and says what the earlier ones did (exit 3 and 75 promise nothing was changed)."""
    for target in targets:
        target.prepare(compiled, report)
    done: list[Target] = []
    cached = False
    for target in targets:
        def committed(target: Target = target) -> None:
            nonlocal cached
            if target.keeps_cache and not cached:
                cached = True
                store_cache()
        try:
            run_target(target, report, committed)
        except RinsyncError as exc:
            if not done or dry_run or exc.exit_code == target.failure_code:
                raise
            notes = "; ".join(t.written_note for t in done)
            raise RinsyncError(f"{target.title} not synced: {exc.message} ({notes})", target.failure_code) from None
        done.append(target)
