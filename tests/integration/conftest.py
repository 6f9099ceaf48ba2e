"""pytest wiring for rinsync's integration tests (real LiteLLM proxy / Open WebUI).

Markers:
  integration  -- needs the real LiteLLM proxy binary (ci/install-integration.sh)
  e2e          -- needs the LiteLLM proxy AND Open WebUI

Missing binaries skip these tests, unless RINSYNC_REQUIRE_INTEGRATION=1, in
which case they fail.  Select them with ``-m integration`` / ``-m e2e``, or
leave them out with ``-m "not integration and not e2e"``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the test modules here import `harness` as a plain module (no __init__.py)
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import harness  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: runs the real LiteLLM proxy on loopback (see docs/integration-notes.md)",
    )
    config.addinivalue_line(
        "markers",
        "e2e: runs the real LiteLLM proxy and the real Open WebUI on loopback",
    )


@pytest.fixture(scope="session")
def fake_openrouter():
    """One FakeOpenRouter for the whole session; call ``.clear()`` before
    asserting on ``.requests``."""
    with harness.FakeOpenRouter() as fake:
        yield fake
