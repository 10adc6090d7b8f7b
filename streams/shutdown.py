"""Ending open streams when the server is asked to stop (SIGINT/SIGTERM).

An SSE response lasts until its client leaves, so a server's graceful
shutdown would wait for every open stream, or cancel them mid-write. Cutting
them (an ASGI ``http.disconnect`` the client never sent) left each response
incomplete: the server logged ``ASGI callable returned without completing
response`` per stream, and clients saw a chunked body without its end, on
which some (aiohttp-sse-client2) give up instead of reconnecting. Instead, on
SIGINT/SIGTERM every open stream is woken and ends its response as usual,
with the last chunk, and the server's own handler then stops it; clients
reconnect with their Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_stop_signals(callback: Callable[[], None]) -> None:
    """Run ``callback`` on SIGINT/SIGTERM, then the handler that was there before.

    Chains onto the server's own handlers; only the main thread may install
    handlers, so elsewhere this does nothing. ``callback`` runs in a signal
    handler: it must only set flags or schedule work.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)

        def handler(received: int, frame: Any, previous: Any = previous) -> None:
            callback()
            if callable(previous):
                previous(received, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(received, signal.SIG_DFL)
                signal.raise_signal(received)

        signal.signal(signum, handler)


class StreamShutdown:
    """Set once this process is asked to stop; every open stream then ends, cleanly.

    Streams register a wake-up (their listener's thread-safe wake) while they
    are open and check ``requested`` whenever they wake.
    """

    def __init__(self) -> None:
        self.requested = False
        self._lock = threading.Lock()
        self._wakers: set[Callable[[], None]] = set()

    def watch(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._wakers.add(wake)
        if self.requested:
            wake()

    def unwatch(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._wakers.discard(wake)

    def request(self) -> None:
        """End every open stream (and any that opens from now on)."""
        self.requested = True
        with self._lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake()


stream_shutdown = StreamShutdown()


class EndStreamsOnShutdown:
    """ASGI middleware: on SIGINT/SIGTERM, open streams end their responses (``stream_shutdown``)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._installed = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "http" and not self._installed:
            self._installed = True
            loop = asyncio.get_running_loop()

            def end_streams() -> None:
                # In a signal handler: take no lock here, let the loop do it.
                loop.call_soon_threadsafe(stream_shutdown.request)

            on_stop_signals(end_streams)
        return await self.app(scope, receive, send)
