"""The LiteLLM config in an S3 bucket object instead of a file: ``rinsync compile --config s3://BUCKET/KEY``.

LiteLLM reads its config from a bucket when ``LITELLM_CONFIG_BUCKET_NAME``, ``..._OBJECT_KEY`` and
``..._TYPE=s3`` are set (at start, and again in each new gunicorn worker after a ``SIGHUP``). This target
is the file target's merge with a different store:

* read the object and its ETag / version id, and the merge state ``.rinsync-state.<name>.json`` beside it
  in the bucket; three-way merge exactly as for a file (:mod:`rinsync.litellm.configfile`'s plan and
  render, :mod:`rinsync.litellm.state`'s base, on a private local copy): hand-written entries are kept;
* write only when the bytes change, with ``If-Match: <ETag read>`` (``If-None-Match: *`` for a new
  object), so a concurrent writer is detected, never overwritten: one line, exit 75, nothing written.
  A server that ignores the condition is caught by an ETag check right before and a version check
  right after the write;
* the bucket's object versions are the backups (turn versioning on); the rollback of an apply writes the
  previous bytes back, again conditionally.

boto3 is an optional extra (``pip install 'rinsync[s3]'``). Credentials and endpoint come only from
boto3's usual sources (``AWS_*`` environment, ``~/.aws``), are never read, printed or stored here.
GCS (``gs://``) has the same shape and is not implemented.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import exitcodes
from ..diagnostics import RinsyncError
from ..limits import MAX_YAML_BYTES

log = logging.getLogger("rinsync.bucket")

_URL = re.compile(r"(?P<scheme>s3|gs):/+(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f]+)")
MAX_OBJECT_BYTES = MAX_YAML_BYTES  # the limit of a config file


def is_bucket_config(config: object) -> bool:
    """``--config s3://…`` (also as a Path, which folds ``//`` into ``/``)."""
    return re.match(r"(s3|gs):/", str(config)) is not None


@dataclass(frozen=True)
class ObjectUrl:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def state_key(self) -> str:
        directory, name = posixpath.split(self.key)
        return posixpath.join(directory, f".rinsync-state.{name}.json")


def parse_url(config: object) -> ObjectUrl:
    match = _URL.fullmatch(str(config))
    if match is None or match["key"].endswith("/"):
        raise RinsyncError(f"--config {config}: not an s3://BUCKET/KEY url (a bucket name and an object key); "
                           "nothing written", exitcodes.USAGE)
    if match["scheme"] == "gs":
        raise RinsyncError(f"--config {config}: GCS buckets are not supported yet (docs/fleet.md: same shape as "
                           "s3://, untested); nothing written", exitcodes.USAGE)
    return ObjectUrl(match["bucket"], match["key"])


@dataclass
class Version:
    data: bytes | None  # None: no such object
    etag: str | None = None
    version_id: str | None = None


