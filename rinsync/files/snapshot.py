"""The bytes of a few files before a change, to put them back if the change is rejected.

:class:`Snapshot` records each path's content and permission bits (or that it did not exist).
:meth:`Snapshot.restore` writes them back with :func:`~rinsync.files.atomic.write_atomic`, one
atomic rename per file, in the reverse of the recorded order (so a config is restored before the
include file it names is removed), and deletes the files that did not exist before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .atomic import _io_error, fsync_dir, write_atomic
from .safeopen import operator_link_target


@dataclass(frozen=True)
class _Before:
    path: Path
    data: bytes | None  # None: the file did not exist
    mode: int | None


class Snapshot:
    """``Snapshot([state, config], follow=[config])`` now; ``.restore()`` later (both under the files' lock).

    Paths in ``follow`` may be a symlink the operator made (the config): the file it points to is recorded
    and restored, as :class:`~rinsync.files.atomic.PendingFile` writes it. Any other symlink is refused
    when restoring (exit 74), never followed.
    """

    journal = None  # the apply journal that saved this snapshot on disk (files/journal.py), when one was begun

    def __init__(self, paths: list[Path], follow: list[Path] = ()):
        self.files: list[_Before] = []
        seen: set[Path] = set()
        followed = {Path(p) for p in follow}
        for path in paths:
            target = operator_link_target(Path(path)) if Path(path) in followed else Path(path)
            if target in seen:
                continue
            seen.add(target)
            try:
                data = target.read_bytes()
                mode = target.stat().st_mode & 0o7777
            except FileNotFoundError:
                data, mode = None, None
            except OSError as exc:
                raise _io_error(target, exc) from None
            self.files.append(_Before(target, data, mode))

    @classmethod
    def saved(cls, files: list[tuple[Path, bytes | None, int | None]]) -> Snapshot:
        """A snapshot from recorded ``(path, bytes or None, mode)`` triples (an apply journal's copies)."""
        snapshot = cls([])
        snapshot.files = [_Before(Path(p), data, mode) for p, data, mode in files]
        return snapshot

    @property
    def paths(self) -> list[Path]:
        return [f.path for f in self.files]

    def restore(self) -> None:
        """Put every file back as recorded (RinsyncError 74 if a write fails; earlier files stay restored)."""
        for before in reversed(self.files):
            if before.data is None:
                try:
                    os.unlink(before.path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise _io_error(before.path, exc) from None
                fsync_dir(before.path.parent)
            else:
                write_atomic(before.path, before.data, mode=before.mode)
