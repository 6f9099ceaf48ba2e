"""The order of Open WebUI's model selector, by the rules' ``openwebui: order:`` keys.

Open WebUI 0.12.4 sorts ``/api/models`` by its model order list (``ui.model_order_list``, set in Admin
Settings > Models, ``GET``/``POST /api/v1/configs/models`` as ``MODEL_ORDER_LIST``; admin); models not in
the list follow, by name. rinsync writes that list only when it is empty or still the one rinsync wrote
last (remembered per Open WebUI URL in ``.rinsync-state.openwebui-order.json`` beside the state file):
an order an admin set by hand is left alone, with a warning that says how to give it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import exitcodes
from ..diagnostics import RinsyncError
from ..dsl.rules import OrderKey
from .client import Client, OpenWebUIError

CONFIG_PATH = "/api/v1/configs/models"
ORDER_KEY = "MODEL_ORDER_LIST"


def _kind(value: Any) -> int:
    """0 numbers, 1 strings, 2 anything else (null, lists, booleans): sorted last either way."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 0
    return 1 if isinstance(value, str) else 2


def ordered_ids(keys: list[OrderKey], items: list[tuple[str, list]]) -> list[str]:
    """Ids sorted by their key values (stable sorts, last key first; ties by id; nulls last)."""
    items = sorted(items, key=lambda item: item[0])
    for position in reversed(range(len(keys))):
        present = [i for i in items if _kind(i[1][position]) < 2]
        missing = [i for i in items if _kind(i[1][position]) == 2]
        present.sort(key=lambda i: (_kind(i[1][position]), i[1][position]), reverse=keys[position].descending)
        items = present + missing
    return [model_id for model_id, _ in items]


def memory_path(state: Path) -> Path:
    return state.with_name(state.name.removesuffix(".json") + "-order.json")


def _remembered(path: Path, url: str) -> list[str] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    value = data.get(url) if isinstance(data, dict) else None
    return value if isinstance(value, list) else None


def _call(client: Client, method: str, what: str, body: Any = None) -> Any:
    return client.call(method, CONFIG_PATH, what, body)


def sync_order(client: Client, order: list[str], state: Path, dry_run: bool, lines: list[str],
               warnings: list[str]) -> None:
    """Set Open WebUI's model order list to ``order`` unless an admin set another one by hand. The records
    are written by then: a failure here is a warning (the order is a nicety), never an error."""
    try:
        _sync_order(client, order, state, dry_run, lines, warnings)
    except OpenWebUIError as exc:
        warnings.append(f"Open WebUI's model order was not set: {exc.message}")


def _sync_order(client: Client, order: list[str], state: Path, dry_run: bool, lines: list[str],
                warnings: list[str]) -> None:
    from ..files.atomic import write_atomic

    config = _call(client, "GET", "reading Open WebUI's model order")
    if not isinstance(config, dict):
        raise OpenWebUIError(f"GET {CONFIG_PATH} at {client.url} did not return the models settings",
                             exitcodes.OPENWEBUI_FAILED)
    current = config.get(ORDER_KEY) or []
    memory = memory_path(state)
    if current == order:
        return
    if current and current != _remembered(memory, client.url):
        warnings.append("Open WebUI's model order was set by an admin (Admin Settings > Models); rinsync left it as "
                        "it is (reset the order there to let the rules' openwebui order sort the selector)")
        return
    if dry_run:
        lines.append(f"dry run: would set Open WebUI's model order ({len(order)} models)")
        return
    _call(client, "POST", "setting Open WebUI's model order", {**config, ORDER_KEY: order})
    try:
        data = json.loads(memory.read_text()) if memory.exists() else {}
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    data[client.url] = order
    try:
        write_atomic(memory, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), mode=0o600)
    except RinsyncError as exc:
        warnings.append(f"the model order was set, but rinsync could not remember it ({exc.message}); the next sync "
                        "will take it for an admin's order")
    lines.append(f"Open WebUI's model order set ({len(order)} models)")
