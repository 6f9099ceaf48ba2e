"""The last generated state: what rinsync itself last wrote for each generated model (kubectl's last-applied).

Kept in a sidecar ``.rinsync-state.<config name>.json`` beside the config (mode 0600), never in the config:
LiteLLM must be able to read config.yaml unchanged. It holds only compiled entries (``os.environ/...``
references, never keys). It is the *base* of the three-way merge: a field whose current value differs
from the base was edited by hand and survives the next sync.

Two files cannot be replaced in one atomic step, so the state is written *before* the config and keeps
two generations, each tagged with the SHA-256 of the config it belongs to. On reading, the generation
whose hash matches the config on disk is used; if none matches the config was edited by hand since, and
the newest generation is used. A run killed between the two writes therefore still finds the right base.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

VERSION = 1


def state_path(config: Path) -> Path:
    config = Path(os.path.realpath(config))
    return config.parent / f".rinsync-state.{config.name}.json"


@dataclass
class Base:
    entries: dict[str, dict] | None  # model_name -> last generated entry; None: no usable state
    note: str | None = None  # why the state was not usable / which generation was used


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


MAX_STATE_BYTES = 256 * 1024 * 1024


def _read(path: Path) -> dict | None:
    from ..files.safeopen import read_own

    try:
        data = read_own(path, MAX_STATE_BYTES)  # a planted link raises UnsafeFile (exit 74): nothing is written
        if data is None:
            return None
        document = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {"corrupt": True}
    if not isinstance(document, dict) or document.get("version") != VERSION \
            or not isinstance(document.get("generations"), list):
        return {"corrupt": True}
    return document


def load_base(config: Path, config_bytes: bytes | None) -> Base:
    """The base for the merge of ``config`` whose current content is ``config_bytes``."""
    path = state_path(config)
    document = _read(path)
    if document is None:
        return Base(None, f"no state file {path.name}")
    if document.get("corrupt"):
        return Base(None, f"state file {path.name} is unreadable")
    generations = [g for g in document["generations"]
                   if isinstance(g, dict) and isinstance(g.get("entries"), dict)]
    if not generations:
        return Base(None, f"state file {path.name} holds no generation")
    current = sha256(config_bytes) if config_bytes is not None else None
    for generation in generations:
        if generation.get("config_sha256") == current:
            return Base(_valid_entries(generation["entries"]))
    return Base(_valid_entries(generations[0]["entries"]), "config edited since the last sync")


def _valid_entries(entries: dict) -> dict[str, dict]:
    return {name: entry for name, entry in entries.items() if isinstance(name, str) and isinstance(entry, dict)}


def state_bytes(config: Path, entries: list[dict], config_bytes: bytes, previous_config_bytes: bytes | None) -> bytes:
    """The new state document: this generation first, then the one matching the config being replaced."""
    generations = [{"config_sha256": sha256(config_bytes),
                    "entries": {e["model_name"]: e for e in entries}}]
    if previous_config_bytes is not None:
        # Keep the generation that describes the config about to be replaced, re-tagged with its hash
        # (the config may have been edited by hand since): the base if we are killed before the rename.
        base = load_base(config, previous_config_bytes)
        if base.entries is not None:
            generations.append({"config_sha256": sha256(previous_config_bytes), "entries": base.entries})
    document = {"version": VERSION, "generator": "rinsync", "config": Path(config).name,
                "note": "last generated model_list entries (base of the three-way merge); do not edit",
                "generations": generations}
    return (json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")
