"""Requests run on threads that outlive them, not on a thread made for each.

Django's ASGI handler enters a fresh ``ThreadSensitiveContext`` per request,
and asgiref makes that context a new single-thread executor: every request
started an OS thread for its sync parts (the middleware, the view, the request
signals), then a second thread to join the first, and opened a database
connection on it. Measured on ``/healthz`` (benchmarks/hot_paths.py, py-spy):
about a fifth of the server's time went to starting and joining those threads.

``RequestLanes`` gives each request a thread of its own from a set that is
kept: a request takes a free single-thread executor ("lane") and gives it back
when it ends, so two requests never share a thread (a slow one cannot hold up
another) and a request's sync parts still run on one thread, as Django
expects. Lanes are made on demand up to ``EXCHANGE_REQUEST_THREADS``; a
request that finds none free gets a thread made for it, as Django would, and
that thread's database connections are closed as the request ends. Streams are
not taken here: ``streams.admission`` runs them on lanes shared between them.

A lane's thread keeps its database connection between requests when
``CONN_MAX_AGE`` allows (settings.py), so connections are bounded by the lanes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.db import connections

from streams.admission import SCOPE_KEY as STREAM_SCOPE_KEY


class LanePool:
    """Single-thread executors, each lent to one request at a time.

    Taken and given back only on the event loop's thread, so it needs no lock.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.made = 0
        self._free: list[ThreadPoolExecutor] = []

    def take(self) -> ThreadPoolExecutor | None:
        if self._free:
            return self._free.pop()
        if self.made >= self.limit:
            return None
        self.made += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-lane-{self.made}")

    def give_back(self, lane: ThreadPoolExecutor) -> None:
        self._free.append(lane)


class RequestLanes:
    """ASGI middleware in front of Django: a non-stream request runs on a lent lane.

    Streams go to ``app``; every other request to ``requests`` (by default
    ``app`` too), which exchange_site/asgi.py makes the sync-chain handler.
    """

    def __init__(self, app: Callable[..., Any], requests: Callable[..., Any] | None = None) -> None:
        self.app = app
        self.requests = requests or app
        self._pool: LanePool | None = None

    @property
    def pool(self) -> LanePool:
        if self._pool is None:
            self._pool = LanePool(settings.EXCHANGE_REQUEST_THREADS)
        return self._pool

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "http" or STREAM_SCOPE_KEY in scope:
            return await self.app(scope, receive, send)
        app = self.requests
        lane = self.pool.take()
        kept = lane is not None
        if lane is None:
            lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-extra")
        try:
            # Django's own per-request context, entered inside, defers to this one.
            async with ThreadSensitiveContext(executor=lane):
                return await app(scope, receive, send)
        finally:
            if kept:
                self.pool.give_back(lane)
            else:
                # A kept connection would outlive its thread: close it there, then let the thread end.
                await asyncio.wrap_future(lane.submit(connections.close_all))
                lane.shutdown(wait=False)
