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


# -- any failure is rolled back: an unexpected error, Ctrl-C, a signal (issue 17, family 4) -------------------


class Raising(Recording):
    """Raises ``error`` (any exception, or a call) in ``step``; records the rest like Recording."""

    def __init__(self, step: str, error):
        super().__init__()
        self.step, self.error = step, error

    def _step(self, name: str, change: Change) -> None:
        super()._step(name, change)
        if name == self.step:
            raise self.error() if callable(self.error) else self.error


@pytest.mark.parametrize("step", ["apply", "confirm"])
@pytest.mark.parametrize("error, reason", [
    (RuntimeError("secret sk-zzz in a message"), "an unexpected error (RuntimeError) stopped the confirmation"),
    (KeyboardInterrupt(), "rinsync was interrupted (SIGINT) before the proxy confirmed it"),
    (RinsyncError("a hostile answer", 1), "a hostile answer"),
])
def test_any_failure_is_rolled_back(step, error, reason):
    applier = Raising(step, error)
    lines, failure = run(applier)
    assert applier.calls[-1] == "rollback"
    assert failure.exit_code == 5
    assert failure.message == f"new config rejected by the proxy, previous config restored: {reason}"
    assert "sk-zzz" not in failure.message


def test_a_sigterm_during_confirmation_is_rolled_back_and_a_second_waits_for_the_rollback():
    import os
    import signal

    before = signal.getsignal(signal.SIGTERM)

    class Signalled(Recording):
        def confirm(self, change: Change) -> None:
            super().confirm(change)
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("the signal did not stop the confirmation")

        def rollback(self, change: Change) -> None:
            os.kill(os.getpid(), signal.SIGHUP)  # deferred: the rollback runs to its end
            super().rollback(change)

    applier = Signalled()
    lines, failure = run(applier)
    assert applier.calls == ["apply", "confirm", "rollback"]
    assert failure.exit_code == 5
    assert failure.message == ("new config rejected by the proxy, previous config restored: rinsync was interrupted "
                               "by SIGTERM before the proxy confirmed it (SIGHUP received during the rollback)")
    assert signal.getsignal(signal.SIGTERM) is before  # the handlers are put back


class FakeJournal:
    def __init__(self):
        self.phases: list[str] = []

    def mark(self, phase: str) -> None:
        self.phases.append(phase)

    def finish(self) -> None:
        self.phases.append("finished")


class WithJournal:
    def __init__(self):
        self.journal = FakeJournal()


@pytest.mark.parametrize("fail, phases", [
    (set(), ["applying", "finished"]),
    ({"confirm"}, ["applying", "rolling back", "finished"]),
    ({"confirm", "rollback"}, ["applying", "rolling back", "rollback failed"]),  # kept for the next sync
])
def test_the_journal_is_removed_only_once_confirmed_or_rolled_back(fail, phases):
    snapshot = WithJournal()
    with pytest.raises(RinsyncError) if fail else _nothing():
        apply_change(Recording(fail), Change(Path("config.yaml"), snapshot=snapshot), [])
    assert snapshot.journal.phases == phases


def _nothing():
    import contextlib

    return contextlib.nullcontext()
