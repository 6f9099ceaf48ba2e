"""Load YAML with a source map: the line and column of every value, duplicate keys rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import Finding
from ..limits import MAX_YAML_BYTES, read_regular
from ..yamlguard import YamlLimitError
from ..yamlguard import check as check_bounds

try:  # libyaml's C composer when present
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

@dataclass
class SourceMap:
    """Where each value of a loaded document stands in its file (1-based line and column)."""

    file: str
    values: dict[tuple, yaml.Node] = field(default_factory=dict)
    keys: dict[tuple, yaml.Node] = field(default_factory=dict)

    def where(self, path: tuple, *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value at ``path`` (or its key); the closest parent if absent."""
        probe = tuple(path)
        node = self.keys.get(probe) if key else None
        while node is None:
            node = self.values.get(probe)
            if node is None and not probe:
                return 1, 1
            probe = probe[:-1]
        return node.start_mark.line + 1, node.start_mark.column + 1

    def finding(self, path: tuple, code: str, message: str, *, key: bool = False,
                hint: str | None = None, severity: str = "error") -> Finding:
        line, col = self.where(path, key=key)
        return Finding(self.file, line, col, code, message, severity, hint)

    def scalar_position(self, path: tuple, offset: int) -> tuple[int, int]:
        """Line and column of character ``offset`` inside the string scalar at ``path``."""
        node = self.values.get(tuple(path))
        if not isinstance(node, yaml.ScalarNode):
            return self.where(path)
        lines = getattr(node, "_rinsync_lines", None)
        if lines:
            return _multiline_position(lines, offset)
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if node.style in ("'", '"'):
            col += 1
        return line, col + offset


def _multiline_position(lines: list[tuple[int, int, str]], offset: int) -> tuple[int, int]:
    """Map an offset inside a scalar that spans several lines to the file position.

    Block scalars ('|', '>') and multi-line plain scalars join their content lines with one
    character ('\\n' or ' '), so walking the raw lines, each counted with one separator, finds
    the line and the column.
    """
    consumed = 0
    for line, col0, text in lines:
        if offset <= consumed + len(text):
            return line, col0 + offset - consumed + 1
        consumed += len(text) + 1
    line, col0, _ = lines[-1]
    return line, col0 + 1


class _Composer:
    """Turns a node tree into Python values while recording every node's position."""

    def __init__(self, file: str, text: str):
        self.map = SourceMap(file)
        self.findings: list[Finding] = []
        self.lines = text.splitlines()
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: tuple) -> Any:
        self.map.values[path] = node
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        if node.style in ("|", ">"):
            node._rinsync_lines = self._block_lines(node)  # type: ignore[attr-defined]
        elif not node.style and node.end_mark.line > node.start_mark.line:  # plain ("" from libyaml)
            node._rinsync_lines = self._plain_lines(node)  # type: ignore[attr-defined]
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:  # e.g. an impossible date such as 2026-13-01
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            self.findings.append(Finding(self.map.file, line, col, "yaml-value",
                                         f"cannot read value {node.value!r}: {str(exc).splitlines()[0]}",
                                         hint="quote it to make it a string"))
            return node.value

    def _mapping(self, node: yaml.MappingNode, path: tuple) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                self.findings.append(Finding(self.map.file, line, col, "yaml-merge-key",
                                             "YAML merge keys (<<) are not supported in rules files",
                                             hint="write the keys out, or use defaults/overrides"))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                self.findings.append(Finding(self.map.file, line, col, "yaml-key",
                                             "mapping keys must be plain strings"))
                continue
            key = self.constructor.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key_node.value)
            if key in result:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                first = self.map.keys[path + (key,)].start_mark.line + 1
                self.findings.append(Finding(self.map.file, line, col, "duplicate-key",
                                             f"duplicate key '{key}' (first defined on line {first})",
                                             hint="remove or rename one of them"))
                continue
            self.map.keys[path + (key,)] = key_node
            result[key] = self.build(value_node, path + (key,))
        return result

    def _block_lines(self, node: yaml.ScalarNode) -> list[tuple[int, int, str]]:
        """(line, indentation, text) of each content line of a block scalar."""
        first = node.start_mark.line + 1  # 0-based index of the first content line
        raw = self.lines[first: node.end_mark.line + 1]
        indents = [len(line) - len(line.lstrip(" ")) for line in raw if line.strip()]
        indent = min(indents) if indents else 0
        return [(first + 1 + number, indent, line[indent:]) for number, line in enumerate(raw)]

    def _plain_lines(self, node: yaml.ScalarNode) -> list[tuple[int, int, str]]:
        """(line, column, text) of each line of a plain scalar folded over several lines."""
        start, end = node.start_mark, node.end_mark
        result = []
        for index in range(start.line, end.line + 1):
            raw = self.lines[index] if index < len(self.lines) else ""
            if index == end.line:
                raw = raw[: end.column]
            col0 = start.column if index == start.line else len(raw) - len(raw.lstrip())
            text = raw[col0:].rstrip()
            if text:
                result.append((index + 1, col0, text))
        return result


@dataclass
class LoadedYaml:
    data: Any
    source: SourceMap
    findings: list[Finding]


def read_text(path: Path, display: str) -> tuple[str | None, list[Finding]]:
    """Read a file as UTF-8 text; binary or undecodable files give a finding."""
    try:
        raw = read_regular(path, MAX_YAML_BYTES)
    except OSError as exc:
        return None, [Finding(display, 1, 1, "unreadable", f"cannot read file: {exc.strerror}")]
    if b"\x00" in raw:
        return None, [Finding(display, 1, 1, "not-text", "file is not text (it contains NUL bytes)",
                              hint="rules files are UTF-8 YAML")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Finding(display, line, col, "not-text", "file is not valid UTF-8 text",
                              hint="save the file as UTF-8")]


def load_yaml(text: str, display: str) -> LoadedYaml:
    """Parse one YAML document with positions; syntax errors become findings."""
    try:
        check_bounds(text)
    except YamlLimitError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return LoadedYaml(None, SourceMap(display), [
            Finding(display, line, col, "yaml-limit", f"refused: {exc.problem}",
                    hint="write the values out instead of nesting aliases (docs/security.md)")])
    except yaml.YAMLError:
        pass  # the syntax error is reported below, with its position
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        return LoadedYaml(None, SourceMap(display), [
            Finding(display, line, col, "yaml-syntax", f"{problem}{context}",
                    hint="check indentation and quoting; quote expressions containing ': ' or '#'")])
    except yaml.YAMLError as exc:
        return LoadedYaml(None, SourceMap(display), [Finding(display, 1, 1, "yaml-syntax", str(exc))])
    composer = _Composer(display, text)
    if not nodes or nodes[0] is None:
        return LoadedYaml(None, composer.map, [Finding(display, 1, 1, "empty-file", "file has no content",
                                                       hint="a rules file starts with 'version: 1'")])
    if len(nodes) > 1:
        second = nodes[1]
        line = second.start_mark.line + 1 if second is not None else 1
        composer.findings.append(Finding(display, line, 1, "yaml-multiple-documents",
                                         "a rules file holds one YAML document",
                                         hint="split the documents into separate files"))
    data = composer.build(nodes[0], ())
    return LoadedYaml(data, composer.map, composer.findings)
