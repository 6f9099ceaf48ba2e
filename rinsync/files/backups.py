"""Backups of a file about to be replaced: ``<file>.backup`` and the newest timestamped copies, mode 0600.

A backup is taken only when the new content is about to replace the old (after every check passed), and
the history is rotated only after the replacement succeeded: a run that fails at the last step (exit 74,
a kill) restores ``<file>.backup`` and removes the copy it added, so earlier versions are never rotated
away by failures. A copy identical to the newest timestamped backup is not written again, so the history
holds distinct earlier versions, not N copies of the same file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import re
from pathlib import Path

from .atomic import TMP_MARK, write_atomic

BACKUP_STAMP = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
_MAX_COMPARE = 64 * 1024 * 1024


def stamped_backups(path: Path) -> list[Path]:
    """The timestamped backups of ``path``, oldest first."""
    prefix = f"{path.name}.backup."
    return sorted(p for p in path.parent.glob(glob.escape(prefix) + "*") if BACKUP_STAMP.match(p.name[len(prefix):]))


def backup_tmp_glob(path: Path) -> str:
    """Glob of the temporary files a killed backup write leaves (``.config.yaml.backup….rinsync-tmp…``)."""
    return f".{glob.escape(path.name)}.backup*{TMP_MARK}*"


def _read(path: Path) -> bytes | None:
    """An earlier backup's bytes to compare with; None when missing, too large or not a plain file of ours."""
    from ..diagnostics import RinsyncError
    from .safeopen import read_own

    try:
        data = read_own(path, _MAX_COMPARE)
    except (OSError, RinsyncError):
        return None
    return data if data is not None and len(data) <= _MAX_COMPARE else None


class Backup:
    """The backups of one replacement: taken by :meth:`take`, then :meth:`prune` or :meth:`rollback`."""

    def __init__(self, path: Path, raw: bytes, keep: int):
        self.path, self.raw, self.keep = Path(path), raw, keep
        self.latest = self.path.with_name(self.path.name + ".backup")
        self.previous_latest: bytes | None = None
        self.added: Path | None = None
        self.wrote_latest = False

    def take(self) -> Backup:
        self.previous_latest = _read(self.latest)
        if self.previous_latest != self.raw:
            write_atomic(self.latest, self.raw, mode=0o600)
            self.wrote_latest = True
        if self.keep > 0:
            existing = stamped_backups(self.path)
            if not existing or _read(existing[-1]) != self.raw:
                stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
                self.added = self.path.with_name(f"{self.path.name}.backup.{stamp}")
                write_atomic(self.added, self.raw, mode=0o600)
        return self

    def prune(self) -> None:
        """After the replacement: keep the newest ``keep`` timestamped backups."""
        if self.keep <= 0:
            return
        for old in stamped_backups(self.path)[:-self.keep]:
            with contextlib.suppress(OSError):
                old.unlink()

    def rollback(self) -> None:
        """The replacement failed: the backups are as they were before :meth:`take`."""
        with contextlib.suppress(Exception):
            if self.added is not None:
                self.added.unlink()
        if not self.wrote_latest:
            return
        with contextlib.suppress(Exception):
            if self.previous_latest is not None:
                write_atomic(self.latest, self.previous_latest, mode=0o600)
            else:
                self.latest.unlink()
