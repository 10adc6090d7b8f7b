"""Requests on kept threads (``web.request_lanes``) and the sync middleware chain (``web.sync_handler``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from unittest import mock

import asgiref.sync
import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from streams.admission import SCOPE_KEY
from web import request_lanes
from web.request_lanes import LanePool, RequestLanes
from web.sync_handler import SyncChainASGIHandler

seen: dict[str, int] = {}


def record_thread(get_response: Any) -> Any:
    def middleware(request: HttpRequest) -> HttpResponse:
        seen["middleware"] = threading.get_ident()
        return get_response(request)

    return middleware


def view(request: HttpRequest) -> HttpResponse:
    seen["view"] = threading.get_ident()
    return HttpResponse(str(threading.get_ident()))


async def async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(await sync_to_async(threading.get_ident)()))


urlpatterns = [path("here", view), path("async", async_view)]


def http_scope(**extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/here",
        "raw_path": b"/here",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        **extra,
    }


async def call(app: Any, scope: dict[str, Any] | None = None) -> int:
    """One request through ``app``; the thread id the view answered."""
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope or http_scope(), receive, send)
    return int(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


SETTINGS = override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[f"{__name__}.record_thread"])


def test_a_lane_is_lent_to_one_request_at_a_time_and_kept() -> None:
    pool = LanePool(limit=2)
    first, second = pool.take(), pool.take()
    assert first is not None
    assert second is not None
    assert first is not second
    assert pool.take() is None  # both lent, the limit reached
    pool.give_back(first)
    assert pool.take() is first
    assert pool.made == 2


@SETTINGS
def test_requests_one_after_another_run_on_the_same_kept_thread() -> None:
    lanes = RequestLanes(ASGIHandler(), SyncChainASGIHandler())

    async def main() -> list[int]:
        return [await call(lanes) for _ in range(3)]

    threads = asyncio.run(main())
    assert len(set(threads)) == 1
    assert threads[0] != threading.get_ident()
    assert seen["middleware"] == seen["view"] == threads[0]


gate = threading.Barrier(2, timeout=10)


def both_inside(get_response: Any) -> Any:
    def middleware(request: HttpRequest) -> HttpResponse:
        gate.wait()  # each request waits here for the other: on one shared thread they would never meet
        return get_response(request)

    return middleware


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[f"{__name__}.both_inside"])
def test_concurrent_requests_get_threads_of_their_own() -> None:
    lanes = RequestLanes(ASGIHandler(), SyncChainASGIHandler())

    async def main() -> list[int]:
        return list(await asyncio.gather(call(lanes), call(lanes)))

    threads = asyncio.run(main())
    assert len(set(threads)) == 2
    assert lanes.pool.made == 2


@SETTINGS
@override_settings(EXCHANGE_REQUEST_THREADS=0)
def test_a_request_beyond_the_lanes_closes_its_connections_on_its_own_thread() -> None:
    closed_on: list[int] = []
    lanes = RequestLanes(ASGIHandler(), SyncChainASGIHandler())

    def close_all() -> None:
        closed_on.append(threading.get_ident())

    with mock.patch.object(request_lanes.connections, "close_all", close_all):
        thread = asyncio.run(call(lanes))
    assert closed_on == [thread]


@SETTINGS
def test_a_stream_request_is_left_to_the_stream_lanes() -> None:
    streams = mock.AsyncMock()
    lanes = RequestLanes(streams, SyncChainASGIHandler())

    asyncio.run(lanes(http_scope(**{SCOPE_KEY: object()}), mock.AsyncMock(), mock.AsyncMock()))
    streams.assert_awaited_once()
    assert lanes.pool.made == 0


@SETTINGS
@pytest.mark.parametrize(("handler", "crossings"), [(ASGIHandler, 1), (SyncChainASGIHandler, 0)])
def test_the_sync_chain_never_crosses_back_to_the_loop_between_middleware_and_view(
    handler: type[ASGIHandler], crossings: int
) -> None:
    """Django's own handler goes back to the event loop under a sync middleware (``async_to_sync``)."""
    original = asgiref.sync.AsyncToSync.__call__
    calls: list[object] = []

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.awaitable)
        return original(self, *args, **kwargs)

    app = handler()
    with mock.patch.object(asgiref.sync.AsyncToSync, "__call__", counting):
        asyncio.run(call(RequestLanes(app)))
    assert len(calls) == crossings
    assert seen["middleware"] == seen["view"]


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[f"{__name__}.record_thread"])
def test_an_async_view_still_answers_through_the_sync_chain() -> None:
    seen.pop("view", None)
    scope = http_scope(path="/async", raw_path=b"/async")
    answered_on = asyncio.run(call(RequestLanes(SyncChainASGIHandler()), scope))
    # The sync view never ran; the async one answered, its sync part on the request's lane.
    assert "view" not in seen
    assert answered_on == seen["middleware"]
