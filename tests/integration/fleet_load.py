"""Helpers of the fleet tests and the fleet benchmark: load spread over replicas, replicas started together."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

from load import GunicornProxy, Load

from support import SHARED

CATALOG = SHARED / "catalogs" / "openrouter-models-2026-08-19.json"


class RoundRobin(Load):
    """The load of test_apply_proxy.py, each request to the next replica in turn."""

    @property
    def url(self) -> str:
        with self._turn:
            return next(self._urls)

    @url.setter
    def url(self, urls: list[str]) -> None:
        self._turn = threading.Lock()
        self._urls = itertools.cycle(urls)


def cut(tmp: Path, name: str, start: int, end: int) -> Path:
    """Records [start:end) of one real capture as a catalog file: the smallest catalogs that show a change."""
    data = json.loads(CATALOG.read_bytes())
    path = tmp / name
    path.write_text(json.dumps({**data, "data": data["data"][start:end]}))
    return path


def start_all(proxies: list[GunicornProxy]) -> None:
    """Start the replicas side by side (each start waits for its readiness)."""
    errors: list[BaseException] = []

    def start(proxy: GunicornProxy) -> None:
        try:
            proxy.start()
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in proxies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
