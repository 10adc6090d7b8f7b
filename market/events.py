"""Everything the market publishes on its SSE stream, and the stream's channels.

One channel per asset, so ``?symbols=`` narrows a stream to the channels it
names. Events are sent only after the transaction that produced them commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django_eventstream import get_current_event_id, send_event

PRICE_EVENT = "price"
TRADE_EVENT = "trade"


def market_channel(symbol: str) -> str:
    return f"market-{symbol}"


def stream_cursor(symbols: Iterable[str]) -> str:
    """The market stream's current position for these assets: a Last-Event-ID."""
    return get_current_event_id([market_channel(symbol) for symbol in symbols])


def _publish_on_commit(symbol: str, event_type: str, data: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_event(market_channel(symbol), event_type, data))


def publish_price(price: dict[str, Any]) -> None:
    _publish_on_commit(price["symbol"], PRICE_EVENT, price)


def publish_trade(trade: dict[str, Any]) -> None:
    _publish_on_commit(trade["symbol"], TRADE_EVENT, trade)
