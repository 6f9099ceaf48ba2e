"""Load rules files: read, validate, check expressions and templates, merge into one Ruleset."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Finding, RulesError
from ..untrusted import finite, shown_number
from .expr import check as check_expression
from .schema import validate_rules
from .template import Template, TemplateError
from .yamlsource import SourceMap, load_yaml, read_text

SUPPORTED_VERSION = 1
DEFAULT_NAME = "openrouter/{id|replace('/', '-')|replace(':', '-')}"
RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Origin:
    """Where something was written: file, line, column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Rule:
    id: str
    action: str  # "include" | "exclude"
    expression: str
    excepts: list[str]
    description: str
    origin: Origin
    except_origins: list[Origin] = field(default_factory=list)


@dataclass
class Override:
    id: str
    when: str
    name: Template | None
    litellm_params: dict
    model_info: dict
    description: str
    origin: Origin


@dataclass
class OrderKey:
    expression: str
    descending: bool
    origin: Origin


@dataclass
class Selection:
    """A set-level stage: per group of kept models, keep the first ``limit`` and/or while ``keep_while``."""

    id: str
    description: str
    origin: Origin
    where: str | None = None
    where_origin: Origin | None = None
    group_by: str | None = None
    group_origin: Origin | None = None
    order: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    keep_while: str | None = None
    keep_origin: Origin | None = None


@dataclass
class Capability:
    key: str
    expression: str
    origin: Origin


@dataclass
class Ruleset:
    files: list[str] = field(default_factory=list)
    source: dict = field(default_factory=dict)
    default_action: str = "include"
    rules: list[Rule] = field(default_factory=list)
    name: Template = field(default_factory=lambda: Template(DEFAULT_NAME))
    name_origin: Origin | None = None
    defaults: dict = field(default_factory=lambda: {"litellm_params": {}, "model_info": {}})
    capabilities: dict[str, Capability] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    collisions: str = "error"
    warnings: list[Finding] = field(default_factory=list)
    # the ``openwebui:`` section: dotted key (name, description, tags, active, capabilities.X, params.X) ->
    # expression; read by rinsync/openwebui/, never by the engine
    openwebui: dict[str, Capability] = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # the ``report:`` section (rinsync/report/): thresholds only
    # ``openwebui: order:``: sort keys of Open WebUI's model order list (a later file's list replaces it)
    openwebui_order: list[OrderKey] = field(default_factory=list)


def display_path(path: Path) -> str:
    """A path as users typed it: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def expand_paths(paths: list[Path]) -> list[Path]:
    """Rules files named, or found directly in named directories, in name order per directory."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file()))
        else:
            files.append(path)
    return files


def merge_patch(base: dict, patch: dict) -> dict:
    """RFC 7386 merge: patch keys win, nested mappings merge, ``null`` removes a key."""
    result = dict(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result[key] if isinstance(result.get(key), dict) else {}, value)
        elif isinstance(value, list):
            result[key] = copy.deepcopy(value)
        else:
            result[key] = value
    return result


