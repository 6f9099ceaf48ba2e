"""``rinsync verify``: compare what a running LiteLLM proxy serves with a config file.

Three kinds of difference:

* ``missing`` -- a ``model_name`` of the config that the proxy does not serve (``GET /v1/models``);
  typically the proxy was not restarted after a sync, or it rejected the entry.
* ``extra`` -- a model the proxy serves that the config does not have (stale after a sync).
* ``drift`` -- for rinsync's generated entries only: a compiled ``model_info`` value (``mode``,
  ``supports_*``, token limits, costs, rinsync's marker and source id) or ``litellm_params.model``
  that the proxy's ``GET /model/info`` reports differently. Numbers agree within
  :data:`REL_TOL` (relative); booleans are never equal to numbers.

Nothing here prints. :func:`verify` returns a :class:`VerifyResult`; unusable configs and
unreachable or failing proxies raise :class:`RinsyncError` (exit 1, or 75 when the proxy cannot
be reached or answers 502/503/504). The key is sent as ``Authorization: Bearer`` and never put
into a message: error bodies quoted from the proxy are redacted.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import exitcodes
from ..diagnostics import RinsyncError

REL_TOL = 1e-6
DEFAULT_TIMEOUT = 10.0
POLL_INTERVAL = 0.5  # seconds between two checks while waiting for agreement
TEMPORARY_STATUSES = frozenset({502, 503, 504})
_EXACT_KEYS = frozenset({"mode", "max_input_tokens", "max_output_tokens", "max_tokens", "generated_by",
                         "openrouter_id"})
_SECRETISH = re.compile(r"\b(sk-|Bearer\s+)[A-Za-z0-9._\-]{3,}")


def compared_key(key: str) -> bool:
    """model_info keys verify compares for generated entries (what rinsync compiles)."""
    return key in _EXACT_KEYS or key.startswith("supports_") or "cost" in key


@dataclass(frozen=True)
class Difference:
    kind: str  # "missing" | "extra" | "drift"
    model: str
    key: str | None = None
    config_value: Any = None
    proxy_value: Any = None

    def line(self) -> str:
        if self.kind == "missing":
            return f"missing: {self.model} (in config, not served by the proxy)"
        if self.kind == "extra":
            return f"extra: {self.model} (served by the proxy, not in config)"
        if self.key is None:
            return f"drift: {self.model} (served, but not in the proxy's model info)"
        return f"drift: {self.model} {self.key}: config {_show(self.config_value)}, proxy {_show(self.proxy_value)}"


@dataclass
class VerifyResult:
    config: str
    proxy: str
    config_names: list[str] = field(default_factory=list)
    served_names: list[str] = field(default_factory=list)
    generated_checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    waited: float = 0.0  # seconds from the first check to this one (verify with wait > 0)

    @property
    def ok(self) -> bool:
        return not self.differences

    def count(self, kind: str) -> int:
        return sum(1 for d in self.differences if d.kind == kind)

    def lines(self) -> list[str]:
        return [d.line() for d in self.differences]

    def summary(self) -> str:
        if self.ok:
            return (f"OK: the proxy at {self.proxy} serves exactly the {len(self.config_names)} models of "
                    f"{self.config}; model info of the {self.generated_checked} generated models agrees")
        drifted = {d.model for d in self.differences if d.kind == "drift"}
        return (f"the proxy at {self.proxy} disagrees with {self.config}: {self.count('missing')} missing, "
                f"{self.count('extra')} extra, {self.count('drift')} drifted value(s) in {len(drifted)} "
                f"generated model(s) ({len(self.config_names)} models in config, {len(self.served_names)} served)")

    def hint(self) -> str | None:
        if self.count("missing") or self.count("extra"):
            return ("LiteLLM reads its config only at start: restart the proxy after a sync "
                    "(e.g. docker-compose restart litellm), then run verify again")
        if self.differences:
            return "the proxy runs an older version of these entries: restart it so it re-reads the config"
        return None


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def same_value(config_value: Any, proxy_value: Any) -> bool:
    """Equality for model_info values: bools strictly, numbers within REL_TOL, the rest ==."""
    if isinstance(config_value, bool) or isinstance(proxy_value, bool):
        return isinstance(config_value, bool) and isinstance(proxy_value, bool) and config_value == proxy_value
    if isinstance(config_value, int | float) and isinstance(proxy_value, int | float):
        return math.isclose(config_value, proxy_value, rel_tol=REL_TOL)
    return config_value == proxy_value


# --------------------------------------------------------------------------
# the config side
# --------------------------------------------------------------------------


def load_model_list(path: Path) -> list[dict]:
    """``model_list`` of a LiteLLM config, with the model lists of its ``include:`` files appended."""
    data = _load_yaml(path)
    entries = _model_list(data, path)
    includes = data.get("include") or []
    if not isinstance(includes, list):
        includes = [includes]
    for inc in includes:
        inc_path = path.parent / str(inc)
        entries.extend(_model_list(_load_yaml(inc_path), inc_path))
    return entries


def _load_yaml(path: Path) -> dict:
    import yaml

    from ..limits import MAX_YAML_BYTES, read_regular
    from ..yamlguard import YamlLimitError, safe_load

    try:
        raw = read_regular(path, MAX_YAML_BYTES)  # bytes: YAML decodes them, and bad UTF-8 is a YAMLError
    except OSError as exc:
        raise RinsyncError(f"cannot read config {path}: {exc.strerror or exc}", exitcodes.ERROR) from None
    try:
        data = safe_load(raw)
    except YamlLimitError as exc:
        raise RinsyncError(f"config {path}: refused: {exc}", exitcodes.ERROR) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise RinsyncError(f"config {path}{where} is not valid YAML", exitcodes.ERROR) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RinsyncError(f"config {path} is not a mapping with a model_list", exitcodes.ERROR)
    return data


def _model_list(data: dict, path: Path) -> list[dict]:
    entries = data.get("model_list") or []
    if not isinstance(entries, list):
        raise RinsyncError(f"config {path}: model_list is not a list", exitcodes.ERROR)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("model_name"), str):
            raise RinsyncError(f"config {path}: model_list[{i}] has no model_name", exitcodes.ERROR)
    return list(entries)


# --------------------------------------------------------------------------
# the proxy side
# --------------------------------------------------------------------------


def base_url(url: str) -> str:
    """``http://host:4000``, also when given with a trailing ``/`` or ``/v1``."""
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


