"""How old a price is, in market time: the one place that decides staleness.

Orders refuse a stale price (``no_price``) and the health check reports it;
both ask here. Market time is the clock's (``sources.clock.market_age``): a
paused clock makes a frozen price no older, a faster one ages it faster.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from sources.clock import market_age


def price_age(ts: datetime, *, now: datetime | None = None) -> timedelta:
    """How much market time has passed since ``ts``."""
    return market_age(ts, now=now)


def max_price_age() -> timedelta:
    """The age beyond which a price is stale (``EXCHANGE_PRICE_MAX_AGE``)."""
    return timedelta(seconds=settings.EXCHANGE_PRICE_MAX_AGE)


def is_stale(age: timedelta) -> bool:
    return age > max_price_age()
