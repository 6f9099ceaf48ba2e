"""Open WebUI's model-record API (0.12.4, ``open_webui/routers/models.py``, mounted at ``/api/v1/models``).

- ``GET  /all`` (admin): every model record, with its full ``meta``, ``params``, ``is_active``, grants.
- ``POST /create`` (a ``ModelForm``): refused with 401 "model id taken" when the id exists; access grants
  are set only here (``/model/update`` ignores them), so an admin's later sharing changes are never undone.
- ``POST /model/update`` (a ``ModelForm``): replaces name, base_model_id, meta, params; ``is_active`` only
  when sent; meta's image and avatar keys are kept by the server when left out.
- ``POST /model/delete`` (``{"id": ...}``).
Not used: ``POST /sync`` deletes every record it is not given, ``/import`` merges meta and cannot delete.

The bearer token (an admin's API key or session token) is sent, never printed: every message goes through
the redactor.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import RinsyncError

TIMEOUT = (5.0, 60.0)
PREFIX = "/api/v1/models"


class OpenWebUIError(RinsyncError):
    """A request to Open WebUI failed (unreachable, refused, unexpected answer)."""


def base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


class Client:
    def __init__(self, url: str, token: str, redactor, timeout: tuple[float, float] = TIMEOUT,
                 key_env: str = "OPENWEBUI_API_KEY"):
        import requests

        self.key_env = key_env
        self.url = base_url(url)
        self.redactor = redactor
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def _request(self, method: str, path: str, what: str, body: Any = None) -> Any:
        import requests

        from .. import exitcodes

        target = f"{self.url}{PREFIX}{path}"
        try:
            response = self.session.request(method, target, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise OpenWebUIError(self.redactor(f"{what}: Open WebUI at {self.url} did not answer "
                                               f"({type(exc).__name__})"), exitcodes.OPENWEBUI_FAILED) from None
        if response.status_code in (401, 403) and path == "/all":
            raise OpenWebUIError(f"{what}: Open WebUI refused the token (HTTP {response.status_code}); set "
                                 f"{self.key_env} to an admin's API key or token", exitcodes.OPENWEBUI_FAILED)
        if response.status_code == 404 and path == "/all":
            raise OpenWebUIError(self.redactor(f"{what}: HTTP 404 at {target} (is {self.url} Open WebUI, 0.6 or "
                                               "newer?)"), exitcodes.OPENWEBUI_FAILED)
        if response.status_code != 200:
            raise OpenWebUIError(self.redactor(f"{what}: HTTP {response.status_code} {_detail(response)}"),
                                 exitcodes.OPENWEBUI_FAILED)
        try:
            return response.json()
        except ValueError:
            raise OpenWebUIError(f"{what}: Open WebUI answered HTTP 200 with no JSON (is {self.url} Open WebUI?)",
                                 exitcodes.OPENWEBUI_FAILED) from None

    def records(self) -> list[dict]:
        data = self._request("GET", "/all", "reading Open WebUI's model records")
        if not isinstance(data, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in data):
            from .. import exitcodes

            raise OpenWebUIError(f"GET {PREFIX}/all at {self.url} did not return a list of model records",
                                 exitcodes.OPENWEBUI_FAILED)
        return data

    def create(self, form: dict) -> None:
        self._request("POST", "/create", f"creating {form['id']}", form)

    def update(self, form: dict) -> None:
        self._request("POST", "/model/update", f"updating {form['id']}", form)

    def delete(self, model_id: str) -> None:
        result = self._request("POST", "/model/delete", f"deleting {model_id}", {"id": model_id})
        if result is not True:
            from .. import exitcodes

            raise OpenWebUIError(f"deleting {model_id}: Open WebUI answered {result!r}", exitcodes.OPENWEBUI_FAILED)


def _detail(response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors: [{"loc": [...], "msg": ...}, ...]
        detail = "; ".join(f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
                           if isinstance(item, dict) else str(item) for item in detail[:3])
    text = detail if isinstance(detail, str) else (str(detail) if detail else response.reason or "")
    return " ".join(str(text).split())[:200]
