"""Bounded YAML: refuse alias bombs, deep nesting and recursive aliases before anything builds a tree.

PyYAML shares an aliased node instead of copying it, so loading a "billion laughs" file is cheap; the
cost comes later, from anything that walks the values (a comparison, a deep copy, a dump, a schema
check), and libyaml's composer crashes the process on nesting a few ten thousand levels deep. So every
YAML text is first streamed through libyaml's parser (a state machine, no recursion): the nesting depth
and the number of nodes *after expanding every alias* are counted in one linear pass, and a text past
:data:`~rinsync.limits.MAX_YAML_NODES` or :data:`~rinsync.limits.MAX_YAML_DEPTH` is refused with the
line where the limit was crossed.

Newer libyaml builds (PyYAML 6.0.4 on) refuse very deep flow nesting themselves while scanning ahead,
before the parser hands over the event that would cross rinsync's limit. Which message a user sees must
not depend on the PyYAML they happen to have: when the parser refuses a text, rinsync's own count of
flow nesting up to that point decides, and a text nested past the limit gets rinsync's refusal.
"""

from __future__ import annotations

from typing import Any

import yaml

from .limits import MAX_YAML_DEPTH, MAX_YAML_NODES

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class YamlLimitError(yaml.YAMLError):
    """A YAML text past a documented bound; ``problem`` and ``problem_mark`` as PyYAML's own errors."""

    def __init__(self, problem: str, mark=None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.context = None
        self.context_mark = None

    def __str__(self) -> str:
        where = f" (line {self.problem_mark.line + 1})" if self.problem_mark is not None else ""
        return f"{self.problem}{where}"


class _Mark:
    """A position in a text, shaped as PyYAML's marks (0-based line and column)."""

    def __init__(self, line: int, column: int):
        self.line = line
        self.column = column


def _flow_depth_crossing(text: str | bytes, end: int, max_depth: int) -> _Mark | None:
    """Where flow collections (``[``, ``{``) in ``text[:end]`` first nest deeper than ``max_depth``, or None.

    A lexical count: quoted scalars and comments are skipped, every other bracket counts. It is asked
    only about a text the parser already refused, so it decides the wording, never whether a text loads.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = line = column = 0
    quote = ""
    comment = False
    previous = "\n"
    for char in text[: end + 1]:
        if char == "\n":
            line, column, comment = line + 1, 0, False
            previous = char
            continue
        if comment:
            pass
        elif quote:
            if char == quote and previous != "\\":
                quote = ""
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return _Mark(line, column)
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
        column += 1
    return None


def check(text: str | bytes, max_nodes: int = MAX_YAML_NODES, max_depth: int = MAX_YAML_DEPTH) -> None:
    """Raise :class:`YamlLimitError` (or PyYAML's own error for bad syntax) when ``text`` is out of bounds."""
    try:
        _check_events(text, max_nodes, max_depth)
    except YamlLimitError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        end = getattr(mark, "index", None)
        crossing = _flow_depth_crossing(text, len(text) if end is None else end, max_depth)
        if crossing is not None:
            raise YamlLimitError(f"nested more than {max_depth} levels deep", crossing) from None
        raise


def _check_events(text: str | bytes, max_nodes: int, max_depth: int) -> None:
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for
    stack: list[list] = []  # open collections: [anchor, nodes so far]
    total = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _CLOSE):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
            continue
        if isinstance(event, yaml.AliasEvent):
            added = sizes.get(event.anchor, 0)
            if not added:  # undefined, or inside its own anchor: PyYAML would build a cycle
                raise YamlLimitError(f"alias *{event.anchor} refers to an anchor that is not complete "
                                     "(a recursive alias)", event.start_mark)
        elif isinstance(event, _OPEN):
            if len(stack) >= max_depth:
                raise YamlLimitError(f"nested more than {max_depth} levels deep", event.start_mark)
            added = 1
        elif isinstance(event, yaml.ScalarEvent):
            added = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        total += added
        if total > max_nodes:
            raise YamlLimitError(f"more than {max_nodes:,} values once its aliases are expanded "
                                 "(an alias bomb?)", event.start_mark)
        if isinstance(event, _OPEN):
            stack.append([event.anchor, 1])
        elif stack:
            stack[-1][1] += added


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load`` (libyaml when present) of a text that passed :func:`check`."""
    check(text)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def safe_compose(text: str | bytes) -> yaml.Node | None:
    """``yaml.compose`` of a text that passed :func:`check`."""
    check(text)
    return yaml.compose(text, Loader=_Loader)
