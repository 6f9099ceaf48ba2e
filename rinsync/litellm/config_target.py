"""The LiteLLM target in its normal mode: the generated entries merged into config.yaml's own model_list
(three-way, hand edits kept), guarded, validated, backed up, written, then reloaded and confirmed.

Also the settings, plan and result types the other modes (include_target.py, standalone.py) share.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import exitcodes
from ..diagnostics import RinsyncError
from .entries import SOURCE_ID_KEY, is_generated

log = logging.getLogger("rinsync.sync")

DEFAULT_CONFIG = Path("config/litellm/config.yaml")


@dataclass
class LiteLLMSettings:
    config: Path = DEFAULT_CONFIG
    output: str | None = None  # standalone file (or "-"): no merge
    include_file: str | None = None  # include mode: generated entries go here (relative to the config's dir)
    migrate: bool = False  # include mode: move generated entries out of the config
    dry_run: bool = False
    force: bool = False
    max_remove_fraction: float = 0.5
    validate_cmd: str | None = None
    backups: int = 5
    lock_timeout: float = 60.0
    verbose: bool = False
    applier: object | None = None  # rinsync.apply.Applier: make the running proxy take a written config


@dataclass
class EntryChange:
    """One model name in a plan: its generated entry before and after this sync (None: absent)."""

    name: str
    openrouter_id: str | None
    old: dict | None
    new: dict | None


@dataclass
class ConfigPlan:
    """What a sync will do to the file holding the generated entries (issue 19's change report reads it)."""

    path: Path  # the file holding the generated entries
    merge: Any  # rinsync.litellm.configfile.Plan (None for a standalone file)
    changes: dict[str, EntryChange] = field(default_factory=dict)  # every generated name, before and after
    summary: str = ""
    work: dict[str, Any] = field(default_factory=dict)  # what write() needs (the mode's own)


@dataclass
class Written:
    """What write() replaced: each file's previous bytes, and the applier's snapshot (with an applier)."""

    files: list  # rinsync.litellm.replace.Replacement
    snapshot: object | None = None


def shown(path: Path | str) -> str:
    from ..dsl.rules import display_path

    return display_path(Path(path))


def changes(before: list, after: list) -> dict[str, EntryChange]:
    """Per generated model name, its entry before and after (the first entry of a duplicated name)."""
    out: dict[str, EntryChange] = {}
    for side, entries in (("old", before), ("new", after)):
        for entry in entries:
            name = entry.get("model_name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not is_generated(entry):
                continue
            change = out.setdefault(name, EntryChange(name, entry["model_info"].get(SOURCE_ID_KEY), None, None))
            if getattr(change, side) is None:
                setattr(change, side, entry)
                if side == "new":
                    change.openrouter_id = entry["model_info"].get(SOURCE_ID_KEY)
    return dict(sorted(out.items()))


class ConfigTarget:
    """Generated entries merged into the config's own model_list (three-way, hand edits kept)."""

    name = "litellm"
    title = "LiteLLM"
    failure_code = exitcodes.ERROR
    written_note = "the LiteLLM config was written"
    keeps_cache = True

    def __init__(self, settings: LiteLLMSettings, redactor=None):
        self.settings = settings
        self.redactor = redactor or (lambda text: text)
        self.entries: list[dict] = []

    @property
    def config(self) -> Path:
        return Path(self.settings.config)

    def kept(self) -> str:
        """The end of every refusal message: what was left as it was."""
        return f"kept {shown(self.config)} unchanged"

    def check(self) -> None:
        """Nothing to check before the catalog (the applier checks the proxy just before writing)."""

    def prepare(self, compiled, report) -> None:
        self.entries = compiled.result.entries

    def locked(self):
        from .replace import locked

        return locked(self.settings.dry_run, self.settings.lock_timeout, self.config)

    def plan(self, report) -> ConfigPlan:
        from .configfile import read_config
        from .state import load_base

        recover_interrupted_apply(self.settings, report, self.config)
        existing = read_config(self.config)
        scan = self._scan(existing)
        report.warnings += scan.warnings
        merge = merge_plan(existing, self.entries, load_base(self.config, existing.raw, existing.generated),
                           scan.names, report)
        return ConfigPlan(self.config, merge, changes(existing.generated, merge.entries),
                          summary(merge, self.config), {"existing": existing})

    def _scan(self, existing):
        """Names used by files config.yaml includes win; an included rinsync file means include mode."""
        from .include import scan_includes

        config = self.config
        scan = scan_includes(config, existing.document)
        if scan.generated:
            where, count = next(iter(scan.generated.items()))
            raise RinsyncError(f"{shown(config)} includes {where}, which holds {count} rinsync-generated entries: "
                               f"sync it with --include-file (a sync into {shown(config)} would serve those models "
                               f"twice), or remove it from include:; nothing written", exitcodes.ERROR)
        return scan

    def gate(self, plan: ConfigPlan, report, dry_note: str = "") -> bool:
        """Report the plan; refuse on the shrink guard (exit 3); True when this is a dry run and must stop."""
        from .configfile import check_shrink

        settings = self.settings
        report.lines += plan_lines(plan.merge, settings.verbose or settings.dry_run)
        refusal = check_shrink(plan.merge, settings.max_remove_fraction, settings.force)
        if refusal:
            report.lines.append(plan.summary)
            raise RinsyncError(f"{refusal}; {self.kept()}", exitcodes.SHRINK_REFUSED)
        if settings.dry_run:
            report.lines.append(f"dry run: {plan.summary}{dry_note} (nothing written)")
            return True
        return False

    def write(self, plan: ConfigPlan, report) -> Written | None:
        from .configfile import render
        from .replace import Replacement, write_state_if_changed
        from .state import state_bytes

        existing, config, entries = plan.work["existing"], self.config, self.entries
        # rendered only when it can differ: an unchanged plan never rewrites the file
        merge = plan.merge
        data = render(existing, merge.entries) if existing.raw is None or merge.has_changes else existing.raw
        if data == existing.raw:
            write_state_if_changed(config, entries, existing.raw)
            report.lines.append(f"{plan.summary}; no changes, file left as it was")
            return None
        written = self.replace([Replacement(config, data, existing.raw,
                                            state=lambda: state_bytes(config, entries, data, existing.raw),
                                            validate=True)], report)
        report.lines.append(plan.summary)
        return written

    def replace(self, files: list, report) -> Written:
        from .replace import ReplaceSettings, replace

        s = self.settings
        snapshot = replace(files, ReplaceSettings(self.config, s.validate_cmd, s.backups, s.applier, self.kept()),
                           self.redactor, report.warnings)
        return Written(files, snapshot)

    def applies(self) -> bool:
        """A written change goes live through an applier (reload and confirm)."""
        return self.settings.applier is not None

    def apply(self, written: Written, report) -> None:
        """The written files go live: the applier reloads the proxy and confirms, or restores them (exit 5)."""
        if self.settings.applier is None:
            return
        from ..apply import Change, apply_change

        apply_change(self.settings.applier, Change(self.config, written.snapshot), report.lines)

    def rollback(self, written: Written, report) -> None:
        """Put back what write() replaced: through the applier (restore, reload, confirm) when there is one."""
        from ..apply import Change

        if self.settings.applier is not None and written.snapshot is not None:
            change = Change(self.config, written.snapshot)
            try:
                self.settings.applier.rollback(change)
            finally:
                report.lines += change.notes
            return
        from ..files.atomic import write_atomic

        for item in reversed(written.files):
            if item.old is None:
                with contextlib.suppress(FileNotFoundError):
                    item.path.unlink()
            else:
                write_atomic(item.path, item.old, follow_link=item.path == self.config)


def recover_interrupted_apply(settings: LiteLLMSettings, report, *paths: Path) -> None:
    """Under the lock, before the config is read: an apply a killed run left is completed or rolled back
    (rinsync/files/journal.py)."""
    from ..files.journal import recover

    recover(Path(settings.config), list(paths), settings.applier, report.lines, dry_run=settings.dry_run)


def merge_plan(current, entries: list[dict], base, reserved: dict[str, str], report):
    """The merge plan of ``entries`` into ``current`` against ``base`` (litellm.state.Base); notes to warnings."""
    from .configfile import plan_merge

    if base.note and base.warn:
        report.warnings.append(f"merge base: {base.note}")
    elif base.note and current.generated:
        log.info("merge base: %s", base.note)
    plan = plan_merge(current, entries, base.entries, reserved)
    said = base.warn and "two-way" in (base.note or "")  # the merge-base warning already says what follows
    report.warnings += [n for n in plan.notes if not (said and n.startswith("no usable last-sync state"))]
    return plan


def summary(plan, path: Path) -> str:
    parts = [f"+{len(plan.added)} added", f"-{len(plan.removed)} removed", f"~{len(plan.changed)} changed"]
    if plan.skipped:
        parts.append(f"{len(plan.skipped)} skipped (hand-written name wins)")
    parts.append(f"kept {plan.hand_written} hand-written entr{'y' if plan.hand_written == 1 else 'ies'}")
    return f"{plan.generated_after} generated models: {', '.join(parts)} -> {shown(path)}"


def plan_lines(plan, detailed: bool) -> list[str]:
    lines: list[str] = []
    if detailed:
        lines += [f"  + {name}" for name in plan.added]
        lines += [f"  - {name}" for name in plan.removed]
        lines += [f"  ~ {c.name}: {', '.join(c.fields)}" for c in plan.changed]
    lines += [f"  ! {name}: skipped, a hand-written entry already uses this model_name"
              + (f" in {plan.skipped_in[name]}" if name in plan.skipped_in else "") for name in plan.skipped]
    if detailed:
        for change in plan.preserved:
            what = []
            if change.kept:
                what.append(f"kept hand edits {', '.join(change.kept)}")
            if change.conflicts:
                what.append(f"kept hand value over a new generated value for {', '.join(change.conflicts)}")
            lines.append(f"  = {change.name}: {'; '.join(what)}")
    return lines
