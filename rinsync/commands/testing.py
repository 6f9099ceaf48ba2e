"""``rinsync test``: run rules test files (``*.test.yaml``) and report results and rule coverage.

A test file gives catalog records (inline and/or a catalog file) and expectations about what the
rules do with them. An expectation that matches no record fails: tests never pass silently.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Finding, RinsyncError, RulesError
from ..dsl.rules import Ruleset, check_rules, display_path
from ..dsl.schema import schema_findings
from ..dsl.yamlsource import SourceMap, load_yaml, read_text
from ..engine import Decision, Engine, compile_date
from ..resources import schema_validator

TEST_SCHEMA = "rules-test.v1.schema.json"
TEST_SUFFIXES = (".test.yaml", ".test.yml")


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold, located at the expectation in the test file."""

    file: str
    line: int
    col: int
    detail: str


@dataclass
class CaseResult:
    """One test case applied to one model."""

    file: str
    line: int
    col: int
    name: str
    model: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class Report:
    results: list[CaseResult] = field(default_factory=list)
    broken: dict[str, list[Finding]] = field(default_factory=dict)  # test file -> why it could not run
    warnings: list[str] = field(default_factory=list)
    uncovered: list[Finding] | None = None  # None: coverage not computed (--select)
    files: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        """Failed cases, plus one per test file that could not be run."""
        return sum(1 for r in self.results if not r.passed) + len(self.broken)

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


# ---------------------------------------------------------------------------------------------
# finding test files


def default_test_paths(rules_dir: Path) -> list[Path]:
    """The tests that belong to a rules directory: ``<rules>/tests``."""
    return [rules_dir / "tests"]


def discover(paths: list[Path]) -> list[Path]:
    """Test files named, or found (recursively, ``*.test.yaml``) in named directories, in order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TEST_SUFFIXES)))
        elif path.exists():
            found.append(path)
        else:
            raise RinsyncError(f"{display_path(path)}: no such test file or directory (rules tests go in "
                               "<rules>/tests/*.test.yaml; see docs/ci.md)", 1)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        shown = ", ".join(display_path(p) for p in paths)
        raise RinsyncError(f"no test files (*.test.yaml) found in {shown}; write tests in rules/tests/ "
                           "(see docs/ci.md)", 1)
    return unique


# ---------------------------------------------------------------------------------------------
# loading and checking one test file


def _plain_dates(value: Any) -> Any:
    """YAML reads ``2026-11-24`` as a date; the catalog (JSON) has strings. Make them strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_dates(v) for v in value]
    return value


@dataclass
class SuiteFile:
    path: Path
    display: str
    data: dict
    source: SourceMap


def load_test_file(path: Path) -> tuple[SuiteFile | None, list[Finding]]:
    """Read, parse and validate one test file (structure, dates, inline records)."""
    display = display_path(path)
    text, problems = read_text(path, display)
    if text is None:
        return None, problems
    loaded = load_yaml(text, display)  # an impossible date (2026-13-01) is a located yaml-value finding
    findings = [f for f in loaded.findings if f.severity == "error"]
    if loaded.data is None or findings:
        return None, findings
    source = loaded.source
    data = _plain_dates(loaded.data)
    if not isinstance(data, dict):
        return None, [source.finding((), "test-schema-type", "a test file must be a mapping starting with "
                                     "'version: 1'")]
    findings = schema_findings(schema_validator(TEST_SCHEMA), data, source, code_prefix="test-schema",
                               document="the test file")
    if findings:
        return None, findings
    findings = _semantic_findings(data, source)
    if findings:
        return None, sorted(findings)
    return SuiteFile(path, display, data, source), []


def _semantic_findings(data: dict, source: SourceMap) -> list[Finding]:
    from ..source.catalog import record_validator

    findings = []
    if "today" in data:
        try:
            dt.date.fromisoformat(data["today"])
        except ValueError:
            findings.append(source.finding(("today",), "test-today", f"'today' {data['today']!r} is not a date",
                                           hint="write YYYY-MM-DD, e.g. 2026-11-24"))
    names: dict[str, int] = {}
    for index, case in enumerate(data["tests"]):
        if case["name"] in names:
            first = names[case["name"]]
            findings.append(source.finding(("tests", index, "name"), "test-duplicate-name",
                                           f"test name '{case['name']}' is already used by tests[{first}]",
                                           hint="give every test its own name"))
        names.setdefault(case["name"], index)
    ids: dict[str, int] = {}
    for index, record in enumerate(data.get("records") or []):
        for error in record_validator().iter_errors(record):
            where = ".".join(str(p) for p in error.absolute_path) or "record"
            findings.append(source.finding(("records", index) + tuple(error.absolute_path), "test-record",
                                           f"records[{index}] ({record.get('id')!r}): {where}: "
                                           f"{error.message[:160]}",
                                           hint="inline records follow the catalog's record shape"))
        record_id = record.get("id")
        if isinstance(record_id, str):
            if record_id in ids:
                findings.append(source.finding(("records", index, "id"), "test-duplicate-record",
                                               f"record '{record_id}' is already given at records[{ids[record_id]}]"))
            ids.setdefault(record_id, index)
    return findings


