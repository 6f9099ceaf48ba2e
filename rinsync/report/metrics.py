"""Prometheus' text format for node_exporter's textfile collector, written atomically after every run.

A failed run updates the run time, exit code and duration and keeps the last success time, read back from
the previous file (bounded read), so an alert on that time's age catches a cron job that keeps failing.
"""

from __future__ import annotations

import math
from pathlib import Path

MAX_METRICS_BYTES = 1 << 20
SUCCESS = "rinsync_last_success_timestamp_seconds"
CHANGE_KINDS = ("added", "removed", "changed", "price_increases", "expiring")


def previous_success(path: Path) -> float | None:
    """The last success time in an earlier metrics file (None: no file, unreadable, or no such sample)."""
    from ..limits import read_regular

    try:
        text = read_regular(path, MAX_METRICS_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    for line in text.splitlines():
        name, _, value = line.strip().partition(" ")
        if name == SUCCESS:
            try:
                number = float(value.split()[0])
            except (ValueError, IndexError):
                return None
            return number if math.isfinite(number) and number >= 0 else None
    return None


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render(report: dict, started: float, finished: float, last_success: float | None) -> str:
    """The metrics text (``last_success``: this run's end when it succeeded, else the previous value or none)."""
    code = report.get("outcome", {}).get("exit_code", 0)
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {_num(value)}" for labels, value in samples)

    metric("rinsync_last_run_timestamp_seconds", "gauge", "When the last rinsync run ended (Unix time).",
           [("", round(finished, 3))])
    if last_success is not None:
        metric(SUCCESS, "gauge", "When the last successful rinsync run (exit 0) ended (Unix time).",
               [("", round(last_success, 3))])
    metric("rinsync_last_exit_code", "gauge", "Exit code of the last rinsync run (0: ok).", [("", code)])
    metric("rinsync_duration_seconds", "gauge", "How long the last rinsync run took.",
           [("", round(max(finished - started, 0.0), 3))])
    targets = report.get("targets", {})
    metric("rinsync_models", "gauge", "Generated models per target after the last run.",
           [(f'{{target="{_label(name)}"}}', t.get("models", 0)) for name, t in sorted(targets.items())])
    totals = report.get("totals", {})
    metric("rinsync_changes", "gauge", "Changes found by the last run, by kind.",
           [(f'{{kind="{kind}"}}', totals.get(kind, 0)) for kind in CHANGE_KINDS])
    return "\n".join(lines) + "\n"


def write(path: Path, report: dict, started: float, finished: float) -> None:
    """Render and replace ``path`` atomically (raises RinsyncError exit 74 when it cannot be written)."""
    from ..files.atomic import write_atomic

    code = report.get("outcome", {}).get("exit_code", 0)
    last = finished if code == 0 else previous_success(path)
    write_atomic(path, render(report, started, finished, last).encode("utf-8"), mode=0o644)
