"""The comments of a YAML text, to prove a rewrite of the operator's config keeps every one of them.

Comments are the operator's data, and no YAML parser hands them back: they are found here as the ``#``
characters that lie outside every token YAML's scanner reports (so a ``#`` inside a quoted or block scalar,
a plain ``a#b`` or a tag is not one) and start the text or follow a space, a tab or a line break.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass

import yaml

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Comment:
    line: int  # 1-based
    index: int  # of the '#'
    text: str  # from '#' to the end of its line, without the line break


def comments(text: str) -> list[Comment]:
    """Every comment of ``text`` in order; [] for a text without ``#`` or one YAML cannot scan."""
    if "#" not in text:
        return []
    starts: list[int] = []
    ends: list[int] = []
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if token.end_mark.index > token.start_mark.index:
                starts.append(token.start_mark.index)
                ends.append(token.end_mark.index)
    except yaml.YAMLError:
        return []
    found = []
    position = text.find("#")
    while position >= 0:
        if position == 0 or text[position - 1] in " \t\r\n\ufeff":
            inside = bisect.bisect_right(starts, position) - 1
            if inside < 0 or ends[inside] <= position:
                end = text.find("\n", position)
                end = len(text) if end < 0 else end
                found.append(Comment(text.count("\n", 0, position) + 1, position,
                                     text[position:end].rstrip("\r")))
                position = end
        position = text.find("#", position + 1)
    return found


def lost_comments(old: str, new: str) -> list[Comment]:
    """The comments of ``old`` that ``new`` does not hold (by text, each as often as it occurs)."""
    if "#" not in old:
        return []
    remaining = Counter(comment.text.strip() for comment in comments(new))
    lost = []
    for comment in comments(old):
        key = comment.text.strip()
        if remaining[key]:
            remaining[key] -= 1
        else:
            lost.append(comment)
    return lost


def within(found: list[Comment], start: int, end: int) -> list[Comment]:
    """The comments whose ``#`` lies in ``text[start:end]``."""
    return [comment for comment in found if start <= comment.index < end]
