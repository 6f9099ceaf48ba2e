"""Applying one sync to a fleet of LiteLLM replicas: canary first, each confirmed, one rollback for all.

:class:`FleetApplier` implements :class:`rinsync.apply.Applier` for several proxies that read one
configuration (a shared file, or one bucket object). Each replica is a :class:`ReloadApplier` of its
own (its reload command, its address), so the single-proxy steps and messages are reused.

* A reload command containing ``{proxy}`` (the replica's URL) or ``{index}`` (its 1-based position)
  runs once per replica. Replica 1 is the canary: reloaded and confirmed on its own address before
  any other is touched; then the rest, ``batch`` at a time (1 by default; the commands of a batch run side
  by side), each confirmed on its own address before the next batch starts.
* Without placeholders the command runs once (it reloads them all, e.g. ``kubectl rollout restart``);
  then every replica is confirmed on its own address, in order.
* All or nothing: when a replica does not serve the new config in time, the previous files are
  restored once, every replica already reloaded is reloaded again (in order) and confirmed on the
  previous config, and the replicas never touched are checked to still serve it.

:attr:`FleetApplier.progress` is the per-replica record (``[{"proxy", "index", "state"}]``) a journal
can store; :meth:`FleetApplier.serving` says in one line what every replica serves now.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..apply import ApplyFailed, Change
from ..diagnostics import RinsyncError
from .reload import DEFAULT_RELOAD_TIMEOUT, ReloadApplier, _shown
from .verify import base_url

PLACEHOLDERS = ("{proxy}", "{index}")
MAX_PARALLEL_CHECKS = 8  # replicas asked at once before anything is written
# what a replica's URL may contain: it is put into a shell command as it is
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9.\-_\[\]:%/]+")

# states of a replica, in the order a rollout moves through them
UNTOUCHED = "untouched"  # still on the previous config, never reloaded by this apply
RELOADING = "reloading"  # its reload command is running (an interrupted apply stops here)
RELOADED = "reloaded"  # the command ran; not yet confirmed
NEW = "serves-new"  # confirmed on its own address: serves the new config
FAILED = "failed"  # did not serve the new config in time
ROLLING_BACK = "rolling-back"  # the previous config is being reloaded
PREVIOUS = "serves-previous"  # confirmed (again) on the previous config
UNKNOWN = "unknown"  # the rollback could not confirm it: check it by hand


def split_proxies(values: tuple[str, ...] | list[str] | str | None) -> list[str]:
    """``--proxy`` values (each may hold a comma- or space-separated list) as one list, order kept,
    duplicates dropped; a URL that is not plain ``http(s)://host[:port][/path]`` is a ValueError."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    urls: list[str] = []
    for value in values:
        for url in re.split(r"[,\s]+", value.strip()):
            if not url:
                continue
            if not _SAFE_URL.fullmatch(url):
                from ..httpclient import credentials_problem, display_url

                problem = credentials_problem(url)  # never shown: user:password@ or a token in the query
                if problem:
                    raise ValueError(f"a --proxy URL {problem}: give the key with --key-env, never in the URL")
                raise ValueError(f"{display_url(url)!r} is not a plain http(s)://host:port URL")
            if base_url(url) not in (base_url(u) for u in urls):
                urls.append(url)
    return urls


def per_replica(command: str) -> bool:
    """Does the reload command run once per replica (it names ``{proxy}`` or ``{index}``)?"""
    return any(p in command for p in PLACEHOLDERS)


def replica_command(command: str, proxy: str, index: int) -> str:
    """The command for one replica: ``{proxy}`` and ``{index}`` replaced (no other braces are touched)."""
    return command.replace("{proxy}", base_url(proxy)).replace("{index}", str(index))


@dataclass
class Replica:
    index: int
    proxy: str
    member: ReloadApplier
    state: str = UNTOUCHED


