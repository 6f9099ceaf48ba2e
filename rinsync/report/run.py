"""After a compile or ``openwebui sync``: the report built from what was collected, then written, shown, posted
and counted. Nothing here changes the run's exit code; a report, webhook or metrics failure is a warning."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click

from .changes import (
    build_report,
    catalog_date,
    expirations_of,
    resolve_settings,
    target_changes,
    to_json,
)
from .collect import Collector


@dataclass
class ReportSettings:
    report_file: Path | None = None
    notify_url: str | None = None
    notify_format: str = "slack"
    metrics_file: Path | None = None
    threshold_percent: float | None = None  # None: the rules' report: section, else the default
    expiring_days: int | None = None
    notify_timeout: float = 15.0  # seconds for the whole notification, retries included

    def resolved(self, rules_section: dict | None) -> dict:
        return resolve_settings(self.threshold_percent, self.expiring_days, rules_section)


def collected_report(c: Collector, settings: ReportSettings, outcome: dict, target: str) -> dict:
    """The report of one run from its collector (targets empty when nothing was compiled)."""
    from ..engine import compile_date

    today = c.today or compile_date()
    expirations = expirations_of(c.decisions)
    resolved = settings.resolved(c.rules_report)
    threshold, days = resolved["price_increase_threshold"], resolved["expiring_days"]
    targets: dict[str, dict] = {}
    if c.new is not None:
        targets["litellm"] = target_changes(c.old or [], c.new, expirations, today, threshold, days)
    elif c.entries is not None:
        # standalone --output or openwebui sync: no merge plan; standalone compares with nothing, Open WebUI's
        # own plan is not exposed, so its target carries the model count and expiring models only
        old = [] if target == "litellm" else c.entries
        targets[target] = target_changes(old, c.entries, expirations, today, threshold, days)
    catalog = {"source": c.source, "date": catalog_date(c.records) if c.records else None,
               "records": len(c.records)}
    return build_report(targets, catalog, today, resolved, outcome)


class Run:
    """One run with the report options: collect while it runs, then :meth:`finish` with its exit code."""

    def __init__(self, settings: ReportSettings, command: str, verbose: bool, dry_run: bool):
        self.settings, self.command, self.verbose, self.dry_run = settings, command, verbose, dry_run
        self.collector = Collector()
        self.started = time.time()

    def finish(self, exit_code: int, error: str | None = None) -> dict | None:
        from ..diagnostics import RinsyncError
        from ..source.fetch import Redactor
        from ..untrusted import one_line
        from . import digest

        c = self.collector
        redactor = c.redactor or Redactor()
        if self.settings.notify_url:
            _hide_url(redactor, self.settings.notify_url)
        error = error or c.error
        outcome = {"command": self.command, "exit_code": exit_code, "dry_run": self.dry_run,
                   "written": c.written, "applied": c.applied,
                   "confirmed": c.confirmed, "error": one_line(redactor(error)) if error else None}
        try:
            report = collected_report(c, self.settings, outcome, "openwebui" if "openwebui" in self.command
                                      else "litellm")
        except RinsyncError as exc:
            _warn(f"no change report: {exc.message}")
            return None
        text = digest.text(report, self.verbose)
        text = redactor(text)
        if self.settings.report_file is not None:
            from ..files.atomic import write_atomic

            try:
                write_atomic(self.settings.report_file, redactor(to_json(report)).encode("utf-8"), mode=0o644)
            except RinsyncError as exc:
                _warn(f"--report: {exc.message}")
        # a failed run already said why in one line (the error): its digest goes to -v, --report and --notify
        if self.verbose or (report["notable"] and exit_code == 0):
            for line in redactor(digest.text(report, self.verbose, with_error=False)).splitlines():
                click.echo(f"rinsync: {line}" if not line.startswith("  ") else line, err=True)
        if self.settings.notify_url and report["notable"]:
            from .notify import body, post, shown_url

            sent = post(self.settings.notify_url, redactor(body(report, text, self.settings.notify_format)
                                                            .decode("utf-8")).encode("utf-8"),
                        self.settings.notify_timeout)
            if not sent.ok:
                _warn(f"notification to {shown_url(self.settings.notify_url)} failed after {sent.attempts} "
                      f"attempt(s): {sent.problem}; the sync itself is not affected")
        if self.settings.metrics_file is not None:
            from . import metrics

            try:
                metrics.write(self.settings.metrics_file, report, self.started, time.time())
            except RinsyncError as exc:
                _warn(f"--metrics-file: {exc.message}")
        return report


def _hide_url(redactor, url: str) -> None:
    """The webhook URL's credentials, path and query never appear in what rinsync prints or sends."""
    from urllib.parse import urlsplit

    redactor.add_url(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    # token-like path segments (Slack's T…/B…/secret, Discord's id/token, Mattermost's key), not words like
    # "services" or "webhooks", which could hide innocent words of the digest
    tokens = [p for p in parts.path.split("/") if len(p) >= 16 or (len(p) >= 6 and any(c.isdigit() for c in p))]
    for piece in [parts.query] + tokens:
        redactor.hide(piece or None)


def _warn(message: str) -> None:
    from ..untrusted import one_line

    click.echo(f"rinsync: warning: {one_line(message)}", err=True)
