"""Numbers the operator gives on the command line or in ``RINSYNC_*`` variables: finite, in range, or exit 2.

``nan`` passes every bound check (every comparison with it is false) and ``inf`` makes a timeout endless or a
fraction meaningless, so every numeric option uses :class:`FiniteFloat` and every ``RINSYNC_*`` number read
outside click uses :func:`env_number`: one check, one message. Imports only click (start-up time matters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import click


class FiniteFloat(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan``, ``inf`` and ``1e999`` (a usage error, exit 2).

    When the value came from the option's environment variable, the message names the variable.
    """

    name = "finite float"

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx) if not isinstance(value, float) else value
        if not math.isfinite(number):
            self.fail(f"{_shown(value)} is not a finite number{_from_env(param, ctx)}", param, ctx)
        try:
            return super().convert(number, param, ctx)
        except click.BadParameter as exc:
            exc.message += _from_env(param, ctx)
            raise


def _shown(value) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _from_env(param, ctx) -> str:
    """`` (from RINSYNC_X)`` when the parameter's value was read from its environment variable."""
    if param is None or ctx is None or not getattr(param, "envvar", None):
        return ""
    try:
        source = ctx.get_parameter_source(param.name)
    except (AttributeError, TypeError):
        return ""
    if source is not None and source.name == "ENVIRONMENT":
        envvar = param.envvar if isinstance(param.envvar, str) else param.envvar[0]
        return f" (from {envvar})"
    return ""


class OptionValueError(click.UsageError):
    """A ``RINSYNC_*`` number that is not a finite number in range (exit 2, one line)."""


def env_number(name: str, default: float, minimum: float = 0.0, environ: Mapping[str, str] | None = None) -> float:
    """``float(environ[name])`` when set and not blank, else ``default``; refuses nan, inf and values below
    ``minimum`` with one line naming the variable (:class:`OptionValueError`, exit 2)."""
    import os

    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise OptionValueError(f"{name}={_shown(raw)} is not a number") from None
    if not math.isfinite(value):
        raise OptionValueError(f"{name}={_shown(raw)} is not a finite number")
    if value < minimum:
        raise OptionValueError(f"{name}={_shown(raw)} must be at least {minimum:g}")
    return value
