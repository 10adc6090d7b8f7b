"""The background engine: the sources' tickers, the market's feeds, the janitor.

One object owns all background work, with ``start`` and ``stop``. It runs in
the process that serves (started on its first request, see
``engine.launcher.EngineLauncher``) or on its own in the scaled mode
(``manage.py runengine``); never in migrations, other commands or tests that
serve nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.urls import reverse

from market.events import publish_clock
from market.feed import SourceFeed
from market.services import trim_history
from sources.catalog import source_specs
from sources.ticker import SourceTicker
from streams.storage import trim_stored_events

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
                ticker = SourceTicker(
                    spec, seed=self.seed, interval=self.interval, stop=self.stopping, on_clock=publish_clock
                )
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