# ---------------------------------------------------------------------------------------------
# coverage


class Coverage:
    """Which rules, exceptions and overrides the run exercised (matched a tested model)."""

    def __init__(self) -> None:
        self.items: dict[tuple, Finding] = {}
        self.hit: set[tuple] = set()

    def register(self, ruleset: Ruleset) -> None:
        for rule in ruleset.rules:
            key = ("rule", rule.id, str(rule.origin))
            self.items.setdefault(key, _gap(rule.origin, f"rule '{rule.id}' is exercised by no test"))
            for index, origin in enumerate(rule.except_origins):
                self.items.setdefault(("except", rule.id, index, str(origin)),
                                      _gap(origin, f"rule '{rule.id}' except[{index}] is exercised by no test"))
        for override in ruleset.overrides:
            self.items.setdefault(("override", override.id, str(override.origin)),
                                  _gap(override.origin, f"override '{override.id}' is exercised by no test"))
        for selection in ruleset.selections:
            self.items.setdefault(("selection", selection.id, str(selection.origin)),
                                  _gap(selection.origin, f"selection '{selection.id}' ranks no tested model"))

    def exercise(self, engine: Engine, decision: Decision) -> None:
        for match in decision.matches:
            rule = match.rule
            self.hit.add(("rule", rule.id, str(rule.origin)))
            for index, origin in enumerate(rule.except_origins):
                try:
                    fired = engine.exception_fires(rule, index, decision.record)
                except RulesError:  # fails on this model: not exercised (compile reports it when reached)
                    fired = False
                if fired:
                    self.hit.add(("except", rule.id, index, str(origin)))
        for override in decision.overrides:
            self.hit.add(("override", override.id, str(override.origin)))
        for trace in decision.selections:
            self.hit.add(("selection", trace.selection.id, str(trace.selection.origin)))

    def gaps(self) -> list[Finding]:
        return sorted(finding for key, finding in self.items.items() if key not in self.hit)


def _gap(origin, message: str) -> Finding:
    return Finding(origin.file, origin.line, origin.col, "coverage", message, "warning",
                   "add a test whose model this matches")


# ---------------------------------------------------------------------------------------------
# running


