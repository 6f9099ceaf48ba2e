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
        """One line: names from the proxy are its data, shown escaped (they can never split or forge a line)."""
        from ..untrusted import one_line

        model = one_line(self.model)
        if self.kind == "missing":
            return f"missing: {model} (in config, not served by the proxy)"
        if self.kind == "extra":
            return f"extra: {model} (served by the proxy, not in config)"
        if self.key is None:
            return f"drift: {model} (served, but not in the proxy's model info)"
        return (f"drift: {model} {one_line(self.key)}: config {_show(self.config_value)}, "
                f"proxy {_show(self.proxy_value)}")


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
        try:
            return math.isclose(config_value, proxy_value, rel_tol=REL_TOL)
        except OverflowError:  # an integer beyond float range (a hand-written config): equal only when equal
            return config_value == proxy_value
    return config_value == proxy_value


# --------------------------------------------------------------------------
# the config side
# --------------------------------------------------------------------------


def load_model_list(path: Path) -> list[dict]:
    """``model_list`` of a LiteLLM config, with the model lists of its ``include:`` files appended (read by
    :func:`rinsync.litellm.configfile.read_config`, the one reader of the config; includes resolved like LiteLLM)."""
    from .include import BAD_INCLUDE, include_entries, resolve_entry

    path = Path(path)
    document, entries = _read(path)
    includes = include_entries(document)
    if includes is None:
        raise RinsyncError(f"config {path}: {BAD_INCLUDE}", exitcodes.ERROR)
    for inc in includes:
        inc_path = resolve_entry(inc, path, path)
        if not inc_path.is_file():
            raise RinsyncError(f"config {path} includes {inc}, but {inc_path} does not exist", exitcodes.ERROR)
        entries.extend(_read(inc_path)[1])
    return entries


def _read(path: Path) -> tuple[dict, list[dict]]:
    from .configfile import read_config

    try:
        existing = read_config(path)
    except RinsyncError as exc:  # the reader speaks for sync ("nothing written"); verify writes nothing anyway
        raise RinsyncError(f"config {exc.message.removesuffix('; nothing written')}", exitcodes.ERROR) from None
    if existing.raw is None:
        raise RinsyncError(f"config {path} not found", exitcodes.ERROR)
    for i, entry in enumerate(existing.model_list):
        if not isinstance(entry, dict) or not isinstance(entry.get("model_name"), str):
            raise RinsyncError(f"config {path}: model_list[{i}] has no model_name", exitcodes.ERROR)
    return existing.document, list(existing.model_list)


# --------------------------------------------------------------------------
# the proxy side
# --------------------------------------------------------------------------


def base_url(url: str) -> str:
    """``http://host:4000``, also when given with a trailing ``/`` or ``/v1``; never credentials or a query."""
    from ..redact import display_url

    url = display_url(url).rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


class Redact:
    """Removes the key (in every form) and anything shaped like a key or bearer token from text."""

    def __init__(self, key: str | None):
        from ..redact import Redactor

        self.redactor = Redactor([key])

    def __call__(self, text: str) -> str:
        return self.redactor.quoted(text)


