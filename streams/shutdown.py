"""Ending open streams when the server is asked to stop (SIGINT/SIGTERM).

An SSE response lasts until its client leaves, so a server's graceful shutdown
would wait for every open stream, or cancel them mid-write. On SIGINT/SIGTERM
every open request is told its client disconnected: streams end at once, and
the server's own handler then stops it as usual.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
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


class EndStreamsOnShutdown:
    """ASGI middleware: on SIGINT/SIGTERM, open HTTP requests receive ``http.disconnect``."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.shutting_down: asyncio.Event | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "http":
            if self.shutting_down is None:
                shutting_down = self.shutting_down = asyncio.Event()
                loop = asyncio.get_running_loop()

                def end_streams() -> None:
                    loop.call_soon_threadsafe(shutting_down.set)

                on_stop_signals(end_streams)
            receive = self._until_shutdown(receive, self.shutting_down)
        return await self.app(scope, receive, send)

    @staticmethod
    def _until_shutdown(
        receive: Callable[[], Awaitable[dict[str, Any]]], shutting_down: asyncio.Event
    ) -> Callable[..., Any]:
        async def receive_or_disconnect() -> dict[str, Any]:
            if shutting_down.is_set():
                return {"type": "http.disconnect"}
            message = asyncio.ensure_future(receive())
            shutdown = asyncio.ensure_future(shutting_down.wait())
            done, _ = await asyncio.wait({message, shutdown}, return_when=asyncio.FIRST_COMPLETED)
            if message in done:
                shutdown.cancel()
                return message.result()
            message.cancel()
            return {"type": "http.disconnect"}

        return receive_or_disconnect
