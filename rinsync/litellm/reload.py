"""The file-based applier: run the operator's reload command, then wait until the proxy serves the files.

:class:`ReloadApplier` implements :class:`rinsync.apply.Applier` for a LiteLLM proxy that reads its
config from disk. ``apply`` runs the reload command (``sh -c CMD``: ``kill -HUP <gunicorn master>``,
``docker compose kill -s HUP litellm``, ``docker compose restart litellm``); ``confirm`` asks the proxy
(:func:`rinsync.litellm.verify.verify` with a wait) until it serves exactly the config's models with
the compiled values; ``rollback`` restores the snapshot, runs the command again and confirms the
previous config. Each phase has ``timeout`` seconds, command included. The command's output and every
message pass through the redactor: neither the master key nor the OpenRouter key is ever shown.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import exitcodes
from ..apply import ApplyFailed, Change
from ..diagnostics import RinsyncError
from .proxyversion import read_version
from .verify import DEFAULT_TIMEOUT, Redact, base_url, fetch_proxy, verify

log = logging.getLogger("rinsync.reload")

DEFAULT_RELOAD_TIMEOUT = 60.0
CONFIRM_POLL = 0.25  # seconds between two checks while waiting for a reloaded proxy (a fleet waits once per round)
OUTPUT_LINES = 5  # lines of a failed command's output shown


@dataclass
class ReloadApplier:
    command: str
    proxy_url: str
    key: str | None
    key_env: str = "LITELLM_MASTER_KEY"
    timeout: float = DEFAULT_RELOAD_TIMEOUT
    redactor: Callable[[str], str] = str
    _deadline: float = field(default=0.0, repr=False)

    # -- the protocol ------------------------------------------------------------------------------

    def check(self) -> None:
        """Ask the proxy once before writing: a wrong key or a URL that is not a LiteLLM proxy would make
        every confirmation fail, so they stop the sync before anything is written. A proxy that is down
        is fine (the reload command may be what starts it)."""
        try:
            fetch_proxy(self.proxy_url, self.key, self.key_env, DEFAULT_TIMEOUT)
        except RinsyncError as exc:
            if exc.exit_code == exitcodes.TEMPFAIL:
                log.info("proxy check: %s", self._clean(exc.message))
                return
            raise RinsyncError(f"{self._clean(exc.message)}; nothing written (--reload-cmd needs the proxy to "
                               "confirm the new config)", exitcodes.ERROR) from None

    def apply(self, change: Change) -> None:
        self._deadline = time.monotonic() + self.timeout
        self._run(change, "the new config")

    def confirm(self, change: Change) -> None:
        self._wait(change, "the new config")

    def rollback(self, change: Change) -> None:
        try:
            change.snapshot.restore()
        except RinsyncError as exc:
            raise ApplyFailed(f"restoring the previous files failed ({self._clean(exc.message)})") from None
        names = getattr(change.snapshot, "shown", None) or ", ".join(_shown(p) for p in change.snapshot.paths)
        change.notes.append(f"rollback: restored {names}")
        self._deadline = time.monotonic() + self.timeout
        try:
            self._run(change, "the previous config")
        except ApplyFailed as failed:  # the proxy may still have taken it (a restart that exits non-zero)
            change.notes.append(f"rollback: {failed.message}")
        self._wait(change, "the previous config")

    # -- the steps ----------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return Redact(self.key)(self.redactor(text))

    def _run(self, change: Change, what: str) -> None:
        """``sh -c CMD`` in its own session, output to a temporary file (a daemon it leaves behind cannot
        block us on a pipe), killed with its process group when the phase's time is up."""
        shown = self._clean(self.command)
        left = max(self._deadline - time.monotonic(), 1.0)
        start = time.monotonic()
        with tempfile.TemporaryFile() as output:
            try:
                proc = subprocess.Popen(["/bin/sh", "-c", self.command], stdin=subprocess.DEVNULL, stdout=output,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise ApplyFailed(f"the reload command could not run ({exc.strerror or type(exc).__name__})") from None
            try:
                code = proc.wait(timeout=left)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                code = None
            except BaseException:  # a signal (rinsync.signals.Interrupted) or Ctrl-C: no command left running
                _kill_group(proc)
                raise
            output.seek(0)
            text = self._clean(output.read().decode("utf-8", "replace"))
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        for line in lines:
            log.info("reload: %s", line)
        took = time.monotonic() - start
        if code is None:
            raise ApplyFailed(f"the reload command ({shown}) did not finish within {left:.0f}s",
                              [f"  reload: {line}" for line in lines[-OUTPUT_LINES:]])
        if code != 0:
            last = f": {lines[-1]}" if lines else ""
            raise ApplyFailed(f"the reload command ({shown}) failed with exit {code}{last}",
                              [f"  reload: {line}" for line in lines[-OUTPUT_LINES:-1]])
        change.notes.append(f"reload: ran {shown} for {what} ({took:.1f}s)")

    def _wait(self, change: Change, what: str) -> None:
        from ..dsl.rules import display_path

        left = max(self._deadline - time.monotonic(), 0.0)
        url = base_url(self.proxy_url)
        try:
            result = verify(change.config, self.proxy_url, self.key, self.key_env, DEFAULT_TIMEOUT,
                            shown_config=display_path(change.config), wait=left, poll=CONFIRM_POLL)
        except RinsyncError as exc:
            raise ApplyFailed(f"the proxy did not serve {what} within {self.timeout:g}s: "
                              f"{self._clean(exc.message)}") from None
        if not result.ok:
            example = result.lines()[0]
            raise ApplyFailed(f"the proxy at {url} did not serve {what} within {self.timeout:g}s "
                              f"({result.count('missing')} missing, {result.count('extra')} extra, "
                              f"{result.count('drift')} drifted value(s), e.g. {example})")
        proxy = read_version(self.proxy_url, self.key)  # which LiteLLM, and its billing rule (issue 16)
        change.notes.append(f"confirmed: the proxy at {url} serves {what} ({len(result.config_names)} models, "
                            f"{result.generated_checked} generated checked) after {result.waited:.1f}s; "
                            f"{self._clean(proxy.line())}")
        change.notes.extend(self._clean(line) for line in proxy.lines()[1:])


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _shown(path) -> str:
    from ..dsl.rules import display_path

    return display_path(path)
