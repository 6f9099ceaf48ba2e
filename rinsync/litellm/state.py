"""The last generated state: what rinsync itself generated for each model (kubectl's last-applied).

Kept in a sidecar ``.rinsync-state.<config name>.json`` beside the config (mode 0600), never in the config:
LiteLLM must be able to read config.yaml unchanged. It holds only compiled entries (``os.environ/...``
references, never keys). It is the *base* of the three-way merge: a field whose current value differs
from the base was edited by hand and survives the next sync.

The state keeps the last :data:`KEEP_GENERATIONS` generations, each tagged with the SHA-256 of the config
it was written with (entries shared between generations are stored once). The state is written *before*
the config, so a run killed between the two writes still finds its base. On reading:

* the generation whose hash matches the config on disk is the base (also for a config restored from a
  backup, as long as its generation is still recorded);
* otherwise, entry by entry: a generated entry equal to what some recorded generation generated for it
  was not edited by hand, and that generation's entry is its base; any other entry takes its base from the
  generation that matches most of the config (its differences are hand edits);
* when fewer than half of the config's generated entries match a recorded generation (a config restored
  from a backup older than the state), there is no base: the merge is two-way, the new values win, and the
  sync warns; a config closest to an older generation than the newest is merged entry by entry with a
  warning.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

VERSION = 2
KEEP_GENERATIONS = 12


def state_path(config: Path) -> Path:
    config = Path(os.path.realpath(config))
    return config.parent / f".rinsync-state.{config.name}.json"


@dataclass
class Base:
    entries: dict[str, dict] | None  # model_name -> last generated entry; None: no usable state
    note: str | None = None  # why the state was not usable / which generation was used
    warn: bool = False  # the note is worth a warning (damaged state, two-way merge)


@dataclass
class Generation:
    config_sha256: str | None
    entries: dict[str, dict]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


MAX_STATE_BYTES = 256 * 1024 * 1024


def _digest(entry: dict) -> str:
    text = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def read_generations(path: Path) -> tuple[list[Generation] | None, str | None]:
    """The recorded generations, newest first; (None, why) when the file is missing or damaged.

    A link, FIFO or device planted in its place raises ``UnsafeFile`` (exit 74): nothing is written."""
    from ..files.safeopen import read_own
    from ..limits import load_json

    try:
        data = read_own(path, MAX_STATE_BYTES)
    except OSError as exc:
        return None, f"state file {path.name} is unreadable ({exc.strerror or exc}); treated as missing"
    if data is None:
        return None, f"no state file {path.name}"
    try:
        if len(data) > MAX_STATE_BYTES:
            raise ValueError(f"larger than {MAX_STATE_BYTES // (1024 * 1024)} MiB")
        document = load_json(data)
    except ValueError as exc:
        return None, f"state file {path.name} is damaged ({str(exc).splitlines()[0][:80]}); treated as missing"
    if not isinstance(document, dict) or document.get("version") not in (1, VERSION) \
            or not isinstance(document.get("generations"), list):
        return None, f"state file {path.name} is unreadable (not a rinsync state); treated as missing"
    pool = document.get("entries") if isinstance(document.get("entries"), dict) else {}
    generations = []
    for raw in document["generations"]:
        if not isinstance(raw, dict):
            continue
        if isinstance(raw.get("models"), dict):  # version 2: name -> digest in the shared pool
            entries = {name: pool.get(key) if isinstance(key, str) else None for name, key in raw["models"].items()}
        elif isinstance(raw.get("entries"), dict):  # version 1: entries inline
            entries = raw["entries"]
        else:
            continue
        sha = raw.get("config_sha256") if isinstance(raw.get("config_sha256"), str) else None
        generations.append(Generation(sha, _valid_entries(entries)))
    if not generations:
        return None, f"state file {path.name} holds no generation"
    return generations, None


def load_base(config: Path, config_bytes: bytes | None, current: list[dict] | None = None) -> Base:
    """The base for the merge of ``config`` whose content is ``config_bytes``; ``current``: its generated
    entries (without them, a config matching no recorded hash gets the newest generation as its base)."""
    generations, problem = read_generations(state_path(config))
    if generations is None:
        return Base(None, problem, warn=not (problem or "").startswith("no state file"))
    digest = sha256(config_bytes) if config_bytes is not None else None
    for generation in generations:
        if generation.config_sha256 == digest:
            return Base(generation.entries)
    if current is None:
        return Base(generations[0].entries, "config edited since the last sync")
    return _entry_by_entry(generations, current)


def _entry_by_entry(generations: list[Generation], current: list[dict]) -> Base:
    named = {e["model_name"]: e for e in current if isinstance(e.get("model_name"), str)}
    matches = [sum(1 for name, entry in named.items() if g.entries.get(name) == entry) for g in generations]
    if named and max(matches) * 2 < len(named):
        return Base(None, f"only {max(matches)} of the config's {len(named)} generated entries match a recorded "
                          "generation (restored from an old backup?): two-way merge, generated entries take the "
                          "new catalog's values and hand edits on them are not kept", warn=True)
    best = generations[matches.index(max(matches))] if matches else generations[0]
    base: dict[str, dict] = {}
    for name, entry in named.items():
        exact = next((g.entries[name] for g in generations if g.entries.get(name) == entry), None)
        fallback = best.entries.get(name) or next((g.entries[name] for g in generations if name in g.entries), None)
        chosen = exact if exact is not None else fallback
        if chosen is not None:
            base[name] = chosen
    if best is generations[0]:
        return Base(base, "config edited since the last sync")
    return Base(base, f"the config is closest to the generation of {generations.index(best)} syncs ago (restored "
                      "from a backup?); entries that match no recorded generation keep their differences as hand "
                      "edits (see them with --dry-run)", warn=True)


def _valid_entries(entries: dict) -> dict[str, dict]:
    return {name: entry for name, entry in entries.items() if isinstance(name, str) and isinstance(entry, dict)}


def state_bytes(config: Path, entries: list[dict], config_bytes: bytes, previous_config_bytes: bytes | None) -> bytes:
    """The new state document: this generation first, then the one matching the config being replaced,
    then the older recorded ones (at most :data:`KEEP_GENERATIONS` in all, one per config hash)."""
    generations = [Generation(sha256(config_bytes), {e["model_name"]: e for e in entries})]
    recorded, _ = read_generations(state_path(config))
    recorded = recorded or []
    if previous_config_bytes is not None and recorded:
        # The generation that describes the config about to be replaced, tagged with its hash (the config may
        # have been edited by hand since): the base if we are killed before the rename.
        previous = sha256(previous_config_bytes)
        base = next((g for g in recorded if g.config_sha256 == previous), recorded[0])
        generations.append(Generation(previous, base.entries))
    seen = {g.config_sha256 for g in generations}
    for generation in recorded:
        if len(generations) >= KEEP_GENERATIONS:
            break
        if generation.config_sha256 not in seen:
            seen.add(generation.config_sha256)
            generations.append(generation)
    pool: dict[str, dict] = {}
    digests: dict[int, str] = {}  # entries read from the pool are shared between generations: hash each once
    listed = []
    for generation in generations:
        models = {}
        for name, entry in generation.entries.items():
            key = digests.get(id(entry))
            if key is None:
                key = digests[id(entry)] = _digest(entry)
            pool.setdefault(key, entry)
            models[name] = key
        listed.append({"config_sha256": generation.config_sha256, "models": models})
    document = {"version": VERSION, "generator": "rinsync", "config": Path(config).name,
                "note": "generated model_list entries of the last syncs (base of the three-way merge); do not edit",
                "generations": listed, "entries": pool}
    return (json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")
