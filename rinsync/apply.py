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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import exitcodes
from .diagnostics import RinsyncError


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
    """FLEET HOOK: "; now replica 1 (URL): previous config, …" from an applier of several replicas
    (rinsync.litellm.fleet.FleetApplier.serving); "" for one proxy."""
    serving = getattr(applier, "serving", None)
    return f"; {serving()}" if callable(serving) else ""


def apply_change(applier: Applier, change: Change, lines: list[str]) -> None:
    """apply → confirm; on failure rollback, then raise exit 5 (loudly if the rollback is not served either).

    Progress goes to ``lines`` (the sync's report) as it happens, so it is shown on failure too.
    """
    try:
        try:
            applier.apply(change)
            applier.confirm(change)
            return
        except ApplyFailed as failure:
            change.notes += failure.notes
            reason = failure.message
        try:
            applier.rollback(change)
        except ApplyFailed as second:
            change.notes += second.notes
            raise RinsyncError(
                f"PROXY AND CONFIG DISAGREE: the new config was not served ({reason}); the previous config was "
                f"put back, but {second.message}; check the proxy now (its log, and rinsync verify --proxy URL "
                "--wait 60), then sync again", exitcodes.APPLY_ROLLED_BACK) from None
        raise RinsyncError("new config rejected by the proxy, previous config restored: "
                           f"{reason}{_serving(applier)}",
                           exitcodes.APPLY_ROLLED_BACK)
    finally:
        lines += change.notes
        change.notes = []
