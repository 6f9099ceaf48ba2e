"""``rinsync lint``: rules findings, plus warnings from trying the rules on a catalog."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..diagnostics import Finding, RulesError
from ..dsl.rules import Origin, Ruleset, check_rules

if TYPE_CHECKING:
    pass


def _at(origin: Origin, code: str, message: str, hint: str | None = None) -> Finding:
    return Finding(origin.file, origin.line, origin.col, code, message, "warning", hint)


def lint(paths: list[Path], catalog_records: list[dict] | None = None, today=None) -> list[Finding]:
    """All findings for the rules at ``paths``; with a catalog, also dead rules and name collisions."""
    ruleset, findings = check_rules(paths)
    if any(f.severity == "error" for f in findings):
        return findings
    findings = findings + cost_findings(ruleset)
    if catalog_records is None:
        return sorted(findings)
    return sorted(findings + catalog_findings(ruleset, catalog_records, today))


def cost_findings(ruleset: Ruleset) -> list[Finding]:
    """Warnings for selections whose keep_while work at the catalog limit passes the documented bound."""
    from ..dsl.exprcost import MAX_GROUP_EVALUATIONS, MAX_RECORDS, selection_evaluations

    findings = []
    for selection in ruleset.selections:
        if selection.keep_while is None:
            continue
        work = selection_evaluations(selection.keep_while, selection.limit)
        if work > MAX_GROUP_EVALUATIONS:
            most = MAX_GROUP_EVALUATIONS // MAX_RECORDS
            findings.append(_at(
                selection.keep_origin, "selection-cost",
                f"keep_while of selection '{selection.id}' reads every kept model again for each candidate: "
                f"up to {work:,} evaluations for a group of {MAX_RECORDS:,} models (bound {MAX_GROUP_EVALUATIONS:,})",
                f"keep a total as sum(map(&EXPR, kept)) (kept as a running total), read length(kept) or "
                f"kept[-1], or add 'limit: {most}' or less"))
    return findings


def _openwebui_builder(engine):
    if not engine.ruleset.openwebui:
        return None
    from ..openwebui.records import RecordBuilder

    return RecordBuilder(engine)


def catalog_findings(ruleset: Ruleset, records: list[dict], today) -> list[Finding]:
    """Warnings: rules or overrides that match nothing, exceptions that never fire, name collisions."""
    from ..engine import Engine

    engine = Engine(ruleset, today)
    rule_hits: dict[str, int] = defaultdict(int)
    except_hits: dict[tuple[str, int], int] = defaultdict(int)
    override_hits: dict[str, int] = defaultdict(int)
    names: dict[str, list[str]] = defaultdict(list)
    decisions = []
    records_builder = _openwebui_builder(engine)
    brands_shown: dict[str, bool] = {}  # brand (provider and first word) -> any model shown in Open WebUI's chat
    try:
        engine.use_catalog(records)
        for record in records:
            decision = engine.decide(record)
            decisions.append(decision)
            if records_builder is not None and decision.kept:
                # an openwebui: expression that fails on a record is an error
                shown = records_builder.fields(record).get("active", True) is not False
                if not decision.model_id.startswith("~"):  # an alias (~openai/gpt-latest) is no brand of its own
                    brand = engine.evaluator.options.custom_functions.lines.brand(decision.model_id)
                    brands_shown[brand] = brands_shown.get(brand, False) or shown
            for match in decision.matches:
                rule_hits[match.rule.id] += 1
                for index in range(len(match.rule.excepts)):
                    if engine.exception_fires(match.rule, index, record):
                        except_hits[(match.rule.id, index)] += 1
            for override in decision.overrides:
                override_hits[override.id] += 1
        engine.apply_selections(decisions)
    except RulesError as exc:
        return exc.findings
    selection_drops: dict[str, int] = defaultdict(int)
    for decision in decisions:
        if decision.entry:
            names[decision.entry["model_name"]].append(decision.model_id)
        if decision.selected_out_by is not None:
            selection_drops[decision.selected_out_by.id] += 1
    findings = []
    for rule in ruleset.rules:
        if not rule_hits[rule.id]:
            findings.append(_at(rule.origin, "rule-matches-nothing",
                                f"rule '{rule.id}' matches no model of the catalog ({len(records)} models)",
                                "check field names and values with 'rinsync models --where'"))
            continue
        for index, origin in enumerate(rule.except_origins):
            if not except_hits[(rule.id, index)]:
                findings.append(_at(origin, "exception-never-fires",
                                    f"this exception of rule '{rule.id}' keeps no model of the catalog"))
    for override in ruleset.overrides:
        if not override_hits[override.id]:
            findings.append(_at(override.origin, "override-matches-nothing",
                                f"override '{override.id}' matches no kept or dropped model of the catalog"))
    for selection in ruleset.selections:
        if not selection_drops[selection.id]:
            findings.append(_at(selection.origin, "selection-drops-nothing",
                                f"selection '{selection.id}' drops no model of the catalog ({len(records)} models)",
                                "check its 'where', 'group_by' and 'limit' with 'rinsync explain'"))
    hidden = sorted(brand for brand, shown in brands_shown.items() if not shown)
    visibility = ruleset.openwebui.get("curated") or ruleset.openwebui.get("active")
    if hidden and visibility is not None:
        findings.append(_at(visibility.origin, "openwebui-brand-hidden",
                            f"every model of {len(hidden)} brand(s) is hidden from Open WebUI's chat, e.g. "
                            f"{', '.join(hidden[:5])} (LiteLLM still serves them)",
                            "intended? 'rinsync explain MODEL' shows why a model is hidden"))
    name_origin = ruleset.name_origin or Origin(ruleset.files[0] if ruleset.files else "rules", 1, 1)
    for name, ids in sorted(names.items()):
        if len(ids) > 1:
            findings.append(_at(name_origin, "name-collision",
                                f"model name '{name}' is produced for {', '.join(sorted(ids))}",
                                "add an override with its own 'name', or an exclude rule"))
    return findings
