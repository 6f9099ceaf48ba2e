"""Open WebUI's model-record API (0.12.4, ``open_webui/routers/models.py``, mounted at ``/api/v1/models``).

- ``GET  /all`` (admin): every model record, with its full ``meta``, ``params``, ``is_active``, grants.
- ``POST /create`` (a ``ModelForm``): refused with 401 "model id taken" when the id exists; access grants
  are set only here (``/model/update`` ignores them), so an admin's later sharing changes are never undone.
- ``POST /model/update`` (a ``ModelForm``): replaces name, base_model_id, meta, params; ``is_active`` only
  when sent; meta's image and avatar keys are kept by the server when left out.
- ``POST /model/delete`` (``{"id": ...}``).
Not used: ``POST /sync`` deletes every record it is not given, ``/import`` merges meta and cannot delete.

Every request goes through :class:`rinsync.httpclient.HttpClient`: each exchange ends within
:data:`EXCHANGE_SECONDS` and the whole sync within :data:`TOTAL_SECONDS` however slowly Open WebUI drips its
answers; bodies are capped and parsed with bounds; the token goes only over HTTPS or to a loopback host
(or a host named in ``RINSYNC_ALLOW_PLAIN_HTTP``). The token is sent, never printed: every message goes
through the redactor. Records of the wrong shape are refused in one line before anything is planned.
"""

from __future__ import annotations

from typing import Any

from .. import exitcodes
from ..diagnostics import RinsyncError

EXCHANGE_SECONDS = 30.0  # one request and its whole answer
TOTAL_SECONDS = 300.0  # every request of one sync
PREFIX = "/api/v1/models"
# the types plan.py and records.py rely on, per top-level field of a record (None: absent or null is fine)
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,), "name": (str,), "base_model_id": (str,), "user_id": (str,), "meta": (dict,), "params": (dict,),
    "is_active": (bool,), "access_grants": (list,), "created_at": (int, float), "updated_at": (int, float)}
META_FIELDS: dict[str, tuple[type, ...]] = {"tags": (list,), "capabilities": (dict,), "description": (str,)}


class OpenWebUIError(RinsyncError):
    """A request to Open WebUI failed (unreachable, refused, unexpected answer)."""


def base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


