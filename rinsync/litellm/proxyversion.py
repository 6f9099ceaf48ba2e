"""Which LiteLLM a proxy runs, and which billing rule that version applies to rinsync's written prices.

LiteLLM reports its version as ``litellm_version`` in the detailed readiness payload
(``proxy/health_endpoints/_health_endpoints.py``, ``_get_health_readiness_details``): always on the
authenticated ``GET /health/readiness/details``, and on the public ``GET /health/readiness`` only when
``general_settings.allow_public_health_readiness_details`` is set. :func:`read_version` asks the first,
then the second, each with a short timeout, a total deadline and a size cap; it never raises.

The billing rule (``cost_calculator.response_cost_calculator``): up to 1.106.x a reply's
``usage.cost`` (OpenRouter's billed USD) wins over the prices in the config; from 1.108.0 a plain reply
to a deployment with prices of its own (custom pricing) is charged from those prices, while a streamed
reply is still charged ``usage.cost`` (measured on 1.108.7, docs/pricing.md); entries without prices
are charged ``usage.cost`` on every version. :data:`TESTED_VERSIONS` are the releases CI runs the integration tests on
(``ci/install-integration.sh`` installs exactly these); a proxy outside that range gets a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The LiteLLM releases CI tests against (oldest, newest): ci/install-integration.sh reads them from here.
TESTED_VERSIONS: tuple[str, ...] = ("1.106.2", "1.108.7")
# From this release a written (custom) price wins over OpenRouter's usage.cost.
WRITTEN_PRICES_WIN_FROM = (1, 108, 0)

DEFAULT_TIMEOUT = 3.0  # seconds per request; the two requests end within twice this
MAX_BYTES = 64 * 1024  # the readiness payload is a few hundred bytes
PATHS = ("/health/readiness/details", "/health/readiness")
_VERSION = re.compile(r"(\d{1,4})\.(\d{1,4})\.(\d{1,6})(?:[.\-+a-zA-Z0-9]{0,20})")

USAGE_COST_WINS = "OpenRouter's usage.cost wins over written prices"
WRITTEN_WINS = "written prices win over OpenRouter's usage.cost, except on streamed replies"


def parse(version: object) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of a version string such as ``1.108.7`` (or ``1.108.7.post1``), else None."""
    if not isinstance(version, str):
        return None
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def billing_rule(version: tuple[int, int, int]) -> str:
    """What a LiteLLM of ``version`` charges for a reply carrying ``usage.cost`` to an entry with prices."""
    return WRITTEN_WINS if version >= WRITTEN_PRICES_WIN_FROM else USAGE_COST_WINS


@dataclass(frozen=True)
class ProxyVersion:
    """A proxy's LiteLLM version (``None``: unknown, with ``reason``)."""

    version: str | None
    reason: str = ""

    def line(self) -> str:
        """``LiteLLM 1.108.7 (written prices win over OpenRouter's usage.cost)``."""
        parsed = parse(self.version)
        if parsed is None:
            why = f": {self.reason}" if self.reason else ""
            return f"LiteLLM version unknown{why} (billing rule unknown: see docs/pricing.md)"
        return f"LiteLLM {self.version} ({billing_rule(parsed)})"

    def warning(self) -> str | None:
        """One line when the version is outside the range CI tests, else None."""
        parsed = parse(self.version)
        if parsed is None:
            return None
        low, high = parse(TESTED_VERSIONS[0]), parse(TESTED_VERSIONS[-1])
        assert low is not None and high is not None
        if low <= parsed <= high:
            return None
        side = "older" if parsed < low else "newer"
        return (f"warning: LiteLLM {self.version} is {side} than the versions rinsync's CI tests "
                f"({', '.join(TESTED_VERSIONS)}); its billing rule and API are assumed, not tested")

    def lines(self) -> list[str]:
        warning = self.warning()
        return [self.line()] + ([warning] if warning else [])


def _get_json(url: str, key: str | None, timeout: float) -> tuple[int, object]:
    """One bounded GET through rinsync's HTTP client: ``(status, parsed JSON or None)``.

    The exchange ends within ``timeout`` seconds however slowly the proxy answers, at most
    :data:`MAX_BYTES` are read, and the key goes only where :mod:`rinsync.httpclient` lets a secret go.
    Raises :class:`rinsync.httpclient.HttpError` when the exchange fails.
    """
    from ..httpclient import HttpClient, HttpError, Secret
    from ..redact import Redactor

    client = HttpClient(Redactor([key]), total=timeout, exchange=timeout, connect=min(timeout, 5.0), read=timeout,
                        max_bytes=MAX_BYTES, secret=Secret(key, "LITELLM_MASTER_KEY") if key else None)
    answer = client.get(url)
    try:
        return answer.status, answer.json()
    except HttpError:  # not JSON, or JSON rinsync refuses (depth, size): no version in it
        return answer.status, None


def read_version(proxy_url: str, key: str | None, timeout: float = DEFAULT_TIMEOUT) -> ProxyVersion:
    """The LiteLLM version the proxy at ``proxy_url`` reports; never raises, never shows the key."""
    from .verify import base_url

    url = base_url(proxy_url)
    reason = "the proxy did not report it"
    for path in PATHS:
        try:
            status, body = _get_json(url + path, key, timeout)
        except Exception as exc:  # noqa: BLE001 -- the version is informative: no failure may stop a sync
            reason = f"GET {path} failed ({getattr(exc, 'kind', None) or type(exc).__name__})"
            continue
        version = body.get("litellm_version") if isinstance(body, dict) else None
        if status == 200 and parse(version) is not None:
            return ProxyVersion(str(version).strip())
        if status != 200:
            reason = f"GET {path} answered HTTP {status}"
        elif version is not None:
            reason = f"GET {path} reported a version that is not one ({len(str(version))} characters)"
    return ProxyVersion(None, reason)
