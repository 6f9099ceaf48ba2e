"""Replace a file atomically: temporary file in the same directory, fsync, rename.

Readers (LiteLLM starting up, a concurrent ``rinsync``) see the old file or the new one, never a mix,
and a process killed at any moment leaves at worst a stray temporary file beside the target.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError

TMP_MARK = ".rinsync-tmp"


def _target(path: Path) -> Path:
    """Write through a symlink (``config.yaml -> /srv/litellm/config.yaml``) instead of replacing it."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def tmp_glob(path: Path) -> str:
    """Glob (in the target's directory) of the temporary files :class:`PendingFile` creates for ``path``.

    The name is escaped: ``config[1].yaml`` must not match the temporary files of ``config1.yaml``.
    """
    path = Path(path)
    return f".{glob.escape(path.name)}.*{TMP_MARK}{glob.escape(path.suffix)}"


class PendingFile:
    """New content written and fsynced to a temporary file beside the target, not yet in place.

    ``path`` can be handed to a validator; :meth:`commit` renames it over the target, :meth:`discard`
    removes it. Use as a context manager to discard on any error.
    """

    def __init__(self, target: Path, data: bytes, mode: int | None = None):
        self.target = _target(target)
        self.directory = self.target.parent
        self.uid_gid: tuple[int, int] | None = None
        try:
            st = self.target.stat()
            self.mode = st.st_mode & 0o7777 if mode is None else mode
            self.uid_gid = (st.st_uid, st.st_gid)
        except FileNotFoundError:
            self.mode = 0o644 if mode is None else mode
        except OSError as exc:
            raise _io_error(self.target, exc) from None
        self.path: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=f"{TMP_MARK}{self.target.suffix}",
                                        dir=self.directory)
            self.path = Path(name)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), self.mode)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if self.uid_gid and os.geteuid() == 0:
                with contextlib.suppress(OSError):
                    os.chown(self.path, *self.uid_gid)
        except OSError as exc:
            self.discard()
            raise _io_error(self.target, exc) from None
        except BaseException:  # Ctrl-C mid-write: no temporary file left behind
            self.discard()
            raise

    def commit(self) -> None:
        if self.path is None:
            raise RuntimeError("nothing to commit")
        try:
            os.replace(self.path, self.target)
        except OSError as exc:
            self.discard()
            raise _io_error(self.target, exc) from None
        self.path = None
        fsync_dir(self.directory)

    def discard(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None

    def __enter__(self) -> PendingFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()


def _io_error(path: Path, exc: OSError) -> RinsyncError:
    import errno

    fixes = {errno.ENOSPC: "free some disk space and run again", errno.EDQUOT: "free some quota and run again",
             errno.EACCES: "check the directory's permissions", errno.EROFS: "the file system is read-only"}
    fix = fixes.get(exc.errno or 0, "check the path and run again")
    return RinsyncError(f"cannot write {path}: {exc.strerror or exc}; the previous file is unchanged ({fix})",
                        exitcodes.IO_ERROR)


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a mix.

    The new file keeps the old file's permission bits (or ``mode``, or 0644 for a new file).
    On any failure (full disk, permissions) the old file is untouched and RinsyncError (exit 74) is raised.
    """
    with PendingFile(Path(path), data, mode) as pending:
        pending.commit()


def remove_stale_tmp(path: Path) -> int:
    """Delete temporary files a killed writer left beside ``path``; call only while holding its lock."""
    target = _target(Path(path))
    removed = 0
    for stray in target.parent.glob(tmp_glob(target)):
        with contextlib.suppress(OSError):
            stray.unlink()
            removed += 1
    return removed


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
