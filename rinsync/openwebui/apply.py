"""Apply a plan to Open WebUI, one request at a time, and know exactly what was applied.

Open WebUI 0.12.4 has no transaction over several records (its ``/sync`` would delete every record it is
not given), so changes go one by one: creates, then updates, then deletes (a failure part-way leaves extra
records rather than missing ones). The first failed request stops the run; the new base holds exactly the
changes that were applied, and the error names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import exitcodes
from ..diagnostics import RinsyncError
from .plan import Change, Plan

ORDER = {"create": 0, "update": 1, "delete": 2}


@dataclass
class Applied:
    done: list[Change] = field(default_factory=list)
    base: dict[str, dict] = field(default_factory=dict)  # the base to store after this run
    created: set[str] = field(default_factory=set)  # the ids rinsync created, to store after this run
    error: RinsyncError | None = None


def new_base(plan: Plan, previous: dict[str, dict], done: list[Change]) -> dict[str, dict]:
    """The base after ``done``: applied creates/updates record their generated fields, deletes drop theirs;
    records that needed no request record the generated fields (they already match)."""
    base = {k: v for k, v in previous.items() if k not in plan.foreign}
    base.update(plan.unchanged)
    for change in done:
        if change.kind == "delete":
            base.pop(change.model_id, None)
        else:
            base[change.model_id] = change.generated or {}
    return base


def new_created(plan: Plan, done: list[Change]) -> set[str]:
    """The ids rinsync created and still owns after ``done``: the owned ones, plus applied creates, minus
    applied deletes (an id whose record is gone or lost the marker is no longer rinsync's)."""
    created = set(plan.created)
    for change in done:
        if change.kind == "create":
            created.add(change.model_id)
        elif change.kind == "delete":
            created.discard(change.model_id)
    return created


def apply_plan(client, plan: Plan, previous: dict[str, dict]) -> Applied:
    """Send every change in order; stop at the first failure (returned in ``error``, not raised)."""
    applied = Applied()
    for change in sorted(plan.changes, key=lambda c: (ORDER[c.kind], c.model_id)):
        try:
            if change.kind == "create":
                client.create(change.form)
            elif change.kind == "update":
                client.update(change.form)
            else:
                client.delete(change.model_id)
        except RinsyncError as exc:
            applied.error = exc
            break
        applied.done.append(change)
    applied.base = new_base(plan, previous, applied.done)
    applied.created = new_created(plan, applied.done)
    applied.base = {k: v for k, v in applied.base.items() if k in applied.created}
    return applied


def partial_message(plan: Plan, applied: Applied) -> str:
    """One line: what failed, what was applied before it, and what to do."""
    total = len(plan.changes)
    done = applied.done
    counts = {kind: sum(1 for c in done if c.kind == kind) for kind in ORDER}
    if done:
        what = ", ".join(f"{n} {kind}d" for kind, n in counts.items() if n)
        last = done[-1]
        status = (f"applied {len(done)} of {total} changes before it ({what}; the last: {last.kind} "
                  f"{last.model_id}), the rest not")
    else:
        status = f"nothing applied (0 of {total} changes), Open WebUI is as it was"
    return f"Open WebUI sync failed: {applied.error.message}; {status}; run the sync again to finish"


def failure(plan: Plan, applied: Applied) -> RinsyncError:
    return RinsyncError(partial_message(plan, applied), exitcodes.OPENWEBUI_FAILED)
