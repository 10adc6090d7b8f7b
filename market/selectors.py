"""Read queries of the market, shaped for the API and the streams, and the ledger's audit.

Sums of money are taken in Python over ``Decimal`` values, never by SQL: on
SQLite an aggregate of a decimal column goes through floating point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q

from market import matching, wire
from market.events import account_cursor, stream_cursor
from market.models import Account, Book, EquityPoint, LedgerEntry, Order, Position, Price, PricePoint, Trade
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


def shaped_order(order: Order, fills: Iterable[Trade] | None = None) -> dict[str, Any]:
    """An order on the wire with its fills: those just made (``placed_trades``), else all of them."""
    if fills is None:
        fills = order.placed_trades
    if fills is None or order.replayed:
        fills = Trade.objects.filter(Q(buy_order=order) | Q(sell_order=order)).order_by("id")
    return wire.order_json(order, fills)


def account_orders(
    *, account: Account, status: str = "all", symbol: str | None = None, limit: int = 100
) -> dict[str, Any]:
    """The account's orders, newest first: ``open`` (resting or waiting), ``closed`` or ``all``.

    The cursor is the account's private stream's, read before the orders.
    """
    cursor = account_cursor(account.pk)
    rows = Order.objects.filter(account=account).order_by("-id")
    if status == "open":
        rows = rows.filter(status__in=matching.LIVE_STATUSES)
    elif status == "closed":
        rows = rows.exclude(status__in=matching.LIVE_STATUSES)
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    orders = list(rows[:limit])
    fills: dict[int, list[Trade]] = defaultdict(list)
    ids = [order.pk for order in orders]
    for trade in Trade.objects.filter(Q(buy_order_id__in=ids) | Q(sell_order_id__in=ids)).order_by("id"):
        for order_id in (trade.buy_order_id, trade.sell_order_id):
            if order_id is not None:
                fills[order_id].append(trade)
    for order in orders:
        order.account = account
    return {"cursor": cursor, "orders": [wire.order_json(order, fills[order.pk]) for order in orders]}


def account_order(*, account: Account, order_id: int) -> Order | None:
    order = Order.objects.filter(pk=order_id, account=account).first()
    if order is not None:
        order.account = account
    return order


def book_json(symbol: str, *, depth: int) -> dict[str, Any]:
    """One asset's book: the accounts' levels, the house's quote apart, with the stream cursor."""
    from market.orders import book_levels

    cursor = stream_cursor([symbol])
    row = Book.objects.filter(symbol=symbol).first()
    price = Price.objects.filter(symbol=symbol).values_list("price", flat=True).first()
    house = {
        "bid": wire.money_or_none(row.bid if row else None),
        "ask": wire.money_or_none(row.ask if row else None),
        "depth": settings.EXCHANGE_HOUSE_DEPTH,
        "spread_bps": settings.EXCHANGE_SPREAD_BPS,
    }
    return {
        "symbol": symbol,
        "cursor": cursor,
        "source_price": wire.money_or_none(price),
        "house": house,
        **book_levels(symbol, depth=depth),
    }


def recent_trades(
    *, limit: int = 100, account: Account | str | None = None, symbol: str | None = None
) -> dict[str, Any]:
    """The newest ``limit`` trades first, optionally those where one account (object or name) bought or sold.

    The stream cursor is read before the trades, as in ``latest_prices``.
    """
    cursor = stream_cursor([symbol] if symbol else all_symbols())
    rows = Trade.objects.select_related("buyer", "seller").order_by("-id")
    if isinstance(account, Account):
        rows = rows.filter(Q(buyer=account) | Q(seller=account))
    elif account is not None:
        rows = rows.filter(Q(buyer__name=account) | Q(seller__name=account))
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    return {"cursor": cursor, "trades": [wire.trade_json(trade) for trade in rows[:limit]]}


def _latest_price_map() -> dict[str, Decimal]:
    return dict(Price.objects.values_list("symbol", "price"))


def _equity(account: Account, positions: dict[str, int], prices: dict[str, Decimal]) -> Decimal:
    # A holding without any price yet is worth nothing until its first tick.
    return account.cash + sum(
        (prices.get(symbol, Decimal(0)) * quantity for symbol, quantity in positions.items()), Decimal(0)
    )


def _account_row(
    account: Account, positions: dict[str, int], prices: dict[str, Decimal], trades: int
) -> dict[str, Any]:
    equity = _equity(account, positions, prices)
    return wire.account_json(account, positions=positions, equity=equity, trades=trades)


def account_json(account: Account) -> dict[str, Any]:
    """One account as its owner sees it: the leaderboard row plus what open orders leave available."""
    rows = list(Position.objects.filter(account=account).values_list("symbol", "quantity", "reserved"))
    positions = {symbol: quantity for symbol, quantity, _ in rows if quantity}
    reserved = {symbol: units for symbol, _, units in rows}
    cursor = account_cursor(account.pk)
    trades = Trade.objects.filter(Q(buyer=account) | Q(seller=account)).count()
    return wire.my_account_json(
        account,
        cursor=cursor,
        positions=positions,
        reserved_units=reserved,
        equity=_equity(account, positions, _latest_price_map()),
        trades=trades,
    )