class Runner:
    """Runs test files; rules and catalogs shared by several files are loaded once."""

    def __init__(self, select: tuple[str, ...] | list[str] = ()):
        self.select = list(select)
        self.report = Report()
        self.coverage = Coverage()
        self._rules: dict[tuple[Path, ...], tuple[Ruleset, list[Finding]]] = {}
        self._catalogs: dict[Path, Any] = {}
        self._engines: dict[tuple, Engine] = {}

    def run(self, files: list[Path]) -> Report:
        for path in files:
            self.report.files.append(display_path(path))
            test_file, findings = load_test_file(path)
            if test_file is None:
                self.report.broken[display_path(path)] = findings
                continue
            self._run_file(test_file)
        self.report.uncovered = None if self.select else self.coverage.gaps()
        return self.report

    def _broken(self, test_file: SuiteFile, findings: list[Finding]) -> None:
        self.report.broken.setdefault(test_file.display, []).extend(findings)

    def _rules_paths(self, test_file: SuiteFile) -> list[Path] | Finding:
        base = test_file.path.parent
        given = test_file.data.get("rules")
        if given is None:
            if base.name != "tests":
                return test_file.source.finding((), "test-rules", "no 'rules' given, and the file is not in the "
                                                "tests/ directory of a rules directory",
                                                hint="add 'rules: [../rules]' (paths relative to the test file)")
            return [base.parent]
        given = [given] if isinstance(given, str) else given
        paths = []
        for index, text in enumerate(given):
            path = (base / text)
            if not path.exists():
                where = ("rules",) if isinstance(test_file.data["rules"], str) else ("rules", index)
                return test_file.source.finding(where, "test-rules", f"rules path '{text}' does not exist "
                                                f"(relative to {test_file.display})")
            paths.append(path)
        return paths

    def _ruleset(self, paths: list[Path]) -> tuple[Ruleset, list[Finding]]:
        key = tuple(p.resolve() for p in paths)
        if key not in self._rules:
            ruleset, findings = check_rules(paths)
            errors = [f for f in findings if f.severity == "error"]
            self._rules[key] = (ruleset, errors)
            if not errors:
                self.coverage.register(ruleset)
        return self._rules[key]

    def _records(self, test_file: SuiteFile) -> list[dict] | Finding:
        from ..source.catalog import CatalogError, load_catalog_file, normalize_record

        records: dict[str, dict] = {}
        if "catalog" in test_file.data:
            path = (test_file.path.parent / test_file.data["catalog"]).resolve()
            if path not in self._catalogs:
                try:
                    self._catalogs[path] = load_catalog_file(path)
                except CatalogError as exc:
                    return test_file.source.finding(("catalog",), "test-catalog", exc.message,
                                                    hint="the path is relative to the test file")
                self.report.warnings.extend(self._catalogs[path].warnings)
            records = {r["id"]: r for r in self._catalogs[path].records}
        for raw in test_file.data.get("records") or []:
            records[raw["id"]] = normalize_record(raw)
        return list(records.values())

    def _run_file(self, test_file: SuiteFile) -> None:
        data, source = test_file.data, test_file.source
        paths = self._rules_paths(test_file)
        if isinstance(paths, Finding):
            return self._broken(test_file, [paths])
        ruleset, errors = self._ruleset(paths)
        if errors:
            where = ("rules",) if "rules" in data else ()
            note = source.finding(where, "test-rules", "the rules under test do not load "
                                  f"({len(errors)} error(s) listed)")
            return self._broken(test_file, [note] + errors)
        records = self._records(test_file)
        if isinstance(records, Finding):
            return self._broken(test_file, [records])
        today = dt.date.fromisoformat(data["today"]) if "today" in data else compile_date()
        engine_key = (tuple(p.resolve() for p in paths), today)
        engine = self._engines.get(engine_key) or self._engines.setdefault(engine_key, Engine(ruleset, today))
        try:
            result = engine.compile(records)
        except RulesError as exc:
            return self._broken(test_file, exc.findings)
        except RinsyncError as exc:
            where = ("records",) if "records" in data else ("catalog",)
            return self._broken(test_file, [source.finding(where, "test-compile", exc.message)])
        decisions = {d.model_id: d for d in result.decisions}
        for index, case in enumerate(data["tests"]):
            self._run_case(test_file, index, case, ruleset, engine, decisions)

    def _selected(self, case: dict, model: str, decision: Decision | None) -> bool:
        if not self.select:
            return True
        names = [model, case["name"]] + [case[k] for k in ("dropped_by", "kept_by", "excepted_from") if k in case]
        if decision is not None:
            names.extend(m.rule.id for m in decision.matches)
            names.extend(t.selection.id for t in decision.selections)
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.select for name in names)

    def _run_case(self, test_file: SuiteFile, index: int, case: dict, ruleset: Ruleset, engine: Engine,
                  decisions: dict[str, Decision]) -> None:
        source = test_file.source
        if "model" in case:
            models = [(case["model"], ("tests", index, "model"))]
        else:
            models = [(m, ("tests", index, "models", i)) for i, m in enumerate(case["models"])]
        line, col = source.where(("tests", index))
        for model, model_path in models:
            decision = decisions.get(model)
            if not self._selected(case, model, decision):
                continue
            result = CaseResult(test_file.display, line, col, case["name"], model)
            self.report.results.append(result)
            check = _CaseCheck(test_file, ("tests", index), case, ruleset, result, engine)
            if decision is None:
                check.fail(model_path, f"not found in the test's records{_did_you_mean(model, decisions)}")
                continue
            self.coverage.exercise(engine, decision)
            check.run(decision)


