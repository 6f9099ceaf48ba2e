"""Regular expressions of rules, run on upstream text in linear time (RE2), never by backtracking.

``regex_match(id, '(a+)+$')`` with Python's ``re`` takes exponential time on a hostile id; RE2 (the
``google-re2`` package) guarantees time linear in the text and bounded memory per pattern, and refuses
the features that cannot be bounded (backreferences, lookahead and lookbehind). Such a pattern is an
error with a located finding in ``rinsync lint`` and when rules load; a pattern computed at run time is
checked when it is first used.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..limits import MAX_REGEX_MEMORY


class RegexProblem(ValueError):
    """A pattern that cannot be used; ``code`` is the lint finding's code, ``hint`` its fix."""

    def __init__(self, message: str, code: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.code, self.hint = message, code, hint


def _options():
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own copy of the message to stderr
    options.max_mem = MAX_REGEX_MEMORY
    return options


@lru_cache(maxsize=256)
def compile_pattern(pattern: str):
    """The compiled RE2 pattern; raises :class:`RegexProblem` with a one-line reason."""
    try:
        import re2
    except ImportError:  # an install from before google-re2 became a dependency
        raise RegexProblem("regex_match needs the google-re2 package, which is not installed",
                           "regex-engine", "run pip install -e . (or pip install google-re2)") from None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RegexProblem(f"invalid regular expression {pattern!r}: {exc}", "regex-syntax") from None
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        raise RegexProblem(f"regular expression {pattern!r} cannot run in linear time ({reason}); "
                           "lookaround and backreferences are not supported", "regex-unbounded",
                           "rewrite it without lookaround or backreferences (RE2 syntax)") from None


def search(pattern: str, text: str) -> bool:
    """True when ``pattern`` matches anywhere in ``text`` (linear time)."""
    return compile_pattern(pattern).search(text) is not None
