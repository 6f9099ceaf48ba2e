"""Signals during an apply: SIGTERM, SIGHUP and SIGINT become :class:`Interrupted`, so it is rolled back.

Python's default for SIGTERM and SIGHUP is to die on the spot, which would leave a new config written but
unconfirmed (and the next sync would see "no changes"). Within a :class:`Guard` the first of these signals
raises :class:`Interrupted` instead, where the apply catches it and rolls back; any later one (during the
rollback) is only remembered, so a second Ctrl-C cannot cut a rollback in half. SIGKILL
cannot be caught: the apply journal (``rinsync/files/journal.py``) covers it.

Handlers can only be set in the main thread; elsewhere a Guard changes nothing.
"""

from __future__ import annotations

import signal
import threading

CAUGHT = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Interrupted(BaseException):
    """A caught signal (a BaseException like KeyboardInterrupt: an ``except Exception`` does not swallow it)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)


class Guard:
    """Within ``with Guard():`` the first SIGTERM, SIGHUP or SIGINT raises :class:`Interrupted`; after
    :meth:`hold` (or once one was raised) further signals are only remembered in ``received``."""

    def __init__(self) -> None:
        self.armed = True
        self.received: list[str] = []
        self._previous: dict = {}

    def hold(self) -> None:
        """From now on, signals are remembered, not raised (the rollback must finish)."""
        self.armed = False

    def _handler(self, signum, _frame) -> None:
        if self.armed:
            self.armed = False
            raise Interrupted(signum)
        self.received.append(signal.Signals(signum).name)

    def __enter__(self) -> Guard:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handler) for sig in CAUGHT}
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)
        self._previous = {}
