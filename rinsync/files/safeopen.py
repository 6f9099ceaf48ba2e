"""Open the files rinsync owns beside the config without following a link someone planted there.

rinsync often runs as root (cron, start-up scripts) in a directory other users may be able to write.
Anyone who can write there can plant ``.rinsync-lock.config.yaml -> /etc/shadow`` or a hard link to a
file they cannot write themselves. Every file rinsync creates or opens for writing therefore goes
through this module:

* opened with ``O_NOFOLLOW`` (a symlink in the last component is refused, never followed),
  ``O_NONBLOCK`` (a FIFO cannot hang the open) and, for new files, ``O_CREAT | O_EXCL`` with mode 0600;
* checked after opening with ``fstat``: a regular file, one link (``st_nlink == 1``: not a hard link to
  someone else's file), owned by the user running rinsync where it must be rinsync's own file.

A refusal is :class:`UnsafeFile`: one line naming the path, exit 74 (nothing could be written safely).
The operator's config (and ``--output``) may be a symlink the operator made: :func:`operator_link_target`
follows it only when the link belongs to the user running rinsync, to root, or to the owner of the
directory it sits in (the rule of the kernel's ``protected_symlinks``), so a link planted by another
user who can write the directory is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError

NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class UnsafeFile(RinsyncError):
    """A file rinsync would write is a link, not a regular file, or not its own: exit 74, nothing written."""


def refusal(path: Path | str, why: str) -> UnsafeFile:
    return UnsafeFile(f"refusing to write {path}: {why}; rinsync never writes through a file it does not own "
                      "(remove it and run again; see docs/security.md)", exitcodes.IO_ERROR)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


def check_opened(fd: int, path: Path | str, *, own: bool = True) -> os.stat_result:
    """``fstat`` what was really opened: a regular file with one link (owned by us when ``own``)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise refusal(path, f"it is {_kind(st.st_mode)}")
    if st.st_nlink != 1:
        raise refusal(path, f"it has {st.st_nlink} hard links (one may be a file elsewhere)")
    if own and st.st_uid != os.geteuid():
        raise refusal(path, f"it belongs to uid {st.st_uid}, not to uid {os.geteuid()} running rinsync")
    return st


def _open(path: Path | str, flags: int, mode: int = 0o600, dir_fd: int | None = None, shown: Path | str = "") -> int:
    try:
        return os.open(path, flags | NOFOLLOW, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refusal(shown or path, "it is a symbolic link") from None
        raise


def create_new(name: str, dir_fd: int, shown: Path | str, mode: int = 0o600) -> int:
    """A new file ``name`` in the directory ``dir_fd`` (``O_CREAT | O_EXCL``), checked after opening.

    ``O_EXCL`` guarantees the file is new, so its owner is not checked: on an NFS export with root_squash
    a file root creates belongs to nobody, and that must not stop a sync."""
    fd = _open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode, dir_fd, shown)
    try:
        check_opened(fd, shown, own=False)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_lock(path: Path) -> tuple[int, bool]:
    """The lock file, created 0600 if missing; returns the descriptor and whether it is our own file.

    A lock left by another user (an earlier manual run) is still a lock, but rinsync then writes nothing
    into it: flock needs no write, and a file that is not ours is never truncated.
    """
    fd = _open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        st = check_opened(fd, path, own=False)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_uid == os.geteuid()


def open_dir(path: Path, *, follow: bool, own: bool = False) -> int:
    """A directory descriptor for writing files in ``path``; ``follow=False`` refuses a link as its last part."""
    try:
        fd = os.open(path, DIR_FLAGS | (0 if follow else os.O_NOFOLLOW))
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(path):
            raise refusal(path, "it is a symbolic link") from None
        raise
    if own:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            os.close(fd)
            raise refusal(path, f"the directory belongs to uid {st.st_uid}, not to uid {os.geteuid()} running rinsync")
    return fd


def read_own(path: Path, limit: int, own: bool = False) -> bytes | None:
    """Up to ``limit`` bytes of a file rinsync keeps (state, cache, journal); None when missing.

    A link, FIFO, device or hard-linked file in its place (with ``own``, also a file another user owns)
    raises :class:`UnsafeFile`; a file that cannot be opened, the OSError.
    """
    try:
        fd = _open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        check_opened(fd, path, own=own)
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def operator_link_target(path: Path) -> Path:
    """Where a file the operator names (the config, ``--output``) is written: through its symlink if the
    operator made it (owned by us, root, or the directory's owner), else :class:`UnsafeFile`."""
    path = Path(path)
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISLNK(link.st_mode):
        return path
    directory = os.stat(path.parent)
    if link.st_uid not in (os.geteuid(), 0, directory.st_uid):
        raise refusal(path, f"it is a symbolic link made by uid {link.st_uid}, neither you, root nor the "
                            "directory's owner")
    return Path(os.path.realpath(path))


def refuse_links(*paths: Path) -> None:
    """Before a sync writes anything: none of the files it will replace is a planted symlink."""
    for path in paths:
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise refusal(path, "it is a symbolic link")
        except FileNotFoundError:
            continue
