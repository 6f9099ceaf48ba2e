"""What rinsync created in Open WebUI, and the last generated fields of each: ownership and merge base.

One JSON file (mode 0600, written atomically through ``rinsync.files``), by default
``.rinsync-state.openwebui.json`` beside the LiteLLM config, holding for each Open WebUI URL

* ``created``: the ids of the records rinsync created there (and has not deleted since). Only these
  records, and only while they carry rinsync's marker, are ever updated or deleted: an admin's copy of a
  generated model carries the marker in its copied meta, but rinsync did not create it;
* ``base``: the managed fields (``records.flatten`` keys) rinsync last wrote for each of its records, the
  base of the three-way merge with an admin's edits.

It never holds the token. After a partly applied sync it holds exactly what was applied, so the next run
merges against the truth.

Version 1 (before ownership) held only the base, ``instances[url] = {id: fields}``. It is read as version 2
with ``created`` = the ids of that base: version 1 only ever recorded records whose id rinsync generated
(an admin's copy has an id of its own, which version 1 deleted and never recorded), so no copy becomes
rinsync's by the migration. The next sync writes version 2 (an older rinsync reading it starts over with
no base and says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

VERSION = 2
READS = (1, 2)
FILE_NAME = ".rinsync-state.openwebui.json"
MAX_BYTES = 64 * 1024 * 1024


def default_state_path(config: Path) -> Path:
    return Path(config).parent / FILE_NAME


def instance_key(url: str) -> str:
    return url.rstrip("/")


def read_document(path: Path) -> tuple[dict, str | None]:
    """The whole state document (empty when missing or unusable) and a note when it was unusable."""
    from ..files.safeopen import read_own
    from ..limits import load_json

    try:  # a link, FIFO or device planted here raises UnsafeFile (exit 74); a nesting bomb is damage
        data = read_own(Path(path), MAX_BYTES)
        if data is None:
            return {"version": VERSION, "instances": {}}, None
        if len(data) > MAX_BYTES:
            raise ValueError("too large")
        document = load_json(data)
    except (OSError, ValueError):
        return {"version": VERSION, "instances": {}}, f"state file {Path(path).name} is unreadable"
    if not isinstance(document, dict) or document.get("version") not in READS \
            or not isinstance(document.get("instances"), dict):
        return {"version": VERSION, "instances": {}}, f"state file {Path(path).name} is not a rinsync state"
    return document, None


@dataclass
class Owned:
    """One Open WebUI's part of the state: the ids rinsync created there and the base of each record."""

    created: set[str] = field(default_factory=set)
    base: dict[str, dict] = field(default_factory=dict)


def _instance(document: dict, url: str) -> Owned:
    entries = document["instances"].get(instance_key(url))
    if not isinstance(entries, dict):
        return Owned()
    if document.get("version") == 1:  # before ownership: the base only, its ids are the created ones
        base = {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, dict)}
        return Owned(set(base), base)
    created = entries.get("created")
    base = entries.get("base")
    base = {k: v for k, v in base.items() if isinstance(k, str) and isinstance(v, dict)} \
        if isinstance(base, dict) else {}
    ids = {k for k in created if isinstance(k, str)} if isinstance(created, list) else set()
    return Owned(ids, {k: v for k, v in base.items() if k in ids})


def load_state(path: Path, url: str) -> tuple[Owned, str | None]:
    """What rinsync created in the Open WebUI at ``url``, and their base (empty when there is no state)."""
    document, note = read_document(path)
    return _instance(document, url), note


def load_base(path: Path, url: str) -> tuple[dict[str, dict], str | None]:
    """model id -> last generated fields for the Open WebUI at ``url`` ({} when there is none)."""
    owned, note = load_state(path, url)
    return owned.base, note


def state_bytes(path: Path, url: str, base: dict[str, dict], created: set[str] | None = None) -> bytes:
    """The state document with ``url``'s part replaced (other instances kept, version 1 ones converted).
    ``created`` None: the ids of ``base``."""
    document, _ = read_document(path)
    old = document.get("version")
    instances = {}
    for key, value in document["instances"].items():
        if old == 1:
            owned = _instance({"version": 1, "instances": {key: value}}, key)
            value = {"created": sorted(owned.created), "base": owned.base}
        instances[key] = value
    ids = set(base) if created is None else set(created)
    instances[instance_key(url)] = {"created": sorted(ids), "base": {k: base[k] for k in sorted(base) if k in ids}}
    out = {"version": VERSION, "generator": "rinsync",
           "note": "ids of the Open WebUI records rinsync created, and their last generated fields (base of the "
                   "three-way merge); do not edit",
           "instances": {k: instances[k] for k in sorted(instances)}}
    return (json.dumps(out, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