class Redact:
    """Removes the key (and anything shaped like a key or bearer token) from text."""

    def __init__(self, key: str | None):
        self.key = key

    def __call__(self, text: str) -> str:
        if self.key:
            text = text.replace(self.key, "***")
        return _SECRETISH.sub(lambda m: m.group(1) + "***", text)


def _get(session, url: str, path: str, timeout: float, redact: Redact, watchdog=None):
    """GET base+path; returns the response (any status). Unreachable or past the total deadline -> 75."""
    import requests

    expired = RinsyncError(f"the proxy at {url} did not complete GET {path} within "
                           f"{getattr(watchdog, 'seconds', 0):g}s in total (retry later)", exitcodes.TEMPFAIL)
    try:
        response = session.get(url + path, timeout=timeout)
    except requests.RequestException as exc:
        if watchdog is not None and watchdog.expired:  # a proxy trickling its answer: the total deadline ended it
            raise expired from None
        if isinstance(exc, requests.Timeout):
            raise RinsyncError(f"the proxy at {url} did not answer GET {path} within {timeout:g}s "
                               "(retry later)", exitcodes.TEMPFAIL) from None
        if isinstance(exc, requests.ConnectionError):
            reason = "connection refused" if "refused" in str(exc).lower() else _short(redact(str(exc)))
            raise RinsyncError(f"cannot reach the LiteLLM proxy at {url}: {reason} (is it running? "
                               "retry when it is up)", exitcodes.TEMPFAIL) from None
        raise RinsyncError(f"cannot query the proxy at {url}: {_short(redact(str(exc)))}",
                           exitcodes.ERROR) from None
    if watchdog is not None and watchdog.expired:  # cut off: what arrived is not the whole answer
        raise expired
    return response


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _http_error(resp, url: str, path: str, redact: Redact, key_env: str, have_key: bool) -> RinsyncError:
    status = resp.status_code
    detail = ""
    try:
        body = resp.json()
    except ValueError:
        detail = resp.text or ""
    else:
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") or error.get("detail") if isinstance(error, dict) else error
        detail = str(message) if message else ""
    detail = _short(redact(detail))
    text = f"the proxy at {url} answered HTTP {status} to GET {path}" + (f": {detail}" if detail else "")
    if status in TEMPORARY_STATUSES:
        return RinsyncError(text + " (starting or overloaded? retry later)", exitcodes.TEMPFAIL)
    if status in (400, 401, 403, 500):
        key_hint = (f"check that ${key_env} holds the proxy's master key" if have_key
                    else f"${key_env} is not set: the proxy probably needs its master key")
        text += (f" ({key_hint}; LiteLLM without a database answers 400 or 500, not 401, "
                 "to a missing or wrong key)")
    return RinsyncError(text, exitcodes.ERROR)