@dataclass
class FleetApplier:
    command: str
    proxies: list[str]
    key: str | None
    key_env: str = "LITELLM_MASTER_KEY"
    timeout: float = DEFAULT_RELOAD_TIMEOUT
    redactor: Callable[[str], str] = str
    batch: int = 1
    on_progress: Callable[[list[dict]], None] | None = None  # called at every state change (a journal)
    replicas: list[Replica] = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.proxies:
            raise ValueError("a fleet needs at least one proxy")
        self.batch = max(int(self.batch), 1)
        self.replicas = [
            Replica(i, url, ReloadApplier(replica_command(self.command, url, i), url, self.key, self.key_env,
                                          self.timeout, self.redactor))
            for i, url in enumerate(self.proxies, start=1)]

    # -- the record ---------------------------------------------------------------------------------

    @property
    def progress(self) -> list[dict]:
        """Per replica: ``{"proxy": URL, "index": n, "state": ...}`` (a copy: a journal may keep it)."""
        return [{"proxy": base_url(r.proxy), "index": r.index, "state": r.state} for r in self.replicas]

    def serving(self) -> str:
        """One line: what every replica serves now, e.g. ``replica 1 (URL): previous config, …``."""
        words = {UNTOUCHED: "previous config (never reloaded)", PREVIOUS: "previous config", NEW: "new config",
                 FAILED: "not the new config", RELOADED: "unconfirmed", RELOADING: "unconfirmed",
                 ROLLING_BACK: "unconfirmed", UNKNOWN: "UNKNOWN (check it)"}
        return "now " + ", ".join(f"replica {r.index} ({base_url(r.proxy)}): {words[r.state]}"
                                  for r in self.replicas)

    def _set(self, replica: Replica, state: str) -> None:
        with self._lock:
            replica.state = state
            if self.on_progress is not None:
                self.on_progress(self.progress)

    # -- the protocol -------------------------------------------------------------------------------

    def check(self) -> None:
        """Every replica answers as a LiteLLM proxy with this key (one that is down is fine); asked side by
        side, the first refusal in fleet order is raised."""
        from concurrent.futures import ThreadPoolExecutor

        def ask(replica: Replica) -> RinsyncError | None:
            try:
                replica.member.check()
            except RinsyncError as exc:
                exc.message = f"replica {replica.index} of {len(self.replicas)}: {exc.message}"
                return exc
            return None

        with ThreadPoolExecutor(max_workers=min(len(self.replicas), MAX_PARALLEL_CHECKS)) as pool:
            refusals = [e for e in pool.map(ask, self.replicas) if e is not None]
        if refusals:
            raise refusals[0]

    def apply(self, change: Change) -> None:
        """Roll the new config out (canary, then batches), each replica confirmed before the next."""
        if per_replica(self.command):
            first, rest = self.replicas[:1], self.replicas[1:]
            groups = [first] + [rest[i:i + self.batch] for i in range(0, len(rest), self.batch)]
            for group in groups:
                self._reload_together(group, change)
                for replica in group:
                    self._step(replica, change, replica.member.confirm, RELOADED, NEW)
            return
        runner = self.replicas[0].member  # one command for all: its deadline counts for every confirmation
        for replica in self.replicas:
            self._set(replica, RELOADING)
        try:
            runner.apply(change)
        except ApplyFailed as failed:
            raise ApplyFailed(f"fleet of {len(self.replicas)}: {failed.message}", failed.notes) from None
        for replica in self.replicas:
            self._set(replica, RELOADED)
        for replica in self.replicas:
            replica.member._deadline = runner._deadline
            self._step(replica, change, replica.member.confirm, RELOADED, NEW)

    def confirm(self, change: Change) -> None:
        """Each replica was confirmed during :meth:`apply`; this only says so once."""
        change.notes.append(f"confirmed: all {len(self.replicas)} replicas serve the new config")

    def rollback(self, change: Change) -> None:
        """Restore the previous files once, reload every replica that was touched, confirm all of them."""
        try:
            change.snapshot.restore()
        except RinsyncError as exc:
            for replica in self.replicas:
                if replica.state != UNTOUCHED:
                    self._set(replica, UNKNOWN)
            raise ApplyFailed("restoring the previous files failed "
                              f"({self.replicas[0].member._clean(exc.message)})") from None
        change.notes.append("rollback: restored " + (getattr(change.snapshot, "shown", None)
                                                      or ", ".join(_shown(p) for p in change.snapshot.paths)))
        touched = [r for r in self.replicas if r.state != UNTOUCHED]
        if per_replica(self.command):
            for replica in touched:
                self._set(replica, ROLLING_BACK)
                replica.member._deadline = time.monotonic() + self.timeout
                self._rerun(replica.member, change)
                self._confirm_previous(replica, change)
        elif touched:
            runner = self.replicas[0].member
            runner._deadline = time.monotonic() + self.timeout
            for replica in touched:
                self._set(replica, ROLLING_BACK)
            self._rerun(runner, change)
            for replica in touched:
                replica.member._deadline = runner._deadline
                self._confirm_previous(replica, change)
        for replica in self.replicas:
            if replica.state == UNTOUCHED:  # never reloaded: it must still serve the previous config
                replica.member._deadline = time.monotonic() + min(self.timeout, 10.0)
                self._confirm_previous(replica, change, keep=UNTOUCHED)
        lost = [r for r in self.replicas if r.state == UNKNOWN]
        if lost:
            raise ApplyFailed(f"{len(lost)} replica(s) did not confirm the previous config: "
                              + ", ".join(f"{r.index} ({base_url(r.proxy)})" for r in lost) + f"; {self.serving()}")

    # -- the steps ----------------------------------------------------------------------------------

    def _reload_together(self, group: list[Replica], change: Change) -> None:
        """Run the reload commands of a batch side by side (a rolling reload waits its overlap in each);
        their report lines are kept in fleet order; the first failure in fleet order is raised."""
        if len(group) == 1:
            self._step(group[0], change, group[0].member.apply, RELOADING, RELOADED)
            return
        from concurrent.futures import ThreadPoolExecutor

        for replica in group:
            self._set(replica, RELOADING)

        def run(replica: Replica) -> tuple[list[str], ApplyFailed | None]:
            own = Change(change.config, change.snapshot)
            try:
                replica.member.apply(own)
            except ApplyFailed as failed:
                return own.notes, failed
            return own.notes, None

        with ThreadPoolExecutor(max_workers=len(group)) as pool:
            outcomes = list(pool.map(run, group))
        failure: tuple[Replica, ApplyFailed] | None = None
        for replica, (notes, failed) in zip(group, outcomes, strict=True):
            change.notes += notes
            self._set(replica, FAILED if failed else RELOADED)
            if failed and failure is None:
                failure = (replica, failed)
        if failure is not None:
            replica, failed = failure
            raise ApplyFailed(f"replica {replica.index} of {len(self.replicas)}: {failed.message}", failed.notes)

    def _step(self, replica: Replica, change: Change, action, doing: str, done: str) -> None:
        self._set(replica, doing)
        try:
            action(change)
        except ApplyFailed as failed:
            self._set(replica, FAILED)
            raise ApplyFailed(f"replica {replica.index} of {len(self.replicas)}: {failed.message}",
                              failed.notes) from None
        self._set(replica, done)

    def _rerun(self, member: ReloadApplier, change: Change) -> None:
        try:
            member._run(change, "the previous config")
        except ApplyFailed as failed:  # the replica may still have taken it (a restart that exits non-zero)
            change.notes.append(f"rollback: {failed.message}")

    def _confirm_previous(self, replica: Replica, change: Change, keep: str = PREVIOUS) -> None:
        try:
            replica.member._wait(change, "the previous config")
        except ApplyFailed as failed:
            change.notes.append(f"rollback: replica {replica.index}: {failed.message}")
            self._set(replica, UNKNOWN)
            return
        self._set(replica, keep)
