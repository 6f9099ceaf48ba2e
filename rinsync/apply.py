"""Applying a written sync to a running service: apply, confirm, and roll back when it is not served.

``sync.py`` writes the files first; then an :class:`Applier` makes the running service take them
(:meth:`~Applier.apply`), waits until the service serves exactly what was written
(:meth:`~Applier.confirm`), and, when either fails, puts the previous state back and confirms *that*
(:meth:`~Applier.rollback`). :func:`apply_change` runs the three in order and turns the outcome into
report lines or one :class:`RinsyncError` with exit 5.

The file-based applier (a reload command, then a check of the proxy) is
:class:`rinsync.litellm.reload.ReloadApplier`. An applier that talks to LiteLLM's model API would be
another class with the same four methods, in a folder of its own beside ``litellm/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import exitcodes
from .diagnostics import RinsyncError
from .signals import Guard, Interrupted

log = logging.getLogger("rinsync.apply")


class ApplyFailed(Exception):
    """The service did not take the change (or the previous state): ``message`` says what was seen."""

    def __init__(self, message: str, notes: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.notes = notes or []


@dataclass
class Change:
    """What a sync has just written: the file the service reads, and the files as they were before."""

    config: Path  # the entry point (its include: files are found from it)
    snapshot: object  # rinsync.files.snapshot.Snapshot of every replaced file (and its state), before
    notes: list[str] = field(default_factory=list)  # report lines the applier adds as it goes


class Applier(Protocol):
    def check(self) -> None:
        """Before anything is written: raise RinsyncError if the service can never confirm (wrong key, …)."""

    def apply(self, change: Change) -> None:
        """Make the running service take the written files; ApplyFailed when that fails."""

    def confirm(self, change: Change) -> None:
        """Return once the service serves exactly the written files; ApplyFailed when it does not in time."""

    def rollback(self, change: Change) -> None:
        """Put the previous files back, make the service take them and confirm; ApplyFailed if it cannot."""


def _serving(applier: Applier) -> str:
    """"; now replica 1 (URL): previous config, …" from an applier of several replicas
    (rinsync.litellm.fleet.FleetApplier.serving); "" for one proxy."""
    serving = getattr(applier, "serving", None)
    return f"; {serving()}" if callable(serving) else ""


class RolledBack(RinsyncError):
    """Exit 5: the change was not served and the previous files are back and confirmed."""


def _reason(exc: BaseException) -> str:
    """What stopped an apply, in one line (an unexpected error by its type only: its text may hold anything)."""
    if isinstance(exc, ApplyFailed):
        return exc.message
    if isinstance(exc, Interrupted):
        return f"rinsync was interrupted by {exc.name} before the proxy confirmed it"
    if isinstance(exc, KeyboardInterrupt):
        return "rinsync was interrupted (SIGINT) before the proxy confirmed it"
    if isinstance(exc, RinsyncError):
        return exc.message
    return f"an unexpected error ({type(exc).__name__}) stopped the confirmation"


def apply_change(applier: Applier, change: Change, lines: list[str]) -> None:
    """apply → confirm; on ANY failure (ApplyFailed, a caught signal, Ctrl-C, an unexpected error) rollback,
    then raise exit 5 (loudly if the rollback is not served either).

    SIGTERM, SIGHUP and SIGINT are caught for the whole call (:class:`rinsync.signals.Guard`): the first one
    stops the apply or confirmation and starts the rollback; later ones wait until the rollback is done.
    The apply journal of the change (``change.snapshot.journal``, files/journal.py), when there is one, is
    marked as the phases pass and removed once the change is confirmed or rolled back; it stays when the
    rollback failed, so the next sync completes the repair. Progress goes to ``lines`` (the sync's report)
    as it happens, so it is shown on failure too.
    """
    journal = getattr(change.snapshot, "journal", None)
    with Guard() as guard:
        try:
            try:
                if journal is not None:
                    journal.mark("applying")
                applier.apply(change)
                applier.confirm(change)
                guard.hold()
                if journal is not None:
                    journal.finish()
                return
            except BaseException as exc:  # noqa: BLE001 - every failure must be rolled back
                guard.hold()
                if isinstance(exc, ApplyFailed):
                    change.notes += exc.notes
                elif not isinstance(exc, (RinsyncError, Interrupted, KeyboardInterrupt)):
                    log.debug("apply stopped by an unexpected error", exc_info=True)
                reason = _reason(exc)
            _rollback(applier, change, journal, reason, guard)
        finally:
            lines += change.notes
            change.notes = []


def _rollback(applier: Applier, change: Change, journal, reason: str, guard: Guard) -> None:
    if journal is not None:
        journal.mark("rolling back")
    try:
        applier.rollback(change)
    except BaseException as exc:  # noqa: BLE001 - a failed rollback is reported, never a traceback
        if isinstance(exc, ApplyFailed):
            change.notes += exc.notes
        elif not isinstance(exc, RinsyncError):
            log.debug("rollback stopped by an unexpected error", exc_info=True)
        if journal is not None:
            journal.mark("rollback failed")
        second = _reason(exc)
        raise RinsyncError(
            f"PROXY AND CONFIG DISAGREE: the new config was not served ({reason}); the previous config was "
            f"put back, but {second}; check the proxy now (its log, and rinsync verify --proxy URL "
            "--wait 60), then sync again", exitcodes.APPLY_ROLLED_BACK) from None
    if journal is not None:
        journal.finish()
    late = f" ({', '.join(guard.received)} received during the rollback)" if guard.received else ""
    raise RolledBack(f"new config rejected by the proxy, previous config restored: {reason}{late}"
                     f"{_serving(applier)}",
                     exitcodes.APPLY_ROLLED_BACK)
