"""How the LiteLLM target replaces its files: locks, the operator's validate command, backup, state, rename.

Every path out of here leaves the files either untouched or each replaced in one rename.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError

log = logging.getLogger("rinsync.sync")

VALIDATE_TIMEOUT = 300


@dataclass
class Replacement:
    path: Path
    data: bytes
    old: bytes | None  # None: a new file (nothing to back up)
    state: Callable[[], bytes] | None = None  # the merge state to write just before this file, or None
    validate: bool = False  # run the validate command on the new content


@dataclass
class ReplaceSettings:
    config: Path  # the operator's config: the one path written through a symlink they made
    validate_cmd: str | None
    backups: int
    applier: object | None  # rinsync.apply.Applier
    kept: str  # "kept … unchanged": the end of every refusal message


def replace(files: list[Replacement], settings: ReplaceSettings, redactor, warnings: list[str]):
    """Replace each file in order: every new content is written to a temporary file and validated first,
    so a failed check replaces nothing; then per file: backup, state, rename. With an applier, it checks
    the proxy first, and the files are recorded before (returns that Snapshot, else None)."""
    from ..files.atomic import PendingFile, write_atomic
    from ..files.backups import Backup
    from ..files.journal import begin as begin_journal
    from ..files.safeopen import refuse_links
    from ..files.snapshot import Snapshot
    from .state import state_path

    refuse_links(*[p for f in files for p in (f.path.with_name(f.path.name + ".backup"), state_path(f.path))])
    snapshot = None
    with contextlib.ExitStack() as stack:
        # only the operator's config is written through a symlink (one they made); rinsync's own files never
        pending = [stack.enter_context(PendingFile(f.path, f.data, follow_link=f.path == Path(settings.config)))
                   for f in files]
        if settings.validate_cmd:
            for item, new in zip(files, pending, strict=True):
                if item.validate:
                    validate(settings.validate_cmd, new.path, settings.kept, redactor, warnings)
        if settings.applier is not None:
            settings.applier.check()
            snapshot = Snapshot([p for f in files for p in ([state_path(f.path)] if f.state else []) + [f.path]],
                                follow=[Path(settings.config)])
            begin_journal(Path(settings.config), snapshot, settings.applier)  # a kill from here on is repaired
        for item, new in zip(files, pending, strict=True):
            backup = Backup(item.path, item.old, settings.backups) if item.old is not None else None
            try:
                if backup is not None:
                    backup.take()
                if item.state is not None:
                    write_atomic(state_path(item.path), item.state(), mode=0o600)
                new.commit()
            except BaseException:
                if backup is not None:
                    backup.rollback()
                raise
            if backup is not None:
                backup.prune()
    return snapshot


@contextlib.contextmanager
def locked(dry_run: bool, lock_timeout: float, *paths: Path):
    """Hold the lock of every path and remove the temporary files a killed run left. The locks are taken in
    one global order: two runs can never each hold one and wait for the other. A dry run takes no lock."""
    from ..files.lock import ConfigLock, lock_path

    with contextlib.ExitStack() as stack:
        if not dry_run:
            by_lock = {lock_path(path): path for path in paths}
            for key in sorted(by_lock):
                stack.enter_context(ConfigLock(by_lock[key], lock_timeout))
            for path in paths:
                _remove_stale_tmp(path)
        yield


def _remove_stale_tmp(path: Path) -> None:
    """Temporary files a killed run left: of the file itself, of its state and of its backups."""
    from ..files.atomic import _target, remove_stale_tmp
    from ..files.backups import backup_tmp_glob
    from .state import state_path

    remove_stale_tmp(path)
    remove_stale_tmp(state_path(path))
    target = _target(path)
    for stray in target.parent.glob(backup_tmp_glob(target)):
        with contextlib.suppress(OSError):
            stray.unlink()


def write_state_if_changed(config: Path, entries: list[dict], config_bytes: bytes) -> None:
    """After a sync that leaves ``config`` as it is: its state holds this generation (no write if it already does)."""
    from ..files.atomic import write_atomic
    from .state import state_bytes, state_path

    path = state_path(config)
    data = state_bytes(config, entries, config_bytes, None)
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    write_atomic(path, data, mode=0o600)


def validate(command: str, path: Path, kept: str, redactor, warnings: list[str]) -> None:
    """Run the operator's check on the new file before it replaces the old one (Ansible's ``validate:``)."""
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise RinsyncError(f"--validate-cmd: {exc}", exitcodes.USAGE) from None
    if not argv:
        raise RinsyncError("--validate-cmd is empty", exitcodes.USAGE)
    if any("%s" in arg for arg in argv):
        argv = [arg.replace("%s", str(path)) for arg in argv]
    else:
        argv.append(str(path))
    env = dict(os.environ, RINSYNC_NEW_CONFIG=str(path))
    shown = redactor(command)
    try:
        done = subprocess.run(argv, capture_output=True, timeout=VALIDATE_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RinsyncError(f"--validate-cmd: command not found: {redactor(argv[0])}; {kept}",
                           exitcodes.VALIDATE_FAILED) from None
    except subprocess.TimeoutExpired:
        raise RinsyncError(f"--validate-cmd timed out after {VALIDATE_TIMEOUT}s ({shown}); {kept}",
                           exitcodes.VALIDATE_FAILED) from None
    except OSError as exc:
        raise RinsyncError(f"--validate-cmd could not run ({exc.strerror or type(exc).__name__}); {kept}",
                           exitcodes.VALIDATE_FAILED) from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-5:]
        warnings += [f"validate: {redactor(line)}" for line in output]
        raise RinsyncError(f"the new config failed --validate-cmd ({shown}: exit {done.returncode}); {kept}",
                           exitcodes.VALIDATE_FAILED)
    log.info("validate: %s passed", shown)
