"""The apply journal: what a sync was making the proxy take, on disk until it is confirmed or rolled back.

A signal rinsync catches is rolled back on the spot (``rinsync/apply.py``); SIGKILL, an OOM kill or a power
cut is not. So before a sync with ``--reload-cmd`` replaces any file, :func:`begin` writes

* ``.rinsync-journal.<config name>.json`` beside the config (the config's real directory): the files being
  replaced, with the SHA-256 and mode of their previous content (or that they did not exist), the phase
  (``writing``, ``applying``, ``rolling back``, ``rollback failed``) and the proxies being applied to, each
  with a state (``pending`` ...), so a fleet apply can record its progress per proxy;
* ``.rinsync-journal.<config name>.<n>.prev``: the previous bytes of each replaced file (the snapshot).

Both are rinsync's own files: written atomically with mode 0600 through :mod:`rinsync.files.atomic` (no
planted link followed), and read back only when they are regular files with one link owned by the user
running rinsync. The journal holds no key: proxy URLs are stored without user, password, query or fragment,
and the reload command is not stored. The ``.prev`` copies hold what the files held, like the backups.

:func:`recover` runs at the start of every sync that writes the config (under its lock, before anything
is read), also one that ends with "no changes". When it finds a journal, the previous run was killed in
the middle of an apply, and the proxy may serve the old or the new files, or nothing:

1. it runs the reload command and confirms the files now on disk (the interrupted run's new files, or
   whatever part of them it had written);
2. if that fails, it restores the journal's snapshot, reloads and confirms the previous files (exit 5 only
   when even they are not served, and the journal stays for the next run);
3. it removes the journal and its copies, and the sync goes on.

A journal rinsync cannot trust (not JSON, another layout, a copy missing or not matching its SHA-256, a
path the current sync does not write, a planted link or someone else's file) stops the sync with one line
and nothing written. A sync without ``--reload-cmd`` that finds a journal stops too: it cannot reload.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .. import exitcodes
from ..diagnostics import RinsyncError
from .atomic import remove_stale_tmp, write_atomic
from .safeopen import operator_link_target
from .snapshot import Snapshot

VERSION = 1
MAX_JOURNAL_BYTES = 1024 * 1024
MAX_COPY_BYTES = 256 * 1024 * 1024
PHASES = ("writing", "applying", "rolling back", "rollback failed")
STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class JournalError(RinsyncError):
    """A journal rinsync cannot use: exit 1 (exit 74 for a planted file), nothing written."""


def journal_path(config: Path) -> Path:
    config = Path(os.path.realpath(config))
    return config.parent / f".rinsync-journal.{config.name}.json"


def _copy_path(journal: Path, index: int) -> Path:
    return journal.with_name(f"{journal.name[:-len('.json')]}.{index}.prev")


def shown_url(url: str) -> str:
    """A proxy URL as the journal stores it: no user, password, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    except ValueError:
        return "(unparsable URL)"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _proxies_of(applier) -> list[str]:
    """The proxies an applier applies to: ``applier.proxies`` (a fleet) or its one ``proxy_url``."""
    urls = getattr(applier, "proxies", None)
    if urls is None:
        url = getattr(applier, "proxy_url", None)
        urls = [url] if url else []
    return [shown_url(str(u)) for u in urls]