def fetch_proxy(url: str, key: str | None, key_env: str = "LITELLM_MASTER_KEY",
                timeout: float = DEFAULT_TIMEOUT) -> tuple[list[str], list[dict]]:
    """``(served model names, model info deployments)`` of the proxy at ``url``."""
    from ..deadline import Watchdog, watched_session

    redact = Redact(key)
    have_key = bool(key)
    url = base_url(url)
    # at most three requests: together they end within three times the per-answer timeout
    with Watchdog(3 * timeout) as watchdog, watched_session(watchdog) as session:
        session.headers["Accept"] = "application/json"
        if key:
            session.headers["Authorization"] = f"Bearer {key}"
        resp = _get(session, url, "/v1/models", timeout, redact, watchdog)
        if resp.status_code != 200:
            raise _http_error(resp, url, "/v1/models", redact, key_env, have_key)
        models = _json_list(resp, url, "/v1/models")
        served = []
        for item in models:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise RinsyncError(f"the proxy at {url}: GET /v1/models has an entry without an id",
                                   exitcodes.ERROR)
            served.append(item["id"])
        info_path = "/model/info"
        resp = _get(session, url, info_path, timeout, redact, watchdog)
        if resp.status_code == 404:
            info_path = "/v1/model/info"
            resp = _get(session, url, info_path, timeout, redact, watchdog)
        if resp.status_code != 200:
            raise _http_error(resp, url, info_path, redact, key_env, have_key)
        info = [d for d in _json_list(resp, url, info_path) if isinstance(d, dict)]
    return served, info


def _json_list(resp, url: str, path: str) -> list:
    try:
        body = resp.json()
    except ValueError:
        body = None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise RinsyncError(f"the proxy at {url}: GET {path} did not return {{\"data\": [...]}} "
                           "(is this a LiteLLM proxy?)", exitcodes.ERROR)
    return data


# --------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------


def _part(item: dict, key: str) -> dict:
    """``item[key]`` when it is a mapping, else ``{}`` (hand-edited configs, odd proxy answers)."""
    value = item.get(key)
    return value if isinstance(value, dict) else {}


def _pick_deployment(entry: dict, deployments: list[dict]) -> dict | None:
    if not deployments:
        return None
    source_id = entry["model_info"].get("openrouter_id")
    model = _part(entry, "litellm_params").get("model")
    for d in deployments:
        if _part(d, "model_info").get("openrouter_id") == source_id and source_id is not None:
            return d
    for d in deployments:
        if _part(d, "litellm_params").get("model") == model and model is not None:
            return d
    return deployments[0]


def compare(config_entries: list[dict], served: list[str], info: list[dict]) -> tuple[list[Difference], int]:
    """Differences between config entries and what the proxy serves; also how many generated
    entries had their model info compared."""
    from .entries import is_generated

    config_names = list(dict.fromkeys(e["model_name"] for e in config_entries))
    config_set, served_set = set(config_names), set(served)
    diffs = [Difference("missing", n) for n in config_names if n not in served_set]
    diffs += [Difference("extra", n) for n in dict.fromkeys(served) if n not in config_set]

    by_name: dict[str, list[dict]] = {}
    for d in info:
        by_name.setdefault(str(d.get("model_name")), []).append(d)
    checked = 0
    for entry in config_entries:
        name = entry["model_name"]
        if not is_generated(entry) or name not in served_set:
            continue
        checked += 1
        deployment = _pick_deployment(entry, by_name.get(name, []))
        if deployment is None:
            diffs.append(Difference("drift", name))
            continue
        proxy_info = _part(deployment, "model_info")
        for key, value in entry["model_info"].items():
            if compared_key(key) and not same_value(value, proxy_info.get(key)):
                diffs.append(Difference("drift", name, key, value, proxy_info.get(key)))
        cfg_model = _part(entry, "litellm_params").get("model")
        proxy_model = _part(deployment, "litellm_params").get("model")
        if cfg_model is not None and cfg_model != proxy_model:
            diffs.append(Difference("drift", name, "litellm_params.model", cfg_model, proxy_model))
    return diffs, checked


def verify(config: Path, proxy_url: str, key: str | None, key_env: str = "LITELLM_MASTER_KEY",
           timeout: float = DEFAULT_TIMEOUT, shown_config: str | None = None, wait: float = 0.0,
           poll: float = POLL_INTERVAL) -> VerifyResult:
    """Read ``config``, ask the proxy, compare.

    With ``wait`` > 0, ask again every ``poll`` seconds until the proxy agrees or ``wait`` seconds have
    passed; the last answer counts. Meanwhile an unreachable proxy (exit 75 errors) is just "not yet";
    any other error (a wrong key, not a LiteLLM proxy) is raised at once.
    """
    entries = load_model_list(Path(config))
    names = list(dict.fromkeys(e["model_name"] for e in entries))
    start = time.monotonic()
    deadline = start + wait
    while True:
        left = deadline - time.monotonic()
        try:
            served, info = fetch_proxy(proxy_url, key, key_env, timeout if wait <= 0 else max(min(timeout, left), 1.0))
        except RinsyncError as exc:
            if exc.exit_code != exitcodes.TEMPFAIL or time.monotonic() >= deadline:
                raise
        else:
            diffs, checked = compare(entries, served, info)
            if not diffs or time.monotonic() >= deadline:
                return VerifyResult(config=shown_config or str(config), proxy=base_url(proxy_url), config_names=names,
                                    served_names=served, generated_checked=checked, differences=diffs,
                                    waited=time.monotonic() - start)
        time.sleep(max(min(poll, deadline - time.monotonic()), 0.0))
