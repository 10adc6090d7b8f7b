"""The background engine: the sources' tickers, the market's feeds, the janitor.

One object owns all background work, with ``start`` and ``stop``. It runs in
the process that serves (started on its first request, see ``EngineLauncher``)
or on its own in the scaled mode (``manage.py runengine``); never in
migrations, other commands or tests that serve nothing.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.urls import reverse

from market.feed import SourceFeed
from market.services import trim_history, trim_stored_events
from sources.catalog import source_specs
from sources.ticker import SourceTicker

logger = logging.getLogger(__name__)

JANITOR_INTERVAL = 60.0


def source_urls(base_url: str | None) -> dict[str, str]:
    """Where the feed reads each asset: ``EXCHANGE_SOURCES``, else ``base_url``'s own sources."""
    urls: dict[str, str] = {}
    for symbol in source_specs():
        if symbol in settings.EXCHANGE_SOURCES:
            urls[symbol] = settings.EXCHANGE_SOURCES[symbol]
        elif base_url:
            urls[symbol] = base_url.rstrip("/") + reverse("sources:stream", args=[symbol])
        else:
            raise ValueError(f"no stream URL for {symbol}: set EXCHANGE_SOURCES or give a base URL")
    return urls


@dataclass
class Engine:
    """Starts and stops every background thread of the exchange together."""

    base_url: str | None = None
    run_sources: bool = True
    run_feeds: bool = True
    interval: float = field(default_factory=lambda: settings.EXCHANGE_TICK_INTERVAL)
    seed: str | None = field(default_factory=lambda: settings.EXCHANGE_SEED)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    feeds: list[SourceFeed] = field(default_factory=list)
    stopped: bool = False

    def start(self) -> None:
        if self.threads:
            return
        if self.run_sources:
            for spec in source_specs().values():
                ticker = SourceTicker(spec, seed=self.seed, interval=self.interval, stop=self.stopping)
                self._spawn(f"source-{spec.symbol}", ticker.run)
        if self.run_feeds:
            for symbol, url in source_urls(self.base_url).items():
                feed = SourceFeed(symbol, url, stop=self.stopping)
                self.feeds.append(feed)
                self._spawn(f"feed-{symbol}", feed.run)
        self._spawn("janitor", self._janitor)
        logger.info(
            "engine started: %d sources ticking every %ss, %d feeds",
            len(source_specs()) if self.run_sources else 0,
            self.interval,
            len(self.feeds),
        )

    def request_stop(self) -> None:
        """Ask every thread to finish and interrupt blocked reads; safe in a signal handler."""
        self.stopping.set()
        for feed in self.feeds:
            feed.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread and wait for them; idempotent."""
        if self.stopped or not self.threads:
            return
        self.stopped = True
        self.request_stop()
        for thread in self.threads:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("engine thread %s did not stop within %ss", thread.name, timeout)
        logger.info("engine stopped")

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        # Daemon threads so a stuck one can never keep the process alive;
        # ``stop`` is what ends them cleanly.
        thread = threading.Thread(target=self._guarded(name, target), name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Exception:
                logger.exception("engine thread %s crashed", name)

        return run

    def _janitor(self) -> None:
        try:
            while not self.stopping.wait(JANITOR_INTERVAL):
                try:
                    points = trim_history(keep=settings.EXCHANGE_HISTORY_KEEP)
                    events = trim_stored_events(keep=settings.EXCHANGE_EVENTS_KEEP)
                    if points or events:
                        logger.info("janitor trimmed %d price points and %d stored events", points, events)
                except DatabaseError as exc:
                    logger.warning("janitor could not trim (%s)", exc)
                    close_old_connections()
        finally:
            connections.close_all()


def base_url_of(scope: dict[str, Any]) -> str | None:
    """The loopback URL of the server that received ``scope``, if it listens on TCP."""
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    if host in ("0.0.0.0", "", None):  # noqa: S104  (a listening address, mapped to loopback)
        host = "127.0.0.1"
    elif host in ("::", "::0"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


class EngineLauncher:
    """ASGI middleware that owns the embedded engine's life in a serving process.

    It starts the engine on the first HTTP request: only a process that serves
    receives requests, so nothing starts in migrations, management commands or
    the autoreloader's parent. On SIGINT/SIGTERM it stops the engine and ends
    open SSE streams as if their clients had left, so the server's graceful
    shutdown finishes at once instead of cancelling them mid-write. It stops
    the engine again on ASGI lifespan shutdown and at interpreter exit, for
    servers that exit otherwise.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.engine: Engine | None = None
        self.shutting_down: asyncio.Event | None = None
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] == "http":
            if self.shutting_down is None:
                self.shutting_down = asyncio.Event()
                self._handle_signals(asyncio.get_running_loop())
            if self.engine is None and settings.EXCHANGE_ENGINE == "embedded":
                self._start_engine(scope)
            receive = self._until_shutdown(receive)
        return await self.app(scope, receive, send)

    def _start_engine(self, scope: dict[str, Any]) -> None:
        with self._lock:
            if self.engine is None:
                self.engine = Engine(base_url=base_url_of(scope))
                self.engine.start()
                atexit.register(self.engine.stop)

    def _until_shutdown(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> Callable[..., Any]:
        shutting_down = self.shutting_down
        assert shutting_down is not None

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

    def _handle_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """Chain onto the server's SIGINT/SIGTERM handlers (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)

            def handler(received: int, frame: Any, previous: Any = previous) -> None:
                self._begin_shutdown(loop)
                if callable(previous):
                    previous(received, frame)
                elif previous == signal.SIG_DFL:
                    signal.signal(received, signal.SIG_DFL)
                    signal.raise_signal(received)

            signal.signal(signum, handler)

    def _begin_shutdown(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.engine is not None:
            self.engine.request_stop()
        if self.shutting_down is not None:
            loop.call_soon_threadsafe(self.shutting_down.set)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.engine is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.engine.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return