class _CaseCheck:
    """The expectations of one case checked against one decision."""

    def __init__(self, test_file: SuiteFile, path: tuple, case: dict, ruleset: Ruleset, result: CaseResult,
                 engine: Engine | None = None):
        self.engine = engine
        self.source = test_file.source
        self.path = path
        self.case = case
        self.rules = {rule.id: rule for rule in ruleset.rules}
        self.selections = {selection.id: selection for selection in ruleset.selections}
        self.result = result

    def fail(self, path: tuple, detail: str) -> None:
        line, col = self.source.where(path)
        self.result.failures.append(Failure(self.result.file, line, col, detail))

    def at(self, *keys) -> tuple:
        return self.path + keys

    def run(self, decision: Decision) -> None:
        case = self.case
        got = _verdict(decision)
        if "kept" in case and case["kept"] != decision.kept:
            self.fail(self.at("kept"), f"expected {'kept' if case['kept'] else 'dropped'}, got {got}")
        for key, action in (("dropped_by", "exclude"), ("kept_by", "include")):
            if key in case:
                self._decided_by(key, action, case[key], decision, got)
        if "excepted_from" in case:
            self._excepted_from(case["excepted_from"], decision)
        if "model_name" in case:
            expected = case["model_name"]
            if decision.entry is None:
                self.fail(self.at("model_name"), f"expected model_name {_show(expected)}, got {got} (no entry)")
            elif decision.entry["model_name"] != expected:
                self.fail(self.at("model_name"),
                          f"expected model_name {_show(expected)}, got {_show(decision.entry['model_name'])}")
        if "entry" in case:
            if decision.entry is None:
                self.fail(self.at("entry"), f"expected an entry, got {got} (no entry)")
            else:
                self._subset(case["entry"], decision.entry, self.at("entry"), "entry")
        if "absent" in case:
            self._absent(case["absent"], decision, got)
        if "openwebui" in case:
            self._openwebui(case["openwebui"], decision, got)

    def _openwebui(self, expected: dict, decision: Decision, got: str) -> None:
        """A subset of the model's Open WebUI record, in the shape of the rules' ``openwebui:`` section."""
        from ..openwebui.records import RecordBuilder, view

        if decision.entry is None:
            return self.fail(self.at("openwebui"), f"expected an Open WebUI record, got {got} (no entry)")
        builder = RecordBuilder(self.engine)
        fields = builder.fields(decision.record)
        fields.setdefault("name", decision.entry["model_name"])
        return self._subset(expected, view(fields), self.at("openwebui"), "openwebui")

    def _rule_problem(self, key: str, rule_id: str, action: str | None) -> str | None:
        rule = self.rules.get(rule_id)
        if rule is None and key == "dropped_by" and rule_id in self.selections:
            return None
        if rule is None:
            known = list(self.rules) + (list(self.selections) if key == "dropped_by" else [])
            return (f"expected {key} '{rule_id}', but the rules have no rule '{rule_id}'"
                    f"{_did_you_mean(rule_id, known)}")
        if action and rule.action != action:
            return f"expected {key} '{rule_id}', but rule '{rule_id}' is an {rule.action} rule"
        return None

    def _decided_by(self, key: str, action: str, rule_id: str, decision: Decision, got: str) -> None:
        problem = self._rule_problem(key, rule_id, action)
        if problem:
            return self.fail(self.at(key), problem)
        if rule_id in self.selections and rule_id not in self.rules:
            selection = decision.selected_out_by
            if selection is None or selection.id != rule_id:
                self.fail(self.at(key), f"expected dropped_by selection '{rule_id}', got {got}")
            return None
        wanted_kept = action == "include"
        by = decision.decided_by
        if decision.kept != wanted_kept or by is None or by.id != rule_id or \
                (not decision.kept and decision.dropped_reason != f"excluded by rule '{rule_id}'"):
            self.fail(self.at(key), f"expected {key} '{rule_id}', got {got}")

    def _excepted_from(self, rule_id: str, decision: Decision) -> None:
        problem = self._rule_problem("excepted_from", rule_id, None)
        if problem:
            return self.fail(self.at("excepted_from"), problem)
        if not self.rules[rule_id].excepts:
            return self.fail(self.at("excepted_from"),
                             f"expected excepted_from '{rule_id}', but rule '{rule_id}' has no 'except'")
        match = next((m for m in decision.matches if m.rule.id == rule_id), None)
        if match is None:
            self.fail(self.at("excepted_from"), f"expected excepted_from '{rule_id}', got: the rule does not match")
        elif not match.excepted:
            self.fail(self.at("excepted_from"),
                      f"expected excepted_from '{rule_id}', got: the rule matches and none of its exceptions fires")

    def _subset(self, expected: Any, actual: Any, path: tuple, label: str) -> None:
        if isinstance(expected, dict):
            if not isinstance(actual, dict):
                return self.fail(path, f"expected {label} to be a mapping, got {_show(actual)}")
            for key, value in expected.items():
                sub_label, sub_path = f"{label}.{key}", path + (key,)
                if value is None:
                    if key in actual:
                        self.fail(sub_path, f"expected {sub_label} absent, got {_show(actual[key])}")
                elif key not in actual:
                    self.fail(sub_path, f"expected {sub_label} {_show(value)}, got no such key")
                else:
                    self._subset(value, actual[key], sub_path, sub_label)
            return None
        if not _equal(expected, actual):
            self.fail(path, f"expected {label} {_show(expected)}, got {_show(actual)}{_type_tip(expected, actual)}")
        return None

    def _absent(self, keys: list[str], decision: Decision, got: str) -> None:
        for index, dotted in enumerate(keys):
            path = self.at("absent", index)
            if decision.entry is None:
                self.fail(path, f"expected {dotted} absent from the entry, got {got} (no entry)")
                continue
            node: Any = decision.entry
            for part in dotted.split("."):
                node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
            if node is not _MISSING:
                self.fail(path, f"expected {dotted} absent, got {_show(node)}")


