"""Everything the market publishes on its SSE stream, and the stream's channels.

One channel per asset, so ``?symbols=`` narrows a stream to the channels it
names. Each event is stored in the same transaction as the change it reports
and announced once that commits (``streams.publishing``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django_eventstream import get_current_event_id

from market.wire import BookLevelsOut, PriceOut, TradeOut
from streams.publishing import publish_on_commit

PRICE_EVENT = "price"
TRADE_EVENT = "trade"
BOOK_EVENT = "book"


def market_channel(symbol: str) -> str:
    return f"market-{symbol}"


def stream_cursor(symbols: Iterable[str]) -> str:
    """The market stream's current position for these assets: a Last-Event-ID."""
    return get_current_event_id([market_channel(symbol) for symbol in symbols])


def publish_price(price: dict[str, Any]) -> None:
    """A ``price`` event, in the price's one shape (``market.wire.PriceOut``)."""
    publish_on_commit(market_channel(price["symbol"]), PRICE_EVENT, PriceOut(**price).model_dump())


def publish_trade(trade: dict[str, Any]) -> None:
    """A ``trade`` event, in the trade's one shape (``market.wire.TradeOut``)."""
    publish_on_commit(market_channel(trade["symbol"]), TRADE_EVENT, TradeOut(**trade).model_dump())


def publish_book(book: dict[str, Any]) -> None:
    """A ``book`` event: the accounts' top levels of one asset (``market.wire.BookLevelsOut``)."""
    publish_on_commit(market_channel(book["symbol"]), BOOK_EVENT, BookLevelsOut(**book).model_dump())
