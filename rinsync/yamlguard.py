"""Bounded YAML: refuse alias bombs, deep nesting and recursive aliases before anything builds a tree.

PyYAML shares an aliased node instead of copying it, so loading a "billion laughs" file is cheap; the
cost comes later, from anything that walks the values (a comparison, a deep copy, a dump, a schema
check), and libyaml's composer crashes the process on nesting a few ten thousand levels deep. So every
YAML text is first streamed through libyaml's parser (a state machine, no recursion): the nesting depth
and the number of nodes *after expanding every alias* are counted in one linear pass, and a text past
:data:`~rinsync.limits.MAX_YAML_NODES` or :data:`~rinsync.limits.MAX_YAML_DEPTH` is refused with the
line where the limit was crossed.
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


def check(text: str | bytes, max_nodes: int = MAX_YAML_NODES, max_depth: int = MAX_YAML_DEPTH) -> None:
    """Raise :class:`YamlLimitError` (or PyYAML's own error for bad syntax) when ``text`` is out of bounds."""
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
