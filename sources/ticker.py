"""The loop that makes one source tick at its interval until told to stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import DatabaseError, close_old_connections, connections

from sources.catalog import SourceSpec
from sources.services import emit_tick, resume_walk

logger = logging.getLogger(__name__)


class SourceTicker:
    """Emits one source's ticks every ``interval`` seconds on a steady schedule."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        seed: str | int | None,
        interval: float,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.interval = interval
        self.stop = stop
        self.clock = clock

    def run(self) -> None:
        try:
            walk, seq = resume_walk(spec=self.spec, seed=self.seed)
            logger.info("source %s starts at %s after tick #%d", self.spec.symbol, walk.price, seq)
            next_at = self.clock()
            while not self.stop.wait(max(0.0, next_at - self.clock())):
                before = walk.snapshot()
                try:
                    seq = emit_tick(symbol=self.spec.symbol, walk=walk, seq=seq).seq
                except DatabaseError as exc:
                    # Put the walk back so the retried tick has the same price:
                    # the path stays the one the seed fixes.
                    walk.restore(before)
                    logger.warning("source %s could not emit a tick (%s); retrying", self.spec.symbol, exc)
                    close_old_connections()
                next_at += self.interval
                now = self.clock()
                if next_at < now - self.interval:
                    # After a stall, carry on from now rather than bursting.
                    next_at = now
        finally:
            connections.close_all()
