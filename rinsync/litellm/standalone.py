"""The LiteLLM target with ``--output``: a standalone file (or standard output) holding only the generated
model_list. No merge, no lock, no state: the file is replaced in one rename."""

from __future__ import annotations

import contextlib
from pathlib import Path

from .config_target import ConfigPlan, ConfigTarget, Written, changes, shown


class StandaloneTarget(ConfigTarget):
    def kept(self) -> str:
        output = self.settings.output
        return "nothing written" if output == "-" else f"kept {shown(output)} unchanged"

    def prepare(self, compiled, report) -> None:
        super().prepare(compiled, report)
        self.records = compiled.records

    def locked(self):
        return contextlib.nullcontext()

    def plan(self, report) -> ConfigPlan:
        output = self.settings.output
        dropped = len(self.records) - len(self.entries)
        summary = (f"compiled {len(self.entries)} models from {len(self.records)} catalog records ({dropped} "
                   f"dropped) -> {output}")
        return ConfigPlan(Path(output), None, changes([], self.entries), summary)

    def gate(self, plan: ConfigPlan, report, dry_note: str = "") -> bool:
        if self.settings.dry_run:
            report.lines.append(f"dry run: {plan.summary} (nothing written)")
            return True
        return False

    def write(self, plan: ConfigPlan, report) -> Written | None:
        from ..files.atomic import write_atomic
        from ..output import render_config

        text = render_config(self.entries)
        output = self.settings.output
        if output == "-":
            report.text = text
            report.lines.append(plan.summary)
            return None
        write_atomic(Path(output), text.encode("utf-8"), follow_link=True)  # the operator's path
        report.lines.append(plan.summary)
        return Written([])

    def apply(self, written: Written, report) -> None:
        """A standalone file is not served by a running proxy (--reload-cmd is refused with --output)."""

    def rollback(self, written: Written, report) -> None:
        """Nothing to put back: the previous standalone file is not kept (it is rinsync's output, not a config)."""
