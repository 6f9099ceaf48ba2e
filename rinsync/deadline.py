"""A wall-clock deadline for a whole fetch, however slowly the server sends its bytes.

Socket timeouts bound each ``recv``, not the sum of them: a server that sends its headers or body one
byte a second keeps every read inside the timeout forever. :class:`Watchdog` is a timer that, when the
deadline passes, shuts down every socket the fetch opened; the blocked read then returns at once and the
fetch fails. :func:`watched_session` is a ``requests`` session whose connections register their sockets
with the watchdog as soon as they exist (before TLS, before the first byte of the answer).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Watchdog:
    """Shuts down the watched sockets at ``time.monotonic() >= deadline``; ``expired`` says it fired."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def watched_session(watchdog: Watchdog):
    """A ``requests.Session`` whose HTTP and HTTPS connections report their sockets to ``watchdog``."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Plain(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            watchdog.watch(sock)
            return sock

    class Secure(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            watchdog.watch(sock)
            return sock

    class PlainPool(HTTPConnectionPool):
        ConnectionCls = Plain

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = Secure

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": PlainPool, "https": SecurePool}

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS has its own pool classes: bounded per read only
                manager.pool_classes_by_scheme = {"http": PlainPool, "https": SecurePool}
            return manager

    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, Adapter())
    return session
