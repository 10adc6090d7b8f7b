"""Everything the market publishes on its SSE stream, and the stream's channels.

One channel per asset, so ``?symbols=`` narrows a stream to the channels it
names. An event is stored in the same transaction as the change it reports,
and announced to live clients (local listeners, Redis, Pushpin) only after that
transaction commits: no client ever sees an event for a change that rolled
back, and a crash between the commit and the announcement loses nothing,
because reconnecting clients read the stored event by their cursor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django_eventstream import eventstream, get_current_event_id
from django_eventstream.event import Event
from django_eventstream.utils import get_storage, publish_event
from django_eventstream.views import get_listener_manager

PRICE_EVENT = "price"
TRADE_EVENT = "trade"
BOOK_EVENT = "book"


def market_channel(symbol: str) -> str:
    return f"market-{symbol}"


def stream_cursor(symbols: Iterable[str]) -> str:
    """The market stream's current position for these assets: a Last-Event-ID."""
    return get_current_event_id([market_channel(symbol) for symbol in symbols])


def _announce(event: Event) -> None:
    """The live half of django-eventstream's ``send_event``, for an event already stored."""
    pub_id = str(event.id)
    # Looked up at call time: the scaled mode replaces the library's Redis client.
    redis_client = eventstream.redis_client
    if redis_client:
        message = {"channel": event.channel, "event_type": event.type, "data": event.data, "pub_id": pub_id}
        redis_client.publish("events_channel", json.dumps(message))
    else:
        get_listener_manager().add_to_queues(event.channel, event)
    publish_event(event.channel, event.type, event.data, pub_id, str(event.id - 1))


def _store_and_announce_on_commit(symbol: str, event_type: str, data: dict[str, Any]) -> None:
    # django-eventstream stores events JSON-encoded once more than it sends
    # them; encoding here keeps the stored and the live forms identical.
    encoded = json.dumps(data, cls=DjangoJSONEncoder)
    with transaction.atomic():
        stored = get_storage().append_event(market_channel(symbol), event_type, encoded)
        transaction.on_commit(lambda: _announce(stored))


def publish_price(price: dict[str, Any]) -> None:
    _store_and_announce_on_commit(price["symbol"], PRICE_EVENT, price)


def publish_trade(trade: dict[str, Any]) -> None:
    _store_and_announce_on_commit(trade["symbol"], TRADE_EVENT, trade)


def publish_book(book: dict[str, Any]) -> None:
    _store_and_announce_on_commit(book["symbol"], BOOK_EVENT, book)
