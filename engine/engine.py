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
import time
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
from streams.client import Backoff
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


# A worker that fails is restarted after a capped, jittered backoff, so a
# database that is down at start (or later) delays prices instead of ending them.
RESTART_BACKOFF_INITIAL = 0.5
RESTART_BACKOFF_CAP = 10.0

RUNNING = "running"
RESTARTING = "restarting"
STOPPED = "stopped"
DEAD = "dead"

_current: Engine | None = None


def current_engine() -> Engine | None:
    """The engine this process started last (stopped or not), for the health check."""
    return _current


def restart_backoff() -> Backoff:
    return Backoff(initial=RESTART_BACKOFF_INITIAL, cap=RESTART_BACKOFF_CAP)


@dataclass
class Worker:
    """One supervised background thread: what it runs and how it is doing."""

    name: str
    target: Callable[[], None]
    thread: threading.Thread | None = None
    state: str = RUNNING
    failures: int = 0
    last_error: str = ""


@dataclass
class Engine:
    """Starts, supervises and stops every background thread of the exchange together."""

    base_url: str | None = None
    run_sources: bool = True
    run_feeds: bool = True
    interval: float = field(default_factory=lambda: settings.EXCHANGE_TICK_INTERVAL)
    seed: str | None = field(default_factory=lambda: settings.EXCHANGE_SEED)
    stopping: threading.Event = field(default_factory=threading.Event)
    workers: list[Worker] = field(default_factory=list)
    feeds: list[SourceFeed] = field(default_factory=list)
    backoff: Callable[[], Backoff] = restart_backoff
    stopped: bool = False

    def start(self) -> None:
        global _current
        if self.workers:
            return
        _current = self
        if self.run_sources:
            for spec in source_specs().values():
                ticker = SourceTicker(
                    spec, seed=self.seed, interval=self.interval, stop=self.stopping, on_clock=publish_clock
                )
                self.spawn(f"source-{spec.symbol}", ticker.run)
        if self.run_feeds:
            for symbol, url in source_urls(self.base_url).items():
                feed = SourceFeed(symbol, url, stop=self.stopping)
                self.feeds.append(feed)
                self.spawn(f"feed-{symbol}", feed.run)
        self.spawn("janitor", self._janitor)
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
        if self.stopped or not self.workers:
            return
        self.stopped = True
        self.request_stop()
        for worker in self.workers:
            assert worker.thread is not None
            worker.thread.join(timeout)
            if worker.thread.is_alive():
                logger.warning("engine thread %s did not stop within %ss", worker.name, timeout)
        logger.info("engine stopped")

    def worker_states(self) -> dict[str, str]:
        """Each worker's state: running, restarting (failed, waiting to retry), stopped or dead."""
        states = {}
        for worker in self.workers:
            alive = worker.thread is not None and worker.thread.is_alive()
            if self.stopping.is_set():
                states[worker.name] = STOPPED
            elif not alive:
                states[worker.name] = DEAD
            else:
                states[worker.name] = worker.state
        return states

    def spawn(self, name: str, target: Callable[[], None]) -> Worker:
        """Run ``target`` in a supervised thread until the engine stops."""
        worker = Worker(name, target)
        # Daemon threads so a stuck one can never keep the process alive;
        # ``stop`` is what ends them cleanly.
        worker.thread = threading.Thread(target=self._supervise, args=(worker,), name=name, daemon=True)
        self.workers.append(worker)
        worker.thread.start()
        return worker

    def _supervise(self, worker: Worker) -> None:
        """Run the worker; whenever it fails (or returns early), log it and run it again after a backoff."""
        backoff = self.backoff()
        while not self.stopping.is_set():
            worker.state = RUNNING
            began = time.monotonic()
            try:
                worker.target()
            except DatabaseError as exc:
                # Expected while the database is down or not migrated yet: one
                # line per attempt, not a traceback.
                problem = f"the database failed: {first_line(exc)}"
            except Exception as exc:
                logger.exception("engine thread %s crashed", worker.name)
                problem = f"crashed: {first_line(exc)}"
            else:
                if self.stopping.is_set():
                    return
                problem = "returned while the engine runs"
            finally:
                connections.close_all()  # a failed connection must not be reused by the retry
            if self.stopping.is_set():
                return
            if time.monotonic() - began > backoff.cap:
                backoff.reset()  # it worked for a while: a fresh failure starts the backoff over
            worker.state = RESTARTING
            worker.failures += 1
            worker.last_error = problem
            delay = backoff.next_delay()
            logger.warning("engine thread %s: %s; restarts in %.1fs", worker.name, problem, delay)
            self.stopping.wait(delay)

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


def first_line(exc: BaseException) -> str:
    """An exception as one log-friendly line (database errors often span several)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
