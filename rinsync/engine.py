"""Evaluate rules on catalog records: decisions with a trace and the rules' evaluated values.

The engine decides; a target builds its records from the decisions (rinsync/litellm/entries.py).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jmespath import exceptions as jp_errors

from .decision import Decision, RuleMatch, Values
from .diagnostics import Finding, RinsyncError, RulesError
from .dsl.expr import Evaluator, truthy
from .dsl.rules import Origin, Rule, Ruleset, merge_patch
from .selection import apply_selection
from .untrusted import CONTROL, one_line, value_problem


def compile_date(environ: dict | None = None) -> dt.date:
    """Today (UTC), or the date of ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    environ = os.environ if environ is None else environ
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        except (ValueError, OverflowError, OSError):
            raise RinsyncError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp; unset it or use "
                               "seconds since 1970-01-01", 2) from None
    return dt.datetime.now(dt.UTC).date()


@dataclass
class CompileResult:
    decisions: list[Decision]
    today: dt.date
    warnings: list[str] = field(default_factory=list)  # entries refused for unsafe upstream values

    @cached_property
    def entries(self) -> list[dict]:
        """The LiteLLM model_list entries of the kept models, in the config's order (built by rinsync.litellm)."""
        from .litellm.entries import build_entries

        return build_entries(self.decisions)

    def decision_for(self, model_id: str) -> Decision | None:
        return next((d for d in self.decisions if d.model_id == model_id), None)