class Client:
    def __init__(self, url: str, token: str, redactor, timeout: float = EXCHANGE_SECONDS,
                 key_env: str = "OPENWEBUI_API_KEY", total: float = TOTAL_SECONDS):
        from ..httpclient import HttpClient, Secret, credentials_problem
        from ..redact import Redactor, display_url

        self.key_env = key_env
        self.url = base_url(url)
        self.shown = display_url(self.url).rstrip("/")
        problem = credentials_problem(self.url)
        if problem:
            raise OpenWebUIError(f"the Open WebUI URL {self.shown} {problem}; rinsync authenticates with "
                                 f"{key_env} (remove them from the URL)", exitcodes.USAGE)
        self.redactor = redactor if isinstance(redactor, Redactor) else Redactor()
        self._outer = redactor
        self.http = HttpClient(self.redactor, total=total, exchange=timeout, connect=min(5.0, timeout), read=timeout,
                               secret=Secret(token, key_env))

    def _redact(self, text: str) -> str:
        return self._outer(self.redactor.quoted(text))

    def _request(self, method: str, path: str, what: str, body: Any = None) -> Any:
        from ..httpclient import HttpError

        target = f"{self.url}{PREFIX}{path}"
        try:
            response = self.http.request(method, target, json_body=body)
        except HttpError as exc:
            code = exc.exit_code if exc.exit_code == exitcodes.USAGE else exitcodes.OPENWEBUI_FAILED
            if exc.kind in ("deadline", "timeout"):
                reason = f" gave no complete answer within {self.http.last_bound}"
            elif exc.kind in ("refused", "network"):
                reason = f" did not answer ({exc.reason})"
            else:
                reason = f": {exc.reason}"
            raise OpenWebUIError(self._redact(f"{what}: Open WebUI at {self.shown}{reason}"), code) from None
        status = response.status
        if status in (401, 403) and path == "/all":
            raise OpenWebUIError(f"{what}: Open WebUI refused the token (HTTP {status}); set "
                                 f"{self.key_env} to an admin's API key or token", exitcodes.OPENWEBUI_FAILED)
        if status == 404 and path == "/all":
            raise OpenWebUIError(self._redact(f"{what}: HTTP 404 at {self.shown}{PREFIX}{path} (is {self.shown} "
                                              "Open WebUI, 0.6 or newer?)"), exitcodes.OPENWEBUI_FAILED)
        if status != 200:
            raise OpenWebUIError(self._redact(f"{what}: HTTP {status} {_detail(response)}"),
                                 exitcodes.OPENWEBUI_FAILED)
        try:
            return response.json("its answer")
        except HttpError as exc:
            if exc.kind == "json":
                raise OpenWebUIError(f"{what}: Open WebUI at {self.shown}: {exc.reason}; nothing of it was used",
                                     exitcodes.OPENWEBUI_FAILED) from None
            raise OpenWebUIError(f"{what}: Open WebUI answered HTTP 200 with no JSON (is {self.shown} Open WebUI?)",
                                 exitcodes.OPENWEBUI_FAILED) from None

    def call(self, method: str, path: str, what: str, body: Any = None) -> Any:
        """One request beside the model-record API (groups, settings), through the same bounded client
        (deadline, size cap, bounded JSON, the token's scheme rule, redaction); ``path`` from the site root."""
        from ..httpclient import HttpError

        try:
            response = self.http.request(method, self.url + path, json_body=body)
        except HttpError as exc:
            code = exc.exit_code if exc.exit_code == exitcodes.USAGE else exitcodes.OPENWEBUI_FAILED
            raise OpenWebUIError(self._redact(f"{what}: Open WebUI at {self.shown}: {exc.reason}"), code) from None
        if response.status != 200:
            raise OpenWebUIError(self._redact(f"{what}: HTTP {response.status}"), exitcodes.OPENWEBUI_FAILED)
        try:
            return response.json("its answer")
        except HttpError as exc:
            raise OpenWebUIError(f"{what}: Open WebUI at {self.shown}: {exc.reason}; nothing of it was used",
                                 exitcodes.OPENWEBUI_FAILED) from None

    def records(self) -> list[dict]:
        data = self._request("GET", "/all", "reading Open WebUI's model records")
        if not isinstance(data, list):
            raise OpenWebUIError(f"GET {PREFIX}/all at {self.shown} did not return a list of model records",
                                 exitcodes.OPENWEBUI_FAILED)
        for index, record in enumerate(data):
            problem = record_problem(record)
            if problem:
                raise OpenWebUIError(f"GET {PREFIX}/all at {self.shown}: record {index} {problem}; nothing was "
                                     "changed (is this Open WebUI 0.12?)", exitcodes.OPENWEBUI_FAILED)
        return data

    def create(self, form: dict) -> None:
        self._request("POST", "/create", f"creating {form['id']}", form)

    def update(self, form: dict) -> None:
        self._request("POST", "/model/update", f"updating {form['id']}", form)

    def delete(self, model_id: str) -> None:
        result = self._request("POST", "/model/delete", f"deleting {model_id}", {"id": model_id})
        if result is not True:
            from ..untrusted import escape

            raise OpenWebUIError(f"deleting {model_id}: Open WebUI answered {escape(repr(result), 80)}",
                                 exitcodes.OPENWEBUI_FAILED)


def record_problem(record: Any) -> str | None:
    """Why a record of ``GET /all`` is not one rinsync can plan with (a wrong-typed field); None when fine."""
    from ..untrusted import escape

    if not isinstance(record, dict):
        return f"is {_kind(record)}, not an object"
    if not isinstance(record.get("id"), str):
        return "has no string id"
    shown = escape(record["id"], 80)
    for fields, where, value in ((RECORD_FIELDS, "", record), (META_FIELDS, "meta.", record.get("meta") or {})):
        for key, types in fields.items():
            item = value.get(key)
            if item is not None and (not isinstance(item, types) or (bool not in types and isinstance(item, bool))):
                wanted = " or ".join(_kind_name(t) for t in types)
                return f"('{shown}') has {where}{key} of type {_kind(item)}, expected {wanted}"
    return None


def _kind(value: Any) -> str:
    return _kind_name(type(value))


def _kind_name(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(kind, kind.__name__)


def _detail(response) -> str:
    try:
        body = response.json()
    except RinsyncError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI's validation errors: [{"loc": [...], "msg": ...}, ...]
        detail = "; ".join(f"{'.'.join(str(p) for p in _list(item.get('loc')))}: {item.get('msg')}"
                           if isinstance(item, dict) else str(item) for item in detail[:3])
    text = detail if isinstance(detail, str) else (str(detail) if detail else response.reason or "")
    return " ".join(str(text).split())[:200]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []
