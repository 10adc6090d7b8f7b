"""Serving SSE streams: django-eventstream's storage and listeners, with a stream loop of our own.

django-eventstream 5.3.4 stores every event (``DjangoModelStorage``), keeps one
listener per open stream (``ListenerManager``, which the Redis supervision
feeds in the scaled mode), and encodes events in its SSE format; all of that
is used as it is. Its stream loop (``views.stream``) and request parsing
(``EventRequest``) are replaced here, for what they got wrong:

- a stream started with 200 before its first read, so a database that was
  down, or a malformed cursor (``market-BTC:abc``, a 5,000-digit id), gave a
  200 with no event that clients retried for ever; here the cursor is checked
  (``streams.cursors``) and the first read done before the answer: a
  malformed cursor is a 400, a database that is down a 503 with
  ``Retry-After``;
- ``?recover=true`` without a GRIP proxy was a 500 (the library reads
  ``request.grip``); here it is a GRIP proxy's parameter, ignored elsewhere;
- on shutdown streams were cut mid-response; here each ends its response
  cleanly (``streams.shutdown``), so clients see a complete body and reconnect;
- a live event that overtook or repeated what a read returned was resent; here
  live events are delivered by id: repeats are skipped, and a gap makes the
  stream re-read storage from its cursor instead of re-reading after every
  event that arrived during a read;
- between events a stream waits in the event loop and holds no thread; its
  reads run on a few reader threads shared by every stream, each keeping its
  database connection (``EXCHANGE_STREAM_THREADS``), and its other sync
  parts on the lanes of ``streams.admission``;
- each event was encoded again for every client it went to; here a live
  event's lines are encoded once and only each client's ``id:`` line is
  written per client (``streams.encoding``).

Replays. The library's ``get_events`` (still used for reads, and by the GRIP
path) re-read from the cursor a client connected with, so events went out
twice, and a client without a cursor was re-read from "now", skipping what
arrived meanwhile. ``correct_stream_reads`` wraps it so that the request's
cursor follows what each read returned.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import jwt
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django_eventstream import eventstream
from django_eventstream.eventrequest import EventRequest
from django_eventstream.eventresponse import EventResponse
from django_eventstream.utils import add_default_headers, sse_encode_error, sse_encode_event
from django_eventstream.views import Listener, events, get_listener_manager

from streams.admission import RETRY_AFTER, admission_of
from streams.cursors import MalformedCursor, parse_cursor, requested_cursor
from streams.encoding import encode_event, make_id
from streams.shutdown import stream_shutdown
from web.errors import database_error_response, error_response

logger = logging.getLogger(__name__)

# django-eventstream's wire format: 2 KiB of padding first (proxies and old
# browsers buffer small bodies), then ``stream-open``.
OPENING = ":" + " " * 2048 + "\n\nevent: stream-open\ndata:\n\n"
KEEP_ALIVE = "event: keep-alive\ndata:\n\n"
# Seconds of silence before a keep-alive; the SSE client (streams.client) reads with a 45 s timeout.
KEEP_ALIVE_SECONDS = 20.0

View = TypeVar("View", bound=Callable[..., Any])


def stream_view(view: View) -> View:
    """Mark ``view`` as an SSE stream: ``streams.admission`` runs it on a lane and counts it."""
    view.serves_stream = True  # type: ignore[attr-defined]
    return view


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


_readers: ThreadPoolExecutor | None = None
_readers_lock = threading.Lock()


def _reader_threads() -> ThreadPoolExecutor:
    """The threads that read stored events for every stream of this process.

    Apart from the lanes (``streams.admission``): no request signal runs
    here, so each thread keeps its database connection from read to read
    instead of reconnecting for every stream that opens.
    """
    global _readers
    with _readers_lock:
        if _readers is None:
            _readers = ThreadPoolExecutor(
                max_workers=settings.EXCHANGE_STREAM_THREADS, thread_name_prefix="stream-reads"
            )
        return _readers


def _read_stored(event_request: EventRequest) -> EventResponse:
    try:
        return eventstream.get_events(event_request, user=event_request.user)
    except OperationalError:
        # Leave no broken connection behind for this thread's next read.
        connection.close()
        raise


async def _read(event_request: EventRequest) -> EventResponse:
    """Stored events after the request's cursor, read on one of the reader threads."""
    return await sync_to_async(_read_stored, thread_sensitive=False, executor=_reader_threads())(
        event_request
    )


