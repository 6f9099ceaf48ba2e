"""The report options of ``rinsync compile`` and ``rinsync openwebui sync`` as one decorator (issue 19).

Only click is imported here: ``cli.py`` imports this module at start-up (``rinsync --help`` stays fast).
"""

from __future__ import annotations

import functools
from pathlib import Path

import click


def _notify_url(ctx, param, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    from .notify import url_problem

    problem = url_problem(value)
    if problem:
        raise click.BadParameter(f"{problem} (the URL is not shown: it may hold a token)")
    return value


def _refuse_overwriting(kwargs: dict, **paths: Path | None) -> None:
    """--report or --metrics-file naming the config (or --output, or each other) would replace it: a usage error."""
    import os

    protected = {name: kwargs.get(name) for name in ("config", "output")}
    seen: dict[str, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        real = os.path.realpath(path)
        for name, other in protected.items():
            if other not in (None, "-") and real == os.path.realpath(other):
                raise click.UsageError(f"--{option if option == 'report' else 'metrics-file'} names the same file "
                                       f"as --{name}; choose another path")
        if real in seen:
            raise click.UsageError("--report and --metrics-file name the same file")
        seen[real] = option


def threshold_options(command):
    """--price-threshold and --expiring-days (also used by ``rinsync diff``)."""
    command = click.option("--expiring-days", type=click.IntRange(0, 3650), default=None,
                           envvar="RINSYNC_EXPIRING_DAYS", metavar="DAYS",
                           help="Report generated models whose expiration_date is at most DAYS after the "
                                "compile date (default: the rules' report.expiring_days, else 14). "
                                "Env: RINSYNC_EXPIRING_DAYS.")(command)
    command = click.option("--price-threshold", type=click.FloatRange(0, 1_000_000), default=None,
                           envvar="RINSYNC_PRICE_THRESHOLD", metavar="PERCENT",
                           help="Report price increases above PERCENT apart and notify about them (default: the "
                                "rules' report.price_increase_threshold, else 10). Env: RINSYNC_PRICE_THRESHOLD."
                           )(command)
    return command


def report_options(command_name: str):
    """Decorator: adds --report, --notify, --notify-format, --metrics-file and the thresholds, and runs the
    command under a report collector; the report is finished with the command's exit code, also on failure."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, report_file: Path | None = None, notify_url: str | None = None,
                    notify_format: str = "slack", notify_timeout: float = 15, metrics_file: Path | None = None,
                    price_threshold: float | None = None, expiring_days: int | None = None, **kwargs):
            from .. import exitcodes
            from ..diagnostics import RinsyncError
            from .collect import collecting
            from .run import ReportSettings, Run

            _refuse_overwriting(kwargs, report=report_file, metrics=metrics_file)
            settings = ReportSettings(report_file, notify_url, notify_format, metrics_file,
                                      price_threshold, expiring_days, notify_timeout)
            run = Run(settings, command_name, bool(kwargs.get("verbose") or kwargs.get("debug")),
                      bool(kwargs.get("dry_run")))
            with collecting(run.collector):
                try:
                    code = command(*args, **kwargs)
                except RinsyncError as exc:
                    run.finish(exc.exit_code, exc.message)
                    raise
                except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                    raise  # usage errors: the run did not start
                except Exception:
                    run.finish(exitcodes.ERROR, "internal error")
                    raise
                run.finish(code if isinstance(code, int) else exitcodes.OK)
                return code

        wrapper = threshold_options(wrapper)
        for option in reversed([
            click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
                         metavar="FILE", help="Write the change report (JSON, schemas/report.v1.schema.json) to "
                                              "FILE, also on --dry-run and on a failed run."),
            click.option("--notify", "notify_url", envvar="RINSYNC_NOTIFY_URL", metavar="URL",
                         callback=_notify_url,
                         help="POST the digest to this webhook when models were removed, prices rose, models "
                              "expire soon or the run failed (https://, or http:// to this machine; never "
                              "printed). Env: RINSYNC_NOTIFY_URL."),
            click.option("--notify-format", type=click.Choice(["slack", "json"]), default="slack",
                         show_default=True,
                         help="slack: {\"text\": digest} (Slack, Mattermost, Rocket.Chat, Discord's /slack); "
                              "json: the report."),
            click.option("--notify-timeout", type=click.FloatRange(0.1, 600), default=15, show_default=True,
                         metavar="SECONDS", envvar="RINSYNC_NOTIFY_TIMEOUT",
                         help="Total time for the notification, retries included. Env: RINSYNC_NOTIFY_TIMEOUT."),
            click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                         envvar="RINSYNC_METRICS_FILE",
                         help="Write Prometheus metrics (textfile collector format) to FILE after every run. "
                              "Env: RINSYNC_METRICS_FILE."),
        ]):
            wrapper = option(wrapper)
        return wrapper

    return decorate
