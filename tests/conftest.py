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


SYNC_ENV_VARS = ("OPENROUTER_API_KEY", "RINSYNC_SOURCE_URL", "RINSYNC_CACHE_DIR", "RINSYNC_VALIDATE_CMD",
                 "RINSYNC_MAX_REMOVE_FRACTION", "RINSYNC_RELOAD_CMD", "RINSYNC_PROXY_URL", "RINSYNC_RELOAD_TIMEOUT")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment for syncs: no key or URL from the outside, fast retries, cwd in tmp_path."""
    for name in SYNC_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RINSYNC_RETRY_BACKOFF", "0.01")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def server():
    """A local catalog server on 127.0.0.1 (see helpers_sync.CatalogServer)."""
    from helpers_sync import CatalogServer

    with CatalogServer() as srv:
        yield srv
