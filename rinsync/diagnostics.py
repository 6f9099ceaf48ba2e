"""Located findings (``FILE:LINE:COL: severity CODE message``) and their output formats."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One problem found in a user's file, pointing at the offending value."""

    file: str
    line: int
    col: int
    code: str
    message: str
    severity: str = "error"
    hint: str | None = None

    def text(self) -> str:
        out = f"{self.file}:{self.line}:{self.col}: {self.severity} {self.code} {self.message}"
        if self.hint:
            out += f" (hint: {self.hint})"
        return out

    def github(self) -> str:
        level = "error" if self.severity == "error" else "warning"
        message = self.message + (f" (hint: {self.hint})" if self.hint else "")
        return (
            f"::{level} file={_gh_property(self.file)},line={self.line},col={self.col},"
            f"title={_gh_property(self.code)}::{_gh_data(message)}"
        )


class RinsyncError(Exception):
    """An error that ends a command with a one-line message and a documented exit code."""

    def __init__(self, message: str, exit_code: int = 1, findings: list[Finding] | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.findings = findings or []


class RulesError(RinsyncError):
    """The rules could not be loaded: ``findings`` says where and why."""

    def __init__(self, findings: list[Finding]):
        errors = [f for f in findings if f.severity == "error"]
        first = errors[0].text() if errors else "invalid rules"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more, 1, findings)


def _gh_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(value: str) -> str:
    return _gh_data(value).replace(":", "%3A").replace(",", "%2C")


def format_findings(findings: list[Finding], fmt: str) -> str:
    """Render findings as ``text`` (one per line), ``json`` or ``github`` workflow commands."""
    ordered = sorted(findings)
    if fmt == "json":
        errors = sum(1 for f in ordered if f.severity == "error")
        payload = {
            "findings": [asdict(f) for f in ordered],
            "summary": {"errors": errors, "warnings": len(ordered) - errors},
        }
        return json.dumps(payload, indent=2)
    if fmt == "github":
        return "\n".join(f.github() for f in ordered)
    return "\n".join(f.text() for f in ordered)
