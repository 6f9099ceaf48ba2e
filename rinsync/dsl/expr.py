"""JMESPath for rules: rinsync's custom functions, compile-once expressions and static checks."""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from jmespath import functions as jp_functions
from jmespath.lexer import Lexer

from . import scores as _scores
from .catalogindex import EMPTY as _EMPTY_INDEX
from .catalogindex import CatalogIndex
from .catalogindex import base_model as _base_model
from .lines import LineIndex
from .prices import parse_price, per_million

__all__ = ["parse_price", "per_million", "CatalogIndex"]


def split_id(model_id: str) -> tuple[str, str, str]:
    """``provider/model:variant`` → (provider, model with variant, variant)."""
    provider, _, model = model_id.partition("/")
    if not model:
        provider, model = "", model_id
    variant = model_id.rpartition(":")[2] if ":" in model_id else ""
    return provider, model, variant


def _to_date(value: Any) -> _dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


class RinsyncFunctions(jp_functions.Functions):
    """Functions added to JMESPath for rules (listed by ``rinsync functions``)."""

    def __init__(self, today: _dt.date):
        super().__init__()
        self.today = today
        self.catalog: CatalogIndex = _EMPTY_INDEX  # set once per compile (Evaluator.use_catalog)
        self.catalog_records: list[dict] = []
        self._lines: LineIndex | None = None  # lines and brands, built on first use

    @property
    def lines(self) -> LineIndex:
        if self._lines is None or self._lines.catalog is not self.catalog:
            self._lines = LineIndex(self.catalog, self.catalog_records)
        return self._lines

    @jp_functions.signature({"types": ["string", "number", "null"]})
    def _func_price(self, value):
        """USD per token from a price string; null for missing or "-1" (dynamic) prices."""
        return parse_price(value)

    @jp_functions.signature({"types": ["string", "number", "null"]})
    def _func_per_million(self, value):
        """USD per million tokens from a price string; null when unknown."""
        return per_million(value)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_variant(self, model_id):
        """The variant suffix of an id after ':' (free, extended, thinking…), or null."""
        if not model_id or ":" not in model_id:
            return None
        return model_id.rpartition(":")[2]

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_base_id(self, model_id):
        """The id without its ':variant' suffix."""
        return None if model_id is None else model_id.partition(":")[0]

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_provider(self, model_id):
        """The provider part of an id (before the first '/')."""
        return None if model_id is None else split_id(model_id)[0]

    @jp_functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_regex_match(self, value, pattern):
        """True when the regular expression (RE2 syntax: no lookaround) matches anywhere in the string."""
        from .regex import RegexProblem, search

        if value is None:
            return False
        try:
            return search(pattern, value)
        except RegexProblem as exc:
            raise jp_errors.JMESPathError(exc.message) from None

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_lower(self, value):
        """The string in lower case (null stays null)."""
        return None if value is None else value.lower()

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_upper(self, value):
        """The string in upper case (null stays null)."""
        return None if value is None else value.upper()

    @jp_functions.signature({"types": ["array", "null"]}, {"types": []})
    def _func_has(self, array, item):
        """True when the array contains the item; false when the array is null."""
        return bool(array) and item in array

    @jp_functions.signature()
    def _func_today(self):
        """The compile date as 'YYYY-MM-DD' (today, or SOURCE_DATE_EPOCH when set)."""
        return self.today.isoformat()

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_days_until(self, value):
        """Days from the compile date to a 'YYYY-MM-DD' date (negative when past); null if no date."""
        date = _to_date(value)
        return None if date is None else (date - self.today).days

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_expired(self, value):
        """True when the date is before the compile date; false for null."""
        date = _to_date(value)
        return date is not None and date < self.today

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_is_alias(self, model_id):
        """True for alias ids that start with '~' (e.g. ~openai/gpt-latest)."""
        return bool(model_id) and model_id.startswith("~")


    # --- the rest of the catalog (an index built once per compile) -----------------------------

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_exists(self, model_id):
        """True when a model with this id is in the same catalog."""
        return self.catalog.exists(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_base_model(self, model_id):
        """The id a variant belongs to (':extended' or '-32k' size removed, else ':variant'); null if none."""
        return _base_model(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_family(self, model_id):
        """The family of an id: without variant, size and snapshot date, joined through canonical_slug."""
        return None if model_id is None else self.catalog.family(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_family_members(self, model_id):
        """The ids of the catalog in the same family (sorted; the id itself included when present)."""
        return [] if model_id is None else self.catalog.members(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_newest_in_family(self, model_id):
        """The id of the family's newest member by 'created' (ties: the first id); null if none."""
        return None if model_id is None else self.catalog.newest(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_line(self, model_id):
        """The model line: the family without versions, sizes, qualifiers (openai/gpt-5.4-mini -> openai/gpt-mini)."""
        return None if model_id is None else self.lines.line(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_brand(self, model_id):
        """The brand: provider and the name's first word without digits (openai/gpt-5.4-mini -> openai/gpt)."""
        return None if model_id is None else self.lines.brand(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_newest_in_line(self, model_id):
        """The id of the line's newest member by 'created' (ties: the first id); null if none."""
        return None if model_id is None else self.lines.newest_in_line(model_id)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_newest_in_brand(self, model_id):
        """The id of the brand's newest member by 'created' (ties: the first id); null if none."""
        return None if model_id is None else self.lines.newest_in_brand(model_id)

    @jp_functions.signature({"types": ["string", "null"]}, {"types": ["string", "null"]})
    def _func_days_between(self, first, second):
        """Days from one catalog model's 'created' to another's (negative when older); null if unknown."""
        return None if first is None or second is None else self.lines.days_between(first, second)

    # --- benchmarks and value ------------------------------------------------------------------

    @jp_functions.signature({"types": ["object", "null"]}, {"types": ["string"]})
    def _func_score(self, record, name):
        """A benchmark score of a record (@): 'intelligence', 'coding', 'agentic' index, or 'arena' elo."""
        if name not in _scores.SCORE_NAMES:
            raise jp_errors.JMESPathError(f"unknown score {name!r}; use one of: {', '.join(_scores.SCORE_NAMES)}")
        return _scores.score(record, name)

    @jp_functions.signature({"types": ["object", "null"]})
    def _func_arena_elo(self, record):
        """The highest Design Arena elo of a record (@) over its arenas and categories; null if unrated."""
        return _scores.arena_elo(record)

    @jp_functions.signature({"types": ["object", "null"]})
    def _func_blended_per_million(self, record):
        """USD per million tokens of a record (@), 3 input : 1 output tokens; null if a price is unknown."""
        return _scores.blended_per_million(record)

    @jp_functions.signature({"types": ["number", "null"]}, {"types": ["number", "null"]})
    def _func_value(self, points, price):
        """Score per USD per million tokens: value(score(@, 'coding'), blended_per_million(@)); null if free."""
        return _scores.value(points, price)

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_plain(self, text):
        """Markdown made plain: [text](url) links become their text, emphasis marks go, whitespace collapses."""
        return None if text is None else plain_text(text)

    @jp_functions.signature({"types": ["string", "null"]}, {"types": ["number"]})
    def _func_truncate(self, text, limit):
        """The string cut to at most n characters, after a sentence or a word (with '…'); null stays null."""
        return None if text is None else truncate_text(text, int(limit))

    @jp_functions.signature({"types": ["number", "null"]})
    def _func_usd(self, amount):
        """A dollar amount for people: 2.5 -> '$2.50', 0.00005 -> '$0.00005'; null stays null."""
        return None if amount is None or not math.isfinite(amount) else format_usd(amount)

    @jp_functions.signature({"types": ["number", "null"]})
    def _func_tokens(self, count):
        """A token count for people: 128000 -> '128K', 1048576 -> '1.05M'; null stays null."""
        return None if count is None or not math.isfinite(count) else format_tokens(count)

    @jp_functions.signature({"types": ["string"]}, {"types": [], "variadic": True})
    def _func_format(self, pattern, *values):
        """The pattern with each '{}' replaced by the next value (null -> empty), e.g. format('{} context', x)."""
        return format_pattern(pattern, values)


# no bracket or parenthesis inside the parts: each scan stops at the next one, so hostile text stays linear
_MD_LINK = re.compile(r"\[([^\[\]]*)\]\([^()]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|`)")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def plain_text(text: str) -> str:
    """Markdown links to their text, ``**``/``__``/backticks removed, whitespace collapsed."""
    return " ".join(_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", text)).split())


def truncate_text(text: str, limit: int) -> str:
    """``text`` when it fits; else cut after the last sentence that ends in the first half or more of
    ``limit``, or else after the last whole word, with '…' (the result is at most ``limit`` characters)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head + " ")]
    if ends and ends[-1] >= limit // 2:
        return head[:ends[-1]]
    space = head.rfind(" ")  # a word ends before it; the cut plus '…' stays within the limit
    cut = head[:space] if space > 0 else head[:limit - 1]
    return cut.rstrip(" ,;:-") + "…"


def format_usd(amount: float) -> str:
    """Two decimals (half up) from one cent up; below that, as many as it needs (never exponent notation)."""
    from decimal import ROUND_HALF_UP

    if amount < 0:
        return "-" + format_usd(-amount)
    exact = Decimal(str(amount))
    if exact >= Decimal("0.01") or exact == 0:
        return f"${exact.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    return "$" + f"{exact:f}".rstrip("0").rstrip(".")


def format_tokens(count: float) -> str:
    """'1.05M', '128K', '512' (thousands rounded to whole K, millions to two decimals)."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    if count >= 1000:
        return f"{round(count / 1000)}K"
    return str(int(count))


def format_pattern(pattern: str, values: tuple) -> str:
    """``pattern`` with each ``{}`` replaced in order; null -> '', whole floats without '.0'."""
    parts = pattern.split("{}")
    shown = [_shown_value(v) for v in values] + [""] * max(0, len(parts) - 1 - len(values))
    return "".join(part + (shown[i] if i < len(parts) - 1 else "") for i, part in enumerate(parts))


def _shown_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def function_table() -> list[tuple[str, str, str]]:
    """(name, signature, description) of every custom function, sorted by name."""
    rows = []
    for name, spec in RinsyncFunctions.FUNCTION_TABLE.items():
        if name in jp_functions.Functions.FUNCTION_TABLE:
            continue
        args = ", ".join("|".join(arg["types"]) or "any" for arg in spec["signature"])
        doc = (spec["function"].__doc__ or "").strip().splitlines()[0]
        rows.append((name, f"{name}({args})", doc))
    return sorted(rows)


FUNCTION_NAMES = frozenset(RinsyncFunctions.FUNCTION_TABLE)


@dataclass(frozen=True)
class ExprProblem:
    """A static problem in an expression, at a character offset inside it."""

    offset: int
    code: str
    message: str
    hint: str | None = None


def check(expression: str) -> ExprProblem | None:
    """Parse an expression and check function names, arities and literal regexes."""
    if not isinstance(expression, str) or not expression.strip():
        return ExprProblem(0, "jmespath-empty", "expression is empty", "write a JMESPath expression")
    try:
        parsed = jmespath.compile(expression)
    except jp_errors.LexerError as exc:
        return ExprProblem(exc.lexer_position or 0, "jmespath-syntax", _lexer_message(exc),
                           "check quotes: strings are 'single-quoted', literals `backticked`")
    except jp_errors.ParseError as exc:
        return ExprProblem(_clamp(exc.lex_position, expression), "jmespath-syntax", _parse_message(exc),
                           "see https://jmespath.org/specification.html")
    except jp_errors.JMESPathError as exc:
        return ExprProblem(0, "jmespath-syntax", str(exc).splitlines()[0])
    return _check_functions(parsed.parsed, expression) or _check_growth(parsed.parsed)


def _check_growth(tree: dict) -> ExprProblem | None:
    from ..limits import MAX_EXPRESSION_GROWTH
    from .exprcost import growth

    _, peak = growth(tree)
    if peak <= MAX_EXPRESSION_GROWTH:
        return None
    return ExprProblem(0, "jmespath-growth", f"the expression can multiply a record's size by up to {peak:,} "
                       f"(limit {MAX_EXPRESSION_GROWTH:,}): its work cannot be bounded",
                       "do not pipe multi-selects such as [@, @] into each other")


def _clamp(position: int | None, expression: str) -> int:
    return min(max(position or 0, 0), len(expression))


def _lexer_message(exc: jp_errors.LexerError) -> str:
    return f"invalid token {exc.lexer_value!r}: {exc.message}"


def _parse_message(exc: jp_errors.ParseError) -> str:
    if isinstance(exc, jp_errors.IncompleteExpressionError):
        return "incomplete expression"
    value = exc.token_value
    shown = "end of expression" if exc.token_type == "eof" else repr(value)
    return f"unexpected {shown} ({exc.msg.lower()})" if exc.msg else f"unexpected {shown}"


def _function_offsets(expression: str) -> dict[str, list[int]]:
    """Offsets of each name used as a function call (identifier followed by '(')."""
    offsets: dict[str, list[int]] = {}
    tokens = list(Lexer().tokenize(expression))
    for current, following in zip(tokens, tokens[1:]):
        if current["type"] == "unquoted_identifier" and following["type"] == "lparen":
            offsets.setdefault(current["value"], []).append(current["start"])
    return offsets


def _check_functions(tree: dict, expression: str) -> ExprProblem | None:
    offsets = _function_offsets(expression)
    for node in _walk(tree):
        if node.get("type") in ("subexpression", "index_expression") and \
                node["children"][0].get("type") == "not_expression":
            where = expression.find("!")
            return ExprProblem(max(where, 0), "jmespath-not-precedence",
                               "'!a.b' negates 'a' and then reads '.b' from the result, which is always null",
                               "write '!(a.b)'")
        if node.get("type") != "function_expression":
            continue
        name, argc = node["value"], len(node["children"])
        where = offsets.get(name, [0])[0]
        spec = RinsyncFunctions.FUNCTION_TABLE.get(name)
        if spec is None:
            close = _closest(name)
            hint = f"did you mean {close}()?" if close else "run 'rinsync functions' to list them"
            return ExprProblem(where, "jmespath-unknown-function", f"unknown function {name}()", hint)
        problem = _arity_problem(name, argc, spec["signature"])
        if problem:
            return ExprProblem(where, "jmespath-arity", problem, f"usage: {_usage(name)}")
        if name == "score" and argc == 2 and node["children"][1].get("type") == "literal" and \
                node["children"][1]["value"] not in _scores.SCORE_NAMES:
            return ExprProblem(where, "score-name", f"unknown score {node['children'][1]['value']!r}",
                               f"use one of: {', '.join(_scores.SCORE_NAMES)}")
        if name == "regex_match" and argc == 2 and node["children"][1].get("type") == "literal":
            pattern = node["children"][1]["value"]
            if isinstance(pattern, str):
                from .regex import RegexProblem, compile_pattern

                try:
                    compile_pattern(pattern)
                except RegexProblem as exc:
                    return ExprProblem(where, exc.code, exc.message, exc.hint)
    return None


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for child in node.get("children", []):
            yield from _walk(child)


def _arity_problem(name: str, argc: int, signature: list[dict]) -> str | None:
    variadic = bool(signature) and signature[-1].get("variadic")
    expected = len(signature)
    if variadic and argc < expected:
        return f"{name}() takes at least {expected} argument(s), got {argc}"
    if not variadic and argc != expected:
        return f"{name}() takes {expected} argument(s), got {argc}"
    return None


def _usage(name: str) -> str:
    spec = RinsyncFunctions.FUNCTION_TABLE[name]["signature"]
    return f"{name}(" + ", ".join("|".join(arg["types"]) or "any" for arg in spec) + ")"


def _closest(name: str) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, sorted(FUNCTION_NAMES), n=1, cutoff=0.75)
    return matches[0] if matches else None


class CompiledExpression:
    """One expression, parsed and turned into closures once."""

    __slots__ = ("text", "parsed", "search")

    def __init__(self, text: str, parsed, search):
        self.text, self.parsed, self.search = text, parsed, search


class Evaluator:
    """Evaluates compiled expressions with rinsync's functions for one compile date."""

    def __init__(self, today: _dt.date):
        from jmespath.visitor import TreeInterpreter

        from .jpfast import ClosureCompiler

        self.options = jmespath.Options(custom_functions=RinsyncFunctions(today))
        self._closures = ClosureCompiler(TreeInterpreter(self.options))
        self._compiled: dict[str, CompiledExpression] = {}

    def use_catalog(self, records: list[dict]) -> CatalogIndex:
        """Build the index the catalog-aware functions read (once per compile) and return it."""
        index = CatalogIndex(records)
        self.options.custom_functions.catalog = index
        self.options.custom_functions.catalog_records = records
        return index

    def compile(self, expression: str) -> CompiledExpression:
        """Compile once; later calls with the same text reuse the compiled expression."""
        compiled = self._compiled.get(expression)
        if compiled is None:
            parsed = jmespath.compile(expression)
            compiled = CompiledExpression(expression, parsed, self._closures.compile(parsed.parsed))
            self._compiled[expression] = compiled
        return compiled

    def search(self, compiled: CompiledExpression, record: dict) -> Any:
        return compiled.search(record)


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string/array/object are false."""
    return not (value is None or value is False or value == "" or value == [] or value == {})
