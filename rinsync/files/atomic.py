"""Replace a file atomically: temporary file in the same directory, fsync, rename.

Readers (LiteLLM starting up, a concurrent ``rinsync``) see the old file or the new one, never a mix,
and a process killed at any moment leaves at worst a stray temporary file beside the target.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError
from .safeopen import UnsafeFile, create_new, open_dir, operator_link_target, refusal

TMP_MARK = ".rinsync-tmp"


def _target(path: Path) -> Path:
    """Where temporary files of ``path`` live: beside the file a symlinked config points to."""
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

    Every step goes through one descriptor of the target's directory: the temporary file is created
    there with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (0600 until its mode is set) and checked with ``fstat``,
    and the rename happens inside that directory. ``follow_link``: the target may be a symlink the
    operator made (the config, ``--output``) and is written through it; otherwise (state, backups, cache,
    include file) a symlink in its place is refused (:class:`UnsafeFile`, exit 74), never followed.
    ``directory_fd``: write in this already checked directory (the cache) instead of opening the parent.
    """

    def __init__(self, target: Path, data: bytes, mode: int | None = None, *, follow_link: bool = False,
                 directory_fd: int | None = None):
        target = Path(target)
        self.target = operator_link_target(target) if follow_link else target
        self.directory = self.target.parent
        self.uid_gid: tuple[int, int] | None = None
        self.path: Path | None = None
        self._name: str | None = None
        self._dir_fd: int | None = None
        try:
            if directory_fd is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._dir_fd = open_dir(self.directory, follow=True)
            else:
                self._dir_fd = os.dup(directory_fd)
            self.mode = self._existing_mode(mode)
            self._name = f".{self.target.name}.{os.urandom(6).hex()}{TMP_MARK}{self.target.suffix}"
            fd = create_new(self._name, self._dir_fd, self.directory / self._name)
            self.path = self.directory / self._name
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), self.mode)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                if self.uid_gid and os.geteuid() == 0:
                    with contextlib.suppress(OSError):
                        os.fchown(handle.fileno(), *self.uid_gid)
        except UnsafeFile:
            self.discard()
            raise
        except OSError as exc:
            self.discard()
            raise _io_error(self.target, exc) from None
        except BaseException:  # Ctrl-C mid-write: no temporary file left behind
            self.discard()
            raise

    def _existing_mode(self, mode: int | None) -> int:
        """The mode for the new file (the old file's bits unless given); the old file's owner when it has
        one link; a symlink where no link may be is refused."""
        try:
            st = os.stat(self.target.name, dir_fd=self._dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return 0o644 if mode is None else mode
        if stat.S_ISLNK(st.st_mode):
            raise refusal(self.target, "it is a symbolic link")
        if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            self.uid_gid = (st.st_uid, st.st_gid)
        return st.st_mode & 0o7777 if mode is None else mode

    def commit(self) -> None:
        if self.path is None:
            raise RuntimeError("nothing to commit")
        try:
            os.replace(self._name, self.target.name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        except OSError as exc:
            self.discard()
            raise _io_error(self.target, exc) from None
        self.path = None
        with contextlib.suppress(OSError):
            os.fsync(self._dir_fd)
        self._close()

    def discard(self) -> None:
        if self.path is not None and self._dir_fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._name, dir_fd=self._dir_fd)
        self.path = None
        self._close()

    def _close(self) -> None:
        if self._dir_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._dir_fd)
            self._dir_fd = None

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


def write_atomic(path: Path, data: bytes, mode: int | None = None, *, follow_link: bool = False,
                 directory_fd: int | None = None) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a mix.

    The new file keeps the old file's permission bits (or ``mode``, or 0644 for a new file).
    On any failure (full disk, permissions) the old file is untouched and RinsyncError (exit 74) is raised;
    a symlink in ``path``'s place is refused unless ``follow_link`` (see :class:`PendingFile`).
    """
    with PendingFile(Path(path), data, mode, follow_link=follow_link, directory_fd=directory_fd) as pending:
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
