"""``rinsync recommend``: the best models for a stated need, by benchmark score and by value for money.

Candidates are the models the rules keep; a need filters them (capabilities, budget, context, output
modality); picks come with a one-line reason and a rules snippet that keeps exactly them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..dsl.rules import Ruleset
from ..dsl.scores import SCORE_NAMES, blended_per_million, score, value
from ..engine import Engine
from .models import FLAGS

CAPABILITIES = [name for name, _ in FLAGS]
SNIPPET_FILE = "rules/90-recommended.yaml"


@dataclass
class Need:
    capabilities: list[str] = field(default_factory=list)  # names of models.FLAGS
    budget: float | None = None  # USD per million tokens, 3 input : 1 output
    min_context: int | None = None
    modality: str | None = None  # an output modality the model must have
    by: str = "intelligence"  # a scores.SCORE_NAMES name
    top: int = 3
    min_score: float | None = None  # picks score at least this

    def describe(self) -> str:
        parts = [", ".join(self.capabilities) or "any capabilities"]
        if self.budget is not None:
            parts.append(f"at most ${_money(self.budget)} per million tokens (3 input : 1 output)")
        if self.min_context is not None:
            parts.append(f"context >= {self.min_context:,} tokens")
        if self.modality:
            parts.append(f"{self.modality} output")
        if self.min_score is not None:
            parts.append(f"{self.by} score >= {self.min_score:g}")
        return "; ".join(parts)


@dataclass
class Pick:
    id: str
    score: float | int
    price: float  # blended USD per million tokens
    reason: str
    value: float | None = None


@dataclass
class Recommendation:
    need: Need
    catalog_scored: bool  # any record of the catalog has this score
    kept: int  # models the rules keep
    fitting: int  # of those, models that fit the need
    scored: int  # of those, models with the score
    by_score: list[Pick]
    by_value: list[Pick]
    free: list[Pick]

    @property
    def ids(self) -> list[str]:
        return sorted({p.id for p in self.by_score + self.by_value})


def _price_text(amount: float) -> str:
    return "free" if amount == 0 else f"${_money(amount)}/M"


def _money(amount: float) -> str:
    return f"{amount:.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.4f}"


def _variant_note(model_id: str) -> str:
    variant = model_id.rpartition(":")[2] if ":" in model_id else ""
    return f" (the :{variant} variant)" if variant else ""


def _fits(record: dict, need: Need) -> bool:
    flags = dict(FLAGS)
    if not all(flags[name](record) for name in need.capabilities):
        return False
    price = blended_per_million(record)
    if need.budget is not None and (price is None or price > need.budget):
        return False
    context = record.get("context_length")
    if need.min_context is not None and not (isinstance(context, int) and context >= need.min_context):
        return False
    outputs = (record.get("architecture") or {}).get("output_modalities") or []
    return not need.modality or need.modality in outputs


def _one_per_model(records: list[dict]) -> list[dict]:
    """One record per id without ':variant': the plain id when it fits, else the cheapest variant."""
    chosen: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r["id"]):
        base = record["id"].partition(":")[0]
        current = chosen.get(base)
        if current is None or (current["id"] != base and
                               (record["id"] == base or blended_per_million(record) < blended_per_million(current))):
            chosen[base] = record
    return list(chosen.values())


def recommend(ruleset: Ruleset, records: list[dict], need: Need, today: dt.date) -> Recommendation:
    """The picks for ``need`` among the models ``ruleset`` keeps from ``records``."""
    if need.by not in SCORE_NAMES:
        raise ValueError(f"unknown score {need.by!r}")
    result = Engine(ruleset, today).compile(records)
    kept = [d.record for d in result.decisions if d.kept]
    fitting = [r for r in kept if _fits(r, need) and blended_per_million(r) is not None]
    scored = [(r, score(r, need.by), blended_per_million(r)) for r in _one_per_model(fitting)]
    scored = [(r, s, p) for r, s, p in scored if s is not None and (need.min_score is None or s >= need.min_score)]
    label = need.by if need.by != "arena" else "arena elo"
    count = len(scored)
    by_score = []
    for place, (r, s, p) in enumerate(sorted(scored, key=lambda t: (-t[1], t[2], t[0]["id"]))[:need.top], 1):
        lead = "the highest" if place == 1 else f"#{place}"
        by_score.append(Pick(r["id"], s, p, f"{label} {s:g}, {lead} of the {count} that fit and are scored; "
                                            f"{_price_text(p)}{_variant_note(r['id'])}"))
    priced = [(r, s, p, value(s, p)) for r, s, p in scored if p > 0]
    by_value = []
    for r, s, p, v in sorted(priced, key=lambda t: (-t[3], -t[1], t[0]["id"]))[:need.top]:
        by_value.append(Pick(r["id"], s, p, f"{v:.1f} {label} points per $/M: {label} {s:g} at ${_money(p)}/M"
                                            f"{_variant_note(r['id'])}", value=v))
    shown = {p.id for p in by_score}
    free = [Pick(r["id"], s, p, f"free; {label} {s:g}")
            for r, s, p in sorted(scored, key=lambda t: (-t[1], t[0]["id"])) if p == 0 and r["id"] not in shown]
    free = free[:need.top]
    catalog_scored = any(score(r, need.by) is not None for r in records)
    return Recommendation(need, catalog_scored, len(kept), len(fitting), count, by_score, by_value, free)


def snippet(rec: Recommendation, command: str) -> str:
    """A rules file that, loaded after the current rules, keeps exactly the picks."""
    ids = ", ".join(f"'{model_id}'" for model_id in rec.ids)
    return (f"# {SNIPPET_FILE}: keeps exactly the {len(rec.ids)} recommended models\n"
            "version: 1\n"
            "rules:\n"
            "  - id: recommended-only\n"
            f"    description: \"{command}\"\n"
            f"    exclude: \"!contains([{ids}], id)\"\n")


def render(rec: Recommendation, command: str) -> str:
    label = rec.need.by if rec.need.by != "arena" else "arena elo"
    lines = [f"need: {rec.need.describe()}",
             f"fit: {rec.fitting} of the {rec.kept} models the rules keep; {rec.scored} of them "
             f"(variants folded into their model) are scored on {label}"
             + (f" at {rec.need.min_score:g} or more" if rec.need.min_score is not None else "")]
    if not rec.by_score:
        return "\n".join(lines)
    width = max(len(p.id) for p in rec.by_score + rec.by_value + rec.free)
    lines.append("")
    lines.append(f"best by {label}:")
    lines.extend(f"  {i}. {p.id.ljust(width)}  {p.reason}" for i, p in enumerate(rec.by_score, 1))
    if rec.by_value:
        lines.append(f"best value ({label} per $ per million tokens):")
        lines.extend(f"  {i}. {p.id.ljust(width)}  {p.reason}" for i, p in enumerate(rec.by_value, 1))
    if rec.free:
        lines.append("free models that fit (not ranked by value: no price to divide by):")
        lines.extend(f"  - {p.id.ljust(width)}  {p.reason}" for p in rec.free)
    lines.append("")
    lines.append(f"rules that keep exactly the {len(rec.ids)} picks (save as {SNIPPET_FILE}):")
    lines.append("")
    lines.extend(snippet(rec, command).splitlines())
    return "\n".join(lines)
