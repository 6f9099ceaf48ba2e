"""Shared fixtures: the shared real catalogs and an in-process CLI runner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support import CATALOGS, SHARED, TODAY_EPOCH


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run ``rinsync ARGS`` in-process; returns exit code, stdout and stderr."""
    from rinsync.cli import main

    monkeypatch.setenv("SOURCE_DATE_EPOCH", TODAY_EPOCH)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def catalogs() -> list[Path]:
    if not CATALOGS:
        pytest.fail(f"no shared catalogs under {SHARED}/catalogs (set RINSYNC_SHARED_DIR)")
    return CATALOGS
