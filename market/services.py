"""State changes of the market's price side: record ticks, trim old data."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max
from django_eventstream.models import Event, EventCounter

from market.events import publish_price
from market.models import Price, PricePoint
from sources.ticks import Tick

logger = logging.getLogger(__name__)


def record_price(*, tick: Tick, cursor: str | None) -> bool:
    """Store a source's tick as the latest price and broadcast it once.

    Idempotent by ``seq``: a tick at or below the recorded ``seq`` (a replay
    after a reconnect, or a second engine) changes nothing but the cursor.
    Returns whether the tick was new.
    """
    with transaction.atomic():
        latest = Price.objects.select_for_update().filter(symbol=tick.symbol).first()
        if latest is not None and tick.seq <= latest.seq:
            if cursor and cursor != latest.source_cursor:
                latest.source_cursor = cursor
                latest.save(update_fields=["source_cursor", "updated_at"])
            return False
        if latest is not None and tick.seq != latest.seq + 1:
            logger.warning(
                "%s: ticks %d..%d never reached the market", tick.symbol, latest.seq + 1, tick.seq - 1
            )
        Price.objects.update_or_create(
            symbol=tick.symbol,
            defaults={"price": tick.price, "seq": tick.seq, "ts": tick.ts, "source_cursor": cursor or ""},
        )
        PricePoint.objects.create(symbol=tick.symbol, price=tick.price, seq=tick.seq, ts=tick.ts)
        publish_price(tick.to_json())
    return True


def trim_history(*, keep: int) -> int:
    """Keep the newest ``keep`` price points per asset; returns how many went."""
    removed = 0
    for symbol, newest in PricePoint.objects.values_list("symbol").annotate(newest=Max("seq")):
        count, _ = PricePoint.objects.filter(symbol=symbol, seq__lte=newest - keep).delete()
        removed += count
    return removed


def trim_stored_events(*, keep: int) -> int:
    """Keep the newest ``keep`` stored stream events per channel.

    A client resuming from a trimmed id gets django-eventstream's
    ``stream-reset`` event: visible, never silent.
    """
    removed = 0
    for channel, current in EventCounter.objects.values_list("name", "value"):
        count, _ = Event.objects.filter(channel=channel, eid__lte=current - keep).delete()
        removed += count
    return removed
