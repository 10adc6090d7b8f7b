"""The loop that makes one source tick at its interval, as the market clock says, until told to stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from sources.catalog import SourceSpec
from sources.clock import start_scenario
from sources.services import UNTOUCHED, clock_view, emit_tick, resume_walk

logger = logging.getLogger(__name__)

# How often a ticker held by the clock (paused, or its step done) looks again.
HELD_POLL = 0.05


class SourceTicker:
    """Emits one source's ticks every ``interval / speed`` seconds on a steady schedule.

    Before each tick it reads the clock: paused, it waits and looks again;
    the clock's speed sets the next wait. Each change of the clock's state,
    speed or this asset's scenario goes to ``on_clock`` (the market's ``clock``
    event) with the asset's last seq, once, from the process that ticks.
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        seed: str | int | None,
        interval: float,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
        on_clock: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.interval = interval
        self.stop = stop
        self.clock = clock
        self.on_clock = on_clock

    def run(self) -> None:
        try:
            symbol = self.spec.symbol
            if start_scenario(symbol=symbol, name=settings.EXCHANGE_SCENARIO):
                logger.info(
                    "source %s follows the scenario %s from its next tick", symbol, settings.EXCHANGE_SCENARIO
                )
            walk, seq = resume_walk(spec=self.spec, seed=self.seed)
            logger.info("source %s starts at %s after tick #%d", symbol, walk.price, seq)
            announced = UNTOUCHED.announced()
            view = clock_view(symbol)
            next_at = self.clock()
            while not self.stop.wait(max(0.0, next_at - self.clock())):
                tick = None
                try:
                    if view.may_tick(seq):
                        before = walk.snapshot()
                        try:
                            emitted = emit_tick(symbol=symbol, walk=walk, seq=seq)
                        except DatabaseError:
                            # Put the walk back so the retried tick has the same
                            # price: the path stays the one the seed fixes.
                            walk.restore(before)
                            raise
                        tick, view = emitted.tick, emitted.view
                        seq = tick.seq if tick is not None else seq
                    else:
                        view = clock_view(symbol)
                    if view.announced() != announced:
                        self._announce(view.to_json(symbol=symbol, seq=seq))
                        announced = view.announced()
                except DatabaseError as exc:
                    logger.warning("source %s could not emit a tick (%s); retrying", symbol, exc)
                    close_old_connections()
                now = self.clock()
                if tick is None:
                    # Held by the clock (or the database): look again soon.
                    next_at = now + min(HELD_POLL, self.interval)
                    continue
                next_at += self.interval / view.speed
                if next_at < now - self.interval / view.speed:
                    # After a stall, carry on from now rather than bursting.
                    next_at = now
        finally:
            connections.close_all()

    def _announce(self, data: dict[str, Any]) -> None:
        if self.on_clock is not None:
            self.on_clock(data)
