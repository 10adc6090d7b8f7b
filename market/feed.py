"""The market's feed: it reads one source's SSE stream and records every tick once.

The cursor stored with the latest price is the Last-Event-ID of the next
connection, so after a restart or a dropped stream the feed continues exactly
where it stopped; ``record_price`` drops anything it already has by ``seq``.
With nothing stored yet, the feed asks for the source's first kept event
(``source-<SYMBOL>:0``), so a new market takes the source's whole kept history
and the tick that raced its first connection is not lost.
"""

from __future__ import annotations

import json
import logging
import threading

from django.db import DatabaseError, close_old_connections, connections

from market.models import Price
from market.services import record_price
from sources.events import source_channel
from sources.ticks import MalformedTick, Tick
from streams.client import Backoff, StreamError, StreamEvent, StreamReader

logger = logging.getLogger(__name__)


class SourceFeed:
    """Consumes one source stream into the market until ``stop`` is set."""

    def __init__(
        self, symbol: str, url: str, *, stop: threading.Event, backoff: Backoff | None = None
    ) -> None:
        self.symbol = symbol
        self.url = url
        self.stop = stop
        self.backoff = backoff or Backoff()
        self.reader: StreamReader | None = None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def run(self) -> None:
        try:
            stored = Price.objects.filter(symbol=self.symbol).values_list("source_cursor", flat=True).first()
            cursor = stored or f"{source_channel(self.symbol)}:0"
            self.reader = StreamReader(
                self.url, cursor=cursor, stop=self.stop, backoff=self.backoff, name=f"feed {self.symbol}"
            )
            logger.info("feed %s reads %s from %s", self.symbol, self.url, cursor)
            while not self.stop.is_set():
                try:
                    for event in self.reader.events():
                        self.handle(event)
                except StreamError as exc:
                    logger.error("feed %s: %s", self.symbol, exc)
                except DatabaseError as exc:
                    # The event was not recorded, so the reader's cursor has not
                    # moved past it: the next connection delivers it again.
                    logger.warning("feed %s could not record a tick (%s); retrying", self.symbol, exc)
                    close_old_connections()
                self.stop.wait(self.backoff.next_delay())
        finally:
            connections.close_all()

    def handle(self, event: StreamEvent) -> None:
        if event.event == "stream-reset":
            logger.warning("feed %s: the source no longer has our cursor; some ticks are lost", self.symbol)
            return
        if event.event != "tick":
            return
        try:
            tick = Tick.from_json(json.loads(event.data))
        except (MalformedTick, json.JSONDecodeError) as exc:
            logger.warning("feed %s skips an event: %s", self.symbol, exc)
            return
        if tick.symbol != self.symbol:
            logger.warning("feed %s skips a tick for %s from %s", self.symbol, tick.symbol, self.url)
            return
        record_price(tick=tick, cursor=event.id)