def _encode_read(response: EventResponse) -> str:
    """A read's events in django-eventstream's format, each with the cursor after it as its id."""
    cursor = dict(response.channel_last_ids)
    body = ""
    if response.channel_reset:
        body += sse_encode_event(
            "stream-reset",
            {"channels": sorted(response.channel_reset)},
            event_id=make_id(cursor),
            json_encode=True,
        )
    for channel, items in response.channel_items.items():
        for item in items:
            cursor[channel] = item.id
            body += encode_event(item, make_id(cursor))
    return body


def _encode_live(items_by_channel: dict[str, list[Any]], cursor: dict[str, Any]) -> tuple[str, bool]:
    """Queued live events that follow ``cursor`` (advancing it); and whether one showed a gap.

    An event at or before the cursor was already sent (a read returned it
    before it was announced); one beyond the next id means events are missing
    here, and the caller re-reads storage, which returns them in order.
    """
    body = ""
    gap = False
    for channel, items in items_by_channel.items():
        for item in items:
            if item.id is not None and channel in cursor:
                current, last = int(item.id), int(cursor[channel])
                if current <= last:
                    continue
                if current > last + 1:
                    gap = True
                    break
            if item.id is not None:
                cursor[channel] = str(item.id)
            body += encode_event(item, make_id(cursor) if cursor else None)
    return body, gap


class _Subscription:
    """One stream's listener in django-eventstream's manager, registered before its first read.

    Registered first, as the library does, so that nothing published during
    the first read is missed and a new client's events come in the order they
    were published. Removed exactly once: when the stream ends, when the
    request fails before it starts, or, for a response dropped unstarted (a
    client that left while the answer was on its way), once it is collected.
    """

    def __init__(self, channels: set[str]) -> None:
        self.manager = get_listener_manager()
        self.listener = listener = Listener()
        listener.user_id = "anonymous"
        listener.channels = channels
        listener.assign_loop()
        self.loop = listener.loop
        self._open = True
        # A task the manager starts here (the Redis subscriber) outlives this
        # request: it must not inherit the request's thread-sensitive context.
        contextvars.Context().run(self.manager.add_listener, listener)
        stream_shutdown.watch(listener.wake_threadsafe)

    def close(self) -> None:
        if self._open:
            self._open = False
            stream_shutdown.unwatch(self.listener.wake_threadsafe)
            self.manager.remove_listener(self.listener)

    def close_soon(self) -> None:
        """``close`` on the stream's loop: safe from a finalizer, which may run anywhere."""
        if self._open and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.close)


async def _stream(
    event_request: EventRequest, first: EventResponse, subscription: _Subscription
) -> AsyncIterator[str]:
    """One client's stream after its first read: live events, re-reads, keep-alives, a clean end."""
    manager, listener = subscription.manager, subscription.listener
    cursor = event_request.channel_last_ids
    try:
        yield OPENING + _encode_read(first)
        reread = bool(first.channel_more)
        while not stream_shutdown.requested:
            if reread:
                try:
                    response = await _read(event_request)
                except OperationalError as exc:
                    logger.warning("a stream ends: its stored events cannot be read (%s)", exc)
                    return
                body = _encode_read(response)
                if body:
                    yield body
                # More than one read's worth (the library's limit): read on.
                reread = bool(response.channel_more)
                continue
            try:
                async with asyncio.timeout(KEEP_ALIVE_SECONDS):
                    await listener.aevent.wait()
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            with manager.lock:
                items, overflow, error = listener.channel_items, listener.overflow, listener.error
                listener.channel_items, listener.overflow = {}, False
                listener.aevent.clear()
            body, gap = _encode_live(items, cursor)
            if error:
                yield body + sse_encode_error(error["condition"], error["text"], extra=error.get("extra"))
                return
            if body:
                yield body
            # Overflow: the listener's queue was full and dropped events.
            reread = overflow or gap
    finally:
        subscription.close()


