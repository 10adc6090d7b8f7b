"""Admitting SSE streams: a bounded set of threads for all of them, and limits on how many.

Threads. Django's ASGI handler runs every request in its own
``ThreadSensitiveContext``: the sync parts of a request (the
``request_started``/``request_finished`` receivers, sync middleware, database
reads) run on a thread of that request's own, created on first use and kept
until the response ends. For a stream that is hours, so every open stream held
a thread, and the database connection that thread opened: 1,000 streams made
1,018 threads, and 300 streams on PostgreSQL took all its connections.
``StreamAdmission`` runs each stream request in a context bound to one of a
few shared single-thread executors ("lanes", ``EXCHANGE_STREAM_THREADS``): a
stream's sync parts still run on one thread, as Django expects, but the
threads, and their database connections, are as many as the lanes whatever
the number of streams. Between those short calls a stream holds no thread: it
waits in the event loop.

Limits. ``EXCHANGE_STREAMS_MAX`` open streams per serving process and
``EXCHANGE_STREAMS_PER_CLIENT`` per client (its bearer token if it sends one,
else its IP address); ``0`` lifts a limit. A stream is counted for exactly as
long as its request runs. Over a limit the stream view answers 503
``too_many_streams`` with ``Retry-After`` before any stream starts. The
server's own streams are exempt: the embedded engine's feeds read this
server's source streams over loopback, and a flood of clients must not keep
them from reconnecting. ``streams.client`` marks them with a header derived
from the secret key (``internal_stream_headers``), sent only to loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve

# Where the decision travels from the ASGI middleware to the view.
SCOPE_KEY = "streams.admission"
# Seconds a refused client should wait before it tries again.
RETRY_AFTER = "5"
# Marks the server's own streams (see the module's docstring).
INTERNAL_HEADER = "X-Exchange-Internal-Stream"


def _internal_token() -> str:
    return hmac.new(settings.SECRET_KEY.encode(), b"streams.admission: internal stream", "sha256").hexdigest()


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def internal_stream_headers(url: str) -> dict[str, str]:
    """The header that exempts a stream of this deployment's own from the limits; only to loopback."""
    if not settings.configured or not _is_loopback(urlsplit(url).hostname):
        return {}
    return {INTERNAL_HEADER: _internal_token()}


def is_internal(scope: dict[str, Any]) -> bool:
    client = scope.get("client")
    if not client or not _is_loopback(client[0]):
        return False
    wanted = INTERNAL_HEADER.lower().encode()
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return hmac.compare_digest(value.decode("latin-1"), _internal_token())
    return False


def serves_stream(view: Callable[..., Any]) -> bool:
    """Whether ``view`` is an SSE stream view (``streams.serving.stream_view``)."""
    return bool(getattr(view, "serves_stream", False))


@dataclass(frozen=True)
class Admission:
    """What ``StreamAdmission`` decided for one stream request: ``refusal`` is None when admitted."""

    refusal: str | None = None


def admission_of(request: HttpRequest) -> Admission:
    """The decision for this request; admitted when no ``StreamAdmission`` served it (tests)."""
    scope = getattr(request, "scope", None) or {}
    admission = scope.get(SCOPE_KEY)
    return admission if isinstance(admission, Admission) else Admission()


def client_of(scope: dict[str, Any]) -> str:
    """Who a request counts against: its bearer token (hashed), else its IP address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class StreamCounts:
    """Open streams of this process, in total and per client, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_client: dict[str, int] = {}

    def acquire(self, client: str, *, total_limit: int, client_limit: int) -> str | None:
        """Count one more stream of ``client``, or return why it is refused (and count nothing)."""
        with self._lock:
            if total_limit and self.total >= total_limit:
                return f"this server already serves {self.total} streams, its limit"
            held = self.by_client.get(client, 0)
            if client_limit and held >= client_limit:
                return f"this client already has {held} open streams, the limit per client"
            self.total += 1
            self.by_client[client] = held + 1
            return None

    def release(self, client: str) -> None:
        with self._lock:
            self.total -= 1
            held = self.by_client[client] - 1
            if held:
                self.by_client[client] = held
            else:
                del self.by_client[client]


class Lanes:
    """A few single-thread executors shared by every stream, handed out in turn."""

    def __init__(self, count: int) -> None:
        self.executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stream-lane-{n}") for n in range(count)
        ]
        self._next = itertools.cycle(self.executors)
        self._lock = threading.Lock()

    def next(self) -> ThreadPoolExecutor:
        with self._lock:
            return next(self._next)


class StreamAdmission:
    """ASGI middleware in front of Django: stream requests run on shared lanes and are counted."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.counts = StreamCounts()
        self._lanes: Lanes | None = None
        self._lanes_lock = threading.Lock()

    @property
    def lanes(self) -> Lanes:
        if self._lanes is None:
            with self._lanes_lock:
                if self._lanes is None:
                    self._lanes = Lanes(settings.EXCHANGE_STREAM_THREADS)
        return self._lanes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "http" or not self._is_stream(scope):
            return await self.app(scope, receive, send)
        client = client_of(scope)
        counted = not is_internal(scope)
        refusal = None
        if counted:
            refusal = self.counts.acquire(
                client,
                total_limit=settings.EXCHANGE_STREAMS_MAX,
                client_limit=settings.EXCHANGE_STREAMS_PER_CLIENT,
            )
        scope = {**scope, SCOPE_KEY: Admission(refusal)}
        try:
            # Django's own per-request context, entered inside, defers to this one.
            async with ThreadSensitiveContext(executor=self.lanes.next()):
                return await self.app(scope, receive, send)
        finally:
            if counted and refusal is None:
                self.counts.release(client)

    @staticmethod
    def _is_stream(scope: dict[str, Any]) -> bool:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        try:
            return serves_stream(resolve(path).func)
        except Resolver404:
            return False
