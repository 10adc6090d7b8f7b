"""Ledger test tools: open funded accounts, put prices in place, snapshot the whole books."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from market.models import Account, Book, IdempotencyKey, Order, Position, Price, Trade
from market.services import issue_token

PRICES = {"BTC": "30000.00", "TCSG": "3000.00", "META": "500.00"}


def set_price(symbol: str, price: str | Decimal, *, age: float = 0.0) -> None:
    """Make ``price`` the latest price of ``symbol``, produced ``age`` seconds ago."""
    ts: datetime = timezone.now() - timedelta(seconds=age)
    current = Price.objects.filter(symbol=symbol).first()
    seq = current.seq + 1 if current else 1
    Price.objects.update_or_create(symbol=symbol, defaults={"price": Decimal(price), "seq": seq, "ts": ts})
    # Not through the feed: the book takes its quote from this price at the next order.
    Book.objects.filter(symbol=symbol).update(price=None, ts=None, bid=None, ask=None)


def set_prices(prices: dict[str, str] | None = None) -> None:
    for symbol, price in (prices or PRICES).items():
        set_price(symbol, price)


def make_account(name: str = "alice", *, cash: str | None = None) -> tuple[Account, str]:
    """A new account and its token."""
    token = issue_token(name=name, cash=Decimal(cash) if cash is not None else None)
    return Account.objects.get(name=name), token


def ledger_snapshot() -> dict[str, Any]:
    """Everything an order may change: balances, positions, trades and remembered keys."""
    return {
        "cash": sorted(Account.objects.values_list("name", "cash")),
        "positions": sorted(Position.objects.values_list("account__name", "symbol", "quantity")),
        "trades": Trade.objects.count(),
        "keys": sorted(IdempotencyKey.objects.values_list("account__name", "key", "order_id")),
        "orders": sorted(Order.objects.values_list("id", "status", "filled_quantity", "resting")),
        "reserved": sorted(Account.objects.values_list("name", "reserved_cash")),
    }