def proxied_reader(request: HttpRequest) -> str | None:
    """Whom a GRIP proxy's follow-up request reads as: the reader its signed ``es-meta`` names.

    The proxy follows the stream's next link (more stored events than one
    read) and asks again to recover after a gap, without the client's
    headers, so a private stream's follow-up carries no token: the link's
    ``es-meta``, which this server signed (the secret key, an hour's expiry)
    when it answered the authenticated first request, says who it was. None
    for a request that is not a proxy's follow-up or whose ``es-meta`` does
    not verify.
    """
    grip = getattr(request, "grip", None)
    meta = request.GET.get("es-meta")
    if grip is None or not grip.proxied or not meta:
        return None
    try:
        claims = jwt.decode(meta, settings.SECRET_KEY.encode("utf-8"), algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return None
    reader = claims.get("user")
    return reader if isinstance(reader, str) else None


def _grip_response(request: HttpRequest, channels: list[str], reader: Any = None) -> HttpResponse:
    """django-eventstream's answer to a GRIP proxy (Pushpin holds the stream, not this process)."""
    if reader is not None:
        # The library takes the reader from the request's user for its channel check.
        request.user = reader
        # On a proxy's follow-up request (``link=next``, ``recover=true``) the
        # library would take the reader and the channels from ``es-meta`` and
        # look the reader up as a Django user, which a token's reader is not.
        # The view has named the reader (from ``proxied_reader``) and the channels.
        query = request.GET.copy()
        query.pop("es-meta", None)
        request.GET = query  # type: ignore[assignment]  # a copy: the request's own is immutable
    try:
        return events(request, channels=channels)  # type: ignore[no-any-return]
    except (jwt.InvalidTokenError, ValueError, KeyError, ObjectDoesNotExist) as exc:
        # A tampered or expired ``es-meta`` (or its user gone), or a proxy's cursor that is not a number.
        return error_response(400, "invalid_cursor", f"This stream request cannot be served: {exc}.")


async def serve_stream(request: HttpRequest, channels: list[str], *, reader: Any = None) -> HttpResponseBase:
    """The SSE stream of ``channels`` for this request, or the JSON error that refuses it.

    ``reader`` is whom the channel manager's ``can_read_channel`` sees reading
    (None: anonymous, for public channels).
    """
    wanted = set(channels)
    raw_cursor = requested_cursor(request)
    try:
        last_ids = parse_cursor(raw_cursor, channels=wanted) if raw_cursor else {}
    except MalformedCursor as exc:
        return error_response(400, "invalid_cursor", f"Cannot resume from this Last-Event-ID: {exc}.")
    grip = getattr(request, "grip", None)
    if grip is not None and grip.proxied:
        try:
            return await sync_to_async(_grip_response)(request, channels, reader)
        except OperationalError as exc:
            return database_error_response(exc)
    refusal = admission_of(request).refusal
    if refusal is not None:
        return error_response(
            503,
            "too_many_streams",
            f"Too many open streams: {refusal}.",
            headers={"Retry-After": RETRY_AFTER},
        )
    event_request = EventRequest()
    event_request.channels = wanted
    event_request.channel_last_ids = last_ids
    event_request.is_next = False
    event_request.user = reader
    subscription = _Subscription(wanted)
    try:
        first = await _read(event_request)
    except OperationalError as exc:
        subscription.close()
        return database_error_response(exc)
    except BaseException:
        subscription.close()
        raise
    response = StreamingHttpResponse(
        _stream(event_request, first, subscription), content_type="text/event-stream"
    )
    weakref.finalize(response, subscription.close_soon)
    add_default_headers(response, request=request)
    return response
