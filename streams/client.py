"""A resilient reader of one SSE stream, shared by the market's feed and the bots.

It is the only place that opens SSE connections with requests and sseclient-py.
It connects with the last event id it was given or has seen (header
``Last-Event-ID``), reconnects with capped, jittered backoff, and advances its
cursor only once the consumer asks for the next event, so an event whose
processing failed is read again after a reconnect.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import sseclient

logger = logging.getLogger(__name__)

# Events django-eventstream sends for the connection itself, not for clients.
CONTROL_EVENTS = frozenset({"stream-open", "keep-alive"})
# Above django-eventstream's 20 s keep-alive interval, so a live idle stream
# never times out while a dead one is noticed.
READ_TIMEOUT = 45.0
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class StreamEvent:
    """One event read from a stream: its type, raw data and id (the cursor)."""

    event: str
    data: str
    id: str | None


class StreamError(Exception):
    """The server refused the stream in a way that retrying will not fix."""


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter; ``reset`` after success."""

    initial: float = 0.25
    cap: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.initial * (2**self.attempt))
        self.attempt += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


Opener = Callable[[str, dict[str, str], dict[str, str]], requests.Response]


def open_stream(url: str, params: dict[str, str], headers: dict[str, str]) -> requests.Response:
    response = requests.get(
        url,
        params=params,
        headers={"Accept": "text/event-stream", **headers},
        stream=True,
        timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
    )
    return response


def _interrupt(response: requests.Response) -> None:
    """Wake a thread blocked reading ``response``: closing a socket does not
    interrupt a ``recv`` in progress on Linux, shutting it down does. The
    reading thread then closes the response itself."""
    sock: Any = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# The ends of an SSE event: a blank line after any of the three line endings.
EVENT_ENDS = (b"\r\n\r\n", b"\n\n", b"\r\r")


def complete_events(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes of a stream up to the end of its last complete event.

    A connection that drops in the middle of an event leaves its start
    behind; the SSE specification says to discard it, but sseclient-py
    dispatches it at the end of the stream, with a cut id that would become
    the cursor (and a resume from a cursor that does not exist).
    """
    pending = b""
    for chunk in chunks:
        pending += chunk
        end = max((pending.rfind(mark) + len(mark) for mark in EVENT_ENDS if mark in pending), default=0)
        if end:
            yield pending[:end]
            pending = pending[end:]
    if pending.strip():
        logger.warning("stream ended in the middle of an event; its %d bytes are dropped", len(pending))


class StreamReader:
    """Iterate the events of one SSE stream for as long as ``stop`` is unset."""

    def __init__(
        self,
        url: str,
        *,
        cursor: str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        stop: threading.Event | None = None,
        backoff: Backoff | None = None,
        opener: Opener = open_stream,
        name: str = "stream",
    ) -> None:
        self.url = url
        self.cursor = cursor
        self.params = params or {}
        self.headers = headers or {}
        self.stop = stop or threading.Event()
        self.backoff = backoff or Backoff()
        self.opener = opener
        self.name = name
        self.connected = False
        self._response: requests.Response | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop reading, from any thread; the iterator ends promptly."""
        self.stop.set()
        with self._lock:
            if self._response is not None:
                _interrupt(self._response)

    def events(self) -> Iterator[StreamEvent]:
        """Domain events (and ``stream-reset``), across reconnections."""
        while not self.stop.is_set():
            try:
                yield from self._read_once()
            except StreamError:
                raise
            except Exception as exc:
                if self.stop.is_set():
                    # Whatever a read interrupted by ``close`` raised.
                    break
                if not isinstance(exc, requests.RequestException | OSError | ValueError):
                    raise
                self._lost(f"{exc.__class__.__name__}: {exc}")
            else:
                if not self.stop.is_set():
                    self._lost("the server closed the stream")
            finally:
                self.connected = False
            if not self.stop.is_set():
                self.stop.wait(self.backoff.next_delay())

    def _lost(self, why: str) -> None:
        logger.warning("%s: connection lost (%s); reconnecting from %s", self.name, why, self.cursor or "now")

    def _read_once(self) -> Iterator[StreamEvent]:
        from streams.admission import internal_stream_headers

        headers = {**internal_stream_headers(self.url), **self.headers}
        if self.cursor:
            headers["Last-Event-ID"] = self.cursor
        response = self.opener(self.url, self.params, headers)
        with self._lock:
            self._response = response
        try:
            if self.stop.is_set():
                return
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                raise StreamError(f"{self.url} answered {response.status_code}: {response.text[:200]}")
            response.raise_for_status()
            self.connected = True
            chunks = complete_events(response.iter_content(chunk_size=None))
            for raw in sseclient.SSEClient(chunks).events():
                if self.stop.is_set():
                    return
                if raw.event in CONTROL_EVENTS:
                    self.backoff.reset()
                    continue
                if raw.event == "stream-error":
                    # Its id is the literal "error": never resume from it.
                    raise requests.ConnectionError(f"stream error from server: {raw.data}")
                event = StreamEvent(event=raw.event, data=raw.data, id=raw.id)
                yield event
                # Reached only when the consumer asks for the next event, that
                # is, after it has handled this one.
                if event.id:
                    self.cursor = event.id
                self.backoff.reset()
        finally:
            with self._lock:
                self._response = None
            response.close()
