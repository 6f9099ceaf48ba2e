"""Shared fixtures: paths to the repo, the shipped rules and the shared real catalogs; a CLI runner."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RINSYNC_SHARED_DIR", REPO.parent / "shared"))
CATALOGS = sorted((SHARED / "catalogs").glob("openrouter-models-*.json"))
SAMPLE_CATALOG = REPO / "examples" / "sample-catalog.json"
RULES_DIR = REPO / "rules"
TODAY_EPOCH = "1795478400"  # 2026-11-24T00:00:00Z


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


def python() -> str:
    return sys.executable
