"""The last generated Open WebUI fields per model: the base of the three-way merge with an admin's edits.

One JSON file (mode 0600, written atomically through ``rinsync.files``), by default
``.rinsync-state.openwebui.json`` beside the LiteLLM config, holding for each Open WebUI URL the managed
fields (``records.flatten`` keys) rinsync last wrote for each of its records. It never holds the token.
After a partly applied sync it holds exactly what was applied, so the next run merges against the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

VERSION = 1
FILE_NAME = ".rinsync-state.openwebui.json"


def default_state_path(config: Path) -> Path:
    return Path(config).parent / FILE_NAME


def instance_key(url: str) -> str:
    return url.rstrip("/")


def read_document(path: Path) -> tuple[dict, str | None]:
    """The whole state document (empty when missing or unusable) and a note when it was unusable."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": VERSION, "instances": {}}, None
    except (OSError, ValueError):
        return {"version": VERSION, "instances": {}}, f"state file {Path(path).name} is unreadable"
    if not isinstance(document, dict) or document.get("version") != VERSION \
            or not isinstance(document.get("instances"), dict):
        return {"version": VERSION, "instances": {}}, f"state file {Path(path).name} is not a rinsync state"
    return document, None


def load_base(path: Path, url: str) -> tuple[dict[str, dict], str | None]:
    """model id -> last generated fields for the Open WebUI at ``url`` ({} when there is none)."""
    document, note = read_document(path)
    entries = document["instances"].get(instance_key(url))
    if not isinstance(entries, dict):
        return {}, note
    return {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, dict)}, note


def state_bytes(path: Path, url: str, base: dict[str, dict]) -> bytes:
    """The state document with ``url``'s generation replaced by ``base`` (other instances kept)."""
    document, _ = read_document(path)
    instances = dict(document["instances"])
    instances[instance_key(url)] = {k: base[k] for k in sorted(base)}
    out = {"version": VERSION, "generator": "rinsync",
           "note": "last generated Open WebUI fields per model (base of the three-way merge); do not edit",
           "instances": {k: instances[k] for k in sorted(instances)}}
    return (json.dumps(out, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
