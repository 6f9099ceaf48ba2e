"""Run rinsync in a subprocess under a memory and time limit, so a regression fails instead of hanging."""

from __future__ import annotations

import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

from helpers_sync import rinsync_cmd, subprocess_env

MEMORY_LIMIT = 512 * 1024 * 1024  # address space: rinsync needs about 150 MB on the largest real catalog
TIME_LIMIT = 30.0


@dataclass
class Limited:
    code: int
    out: str
    err: str


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(*args: str, cwd: Path, timeout: float = TIME_LIMIT, **extra_env: str) -> Limited:
    """``rinsync ARGS`` under RLIMIT_AS and a timeout (a timeout fails the test)."""
    done = subprocess.run(rinsync_cmd(*args), cwd=cwd, env=subprocess_env(**extra_env), capture_output=True,
                          text=True, timeout=timeout, preexec_fn=_limit_memory, stdin=subprocess.DEVNULL)
    return Limited(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Limited, code: int, *fragments: str) -> str:
    """Exit ``code``, no traceback, and one line besides warnings (the error or finding) holding ``fragments``."""
    assert result.code == code, (result.code, result.err)
    text = result.out + result.err  # findings go to stdout, errors to stderr
    assert "Traceback" not in text and "MemoryError" not in text, result.err
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("rinsync: warning:") and "error(s)" not in line]
    assert len(errors) == 1, result.err
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]