_MISSING = object()


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _verdict(decision: Decision) -> str:
    if decision.kept:
        by = decision.decided_by
        return f"kept by rule '{by.id}'" if by else "kept"
    reason = decision.dropped_reason or ""
    if reason.startswith("excluded by "):
        return "dropped by " + reason[len("excluded by "):]
    return f"dropped ({reason})"


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_equal(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_equal(v, actual[k]) for k, v in expected.items())
    return type(expected) is type(actual) and expected == actual


def _show(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    return json.dumps(value, default=str)


def _type_tip(expected: Any, actual: Any) -> str:
    """Explain a number written so that YAML reads it as a string (``1e-06`` needs a dot: ``1.0e-06``)."""
    if not isinstance(expected, str) or not isinstance(actual, (int, float)) or isinstance(actual, bool):
        return ""
    try:
        float(expected)
    except ValueError:
        return ""
    return " (the test has a string: YAML reads numbers like 1e-06 as strings; write 1.0e-06)"


# ---------------------------------------------------------------------------------------------
# output


def render(report: Report, fmt: str, fail_only: bool) -> str:
    """The report as ``text`` (FILE:LINE:COL lines), ``github`` annotations, or ``json``."""
    if fmt == "json":
        return json.dumps(_as_json(report, fail_only), indent=2)
    lines: list[str] = []
    for file, findings in report.broken.items():
        if fmt == "github":
            lines.extend(f.github() for f in findings)
        else:
            lines.append(f"{file}: ERROR the test file could not be run:")
            lines.extend("  " + f.text() for f in findings)
    for result in report.results:
        if result.passed:
            if not fail_only and fmt == "text":
                lines.append(f"{result.file}:{result.line}:{result.col}: PASS {result.name}: model '{result.model}'")
            continue
        for failure in result.failures:
            text = f"FAIL {result.name}: model '{result.model}': {failure.detail}"
            if fmt == "github":
                lines.append(Finding(failure.file, failure.line, failure.col, "rinsync test", text).github())
            else:
                lines.append(f"{failure.file}:{failure.line}:{failure.col}: {text}")
    for gap in report.uncovered or []:
        if fmt == "github":
            lines.append(gap.github())
        else:
            lines.append(f"{gap.file}:{gap.line}:{gap.col}: coverage: {gap.message}")
    lines.append(report.summary())
    return "\n".join(lines)


def _as_json(report: Report, fail_only: bool) -> dict:
    results = [r for r in report.results if not (fail_only and r.passed)]
    return {
        "files": report.files,
        "results": [
            {"file": r.file, "line": r.line, "col": r.col, "test": r.name, "model": r.model,
             "status": "pass" if r.passed else "fail",
             "failures": [{"file": f.file, "line": f.line, "col": f.col, "message": f.detail} for f in r.failures]}
            for r in results
        ],
        "errors": [{"file": file, "findings": [f.text() for f in findings]}
                   for file, findings in report.broken.items()],
        "coverage": None if report.uncovered is None else {
            "uncovered": [{"file": g.file, "line": g.line, "col": g.col, "message": g.message}
                          for g in report.uncovered]},
        "summary": {"passed": report.passed, "failed": report.failed},
    }


def run_tests(paths: list[Path], select: tuple[str, ...] | list[str] = ()) -> Report:
    """Discover and run the test files at ``paths``."""
    return Runner(select).run(discover(paths))
