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
    """``raw`` with its ``model_list`` block replaced by ``entries``; None when that cannot be done as text
    (:func:`layout_problem` says why).

    ``model_list``: the entries as read from ``raw`` (the hand-written ones among ``entries`` are the same
    objects, which is how their text is found). A generated entry that does not change and holds a comment
    is kept as written; the comment lines that follow a rewritten one stay after it.
    """
    parsed = _parse(raw)
    if isinstance(parsed, str):
        return None
    bom, text, root = parsed
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "model_list":
            if key.start_mark.column != 0:
                return None
            block = _block(text, key, value, model_list, entries, is_generated)
            if block is None:
                block = _with_line_comment(_newlines(dump_yaml({"model_list": entries}), text), text, value)
            end = _line_end(text, _last_index(value))
            return (bom + text[:key.start_mark.index] + block + text[end:]).encode("utf-8")
    separator = "" if not text or text.endswith("\n") else _newlines("\n", text)
    return (bom + text + separator + _newlines(dump_yaml({"model_list": entries}), text)).encode("utf-8")


def layout_problem(raw: bytes) -> str:
    """Why ``raw``'s model_list cannot be rewritten as text, in words for the operator."""
    parsed = _parse(raw)
    if isinstance(parsed, str):
        return parsed
    _, text, root = parsed
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "model_list":
            if key.start_mark.column != 0:
                return "its model_list key is indented"
            if isinstance(value, yaml.SequenceNode) and value.flow_style and "\n" in \
                    text[value.start_mark.index:value.end_mark.index]:
                return "its model_list is a flow sequence ([...]) over several lines"
            if _aliased_outside(text, value):
                return "an anchor inside model_list is used elsewhere in the file"
            return "its model_list has a layout rinsync cannot rewrite line by line"
    return "its layout cannot be rewritten line by line"


def _parse(raw: bytes) -> tuple[str, str, yaml.MappingNode] | str:
    """(BOM, text, root mapping node), or why the text cannot be spliced."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8"
    bom = BOM if text.startswith(BOM) else ""
    text = text[len(bom):]
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return "it is not plain YAML"
    if root is None:
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode):
        return "its top level is not a mapping"
    if root.flow_style:
        return "its top level is a flow mapping ({...})"
    return bom, text, root


def _aliased_outside(text: str, value: yaml.Node) -> bool:
    """An anchor defined inside ``value`` whose name is used as an alias outside it."""
    end = _line_end(text, _last_index(value))
    inside, outside = text[value.start_mark.index:end], text[:value.start_mark.index] + text[end:]
    return any(re.search(r"\*" + re.escape(name) + r"(?![^\s,\]}])", outside)
               for name in re.findall(r"&([^\s,\[\]{}]+)", inside))


def _with_line_comment(block: str, text: str, value: yaml.Node) -> str:
    """The dumped block, keeping a comment that followed a flow or empty model_list on its line."""
    if not (isinstance(value, yaml.ScalarNode) or getattr(value, "flow_style", False)):
        return block  # a block collection's comments are in the text kept after it
    end = value.end_mark.index
    line_end = text.find("\n", end)
    rest = text[end:len(text) if line_end < 0 else line_end].rstrip("\r")
    if not rest.strip().startswith("#") or not (rest[:1].isspace()):
        return block
    first, newline, others = block.partition("\n")
    return first.rstrip("\r") + rest + ("\r" if first.endswith("\r") else "") + newline + others


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
    old_generated = {entry.get("model_name"): (entry, text[start:end], _line_end(text, _last_index(node)) - start)
                     for entry, node, start, end in zip(model_list, value.value, starts, ends, strict=True)
                     if isinstance(entry, dict) and is_generated(entry)}
    newline = "\r\n" if "\r\n" in text else "\n"
    head = text[key.start_mark.index:starts[0]]
    out = [head]
    generated: list = []

    def flush() -> None:
        if generated:
            out.append(_dump_items(generated, indent, newline))
            generated.clear()

    for entry in entries:
        verbatim = items.get(id(entry)) if not is_generated(entry) else _unchanged(old_generated, entry)
        if verbatim is not None:
            flush()
            out.append(verbatim if verbatim.endswith("\n") else verbatim + newline)
            continue
        generated.append(entry)
        trailing = _trailing_comments(old_generated, entry)
        if trailing:
            flush()
            out.append(trailing)
    flush()
    if len(out) == 1:  # an empty list
        return None
    return "".join(out)


def _unchanged(old_generated: dict, entry) -> str | None:
    """The old text of a generated entry that holds a comment and does not change (its dump is the same)."""
    old = old_generated.get(entry.get("model_name")) if isinstance(entry, dict) else None
    if old is None or "#" not in old[1] or dump_yaml(old[0]) != dump_yaml(entry):
        return None
    return old[1]


def _trailing_comments(old_generated: dict, entry) -> str:
    """The comment and blank lines after a rewritten generated entry's own text (they stay after it)."""
    old = old_generated.get(entry.get("model_name")) if isinstance(entry, dict) else None
    if old is None:
        return ""
    rest = old[1][old[2]:]
    return rest if rest.strip().startswith("#") else ""


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


def item_spans(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) in the decoded text (BOM removed) of each item of a block ``model_list``; [] otherwise."""
    parsed = _parse(raw)
    if isinstance(parsed, str):
        return []
    _, text, root = parsed
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "model_list" and isinstance(value, yaml.SequenceNode):
            starts = [text.rfind("\n", 0, node.start_mark.index) + 1 for node in value.value]
            return list(zip(starts, starts[1:] + [_line_end(text, _last_index(value))], strict=True))
    return []
