"""Everything the market publishes on its SSE stream, and the stream's channels.

One channel per asset, so ``?symbols=`` narrows a stream to the channels it
names. Each event is stored in the same transaction as the change it reports
and announced once that commits (``streams.publishing``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django_eventstream import get_current_event_id

from market.wire import BalanceOut, BookLevelsOut, ClockEventOut, OrderOut, PriceOut, TradeOut
from streams.publishing import publish_on_commit

PRICE_EVENT = "price"
TRADE_EVENT = "trade"
BOOK_EVENT = "book"
ORDER_EVENT = "order"
BALANCE_EVENT = "balance"
CLOCK_EVENT = "clock"
ACCOUNT_CHANNEL_PREFIX = "account-"


def market_channel(symbol: str) -> str:
    return f"market-{symbol}"


def account_channel(account_id: int) -> str:
    """An account's private channel: its orders and balances, for its owner only."""
    return f"{ACCOUNT_CHANNEL_PREFIX}{account_id}"


def account_of_channel(channel: str) -> int | None:
    """The account a private channel belongs to; None for a public channel."""
    if not channel.startswith(ACCOUNT_CHANNEL_PREFIX):
        return None
    rest = channel.removeprefix(ACCOUNT_CHANNEL_PREFIX)
    return int(rest) if rest.isdigit() else -1


def account_cursor(account_id: int) -> str:
    """The private stream's current position: a Last-Event-ID."""
    return get_current_event_id([account_channel(account_id)])


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


def publish_order(account_id: int, order: dict[str, Any]) -> None:
    """An ``order`` event on the owner's private stream, at every change (``market.wire.OrderOut``)."""
    publish_on_commit(account_channel(account_id), ORDER_EVENT, OrderOut(**order).model_dump())


def publish_balance(account_id: int, balance: dict[str, Any]) -> None:
    """A ``balance`` event on the owner's private stream (``market.wire.BalanceOut``)."""
    publish_on_commit(account_channel(account_id), BALANCE_EVENT, BalanceOut(**balance).model_dump())


def publish_clock(clock: dict[str, Any]) -> None:
    """A ``clock`` event on one asset's channel: the clock's state and speed and the asset's scenario
    after a change of them (``market.wire.ClockEventOut``); published by the process that ticks."""
    publish_on_commit(market_channel(clock["symbol"]), CLOCK_EVENT, ClockEventOut(**clock).model_dump())