class _FileChecker:
    """Checks one validated rules document and adds it to the Ruleset being built."""

    def __init__(self, ruleset: Ruleset, source: SourceMap, rule_ids: dict[str, Origin]):
        self.ruleset = ruleset
        self.source = source
        self.rule_ids = rule_ids
        self.findings: list[Finding] = []

    def origin(self, path: tuple) -> Origin:
        line, col = self.source.where(path)
        return Origin(self.source.file, line, col)

    def expression(self, path: tuple, text: str) -> bool:
        problem = check_expression(text)
        if problem is None:
            return True
        line, col = self.source.scalar_position(path, problem.offset)
        self.findings.append(Finding(self.source.file, line, col, problem.code, problem.message,
                                     hint=problem.hint))
        return False

    def template(self, path: tuple, text: str) -> Template | None:
        try:
            return Template(text)
        except TemplateError as exc:
            line, col = self.source.scalar_position(path, exc.offset)
            self.findings.append(Finding(self.source.file, line, col, exc.code, exc.message, hint=exc.hint))
            return None

    def literal_secrets(self, path: tuple, params: dict) -> None:
        """Warn about API keys written into rules: they belong in the environment."""
        for key, value in params.items():
            if ("key" in key.lower() or "token" in key.lower() or "secret" in key.lower()) and \
                    isinstance(value, str) and value and not value.startswith("os.environ/"):
                line, col = self.source.where(path + (key,))
                self.findings.append(Finding(self.source.file, line, col, "literal-secret",
                                             f"'{key}' holds a literal value; it would be copied into every "
                                             "generated entry and every backup", "warning",
                                             "write os.environ/NAME and set NAME in the proxy's environment"))

    def non_finite(self, path: tuple, value) -> None:
        """``.nan`` and ``.inf`` would reach every generated entry (and nan != nan looks like a hand edit)."""
        if type(value) in (int, float) and not finite(value):  # also an integer no float can hold
            line, col = self.source.where(path)
            self.findings.append(Finding(self.source.file, line, col, "non-finite-number",
                                         f"{'.'.join(map(str, path))}: {shown_number(value)} is not a finite number",
                                         hint="write a number, or null"))
        elif isinstance(value, dict):
            for key, item in value.items():
                self.non_finite(path + (key,), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.non_finite(path + (index,), item)

    def add(self, data: dict) -> None:
        self.non_finite((), data)
        rs = self.ruleset
        if "source" in data:
            rs.source = merge_patch(rs.source, data["source"])
        if "report" in data:
            rs.report = merge_patch(rs.report, data["report"] or {})
        rs.default_action = data.get("default_action", rs.default_action)
        rs.collisions = data.get("collisions", rs.collisions)
        if "name" in data:
            template = self.template(("name",), data["name"])
            if template:
                rs.name, rs.name_origin = template, self.origin(("name",))
        for part in ("litellm_params", "model_info"):
            patch = (data.get("defaults") or {}).get(part)
            if patch:
                rs.defaults[part] = merge_patch(rs.defaults[part], patch)
        self.literal_secrets(("defaults", "litellm_params"), (data.get("defaults") or {}).get("litellm_params") or {})
        for key, text in (data.get("capabilities") or {}).items():
            path = ("capabilities", key)
            if self.expression(path, text):
                rs.capabilities[key] = Capability(key, text, self.origin(path))
        self._openwebui(data.get("openwebui") or {})
        for index, raw in enumerate(data.get("rules") or []):
            self._rule(index, raw)
        for index, raw in enumerate(data.get("overrides") or []):
            self._override(index, raw)
        for index, raw in enumerate(data.get("selections") or []):
            self._selection(index, raw)

    def _openwebui(self, section: dict) -> None:
        """``openwebui:`` keys override earlier files' one by one; a null value removes the key."""
        if "order" in section:
            self._openwebui_order(section["order"])
        keys = [((key,), key) for key in section if key not in ("capabilities", "params", "order")]
        keys += [((part, key), f"{part}.{key}")
                 for part in ("capabilities", "params") for key in section.get(part) or {}]
        for path, dotted in keys:
            text = section[path[0]] if len(path) == 1 else section[path[0]][path[1]]
            full = ("openwebui",) + path
            if text is None:
                self.ruleset.openwebui.pop(dotted, None)
            elif self.expression(full, text):
                self.ruleset.openwebui[dotted] = Capability(dotted, text, self.origin(full))

    def _openwebui_order(self, order) -> None:
        """``openwebui: order:``: an order key or a list of them; null removes an earlier file's order."""
        keys = self._order_keys(("openwebui", "order"), order)
        if keys is not None:
            self.ruleset.openwebui_order = keys

    def _order_keys(self, path: tuple, order) -> list[OrderKey] | None:
        """Order keys (an expression, {asc: E}, {desc: E}, or a list of these); None when one is broken."""
        items = [] if order is None else [(path + (i,), item) for i, item in enumerate(order)] \
            if isinstance(order, list) else [(path, order)]
        keys, ok = [], True
        for item_path, item in items:
            descending = isinstance(item, dict) and "desc" in item
            if isinstance(item, dict):
                item_path = item_path + ("desc" if descending else "asc",)
                item = item["desc" if descending else "asc"]
            ok = self.expression(item_path, item) and ok
            keys.append(OrderKey(item, descending, self.origin(item_path)))
        return keys if ok else None

    def _unique_id(self, path: tuple, rule_id: str) -> None:
        here = self.origin(path)
        first = self.rule_ids.get(rule_id)
        if first:
            self.findings.append(Finding(here.file, here.line, here.col, "duplicate-rule-id",
                                         f"rule id '{rule_id}' is already used at {first}",
                                         hint="give every rule, override and selection its own id"))
        else:
            self.rule_ids[rule_id] = here

    def _rule(self, index: int, raw: dict) -> None:
        path = ("rules", index)
        self._unique_id(path + ("id",), raw["id"])
        action = "include" if "include" in raw else "exclude"
        ok = self.expression(path + (action,), raw[action])
        excepts = raw.get("except", [])
        excepts = [excepts] if isinstance(excepts, str) else list(excepts)
        except_paths = [path + ("except",)] if isinstance(raw.get("except"), str) else [
            path + ("except", i) for i in range(len(excepts))]
        for except_path, text in zip(except_paths, excepts):
            ok = self.expression(except_path, text) and ok
        if ok:
            self.ruleset.rules.append(Rule(raw["id"], action, raw[action], excepts, raw.get("description", ""),
                                           self.origin(path + (action,)),
                                           [self.origin(p) for p in except_paths]))

    def _override(self, index: int, raw: dict) -> None:
        path = ("overrides", index)
        self.literal_secrets(path + ("litellm_params",), raw.get("litellm_params") or {})
        override_id = raw.get("id") or f"override-{len(self.ruleset.overrides) + 1}"
        if "id" in raw:
            self._unique_id(path + ("id",), raw["id"])
        ok = self.expression(path + ("when",), raw["when"])
        template = None
        if "name" in raw:
            template = self.template(path + ("name",), raw["name"])
            ok = ok and template is not None
        if ok:
            self.ruleset.overrides.append(Override(
                override_id, raw["when"], template, raw.get("litellm_params") or {},
                raw.get("model_info") or {}, raw.get("description", ""), self.origin(path + ("when",))))


    def _selection(self, index: int, raw: dict) -> None:
        path = ("selections", index)
        self._unique_id(path + ("id",), raw["id"])
        selection = Selection(raw["id"], raw.get("description", ""), self.origin(path + ("id",)),
                              limit=raw.get("limit"))
        ok = True
        for key in ("where", "group_by", "keep_while"):
            if key in raw:
                ok = self.expression(path + (key,), raw[key]) and ok
        if "where" in raw:
            selection.where, selection.where_origin = raw["where"], self.origin(path + ("where",))
        if "group_by" in raw:
            selection.group_by, selection.group_origin = raw["group_by"], self.origin(path + ("group_by",))
        if "keep_while" in raw:
            selection.keep_while, selection.keep_origin = raw["keep_while"], self.origin(path + ("keep_while",))
        keys = self._order_keys(path + ("order_by",), raw.get("order_by"))
        ok = keys is not None and ok
        selection.order += keys or []
        if ok:
            self.ruleset.selections.append(selection)


def check_rules(paths: list[Path]) -> tuple[Ruleset, list[Finding]]:
    """Load every rules file; return the merged Ruleset and all findings (errors block use)."""
    ruleset = Ruleset()
    findings: list[Finding] = []
    rule_ids: dict[str, Origin] = {}
    files = expand_paths(paths)
    if not files:
        shown = ", ".join(display_path(p) for p in paths)
        findings.append(Finding(shown, 1, 1, "no-rules", "no rules files (*.yaml) found",
                                hint="pass a rules directory or file, e.g. rules/"))
    for path in files:
        display = display_path(path)
        ruleset.files.append(display)
        text, problems = read_text(path, display)
        if text is None:
            findings.extend(problems)
            continue
        loaded = load_yaml(text, display)
        findings.extend(loaded.findings)
        if loaded.data is None:
            continue
        version_problem = _version_problem(loaded.data, loaded.source)
        if version_problem:
            findings.append(version_problem)
            continue
        schema_findings = validate_rules(loaded.data, loaded.source)
        findings.extend(schema_findings)
        if schema_findings:
            continue
        checker = _FileChecker(ruleset, loaded.source, rule_ids)
        checker.add(loaded.data)
        findings.extend(checker.findings)
    return ruleset, sorted(set(findings))


def _version_problem(data: Any, source: SourceMap) -> Finding | None:
    if not isinstance(data, dict):
        return source.finding((), "schema-type", "a rules file must be a mapping with 'version: 1' first")
    if "version" not in data:
        return source.finding((), "version", "missing 'version' (every rules file starts with 'version: 1')",
                              hint="add 'version: 1' at the top")
    if data["version"] != SUPPORTED_VERSION:
        return source.finding(("version",), "version",
                              f"unsupported rules version {data['version']!r}; this rinsync reads version 1",
                              hint="upgrade rinsync or rewrite the file for version 1")
    return None


def load_rules(paths: list[Path]) -> Ruleset:
    """The merged Ruleset, or RulesError with every error found."""
    ruleset, findings = check_rules(paths)
    if any(f.severity == "error" for f in findings):
        raise RulesError(findings)
    ruleset.warnings = findings
    return ruleset
