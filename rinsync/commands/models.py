"""``rinsync models``: search a catalog with the rules' JMESPath functions (capability and cost search)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Finding
from ..dsl.expr import Evaluator, check, per_million, truthy
from ..dsl.expr import _to_date as _date  # the date of a 'YYYY-MM-DD...' string, as expired() reads it
from ..dsl.scores import arena_elo, blended_per_million, index_score

# --sort names -> row key; aliases use the catalog's own words (pricing.prompt / completion).
SORT_FIELDS = {
    "id": "id",
    "name": "name",
    "input": "input_per_million",
    "prompt": "input_per_million",
    "output": "output_per_million",
    "completion": "output_per_million",
    "context": "context_length",
    "max_output": "max_output_tokens",
    "created": "created",
    "blended": "blended_per_million",
    "intelligence": "intelligence",
    "coding": "coding",
    "agentic": "agentic",
    "arena": "arena_elo",
}
SCORE_COLUMNS = [("INTEL", "intelligence"), ("CODE", "coding"), ("AGENT", "agentic"), ("ELO", "arena_elo")]

# flag -> test on a (normalised) record; the same semantics as the shipped capability rules.
FLAGS: list[tuple[str, Any]] = [
    ("tools", lambda r: "tools" in _params(r)),
    ("vision", lambda r: "image" in _modalities(r, "input")),
    ("file", lambda r: "file" in _modalities(r, "input")),
    ("audio-in", lambda r: "audio" in _modalities(r, "input")),
    ("audio-out", lambda r: "audio" in _modalities(r, "output")),
    ("image-out", lambda r: "image" in _modalities(r, "output")),
    ("reasoning", lambda r: bool({"reasoning", "include_reasoning"} & set(_params(r)))),
    ("schema", lambda r: "structured_outputs" in _params(r)),
]


class WhereError(Exception):
    """The --where expression is wrong; ``finding`` points inside it (file ``--where``)."""

    def __init__(self, finding: Finding, expression: str):
        super().__init__(finding.message)
        self.finding = finding
        self.expression = expression

    def render(self) -> str:
        """The finding, then the expression with a caret under the offending column."""
        caret = " " * (self.finding.col - 1) + "^"
        return f"{self.finding.text()}\n  {self.expression}\n  {caret}"


class SortError(ValueError):
    pass


def _params(record: dict) -> list:
    return record.get("supported_parameters") or []


def _modalities(record: dict, side: str) -> list:
    return (record.get("architecture") or {}).get(f"{side}_modalities") or []


def parse_sort(spec: str) -> tuple[str, bool]:
    """``FIELD`` or ``-FIELD`` (descending) -> (row key, descending)."""
    descending = spec.startswith("-")
    name = spec[1:] if descending else spec
    if name not in SORT_FIELDS:
        raise SortError(f"unknown sort field '{name}'; use one of: {', '.join(SORT_FIELDS)} "
                        "(prefix with '-' for descending)")
    return SORT_FIELDS[name], descending


def row(record: dict, today: dt.date) -> dict:
    """What the table and JSON show for one record."""
    pricing = record.get("pricing") or {}
    top = record.get("top_provider") or {}
    flags = [name for name, test in FLAGS if test(record)]
    expiration = _date(record.get("expiration_date"))
    if expiration is not None:
        flags.append("expired" if expiration < today else f"expires:{expiration.isoformat()}")
    return {
        "id": record["id"],
        "name": record.get("name"),
        "input_per_million": per_million(pricing.get("prompt")),
        "output_per_million": per_million(pricing.get("completion")),
        "dynamic_price": pricing.get("prompt") in ("-1", -1) or pricing.get("completion") in ("-1", -1),
        "context_length": record.get("context_length"),
        "max_output_tokens": top.get("max_completion_tokens"),
        "created": record.get("created"),
        "blended_per_million": blended_per_million(record),
        "intelligence": index_score(record, "intelligence"),
        "coding": index_score(record, "coding"),
        "agentic": index_score(record, "agentic"),
        "arena_elo": arena_elo(record),
        "flags": flags,
    }


@dataclass
class Search:
    rows: list[dict]  # matching, sorted, limited
    matched: int  # before --limit
    total: int  # records in the catalog


def search(records: list[dict], where: str | None, today: dt.date, sort: str = "id",
           limit: int | None = None) -> Search:
    """Records matching ``where`` (JMESPath with rinsync's functions), as sorted rows."""
    key, descending = parse_sort(sort)
    matching = records
    if where is not None:
        matching = _filter(records, where, today)
    rows = [row(r, today) for r in matching]
    rows = _sorted(rows, key, descending)
    shown = rows if limit is None else rows[:limit]
    return Search(shown, len(rows), len(records))


def _filter(records: list[dict], where: str, today: dt.date) -> list[dict]:
    from jmespath import exceptions as jp_errors

    problem = check(where)
    if problem is not None:
        raise WhereError(Finding("--where", 1, problem.offset + 1, problem.code, problem.message,
                                 hint=problem.hint), where)
    evaluator = Evaluator(today)
    evaluator.use_catalog(records)  # exists(), family()… see the whole catalog
    parsed = evaluator.compile(where)
    kept = []
    for record in records:
        try:
            value = evaluator.search(parsed, record)
        except jp_errors.JMESPathError as exc:
            message = str(exc).splitlines()[0]
            raise WhereError(Finding("--where", 1, 1, "jmespath-runtime",
                                     f"failed on model '{record.get('id')}': {message}",
                                     hint="guard missing fields, e.g. `description || ''`"), where) from None
        if truthy(value):
            kept.append(record)
    return kept


def _sorted(rows: list[dict], key: str, descending: bool) -> list[dict]:
    """Sorted by ``key`` (ties by id); rows without a value always come last."""
    by_id = sorted(rows, key=lambda r: r["id"])
    present = [r for r in by_id if r[key] is not None]
    missing = [r for r in by_id if r[key] is None]
    present.sort(key=lambda r: r[key], reverse=descending)
    return present + missing


def format_price(value: float | None, dynamic: bool = False) -> str:
    """USD per million tokens for the table: 2 decimals, more when needed; '-' unknown."""
    if value is None:
        return "dynamic" if dynamic else "-"
    if value == 0:
        return "0"
    text = f"{value:.2f}"
    if abs(float(text) - value) > 1e-12:
        text = f"{value:.6f}".rstrip("0")
    return text


def _score_text(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


def render_table(result: Search) -> str:
    """The rows as a table; benchmark columns appear when a shown model has a score."""
    scores = [(title, key) for title, key in SCORE_COLUMNS if any(r[key] is not None for r in result.rows)]
    headers = ["ID", "INPUT $/M", "OUTPUT $/M", "CONTEXT", "MAX OUT"] + [t for t, _ in scores] + ["FLAGS"]
    body = [[r["id"], format_price(r["input_per_million"], r["dynamic_price"]),
             format_price(r["output_per_million"], r["dynamic_price"]),
             "-" if r["context_length"] is None else str(r["context_length"]),
             "-" if r["max_output_tokens"] is None else str(r["max_output_tokens"])]
            + [_score_text(r[key]) for _, key in scores] + [",".join(r["flags"])] for r in result.rows]
    widths = [max(len(line[i]) for line in [headers] + body) for i in range(len(headers))]
    right = set(range(1, len(headers) - 1))

    def fmt(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([fmt(headers)] + [fmt(line) for line in body])


def render_json(result: Search, catalog: str, where: str | None, sort: str) -> str:
    payload = {
        "catalog": catalog,
        "where": where,
        "sort": sort,
        "total": result.total,
        "matched": result.matched,
        "models": result.rows,
    }
    return json.dumps(payload, indent=2)
