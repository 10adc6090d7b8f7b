"""Serving SSE streams with django-eventstream: two corrections to version 5.3.4.

Replays. When an event arrives while a stream reads stored events, the stream
reads storage again, but from the cursor the client connected with, not from
the events it has just sent: those go out twice. A client that connected
without a cursor is re-read from "now", which skips what arrived meanwhile:
such a client can lose the events published between its connection and its
first wait (see ``docs/streams.md``). ``install`` wraps the library's
``get_events`` so the request's cursor follows what each read returned.

Connections. django-eventstream reads stored events when a client connects (and when a slow
client overflowed); in between, events reach it from memory. Django keeps the
request's database connection open until the response ends, which for a stream
is hours: on PostgreSQL every open stream would hold a server connection. The
connection is closed once the first read is sent and reopens only if needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django_eventstream import eventstream
from django_eventstream.views import events


def _advancing(get_events: Any) -> Any:
    def get_events_and_advance(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = get_events(request, *args, **kwargs)
        for channel, last_id in response.channel_last_ids.items():
            items = response.channel_items.get(channel)
            request.channel_last_ids[channel] = items[-1].id if items else last_id
        return response

    get_events_and_advance.advances_cursor = True  # type: ignore[attr-defined]
    return get_events_and_advance


def correct_stream_reads() -> None:
    """Make every stream's re-read continue after what it already sent (idempotent)."""
    if not getattr(eventstream.get_events, "advances_cursor", False):
        eventstream.get_events = _advancing(eventstream.get_events)


async def _release_database_after_first_chunk(content: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    released = False
    async for chunk in content:
        yield chunk
        if not released:
            released = True
            # Runs in the request's own sync thread, where the stream's reads ran.
            await sync_to_async(connections.close_all)()


def serve_stream(request: HttpRequest, channels: Iterable[str]) -> HttpResponse:
    """django-eventstream's stream of ``channels`` for this request."""
    response = events(request, channels=list(channels))
    if isinstance(response, StreamingHttpResponse) and response.is_async:
        response.streaming_content = _release_database_after_first_chunk(response.streaming_content)  # type: ignore[arg-type]
    return response