def _get(client, url: str, path: str, key_env: str):
    """GET base+path; returns the answer (any status). Unreachable or past a deadline -> 75."""
    from ..httpclient import HttpError

    try:
        return client.get(url + path)
    except HttpError as exc:
        if exc.kind in ("deadline", "timeout"):  # silent, or trickling: the exchange's deadline ended it
            raise RinsyncError(f"the proxy at {url} did not complete GET {path} within {client.last_bound} "
                               "(retry later)", exitcodes.TEMPFAIL) from None
        if exc.kind in ("refused", "network"):
            raise RinsyncError(f"cannot reach the LiteLLM proxy at {url}: {exc.reason} (is it running? "
                               "retry when it is up)", exitcodes.TEMPFAIL) from None
        if exc.kind == "too-large":
            raise RinsyncError(f"the proxy at {url}: GET {path}: {exc.reason}; not a LiteLLM answer rinsync will "
                               "use", exitcodes.ERROR) from None
        if exc.exit_code == exitcodes.USAGE:
            raise RinsyncError(f"--proxy {url}: {exc.reason}", exitcodes.USAGE) from None
        raise RinsyncError(f"cannot query the proxy at {url}: {exc.reason}", exitcodes.ERROR) from None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _http_error(resp, url: str, path: str, redact: Redact, key_env: str, have_key: bool) -> RinsyncError:
    from ..httpclient import HttpError

    status = resp.status
    detail = ""
    try:
        body = resp.json()
    except HttpError:
        detail = resp.body.decode("utf-8", "replace")
    else:
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") or error.get("detail") if isinstance(error, dict) else error
        detail = str(message) if message and isinstance(message, str | int | float | list) else ""
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
                timeout: float = DEFAULT_TIMEOUT, total: float | None = None) -> tuple[list[str], list[dict]]:
    """``(served model names, model info deployments)`` of the proxy at ``url``.

    Each answer ends within ``timeout`` seconds, all of them within ``total`` (default: three times
    ``timeout``), however slowly the proxy sends its bytes. Bodies are capped and parsed with bounds; a
    hostile or huge answer is a one-line :class:`RinsyncError` (exit 1), never a traceback.
    """
    from ..httpclient import HttpClient, Secret, credentials_problem

    shown = base_url(url)
    problem = credentials_problem(url)
    if problem:
        raise RinsyncError(f"--proxy {shown}: the URL {problem}; rinsync authenticates with ${key_env} (remove them "
                           "from the URL)", exitcodes.USAGE)
    redact = Redact(key)
    have_key = bool(key)
    bound = 3 * timeout if total is None else max(min(total, 3 * timeout), 0.0)
    client = HttpClient(redact.redactor, total=bound, exchange=timeout, connect=min(5.0, timeout), read=timeout,
                        secret=Secret(key, key_env) if key else None)
    resp = _get(client, shown, "/v1/models", key_env)
    if resp.status != 200:
        raise _http_error(resp, shown, "/v1/models", redact, key_env, have_key)
    models = _json_list(resp, shown, "/v1/models")
    served = []
    for item in models:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise RinsyncError(f"the proxy at {shown}: GET /v1/models has an entry without an id", exitcodes.ERROR)
        served.append(item["id"])
    info_path = "/model/info"
    resp = _get(client, shown, info_path, key_env)
    if resp.status == 404:
        info_path = "/v1/model/info"
        resp = _get(client, shown, info_path, key_env)
    if resp.status != 200:
        raise _http_error(resp, shown, info_path, redact, key_env, have_key)
    info = [d for d in _json_list(resp, shown, info_path) if isinstance(d, dict)]
    return served, info


def _json_list(resp, url: str, path: str) -> list:
    from ..httpclient import HttpError

    try:
        body = resp.json(f"GET {path}")
    except HttpError as exc:
        if exc.kind == "json":  # hostile: too deep, too many values, a number no float can hold
            raise RinsyncError(f"the proxy at {url}: {exc.reason}; nothing of it was used", exitcodes.ERROR) from None
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

    With ``wait`` > 0, ask again every ``poll`` seconds until the proxy agrees or ``wait`` seconds (at least
    one) have passed; the last answer counts. The wait is a total deadline: every request inside it gets at
    most what is left of it, so a proxy trickling its answers cannot stretch it. Meanwhile an unreachable
    proxy (exit 75 errors) is just "not yet"; any other error (a wrong key, a hostile answer, not a LiteLLM
    proxy) is raised at once.
    """
    entries = load_model_list(Path(config))
    names = list(dict.fromkeys(e["model_name"] for e in entries))
    start = time.monotonic()
    end = start + max(wait, 1.0) if wait > 0 else None
    last: VerifyResult | None = None
    while True:
        left = None if end is None else end - time.monotonic()
        try:
            served, info = fetch_proxy(proxy_url, key, key_env, timeout, total=left)
        except RinsyncError as exc:
            if exc.exit_code != exitcodes.TEMPFAIL or end is None:
                raise
            failure: RinsyncError | None = exc
        else:
            failure = None
            diffs, checked = compare(entries, served, info)
            last = VerifyResult(config=shown_config or str(config), proxy=base_url(proxy_url), config_names=names,
                                served_names=served, generated_checked=checked, differences=diffs,
                                waited=time.monotonic() - start)
            if not diffs or end is None:
                return last
        left = end - time.monotonic()
        if left <= 0.1:  # no time left for another question: the last answer counts, at the end of the wait
            time.sleep(max(left, 0.0))
            if last is None:
                raise failure or RinsyncError("the proxy gave no answer", exitcodes.TEMPFAIL)
            return last
        time.sleep(min(poll, left - 0.1))