class Engine:
    """Rules compiled once, applied to any number of records."""

    def __init__(self, ruleset: Ruleset, today: dt.date):
        self.ruleset = ruleset
        self.today = today
        self.evaluator = Evaluator(today)
        compile_ = self.evaluator.compile
        self._rules = [(rule, compile_(rule.expression), [compile_(e) for e in rule.excepts])
                       for rule in ruleset.rules]
        self._capabilities = [(c.key, compile_(c.expression), c.origin) for c in ruleset.capabilities.values()]
        self._overrides = [(o, compile_(o.when)) for o in ruleset.overrides]

    def _search(self, parsed, record: dict, origin: Origin, what: str) -> Any:
        try:
            return self.evaluator.search(parsed, record)
        except (jp_errors.JMESPathError, TypeError, ValueError) as exc:
            message = str(exc).splitlines()[0]
            raise RulesError([Finding(origin.file, origin.line, origin.col, "jmespath-runtime",
                                      f"{what} failed on model '{record.get('id')}': {message}",
                                      hint="guard missing fields, e.g. `supported_parameters || `[]``")]) from None

    def exception_fires(self, rule: Rule, index: int, record: dict) -> bool:
        """Whether exception ``index`` of ``rule`` is true for ``record`` (decide() stops at the first)."""
        parsed = self.evaluator.compile(rule.excepts[index])
        return truthy(self._search(parsed, record, rule.except_origins[index], f"exception of rule '{rule.id}'"))

    def decide(self, record: dict) -> Decision:
        """What the rules do with one record; catalog-aware functions read the last ``use_catalog``."""
        decision = Decision(record, kept=self.ruleset.default_action == "include")
        for rule, parsed, excepts in self._rules:
            if not truthy(self._search(parsed, record, rule.origin, f"rule '{rule.id}'")):
                continue
            excepted = any(truthy(self._search(e, record, o, f"exception of rule '{rule.id}'"))
                           for e, o in zip(excepts, rule.except_origins))
            decision.matches.append(RuleMatch(rule, excepted))
            if not excepted:
                decision.kept = rule.action == "include"
                decision.decided_by = rule
        if not decision.kept:
            by = decision.decided_by
            decision.dropped_reason = f"excluded by rule '{by.id}'" if by else "excluded by default_action"
        for override, parsed in self._overrides:
            if truthy(self._search(parsed, record, override.origin, f"override '{override.id}'")):
                decision.overrides.append(override)
        if decision.kept:
            decision.values = self.evaluate(record, decision)
        return decision

    def evaluate(self, record: dict, decision: Decision) -> Values:
        """The rules' values for a kept record: defaults, capabilities, the matching overrides, the name."""
        model_id = record["id"]
        template = self.ruleset.name
        params = merge_patch({"model": f"openrouter/{model_id}"}, self.ruleset.defaults["litellm_params"])
        info = merge_patch({}, self.ruleset.defaults["model_info"])
        for key, parsed, origin in self._capabilities:
            value = self._search(parsed, record, origin, f"capability '{key}'")
            if value is not None:
                info[key] = value
        for override in decision.overrides:
            params = merge_patch(params, override.litellm_params)
            info = merge_patch(info, override.model_info)
            template = override.name or template
        self._clamp_max_tokens(record, params, decision)
        return Values(_checked_name(template.render(record), model_id, template.source), params, info)

    @staticmethod
    def _clamp_max_tokens(record: dict, params: dict, decision: Decision) -> None:
        requested = params.get("max_tokens")
        if not isinstance(requested, int) or isinstance(requested, bool):
            return
        limit = (record.get("top_provider") or {}).get("max_completion_tokens") or record.get("context_length")
        if isinstance(limit, int) and limit > 0 and requested > limit:
            params["max_tokens"] = limit
            decision.notes.append(f"max_tokens {requested} lowered to {limit}, the most this model accepts")

    def use_catalog(self, records: list[dict]) -> None:
        """Index the whole catalog once, for the catalog-aware functions (exists, family…)."""
        self.evaluator.use_catalog(records)

    def compile(self, records: list[dict]) -> CompileResult:
        self.use_catalog(records)
        decisions = [self.decide(record) for record in records]
        warnings = [w for w in map(_refuse_unsafe_entry, decisions) if w]
        self.apply_selections(decisions)
        self._resolve_collisions(decisions)
        return CompileResult(decisions, self.today, warnings)

    def apply_selections(self, decisions: list[Decision]) -> None:
        """The set-level stage, after the rules: each selection in order drops what it does not keep."""
        if not self.ruleset.selections:
            return
        compile_ = self.evaluator.compile

        def search(expression: str, value: Any, origin: Origin, what: str) -> Any:
            return self._search(compile_(expression), value, origin, what)

        for selection in self.ruleset.selections:
            apply_selection(selection, decisions, search)

    def _resolve_collisions(self, decisions: list[Decision]) -> None:
        by_name: dict[str, list[Decision]] = {}
        for decision in decisions:
            if decision.kept and decision.values:
                by_name.setdefault(decision.values.name, []).append(decision)
        clashes = {name: sorted(group, key=lambda d: d.model_id)
                   for name, group in by_name.items() if len(group) > 1}
        if not clashes:
            return
        if self.ruleset.collisions != "keep-first":
            name, group = sorted(clashes.items())[0]
            ids = " and ".join(f"'{d.model_id}'" for d in group)
            more = f" ({len(clashes) - 1} more names collide)" if len(clashes) > 1 else ""
            raise RinsyncError(f"model name '{name}' would be used by {ids}{more}; add an override with its "
                               "own 'name', an exclude rule, or 'collisions: keep-first'", 1)
        for name, group in clashes.items():
            for loser in group[1:]:
                loser.drop(f"name '{name}' already used by '{group[0].model_id}'")


def _checked_name(name: str, model_id: str, template: str) -> str:
    """A rendered ``model_name`` that LiteLLM and a log line can carry: not empty, no control characters."""
    problem = None
    if not name.strip():
        problem = "an empty model_name"
    elif CONTROL.search(name):
        problem = f"a model_name with control characters ('{one_line(name)}')"
    if problem is None:
        return name
    raise RinsyncError(f"the name template {template!r} renders {problem} for model '{one_line(model_id)}'; "
                       "give it an override with its own 'name', or exclude it", 1)


def _refuse_unsafe_entry(decision: Decision) -> str | None:
    """Drop an entry that would carry a control character or a non-finite number into the config."""
    if not decision.kept or not decision.values:
        return None
    problem = value_problem(decision.values.as_mapping())
    if problem is None:
        return None
    decision.drop(f"unsafe upstream value: {problem}")
    return f"skipped model '{decision.model_id}': {problem}"
