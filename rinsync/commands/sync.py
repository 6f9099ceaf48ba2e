"""``rinsync sync``: compile's parameters resolved against the site file (flag > RINSYNC_* > site > default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import exitcodes
from ..diagnostics import Finding, RinsyncError
from ..site import Resolved, Site, resolve

# (compile's parameter, the site file's key, a path of the site file)
LITELLM = [("config", "targets.litellm.config", True), ("include_file", "targets.litellm.include_file", False),
           ("backups", "targets.litellm.backups", False),
           ("max_remove_fraction", "targets.litellm.max_remove_fraction", False),
           ("validate_cmd", "targets.litellm.validate", False), ("proxy_url", "targets.litellm.proxies", False),
           ("reload_cmd", "targets.litellm.reload", False),
           ("reload_timeout", "targets.litellm.reload_timeout", False), ("key_env", "targets.litellm.key_env", False)]
OPENWEBUI = [("openwebui_url", "targets.openwebui.url", False),
             ("openwebui_key_env", "targets.openwebui.key_env", False),
             ("openwebui_state", "targets.openwebui.state", True)]
SOURCE = [("rules", "rules", True), ("source_url", "source.url", False), ("env_file", "source.env_file", True)]



def sync_params(site: Site, params: dict[str, Any], given_from: dict[str, str | None]
                ) -> tuple[dict[str, Any], dict[str, Any], Resolved, list[str]]:
    """compile's parameters with the site file applied: (params, extra, resolved settings, warnings). A parameter
    no flag or variable gave holds its default.
    ``extra``: litellm (whether the LiteLLM target runs), openwebui_state, openwebui_fraction."""
    out = dict(params)
    resolved = Resolved()
    warnings: list[str] = []
    litellm = site.declares("litellm")
    for name, key, is_path in SOURCE + (LITELLM if litellm else []):
        value = resolve(site, key, params[name], given_from[name], params[name], resolved, is_path=is_path)
        if name == "proxy_url" and isinstance(value, list):
            value = tuple(value)  # a fleet: every replica confirmed on its own address (litellm/fleet.py)
        if name == "rules":
            value = tuple(Path(v) for v in value or ())
        elif is_path and value is not None:
            value = Path(value)
        out[name] = value
    if given_from["openwebui_url"] is not None or site.declares("openwebui"):
        for name, key, is_path in OPENWEBUI:
            value = resolve(site, key, params.get(name), given_from.get(name), params.get(name), resolved,
                            is_path=is_path)
            out[name] = Path(value) if is_path and value is not None else value
        fraction = resolve(site, "targets.openwebui.max_remove_fraction", params["max_remove_fraction"],
                           given_from["max_remove_fraction"], out["max_remove_fraction"], resolved)
    else:
        out["openwebui_url"], fraction = None, None
    _check_paths(site, out, resolved)
    _check_reload(site, out, resolved)
    extra = {"litellm": litellm, "openwebui_state": out.pop("openwebui_state", None),
             "openwebui_fraction": fraction}
    if not litellm and not out["openwebui_url"]:
        raise RinsyncError(f"{site.source.file} declares no target to sync (targets.litellm or targets.openwebui)",
                           exitcodes.ERROR)
    return out, extra, resolved, warnings


def _check_paths(site: Site, params: dict[str, Any], resolved: Resolved) -> None:
    """Paths the site file names that must exist (rules, env_file): a located error, like the rules'."""
    checks = [("rules", ("rules", i), p) for i, p in enumerate(params["rules"])]
    checks.append(("source.env_file", ("source", "env_file"), params["env_file"]))
    for key, place, path in checks:
        if path is None or resolved.settings[key].origin.startswith(("flag", "env", "default")) or path.exists():
            continue
        line, col = site.source.where(place)
        shown = key + (f"[{place[1]}]" if key == "rules" else "")
        finding = Finding(site.source.file, line, col, "site-missing-path", f"'{shown}' names {path}, which does "
                          "not exist (paths are relative to the site file's directory)")
        raise RinsyncError(finding.text() + "; nothing written", exitcodes.ERROR, [finding])


def _check_reload(site: Site, params: dict[str, Any], resolved: Resolved) -> None:
    """A reload command from the site file needs a proxy to confirm it (a located error, before anything)."""
    setting = resolved.settings.get("targets.litellm.reload")
    if setting is None or not (params["reload_cmd"] or "").strip() or params["proxy_url"]:
        return
    if setting.origin.startswith(("flag", "env", "default")):
        return  # compile's own usage error says which flag is missing
    line, col = site.source.where(("targets", "litellm", "reload"))
    finding = Finding(site.source.file, line, col, "site-reload-without-proxy", "'targets.litellm.reload' needs "
                      "'targets.litellm.proxies': the proxy that must confirm the reloaded config",
                      hint="add proxies: [http://localhost:4000] (or RINSYNC_PROXY_URL)")
    raise RinsyncError(finding.text() + "; nothing written", exitcodes.ERROR, [finding])
