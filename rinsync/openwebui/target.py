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
from .state import default_state_path, load_state, state_bytes

__all__ = ["OpenWebUITarget", "RecordsPlan", "Settings", "default_state_path", "sync_records"]


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
    if detailed:  # marked records rinsync did not create (an admin's copy of a generated model)
        lines += [f"  ? {model_id}: carries rinsync's marker but rinsync did not create it (an admin's copy?); "
                  "left alone" for model_id in result.unowned if model_id not in result.foreign]
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
        owned, note = load_state(settings.state, url)
        base = owned.base
        if note:
            warnings.append(note)
        result = plan(records, current, base, owned.created)
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
        data = state_bytes(settings.state, url, applied.base, applied.created)
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


@dataclass
class RecordsPlan:
    """The Open WebUI records this sync will make Open WebUI show (compared with Open WebUI's own records,
    read under the state's lock, inside :meth:`OpenWebUITarget.write`)."""

    url: str
    records: list[dict]


class OpenWebUITarget:
    """rinsync.target.Target for Open WebUI's model records.

    Its plan against Open WebUI's current records, the shrink guard and the dry run all need those records,
    read under the state's lock: :func:`sync_records` does them together, so ``gate`` here never stops a run
    and ``write`` refuses (exit 3) or stops after printing the plan (dry run) itself.
    """

    name = "openwebui"
    title = "Open WebUI"
    failure_code = exitcodes.OPENWEBUI_FAILED
    written_note = "Open WebUI was synced"
    keeps_cache = False

    def __init__(self, settings: Settings, key_env_file: Path | None, redactor,
                 hand_names=lambda: set(), kept: str = "Open WebUI left as it was"):
        self.settings = settings
        self.env_file = key_env_file
        self.redactor = redactor
        self.hand_names = hand_names  # model names hand-written LiteLLM entries serve: no generated record
        self.records: list[dict] = []
        self._kept = kept

    def kept(self) -> str:
        return self._kept

    def check(self) -> None:
        """The token from the key variable (environment or .env), before anything is fetched or written."""
        from ..source.fetch import resolve_api_key

        key_env = self.settings.key_env
        token, _ = resolve_api_key(key_env, self.env_file)
        if not token:
            raise RinsyncError(f"{key_env} is not set: Open WebUI needs an admin's API key or token "
                               f"(Settings > Account > API keys); nothing written", exitcodes.USAGE)
        self.redactor.add(token)
        self.settings.token = token

    def prepare(self, compiled, report) -> None:
        """The records of the compile (a failing ``openwebui:`` expression raises here, before any write)."""
        from .records import build_records

        if not compiled.engine.ruleset.openwebui:
            report.warnings.append("the rules have no openwebui: section; Open WebUI records get only a name")
        self.records = build_records(compiled.engine, compiled.result.decisions, self.hand_names())
        wanted = wanted_groups(self.records)
        if wanted:  # the rules' groups exist in Open WebUI: checked before any target writes (one line if not)
            resolve(Client(base_url(self.settings.url), self.settings.token, self.redactor,
                           key_env=self.settings.key_env), wanted)

    def locked(self):
        return contextlib.nullcontext()  # sync_records takes the state's lock around read, plan and apply

    def plan(self, report) -> RecordsPlan:
        return RecordsPlan(self.settings.url, self.records)

    def gate(self, plan: RecordsPlan, report) -> bool:
        return False

    def write(self, plan: RecordsPlan, report) -> None:
        sync_records(plan.records, self.settings, self.redactor, report.lines, report.warnings)
        return None

    def apply(self, written, report) -> None:
        """Open WebUI serves what its API accepted: nothing to reload."""

    def rollback(self, written, report) -> None:
        """Open WebUI's records are not rolled back: a partial apply is exit 6, saying what was applied."""
