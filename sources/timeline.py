"""Market time: wall time scaled by the clock's speed, standing still while it is paused.

Pure logic, no Django. The clock's history is a list of segments, each from
one change of the clock to the next; market time within a segment is its
``market`` seconds at its start plus the wall seconds since, times ``speed``
when running. A price's age in market time is how much market time passed
since its tick: it does not grow while the clock is paused, and grows ten
times as fast at speed 10, when ticks also come ten times as often.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClockSegment:
    """The clock from ``at`` (wall time) on: ``market`` seconds then, running at ``speed`` or not."""

    at: datetime
    market: float
    running: bool
    speed: float

    def market_at(self, moment: datetime) -> float:
        """Market seconds at ``moment``, a wall time within this segment."""
        if not self.running:
            return self.market
        return self.market + max(0.0, (moment - self.at).total_seconds()) * self.speed


def market_elapsed(
    since: datetime, now: datetime, *, current: ClockSegment, earlier: ClockSegment | None
) -> float:
    """Market seconds from ``since`` to ``now``; ``earlier`` is the segment ``since`` falls in, when it
    falls before ``current`` (None when no history reaches that far back: then it counts as wall time)."""
    if since >= current.at:
        return max(0.0, current.market_at(now) - current.market_at(since))
    if earlier is None:
        before = current.market - (current.at - since).total_seconds()
    else:
        before = earlier.market_at(since)
    return max(0.0, current.market_at(now) - before)
