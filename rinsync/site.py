"""The site file (``rinsync.yaml``): which targets ``rinsync sync`` writes and how they are applied.

Loaded with positions (dsl/yamlsource.py), checked by rinsync's own secret checks then by
``schemas/site.v1.schema.json``; every problem is a located finding (FILE:LINE:COL), as for the rules.
Secrets never go in it: key settings hold the NAME of an environment variable. :func:`resolve` gives
each setting's value and where it came from, in the order flag > RINSYNC_* environment > site file >
default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import exitcodes
from .diagnostics import Finding, RinsyncError

SITE_FILE = "rinsync.yaml"
SITE_SCHEMA = "site.v1.schema.json"

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# a value shaped like a key rather than a variable name: 24+ letters and digits, both, and no underscore
TOKEN_LIKE = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9])[A-Za-z0-9]{24,}")
SECRET_IN_TEXT = re.compile(r"\b(?:sk|pk|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b")
URL_KEYS = {("source", "url"), ("targets", "openwebui", "url")}


@dataclass
class Site:
    """A loaded, valid site file."""

    path: Path
    data: dict
    source: Any  # rinsync.dsl.yamlsource.SourceMap

    def get(self, *keys: str) -> tuple[Any, str] | None:
        """The value at ``keys`` and its place (FILE:LINE:COL), or None when the file does not set it."""
        node: Any = self.data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        line, col = self.source.where(tuple(keys))
        return node, f"{self.source.file}:{line}:{col}"

    def declares(self, target: str) -> bool:
        return target in self.data.get("targets", {})

    def path_value(self, value: str) -> str:
        """A path of the site file: relative to the site file's directory (unless absolute)."""
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.path.parent, value))


def find_site(option: Path | None) -> Path | None:
    """``--site FILE``, else ./rinsync.yaml when it exists, else None."""
    if option is not None:
        return option
    local = Path(SITE_FILE)
    return local if local.is_file() else None


def check_site(path: Path) -> tuple[dict | None, Any, list[Finding]]:
    """(data, source map, findings) for the site file at ``path``: syntax, secrets, then the schema."""
    from .dsl.rules import display_path
    from .dsl.schema import schema_findings
    from .dsl.yamlsource import load_yaml, read_text
    from .resources import schema_validator

    display = display_path(path)
    text, problems = read_text(path, display)
    if text is None:
        return None, None, problems
    loaded = load_yaml(text, display)
    findings = list(loaded.findings)
    if loaded.data is None:
        return None, loaded.source, findings
    secrets = _secret_findings(loaded.data, loaded.source)
    findings += secrets
    hidden = {(f.line, f.col) for f in secrets}  # a schema message could quote the secret: never shown
    findings += [f for f in schema_findings(schema_validator(SITE_SCHEMA), loaded.data, loaded.source,
                                            code_prefix="site", document="the site file")
                 if (f.line, f.col) not in hidden]
    targets = loaded.data.get("targets") if isinstance(loaded.data, dict) else None
    if isinstance(targets, dict) and not targets:
        findings.append(loaded.source.finding(("targets",), "site-no-target", "'targets' declares no target",
                                              hint="add litellm: and/or openwebui:"))
    return loaded.data, loaded.source, sorted(findings)


def load_site(path: Path) -> Site:
    """The site file at ``path``; RinsyncError (exit 1, its findings) when it has an error."""
    data, source, findings = check_site(path)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more; rinsync lint --site {source.file if source else path})" \
            if len(errors) > 1 else ""
        raise RinsyncError(errors[0].text() + more + "; nothing written", exitcodes.ERROR, findings)
    return Site(path, data, source)


def _walk(value: Any, path: tuple = ()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _walk(inner, path + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, path + (index,))
    else:
        yield path, value


def _secret_findings(data: Any, source) -> list[Finding]:
    """Values that hold a secret: a key where a variable's name belongs, credentials in a URL, a token in any
    text. The finding names the place, never the value."""
    findings: list[Finding] = []
    if not isinstance(data, dict):
        return findings
    for path, value in _walk(data):
        if not isinstance(value, str):
            continue
        where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
        if path and path[-1] == "key_env":
            if not ENV_NAME.fullmatch(value) or TOKEN_LIKE.fullmatch(value) or SECRET_IN_TEXT.search(value):
                findings.append(source.finding(path, "site-secret",
                                               f"'{where}' must be the NAME of an environment variable, and this "
                                               "value is not one (it may be the key itself; it is not shown)",
                                               hint="put the key in the environment or the .env file and write "
                                                    "its variable's name here, e.g. LITELLM_MASTER_KEY"))
            continue
        if path[:-1] in {("targets", "litellm", "proxies")} or path in URL_KEYS:
            try:
                parts = urlsplit(value)
                credentials = parts.username is not None or parts.password is not None
            except ValueError:
                credentials = False
            if credentials:
                findings.append(source.finding(path, "site-secret",
                                               f"'{where}' holds credentials in the URL (not shown)",
                                               hint="remove user:password@ from the URL; keys go in key_env "
                                                    "variables"))
                continue
        if SECRET_IN_TEXT.search(value):
            findings.append(source.finding(path, "site-secret", f"'{where}' holds what looks like a key (not shown)",
                                           hint="reference keys by environment variable, never literally"))
    return findings


@dataclass
class Setting:
    """One resolved setting of ``rinsync sync``: its value and where it came from."""

    key: str  # its site file path, e.g. targets.litellm.config
    value: Any
    origin: str  # "flag --config", "env RINSYNC_PROXY_URL", "rinsync.yaml:4:11", "default"


@dataclass
class Resolved:
    settings: dict[str, Setting] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.settings[key].value

    def lines(self) -> list[str]:
        """One line per setting (names of key variables only: a site file holds no secret)."""
        width = max((len(k) for k in self.settings), default=0)
        return [f"  setting {s.key.ljust(width)} = {_show(s.value)}  ({s.origin})" for s in self.settings.values()]


def _show(value: Any) -> str:
    if value is None or value == ():
        return "(not set)"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def resolve(site: Site | None, key: str, given: Any, given_from: str | None, default: Any,
            resolved: Resolved, *, is_path: bool = False) -> Any:
    """One setting: ``given`` when a flag or RINSYNC_* variable set it (``given_from`` says which), else the site
    file's value, else ``default``. Recorded in ``resolved`` with its origin."""
    if given_from is not None:
        setting = Setting(key, given, given_from)
    else:
        found = site.get(*key.split(".")) if site is not None else None
        if found is not None:
            value, where = found
            if is_path:
                value = [site.path_value(v) for v in value] if isinstance(value, list) else site.path_value(value)
            setting = Setting(key, value, where)
        else:
            setting = Setting(key, default, "default")
    resolved.settings[key] = setting
    return setting.value
