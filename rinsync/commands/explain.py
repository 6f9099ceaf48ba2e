"""Human-readable account of what the rules did with one model (``rinsync explain``)."""

from __future__ import annotations

from ..engine import Decision, Engine
from ..output import dump_yaml


def render_explanation(engine: Engine, decision: Decision) -> str:
    lines = [f"model: {decision.model_id}"]
    by = decision.decided_by
    if decision.kept:
        how = f"included by rule '{by.id}' ({by.origin})" if by else "kept (no rule excluded it)"
        lines.append(f"verdict: KEPT - {how}")
    elif decision.selected_out_by is not None:
        lines.append(f"verdict: DROPPED - {decision.dropped_reason} ({decision.selected_out_by.origin})")
    else:
        where = f" ({by.origin})" if by else ""
        lines.append(f"verdict: DROPPED - {decision.dropped_reason}{where}")
    lines.append("rules matched:" if decision.matches else "rules matched: none")
    for match in decision.matches:
        rule = match.rule
        effect = "exception fired, rule ignored" if match.excepted else rule.action
        lines.append(f"  - {rule.id} ({effect}) at {rule.origin}")
    for trace in decision.selections:
        lines.append(f"selection {trace.selection.id} at {trace.selection.origin}: {trace.reason}")
    lines.append("overrides matched:" if decision.overrides else "overrides matched: none")
    for override in decision.overrides:
        lines.append(f"  - {override.id} at {override.origin}")
    lines.extend(f"note: {note}" for note in decision.notes)
    if decision.entry:
        lines.append("entry:")
        entry = decision.entry
    else:
        lines.append("entry it would have had if kept:")
        would = Decision(decision.record, overrides=decision.overrides)
        would.values = engine.evaluate(decision.record, would)
        entry = would.entry
    lines.extend("  " + line for line in dump_yaml([entry]).rstrip("\n").splitlines())
    lines.extend(_openwebui_lines(engine, decision, entry))
    return "\n".join(lines)


def _openwebui_lines(engine: Engine, decision: Decision, entry: dict) -> list[str]:
    """The model's Open WebUI record (rinsync openwebui sync), when the rules have an ``openwebui:`` section."""
    from ..openwebui.records import RecordBuilder, view, visibility

    if not engine.ruleset.openwebui:
        return []
    builder = RecordBuilder(engine)
    fields = builder.fields(decision.record)
    fields.setdefault("name", entry["model_name"])
    head = "openwebui record:" if decision.kept else "openwebui record it would have had if kept:"
    body = dump_yaml({"id": entry["model_name"], **view(fields)}).rstrip("\n").splitlines()
    return [head] + ["  " + line for line in body] + ["openwebui " + line for line in
                                                      visibility(fields, builder.hidden_by)]
