"""One Open WebUI sync for already compiled records: read, plan, gate, apply, record the base.

Called by ``rinsync.sync`` (which knows the order of a whole sync); nothing here prints. Lines to show go
to ``lines``; errors are one-line :class:`RinsyncError` with exit 3 (shrink guard) or 6 (Open WebUI failed
or partly applied: the message says what was applied).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError
from .apply import apply_plan, failure
from .client import Client, base_url
from .groups import apply_groups, resolve, wanted_groups
from .order import sync_order
from .plan import Plan, plan, shrink_refusal
from .state import load_base, state_bytes


@dataclass
class Settings:
    url: str
    token: str
    state: Path
    dry_run: bool = False
    force: bool = False
    max_remove_fraction: float = 0.5
    lock_timeout: float = 60.0
    detailed: bool = False
    key_env: str = "OPENWEBUI_API_KEY"


def plan_lines(result: Plan, detailed: bool) -> list[str]:
    lines: list[str] = []
    if detailed:
        lines += [f"  + {c.model_id}" for c in result.of("create")]
        lines += [f"  - {c.model_id}" for c in result.of("delete")]
        lines += [f"  ~ {c.model_id}: {', '.join(c.fields)}" for c in result.of("update")]
        for model_id, kept in sorted(result.kept.items()):
            conflicts = result.conflicts.get(model_id, [])
            note = f" (over a new generated value for {', '.join(conflicts)})" if conflicts else ""
            lines.append(f"  = {model_id}: kept the admin's {', '.join(kept)}{note}")
    lines += [f"  ! {model_id}: an Open WebUI record rinsync did not create has this id; left alone"
              for model_id in result.foreign]
    return lines


def summary(result: Plan, url: str, generated: int) -> str:
    parts = [f"+{len(result.of('create'))} created", f"-{len(result.of('delete'))} deleted",
             f"~{len(result.of('update'))} updated"]
    if result.kept:
        parts.append(f"{len(result.kept)} with admin edits kept")
    if result.foreign:
        parts.append(f"{len(result.foreign)} left alone (not rinsync's)")
    return f"{generated} Open WebUI model records: {', '.join(parts)} -> {url}"


@contextlib.contextmanager
def _locked(settings: Settings):
    if settings.dry_run:
        yield
        return
    from ..files.lock import ConfigLock

    with ConfigLock(settings.state, settings.lock_timeout):
        yield


def sync_records(records: list[dict], settings: Settings, redactor, lines: list[str], warnings: list[str]) -> None:
    """Make Open WebUI show ``records``; raise RinsyncError (exit 3 or 6) when it cannot."""
    from ..files.atomic import write_atomic

    url = base_url(settings.url)
    client = Client(url, settings.token, redactor, key_env=settings.key_env)
    with _locked(settings):
        current = client.records()
        group_ids = resolve(client, wanted_groups(records))  # an unknown group: refused before any write
        base, note = load_base(settings.state, url)
        if note:
            warnings.append(note)
        result = plan(records, current, base)
        warnings += result.notes
        lines += plan_lines(result, settings.detailed or settings.dry_run)
        line = summary(result, url, len(records))
        refusal = shrink_refusal(result, settings.max_remove_fraction, settings.force)
        if refusal:
            lines.append(line)
            raise RinsyncError(f"{refusal}; Open WebUI left as it was", exitcodes.SHRINK_REFUSED)
        order = getattr(records, "order", None)  # the rules' selector order (records.Records), if any
        if settings.dry_run:
            lines.append(f"dry run: {line} (nothing written)")
            if order:
                sync_order(client, order, settings.state, True, lines, warnings)
            return
        applied = apply_plan(apply_groups(result, client, group_ids), result, base)
        data = state_bytes(settings.state, url, applied.base)
        with contextlib.suppress(OSError):
            if settings.state.read_bytes() == data:
                data = None
        if data is not None:
            try:
                write_atomic(settings.state, data, mode=0o600)
            except RinsyncError as exc:
                if applied.error is None:
                    raise RinsyncError(f"Open WebUI was synced, but its state could not be saved ({exc.message}); the "
                                       "next sync cannot tell admin edits apart", exitcodes.OPENWEBUI_FAILED) from None
        if applied.error is not None:
            raise failure(result, applied)
        lines.append(line if result.has_changes else f"{line}; no changes")
        if order:  # after the records: Open WebUI orders the models it lists
            sync_order(client, order, settings.state, False, lines, warnings)
