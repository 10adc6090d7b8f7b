"""How old a price is, in market time: the one place that decides staleness.

Orders refuse a stale price (``no_price``) and the health check reports it;
both ask here. Market time is the clock's (``sources.clock.market_age``): a
paused clock makes a frozen price no older, a faster one ages it faster.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from sources.clock import market_age, read_clock_row


def price_age(ts: datetime, *, now: datetime | None = None, clock: Any = True) -> timedelta:
    """How much market time has passed since ``ts`` (``clock``: the clock's row, if read already)."""
    return market_age(ts, now=now, clock=clock)


def read_clock() -> Any:
    """The clock's row (None when it was never set), for several ``price_age`` calls at once."""
    return read_clock_row()


def max_price_age() -> timedelta:
    """The age beyond which a price is stale (``EXCHANGE_PRICE_MAX_AGE``)."""
    return timedelta(seconds=settings.EXCHANGE_PRICE_MAX_AGE)


def is_stale(age: timedelta) -> bool:
    return age > max_price_age()