class BucketStore:
    """One S3 bucket through boto3; every failure is one RinsyncError line (redacted)."""

    def __init__(self, url: ObjectUrl, redactor: Callable[[str], str] = str):
        self.url = url
        self.redactor = redactor
        self.client = _client(url)

    def _fail(self, exc: Exception, what: str, key: str) -> RinsyncError:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        where = f"s3://{self.url.bucket}/{key}"
        if isinstance(exc, NoCredentialsError):
            return RinsyncError(f"{where}: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                "AWS_PROFILE or ~/.aws/credentials); nothing written", exitcodes.ERROR)
        if isinstance(exc, EndpointConnectionError):
            return RinsyncError(f"{where}: cannot reach the S3 endpoint ({what}); nothing written, retry later",
                                exitcodes.TEMPFAIL)
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return RinsyncError(f"{where} was changed by another writer since rinsync read it ({what} refused "
                                    "by its condition); nothing overwritten: sync again", exitcodes.TEMPFAIL)
            message = _short(self.redactor(str(error.get("Message") or "")))
            return RinsyncError(f"{where}: {what} failed: {code}" + (f" ({message})" if message else "")
                                + "; check the bucket name and your AWS permissions; nothing written", exitcodes.ERROR)
        return RinsyncError(f"{where}: {what} failed: {_short(self.redactor(str(exc)))}; nothing written",
                            exitcodes.ERROR)

    def get(self, key: str) -> Version:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.url.bucket, Key=key)
            too_big = RinsyncError(f"s3://{self.url.bucket}/{key}: more than the {MAX_OBJECT_BYTES} bytes a config "
                                   "may have; nothing written", exitcodes.ERROR)
            if int(response.get("ContentLength") or 0) > MAX_OBJECT_BYTES:
                raise too_big
            data = response["Body"].read(MAX_OBJECT_BYTES + 1)
            if len(data) > MAX_OBJECT_BYTES:
                raise too_big
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return Version(None)
            raise self._fail(exc, "GET", key) from None
        except BotoCoreError as exc:
            raise self._fail(exc, "GET", key) from None
        return Version(data, response.get("ETag"), response.get("VersionId"))

    def head(self, key: str) -> Version:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.head_object(Bucket=self.url.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return Version(None)
            raise self._fail(exc, "HEAD", key) from None
        except BotoCoreError as exc:
            raise self._fail(exc, "HEAD", key) from None
        return Version(b"", response.get("ETag"), response.get("VersionId"))

    def put(self, key: str, data: bytes, expected: Version | None = None) -> Version:
        """Write ``data``; with ``expected``, only over that version (If-Match / If-None-Match)."""
        from botocore.exceptions import BotoCoreError, ClientError

        condition: dict[str, str] = {}
        if expected is not None:
            condition = {"IfMatch": expected.etag} if expected.data is not None else {"IfNoneMatch": "*"}
        try:
            response = self.client.put_object(Bucket=self.url.bucket, Key=key, Body=data,
                                              ContentType="application/yaml", **condition)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "PUT", key) from None
        return Version(data, response.get("ETag"), response.get("VersionId"))

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.url.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "DELETE", key) from None

    def versioned(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_bucket_versioning(Bucket=self.url.bucket).get("Status") == "Enabled"
        except (ClientError, BotoCoreError):
            return False

    def previous_version(self, key: str, version_id: str) -> str | None:
        """The version written just before ``version_id`` (None: none, or the listing is not available)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            listing = self.client.list_object_versions(Bucket=self.url.bucket, Prefix=key, MaxKeys=50)
        except (ClientError, BotoCoreError):
            return None
        ours = sorted((v for v in listing.get("Versions", []) if v.get("Key") == key),
                      key=lambda v: v["LastModified"], reverse=True)
        ids = [v.get("VersionId") for v in ours]
        if version_id in ids and ids.index(version_id) + 1 < len(ids):
            return ids[ids.index(version_id) + 1]
        return None

    def write_config(self, data: bytes, read: Version) -> Version:
        """The conditional write, with the before/after checks for servers that ignore the condition."""
        key = self.url.key
        now = self.head(key)
        if (now.data is None) != (read.data is None) or (read.data is not None and now.etag != read.etag):
            raise RinsyncError(f"{self.url} was changed by another writer since rinsync read it; nothing "
                               "overwritten: sync again", exitcodes.TEMPFAIL)
        written = self.put(key, data, read)
        if read.version_id and written.version_id and read.version_id != "null":
            before = self.previous_version(key, written.version_id)
            if before is not None and before != read.version_id:
                raise RinsyncError(f"{self.url}: another writer wrote version {before} while rinsync wrote "
                                   f"{written.version_id} over {read.version_id}: both are kept as versions; "
                                   "check which one the proxies should serve, then sync again", exitcodes.TEMPFAIL)
        return written


def _client(url: ObjectUrl):
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise RinsyncError(f"--config {url}: the S3 config store needs boto3: pip install 'rinsync[s3]'; "
                           "nothing written", exitcodes.ERROR) from None
    # bounded: a silent endpoint costs at most about 2 x (connect + read timeout) per request
    config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("s3", config=config)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BucketSnapshot:
    """The object (and its merge state) as they were before: the rollback writes them back over ours."""

    def __init__(self, store: BucketStore, before: Version, state_before: Version, written: Version, local: Path):
        self.store, self.before, self.state_before = store, before, state_before
        self.written, self.local = written, local
        self.paths = [local]
        self.shown = str(store.url)

    def restore(self) -> None:
        url = self.store.url
        if self.before.data is None:
            self.store.delete(url.key)
        else:
            self.store.put(url.key, self.before.data, self.written)
        if self.state_before.data is not None:
            self.store.put(url.state_key, self.state_before.data)
        self.local.write_bytes(self.before.data or b"")


class BucketTarget:
    """The LiteLLM target (rinsync.target.Target) whose config is an S3 object: plan (three-way merge on a
    private local copy), gate (shrink guard, dry run), write (conditional), apply (reload and confirm), rollback
    (the previous bytes written back)."""

    name = "litellm"
    title = "LiteLLM"
    failure_code = exitcodes.ERROR
    written_note = "the LiteLLM config object was written"
    keeps_cache = True

    def __init__(self, settings, redactor=None):
        self.settings = settings
        self.redactor = redactor or str
        self.url = parse_url(settings.config)  # a bad url stops before the catalog is fetched
        self.entries: list[dict] = []
        self.store: BucketStore | None = None
        self.local: Path | None = None

    def kept(self) -> str:
        return f"kept {self.url} unchanged"

    def check(self) -> None:
        if self.settings.include_file is not None:
            raise RinsyncError(f"--config {self.url}: --include-file works with a config file only; nothing written",
                               exitcodes.USAGE)
        self.store = BucketStore(self.url, self.redactor)  # boto3 missing: one line naming the extra, before a fetch

    def prepare(self, compiled, report) -> None:
        self.entries = compiled.result.entries

    @contextlib.contextmanager
    def locked(self):
        """No lock can span writers on other machines: the conditional write detects them. The local copy the
        merge reads lives in a private temporary directory for the whole sync."""
        with tempfile.TemporaryDirectory(prefix="rinsync-bucket-") as tmp:
            self.local = Path(tmp) / posixpath.basename(self.url.key)
            try:
                yield
            finally:
                self.local = None

    def _named(self, text: str) -> str:
        from .config_target import shown

        return text.replace(shown(self.local), str(self.url)).replace(str(self.local), str(self.url))

    def plan(self, report):
        from .config_target import ConfigPlan, changes, merge_plan, summary
        from .configfile import read_config
        from .state import load_base, state_path

        store, url, local = self.store, self.url, self.local
        read = store.get(url.key)
        state_read = store.get(url.state_key)
        if read.data is not None:
            local.write_bytes(read.data)
        if state_read.data is not None:
            state_path(local).write_bytes(state_read.data)
        try:
            existing = read_config(local)
            if existing.document.get("include"):
                raise RinsyncError(f"{url} has include: entries; the bucket store merges one object only "
                                   "(put the generated entries into it); nothing written", exitcodes.ERROR)
            merge = merge_plan(existing, self.entries, load_base(local, existing.raw, existing.generated), {}, report)
        except RinsyncError as exc:
            exc.message = self._named(exc.message)
            raise
        return ConfigPlan(local, merge, changes(existing.generated, merge.entries), self._named(summary(merge, local)),
                          {"existing": existing, "read": read, "state_read": state_read})

    def gate(self, plan, report, dry_note: str = "") -> bool:
        from .config_target import ConfigTarget

        return ConfigTarget.gate(self, plan, report, dry_note)  # the same guard and dry run as for a file

    def write(self, plan, report):
        from .config_target import Written
        from .configfile import render
        from .replace import validate
        from .state import state_bytes

        store, url, local, settings = self.store, self.url, self.local, self.settings
        existing, read, state_read = plan.work["existing"], plan.work["read"], plan.work["state_read"]
        merge = plan.merge
        data = render(existing, merge.entries) if existing.raw is None or merge.has_changes else existing.raw
        new_state = state_bytes(local, self.entries, data, existing.raw)
        if data == existing.raw:
            if state_read.data != new_state:
                store.put(url.state_key, new_state)
            report.lines.append(f"{plan.summary}; no changes, object left as it was")
            return None
        if settings.validate_cmd:
            pending = local.with_name("new-" + local.name)
            pending.write_bytes(data)
            validate(settings.validate_cmd, pending, self.kept(), self.redactor, report.warnings)
        if settings.applier is not None:
            settings.applier.check()
        if not store.versioned():
            report.warnings.append(f"bucket {url.bucket} has no versioning: the previous object is not kept as a "
                                   "backup (aws s3api put-bucket-versioning --versioning-configuration "
                                   "Status=Enabled)")
        store.put(url.state_key, new_state)  # the state first: a run killed before the object still finds its base
        written = store.write_config(data, read)
        report.lines.append(plan.summary)
        kept = f"; version {read.version_id} kept" if read.version_id and read.version_id != "null" else ""
        report.lines.append(f"wrote {url} (version {written.version_id or 'unversioned'}{kept})")
        local.write_bytes(data)
        return Written([], BucketSnapshot(store, read, state_read, written, local))

    def applies(self) -> bool:
        """A written change goes live through an applier (reload and confirm)."""
        return self.settings.applier is not None

    def apply(self, written, report) -> None:
        if self.settings.applier is None:
            return
        from ..apply import Change, apply_change

        apply_change(self.settings.applier, Change(self.local, written.snapshot), report.lines)

    def rollback(self, written, report) -> None:
        """The previous object (and merge state) written back over ours, then reloaded when there is an applier."""
        from ..apply import Change

        if self.settings.applier is not None:
            change = Change(self.local, written.snapshot)
            try:
                self.settings.applier.rollback(change)
            finally:
                report.lines += change.notes
            return
        written.snapshot.restore()
