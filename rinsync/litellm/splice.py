"""Re-emit only the generated entries of a config's ``model_list``: every other byte stays as written.

Hand-written entries are copied as text, with their comments, anchors, aliases and merge keys; the
generated entries are dumped at the list's own indentation; a UTF-8 byte-order mark is kept. The caller
parses the result back and compares it with the intended document (see ``configfile.render``), so a
layout this module does not understand falls back to a full dump, never to a wrong file.
"""

from __future__ import annotations

import re

import yaml

from ..output import dump_yaml

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BOM = "\ufeff"


def splice(raw: bytes, model_list: list, entries: list, is_generated) -> bytes | None:
    """``raw`` with its ``model_list`` block replaced by ``entries``; None when that cannot be done as text.

    ``model_list``: the entries as read from ``raw`` (the hand-written ones among ``entries`` are the same
    objects, which is how their text is found).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    bom = BOM if text.startswith(BOM) else ""
    text = text[len(bom):]
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if root is None:
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "model_list":
            if key.start_mark.column != 0:
                return None
            block = _block(text, key, value, model_list, entries, is_generated)
            if block is None:
                block = _newlines(dump_yaml({"model_list": entries}), text)
            end = _line_end(text, _last_index(value))
            return (bom + text[:key.start_mark.index] + block + text[end:]).encode("utf-8")
    separator = "" if not text or text.endswith("\n") else _newlines("\n", text)
    return (bom + text + separator + _newlines(dump_yaml({"model_list": entries}), text)).encode("utf-8")


def _newlines(dumped: str, text: str) -> str:
    """``dumped`` with the file's line endings (a CRLF file stays CRLF)."""
    return dumped.replace("\n", "\r\n") if "\r\n" in text else dumped


def _block(text: str, key: yaml.Node, value: yaml.Node, model_list: list, entries: list,
           is_generated) -> str | None:
    """The new ``model_list:`` block keeping hand-written items verbatim; None for the plain dump."""
    if not isinstance(value, yaml.SequenceNode) or value.flow_style or not value.value \
            or len(value.value) != len(model_list):
        return None
    starts = []
    indent = None
    for node in value.value:
        line_start = text.rfind("\n", 0, node.start_mark.index) + 1
        dash = re.fullmatch(r"( *)- +", text[line_start:node.start_mark.index])
        if dash is None or (indent is not None and dash.group(1) != indent):
            return None
        indent = dash.group(1)
        starts.append(line_start)
    ends = starts[1:] + [_line_end(text, _last_index(value))]
    items = {id(entry): text[start:end] for entry, start, end in zip(model_list, starts, ends, strict=True)}
    newline = "\r\n" if "\r\n" in text else "\n"
    head = text[key.start_mark.index:starts[0]]
    out = [head]
    generated = []
    for entry in entries:
        verbatim = items.get(id(entry)) if not is_generated(entry) else None
        if verbatim is not None:
            if generated:
                out.append(_dump_items(generated, indent, newline))
                generated = []
            out.append(verbatim if verbatim.endswith("\n") else verbatim + newline)
        else:
            generated.append(entry)
    if generated:
        out.append(_dump_items(generated, indent, newline))
    if len(out) == 1:  # an empty list
        return None
    return "".join(out)


def _dump_items(entries: list, indent: str, newline: str = "\n") -> str:
    text = dump_yaml(entries)
    return "".join((indent + line if line.strip() else line).replace("\n", newline)
                   for line in text.splitlines(keepends=True))


def _last_index(node: yaml.Node) -> int:
    """Where the node's own text ends (a block collection's end mark runs on over trailing comments)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False) or not node.value:
        return node.end_mark.index
    last = node.value[-1]
    return _last_index(last[1] if isinstance(last, tuple) else last)


def _line_end(text: str, index: int) -> int:
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1
