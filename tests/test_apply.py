"""rinsync.apply: the applier protocol is independent of the LiteLLM file target (an API applier can use it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rinsync import exitcodes
from rinsync.apply import ApplyFailed, Change, apply_change
from rinsync.diagnostics import RinsyncError


class Recording:
    """An applier in memory: records the calls, fails where told."""

    def __init__(self, fail: set[str] = frozenset()):
        self.fail = fail
        self.calls: list[str] = []

    def check(self) -> None:
        self.calls.append("check")

    def _step(self, name: str, change: Change) -> None:
        self.calls.append(name)
        change.notes.append(f"{name} ran")
        if name in self.fail:
            raise ApplyFailed(f"{name} failed", [f"  {name}: detail"])

    def apply(self, change: Change) -> None:
        self._step("apply", change)

    def confirm(self, change: Change) -> None:
        self._step("confirm", change)

    def rollback(self, change: Change) -> None:
        self._step("rollback", change)


def run(applier: Recording) -> tuple[list[str], RinsyncError | None]:
    lines: list[str] = []
    try:
        apply_change(applier, Change(Path("config.yaml"), snapshot=None), lines)
    except RinsyncError as exc:
        return lines, exc
    return lines, None


def test_success_runs_apply_then_confirm_only():
    applier = Recording()
    lines, error = run(applier)
    assert error is None
    assert applier.calls == ["apply", "confirm"]
    assert lines == ["apply ran", "confirm ran"]


@pytest.mark.parametrize("failing", ["apply", "confirm"])
def test_a_failed_step_is_rolled_back_and_exits_5(failing):
    applier = Recording({failing})
    lines, error = run(applier)
    assert applier.calls == (["apply", "rollback"] if failing == "apply" else ["apply", "confirm", "rollback"])
    assert error.exit_code == exitcodes.APPLY_ROLLED_BACK == 5
    assert error.message == f"new config rejected by the proxy, previous config restored: {failing} failed"
    assert f"  {failing}: detail" in lines and lines[-1] == "rollback ran"


def test_a_failed_rollback_is_said_loudly():
    applier = Recording({"confirm", "rollback"})
    lines, error = run(applier)
    assert error.exit_code == 5
    assert error.message.startswith("PROXY AND CONFIG DISAGREE: the new config was not served (confirm failed); "
                                    "the previous config was put back, but rollback failed; check the proxy now")
    assert "  rollback: detail" in lines
