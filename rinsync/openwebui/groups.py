"""Access by group: the rules name Open WebUI groups, resolved to ids before anything is written.

Open WebUI 0.12.4 (``open_webui/routers/groups.py``, ``routers/models.py``,
``utils/access_control``): ``GET /api/v1/groups/`` lists every group to an admin (``id``, ``name``);
a model's ``access_grants`` are ``{"principal_type": "group", "principal_id": ID, "permission": "read"}``
items (``user`` / ``*`` for everyone). Grants are taken on ``/create`` and changed only through
``POST /api/v1/models/model/access/update`` (``/model/update`` ignores them).

rinsync sets a record's grants when it creates it, and again only when the rules' groups for it change
(they are remembered in ``meta.rinsync.groups``), so an admin's own sharing changes stay otherwise.
"""

from __future__ import annotations

from typing import Any

from .. import exitcodes
from ..diagnostics import RinsyncError
from ..untrusted import escape
from .client import Client, OpenWebUIError
from .plan import PUBLIC_READ, Plan
from .records import MARKER_KEY

GROUPS_PATH = "/api/v1/groups/"
ACCESS_PATH = "/api/v1/models/model/access/update"


def wanted_groups(records: list[dict]) -> set[str]:
    """Every group name the generated records ask for."""
    return {g for r in records for g in (r["meta"].get(MARKER_KEY) or {}).get("groups") or []}


def _call(client: Client, method: str, path: str, what: str, body: Any = None) -> Any:
    return client.call(method, path, what, body)


def resolve(client: Client, names: set[str]) -> dict[str, str]:
    """Group name -> id; one line naming the missing groups (exit 1) when a name is not a group."""
    if not names:
        return {}
    data = _call(client, "GET", GROUPS_PATH, "reading Open WebUI's groups")
    if not isinstance(data, list):
        raise OpenWebUIError(f"GET {GROUPS_PATH} at {client.url} did not return a list of groups",
                             exitcodes.OPENWEBUI_FAILED)
    ids: dict[str, str] = {}
    for group in data:
        if isinstance(group, dict) and isinstance(group.get("name"), str) and isinstance(group.get("id"), str):
            ids.setdefault(group["name"], group["id"])
    missing = sorted(names - set(ids))
    if missing:
        known = ", ".join(escape(name, 40) for name in sorted(ids)[:10]) or "none"  # names from the server
        named = ", ".join(f"'{escape(name, 60)}'" for name in missing[:5])
        raise RinsyncError(f"the rules' openwebui groups name {named}, which "
                           f"{'is' if len(missing) == 1 else 'are'} no group in Open WebUI at {client.url} "
                           f"(its groups: {known}); create the group in Open WebUI (Admin > Users > Groups) "
                           "or fix the rules; Open WebUI left as it was", exitcodes.ERROR)
    return {name: ids[name] for name in names}


def grants(groups: list[str] | None, ids: dict[str, str]) -> list[dict]:
    """Access grants for a record: read by each group, or by everyone when it names none."""
    if not groups:
        return [dict(g) for g in PUBLIC_READ]
    return [{"principal_type": "group", "principal_id": ids[name], "permission": "read"} for name in groups]


def apply_groups(result: Plan, client: Client, ids: dict[str, str]) -> Client:
    """Put the rules' grants into the creates and return a client that re-grants the updates whose groups
    changed (after their update succeeded)."""
    regrant: dict[str, list[dict]] = {}
    for change in result.changes:
        if change.form is None:
            continue
        groups = (change.form["meta"].get(MARKER_KEY) or {}).get("groups")
        if change.kind == "create":
            change.form["access_grants"] = grants(groups, ids)
        elif change.kind == "update" and "groups" in change.fields:
            regrant[change.model_id] = grants(groups, ids)
    return _Regranting(client, regrant) if regrant else client


class _Regranting:
    """The model-record client, with the access grants of some records set after their update."""

    def __init__(self, client: Client, regrant: dict[str, list[dict]]):
        self._client = client
        self._regrant = regrant

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update(self, form: dict) -> None:
        self._client.update(form)
        access = self._regrant.get(form["id"])
        if access is not None:
            _call(self._client, "POST", ACCESS_PATH, f"setting the groups of {form['id']}",
                  {"id": form["id"], "access_grants": access})