def leaderboard() -> dict[str, Any]:
    """Every trader's account (not the house), best equity first, with the stream cursor."""
    cursor = stream_cursor(all_symbols())
    prices = _latest_price_map()
    accounts = list(Account.objects.filter(is_house=False))
    counts: dict[int, int] = defaultdict(int)
    for field_name in ("buyer_id", "seller_id"):
        for account_id, count in Trade.objects.values_list(field_name).annotate(count=Count("id")):
            counts[account_id] += count
    for account in accounts:
        account.trade_count = counts[account.pk]  # type: ignore[attr-defined]
    positions: dict[int, dict[str, int]] = defaultdict(dict)
    for account_id, symbol, quantity in (
        Position.objects.filter(is_house=False)
        .exclude(quantity=0)
        .values_list("account_id", "symbol", "quantity")
    ):
        positions[account_id][symbol] = quantity
    rows = [_account_row(a, positions[a.pk], prices, a.trade_count) for a in accounts]  # type: ignore[attr-defined]
    rows.sort(key=lambda row: (-Decimal(row["equity"]), row["name"]))
    return {"cursor": cursor, "accounts": rows}


def audit_ledger() -> list[str]:
    """Recompute every balance from the trade history; returns the discrepancies (empty: the books are whole).

    Each account's cash is its starting cash plus its sales minus its
    purchases and fees (and what resets gave or took, ``LedgerEntry``), each
    position its bought minus its sold units; the
    house issued the starting cash and received the fees, so over all accounts
    cash and every asset sum to zero. Reservations must be exactly what the
    open orders hold: a resting buy its limit price and maker fee per unit, a
    resting sell its units.
    """
    expected_cash: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    expected_units: dict[tuple[int, str], int] = defaultdict(int)
    house = Account.objects.filter(is_house=True).first()
    house_id = house.pk if house is not None else None
    for pk, starting in Account.objects.filter(is_house=False).values_list("pk", "starting_cash"):
        expected_cash[pk] += starting
        if house_id is not None:
            expected_cash[house_id] -= starting
    for buyer, seller, symbol, quantity, notional, buyer_fee, seller_fee in Trade.objects.values_list(
        "buyer_id", "seller_id", "symbol", "quantity", "notional", "buyer_fee", "seller_fee"
    ).iterator():
        expected_cash[buyer] -= notional + buyer_fee
        expected_cash[seller] += notional - seller_fee
        if house_id is not None:
            expected_cash[house_id] += buyer_fee + seller_fee
        expected_units[(buyer, symbol)] += quantity
        expected_units[(seller, symbol)] -= quantity
    for account_id, cash, units in LedgerEntry.objects.values_list("account_id", "cash", "units").iterator():
        expected_cash[account_id] += cash
        if house_id is not None:
            expected_cash[house_id] -= cash
        for symbol, quantity in units.items():
            expected_units[(account_id, symbol)] += quantity
            if house_id is not None:
                expected_units[(house_id, symbol)] -= quantity

    expected_reserved: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    expected_reserved_units: dict[tuple[int, str], int] = defaultdict(int)
    for account_id, symbol, side, limit_price, quantity, filled, fee_bps in Order.objects.filter(
        resting=True
    ).values_list(
        "account_id", "symbol", "side", "limit_price", "quantity", "filled_quantity", "maker_fee_bps"
    ):
        if side == matching.BUY and limit_price is not None:
            expected_reserved[account_id] += matching.reserved_cash(limit_price, quantity - filled, fee_bps)
        else:
            expected_reserved_units[(account_id, symbol)] += quantity - filled

    problems: list[str] = []
    total_cash = Decimal("0.00")
    for pk, name, cash, reserved in Account.objects.values_list("pk", "name", "cash", "reserved_cash"):
        total_cash += cash
        if cash != expected_cash[pk]:
            problems.append(f"{name}: cash is {cash}, the trades say {expected_cash[pk]}")
        if reserved != expected_reserved[pk]:
            problems.append(
                f"{name}: reserved cash is {reserved}, its open orders hold {expected_reserved[pk]}"
            )
    actual_units: dict[tuple[int, str], int] = {}
    actual_reserved: dict[tuple[int, str], int] = {}
    for account_id, symbol, quantity, reserved_units in Position.objects.values_list(
        "account_id", "symbol", "quantity", "reserved"
    ):
        actual_units[(account_id, symbol)] = quantity
        actual_reserved[(account_id, symbol)] = reserved_units
    totals: dict[str, int] = defaultdict(int)
    for key in set(actual_units) | set(expected_units):
        totals[key[1]] += actual_units.get(key, 0)
        if actual_units.get(key, 0) != expected_units.get(key, 0):
            problems.append(
                f"account #{key[0]} {key[1]}: holds {actual_units.get(key, 0)}, "
                f"the trades say {expected_units.get(key, 0)}"
            )
    for key in set(actual_reserved) | set(expected_reserved_units):
        if actual_reserved.get(key, 0) != expected_reserved_units.get(key, 0):
            problems.append(
                f"account #{key[0]} {key[1]}: reserves {actual_reserved.get(key, 0)} units, "
                f"its open orders hold {expected_reserved_units.get(key, 0)}"
            )
    if total_cash != 0:
        problems.append(f"cash over all accounts sums to {total_cash}, not 0")
    problems.extend(
        f"{symbol} over all accounts sums to {total}, not 0" for symbol, total in totals.items() if total
    )
    return problems


def account_history(*, account: Account, limit: int = 500) -> dict[str, Any]:
    """The account's cash and equity after each change of its balances, oldest first."""
    rows = list(
        EquityPoint.objects.filter(account=account)
        .order_by("-id")
        .values_list("ts", "cash", "equity")[:limit]
    )
    rows.reverse()
    return {"points": [wire.equity_point_json(ts=ts, cash=cash, equity=equity) for ts, cash, equity in rows]}
