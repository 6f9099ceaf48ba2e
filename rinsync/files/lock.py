"""An advisory lock beside the config, so a start-up sync and a cron sync cannot interleave.

``fcntl.flock`` on ``.rinsync-lock.<config name>`` in the config's directory. The kernel drops the lock
when the holder exits, even on SIGKILL, so a crashed run never blocks the next one. The lock file is
left in place on purpose: deleting it while another process waits on it would let two runs in at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError


def lock_path(config: Path) -> Path:
    config = Path(os.path.realpath(config))
    return config.parent / f".rinsync-lock.{config.name}"


class ConfigLock:
    """``with ConfigLock(config, timeout):`` waits up to ``timeout`` seconds for the lock (exit 75 after)."""

    def __init__(self, config: Path, timeout: float = 60.0, poll: float = 0.05):
        self.path = lock_path(config)
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None

    def acquire(self) -> None:
        from .safeopen import open_lock

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, own = open_lock(self.path)  # never through a planted symlink or hard link
        except OSError as exc:
            raise RinsyncError(f"cannot create lock file {self.path}: {exc.strerror or exc}",
                               exitcodes.IO_ERROR) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise RinsyncError(f"another rinsync{holder} is syncing this config (lock {self.path}, "
                                       f"waited {self.timeout:g}s)", exitcodes.TEMPFAIL) from None
                time.sleep(self.poll)
            except OSError as exc:  # no lock at all (ENOLCK on some network file systems)
                os.close(fd)
                raise RinsyncError(f"cannot lock {self.path}: {exc.strerror or exc}", exitcodes.IO_ERROR) from None
        if own:  # another user's lock file is locked, never written
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ConfigLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (pid {pid})"
    return ""
