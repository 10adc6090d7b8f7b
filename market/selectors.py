"""Read queries of the market, shaped for the API and the streams, and the ledger's audit.

Sums of money are taken in Python over ``Decimal`` values, never by SQL: on
SQLite an aggregate of a decimal column goes through floating point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count

from market import wire
from market.events import stream_cursor
from market.models import Account, Position, Price, PricePoint, Trade
from sources.catalog import symbols as all_symbols


def latest_prices(symbols: Iterable[str] | None = None) -> dict[str, Any]:
    """The latest price per asset, with the stream cursor taken before reading.

    Cursor first: an event published meanwhile is then at worst delivered both
    in the snapshot and on the stream (same ``seq``), never missed.
    """
    wanted = list(symbols) if symbols is not None else all_symbols()
    cursor = stream_cursor(wanted)
    rows = Price.objects.filter(symbol__in=wanted)
    by_symbol = {row.symbol: wire.price_json(row) for row in rows}
    return {"cursor": cursor, "prices": [by_symbol[s] for s in wanted if s in by_symbol]}


def price_history(symbol: str, *, limit: int) -> dict[str, Any]:
    """Recent prices of one asset, oldest first, with the stream cursor."""
    cursor = stream_cursor([symbol])
    rows = list(PricePoint.objects.filter(symbol=symbol).order_by("-seq")[:limit])
    rows.reverse()
    return {"symbol": symbol, "cursor": cursor, "prices": [wire.price_json(row) for row in rows]}


def recent_trades(
    *, limit: int = 100, account: Account | str | None = None, symbol: str | None = None
) -> dict[str, Any]:
    """The newest ``limit`` trades first, optionally of one account (object or name) and one symbol.

    The stream cursor is read before the trades, as in ``latest_prices``.
    """
    cursor = stream_cursor([symbol] if symbol else all_symbols())
    rows = Trade.objects.select_related("account").order_by("-id")
    if isinstance(account, Account):
        rows = rows.filter(account=account)
    elif account is not None:
        rows = rows.filter(account__name=account)
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    return {"cursor": cursor, "trades": [wire.trade_json(trade) for trade in rows[:limit]]}


def _latest_price_map() -> dict[str, Decimal]:
    return dict(Price.objects.values_list("symbol", "price"))


def _account_row(
    account: Account, positions: dict[str, int], prices: dict[str, Decimal], trades: int
) -> dict[str, Any]:
    # A holding without any price yet is worth nothing until its first tick.
    equity = account.cash + sum(
        (prices.get(symbol, Decimal(0)) * quantity for symbol, quantity in positions.items()), Decimal(0)
    )
    return wire.account_json(account, positions=positions, equity=equity, trades=trades)


def account_json(account: Account) -> dict[str, Any]:
    """One account as a leaderboard row: cash, non-zero positions, equity at the latest prices, P&L."""
    positions = dict(
        Position.objects.filter(account=account).exclude(quantity=0).values_list("symbol", "quantity")
    )
    return _account_row(
        account, positions, _latest_price_map(), Trade.objects.filter(account=account).count()
    )


def leaderboard() -> dict[str, Any]:
    """Every trader's account (not the house), best equity first, with the stream cursor."""
    cursor = stream_cursor(all_symbols())
    prices = _latest_price_map()
    accounts = list(Account.objects.filter(is_house=False).annotate(trade_count=Count("trades")))
    positions: dict[int, dict[str, int]] = defaultdict(dict)
    for account_id, symbol, quantity in (
        Position.objects.filter(is_house=False)
        .exclude(quantity=0)
        .values_list("account_id", "symbol", "quantity")
    ):
        positions[account_id][symbol] = quantity
    rows = [_account_row(a, positions[a.pk], prices, a.trade_count) for a in accounts]
    rows.sort(key=lambda row: (-Decimal(row["equity"]), row["name"]))
    return {"cursor": cursor, "accounts": rows}


def audit_ledger() -> list[str]:
    """Recompute every balance from the trade history; returns the discrepancies (empty: the books are whole).

    Each account's cash is its starting cash plus its sales minus its
    purchases, each position its bought minus its sold units; the house holds
    the opposite of everyone, so over all accounts cash and every asset sum to zero.
    """
    expected_cash: dict[int, Decimal] = {}
    expected_units: dict[tuple[int, str], int] = defaultdict(int)
    house = Account.objects.filter(is_house=True).first()
    house_id = house.pk if house is not None else None
    house_cash = Decimal("0.00")
    for pk, starting in Account.objects.filter(is_house=False).values_list("pk", "starting_cash"):
        expected_cash[pk] = starting
        house_cash -= starting
    for account_id, symbol, side, quantity, notional in Trade.objects.values_list(
        "account_id", "symbol", "side", "quantity", "notional"
    ).iterator():
        sign = 1 if side == Trade.BUY else -1
        expected_cash[account_id] -= sign * notional
        house_cash += sign * notional
        expected_units[(account_id, symbol)] += sign * quantity
        if house_id is not None:
            expected_units[(house_id, symbol)] -= sign * quantity
    if house_id is not None:
        expected_cash[house_id] = house_cash

    problems: list[str] = []
    total_cash = Decimal("0.00")
    for pk, name, cash in Account.objects.values_list("pk", "name", "cash"):
        total_cash += cash
        if cash != expected_cash.get(pk, Decimal("0.00")):
            problems.append(f"{name}: cash is {cash}, the trades say {expected_cash.get(pk)}")
    actual_units = {
        (account_id, symbol): quantity
        for account_id, symbol, quantity in Position.objects.values_list("account_id", "symbol", "quantity")
    }
    totals: dict[str, int] = defaultdict(int)
    for key in set(actual_units) | set(expected_units):
        totals[key[1]] += actual_units.get(key, 0)
        if actual_units.get(key, 0) != expected_units.get(key, 0):
            problems.append(
                f"account #{key[0]} {key[1]}: holds {actual_units.get(key, 0)}, "
                f"the trades say {expected_units.get(key, 0)}"
            )
    if total_cash != 0:
        problems.append(f"cash over all accounts sums to {total_cash}, not 0")
    problems.extend(
        f"{symbol} over all accounts sums to {total}, not 0" for symbol, total in totals.items() if total
    )
    return problems