class Journal:
    """An apply in progress, on disk. :func:`begin` writes it; :meth:`mark` records progress; :meth:`finish`
    removes it (and its copies). Neither :meth:`mark` nor :meth:`finish` raises: a journal left behind only
    makes the next sync reload and confirm once more."""

    def __init__(self, path: Path, document: dict, copies: list[Path]):
        self.path = path
        self.document = document
        self.copies = copies

    @property
    def phase(self) -> str:
        return self.document["phase"]

    @property
    def started(self) -> str:
        return self.document["started"]

    def _write(self) -> None:
        data = (json.dumps(self.document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        write_atomic(self.path, data, mode=0o600)

    def mark(self, phase: str) -> None:
        """Record the phase of the whole apply."""
        self.document["phase"] = phase
        with contextlib.suppress(RinsyncError, OSError):
            self._write()

    def set_proxy(self, url: str, state: str) -> None:
        """Record one proxy's state (``pending``, ``reloaded``, ``confirmed``, ``rolled back``, ...): a fleet
        apply calls this for each proxy as it goes; the next sync's recovery reads it."""
        url = shown_url(url)
        proxies = self.document["proxies"]
        for proxy in proxies:
            if proxy["url"] == url:
                proxy["state"] = state
                break
        else:
            proxies.append({"url": url, "state": state})
        with contextlib.suppress(RinsyncError, OSError):
            self._write()

    def finish(self) -> None:
        """The apply is confirmed or rolled back: the journal goes first, then its copies."""
        for path in [self.path, *self.copies]:
            with contextlib.suppress(OSError):
                path.unlink()

    def snapshot(self, data: list[bytes | None]) -> Snapshot:
        files = self.document["files"]
        snapshot = Snapshot.saved([(Path(f["path"]), d, f["mode"]) for f, d in zip(files, data, strict=True)])
        snapshot.journal = self
        return snapshot


def begin(config: Path, snapshot: Snapshot, applier) -> Journal:
    """Before the files of ``snapshot`` are replaced: save their previous bytes and write the journal
    (RinsyncError 74 when that fails: then nothing is replaced). Attached to the snapshot as ``.journal``."""
    path = journal_path(config)
    files, copies = [], []
    for index, before in enumerate(snapshot.files):
        entry = {"path": os.path.abspath(before.path), "existed": before.data is not None, "mode": before.mode,
                 "sha256": None, "copy": None}
        if before.data is not None:
            copy = _copy_path(path, index)
            write_atomic(copy, before.data, mode=0o600)
            copies.append(copy)
            entry["sha256"] = _sha256(before.data)
            entry["copy"] = copy.name
        files.append(entry)
    document = {"version": VERSION, "generator": "rinsync",
                "note": "an apply in progress (rinsync compile --reload-cmd); the next sync completes or rolls it "
                        "back; see docs/apply.md",
                "config": str(Path(os.path.realpath(config))),
                "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "pid": os.getpid(),
                "phase": "writing", "files": files,
                "proxies": [{"url": url, "state": "pending"} for url in _proxies_of(applier)]}
    journal = Journal(path, document, copies)
    journal._write()
    snapshot.journal = journal
    return journal


def _read_own(path: Path, limit: int) -> bytes | None:
    """Up to ``limit`` + 1 bytes of rinsync's own file (not a link, one link, owned by us); None when missing."""
    from .safeopen import read_own, refusal

    try:
        return read_own(path, limit, own=True)
    except OSError as exc:
        raise refusal(path, f"it cannot be opened safely: {exc.strerror or type(exc).__name__}") from None


def _damaged(path: Path, why: str) -> JournalError:
    return JournalError(f"the apply journal {path} is damaged ({why}); nothing written. A killed sync left it: "
                        "check that the proxy serves the config (rinsync verify --config CONFIG --proxy URL), "
                        f"then delete {path.name} and its .prev copies and sync again", exitcodes.ERROR)


def _valid(document, allowed: set[Path]) -> str | None:
    """Why ``document`` is not a journal this sync may act on (None: it is)."""
    if not isinstance(document, dict) or document.get("version") != VERSION \
            or document.get("generator") != "rinsync":
        return "not a rinsync apply journal"
    if document.get("phase") not in PHASES or not isinstance(document.get("started"), str) \
            or not STARTED.fullmatch(document["started"]):
        return "no phase or start time"
    files, proxies = document.get("files"), document.get("proxies")
    if not isinstance(files, list) or not files or not isinstance(proxies, list):
        return "no list of files"
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not isinstance(entry.get("existed"), bool):
            return "a file entry without a path"
        if Path(entry["path"]) not in allowed:
            return (f"it names {entry['path']}, a file this sync does not write; an --include-file sync needs the "
                    "same option")
        if entry["existed"]:
            if not (isinstance(entry.get("copy"), str) and isinstance(entry.get("sha256"), str)
                    and isinstance(entry.get("mode"), int) and 0 <= entry["mode"] <= 0o7777):
                return f"no saved copy of {entry['path']}"
        elif entry.get("copy") is not None:
            return f"a copy of {entry['path']}, which did not exist"
    for proxy in proxies:
        if not isinstance(proxy, dict) or not isinstance(proxy.get("url"), str) \
                or not isinstance(proxy.get("state"), str):
            return "a proxy entry without a url"
    return None


def allowed_paths(paths: list[Path], config: Path) -> set[Path]:
    """The files a sync of ``paths`` (the config first, then the include file) may replace and restore."""
    from ..litellm.state import state_path

    allowed = set()
    for path in paths:
        target = operator_link_target(Path(path)) if Path(path) == Path(config) else Path(path)
        allowed |= {Path(os.path.abspath(target)), Path(os.path.abspath(state_path(path)))}
    return allowed


def load(config: Path, paths: list[Path], *, clean: bool = True) -> tuple[Journal, list[bytes | None]] | None:
    """The journal beside ``config`` and its saved copies (None when there is none); JournalError when it
    cannot be trusted, UnsafeFile (exit 74) when a link or someone else's file is in its place. ``clean``
    (only under the config's lock): first remove the temporary files of a journal write a kill cut short."""
    path = journal_path(config)
    if clean:
        remove_stale_tmp(path)
    raw = _read_own(path, MAX_JOURNAL_BYTES)
    if raw is None:
        return None
    if len(raw) > MAX_JOURNAL_BYTES:
        raise _damaged(path, f"larger than {MAX_JOURNAL_BYTES // 1024} KiB")
    from ..limits import load_json

    try:
        document = load_json(raw)
    except ValueError:
        raise _damaged(path, "not JSON") from None
    why = _valid(document, allowed_paths(paths, config))
    if why:
        raise _damaged(path, why)
    data: list[bytes | None] = []
    copies = []
    for entry in document["files"]:
        if not entry["existed"]:
            data.append(None)
            continue
        name = entry["copy"]
        copy = path.parent / name
        if copy.name != name or copy != _copy_path(path, len(data)):
            raise _damaged(path, f"a copy named {name!r}")
        saved = _read_own(copy, MAX_COPY_BYTES)
        if saved is None or len(saved) > MAX_COPY_BYTES or _sha256(saved) != entry["sha256"]:
            raise _damaged(path, f"the saved copy of {entry['path']} is missing or does not match")
        copies.append(copy)
        data.append(saved)
    return Journal(path, document, copies), data


def recover(config: Path, paths: list[Path], applier, lines: list[str], *, dry_run: bool = False) -> None:
    """Complete or roll back the apply a killed run left (see the module docs); nothing when there is none.

    Call under the config's lock, before the sync reads the config. Raises RinsyncError (exit 5) only when
    neither the files on disk nor the saved ones are served (the journal then stays)."""
    from ..apply import Change, RolledBack, apply_change

    found = load(config, paths, clean=not dry_run)
    if found is None:
        return
    journal, data = found
    what = (f"the apply journal {journal.path.name} records an apply a killed run left unfinished "
            f"(phase '{journal.phase}', started {journal.started})")
    if dry_run:
        lines.append(f"dry run: {what}; a sync would reload and confirm the files on disk first, or restore the "
                     "files it saved")
        return
    if applier is None:
        raise RinsyncError(f"{what}; sync again with the same --reload-cmd and --proxy to complete it or roll it "
                           f"back (or, once rinsync verify shows the proxy serves the config, delete "
                           f"{journal.path.name} and its .prev copies); nothing written", exitcodes.ERROR)
    lines.append(f"recovering: {what}; reloading and confirming the files on disk")
    change = Change(Path(config), journal.snapshot(data))
    try:
        apply_change(applier, change, lines)
    except RolledBack as exc:
        lines.append(f"recovered: {exc.message}; the files are as they were before the interrupted apply")
        return
    lines.append("recovered: the proxy serves the files on disk; the interrupted apply is complete")
