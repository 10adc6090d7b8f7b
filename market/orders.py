"""Every state change of the book: place and cancel orders, and what each tick does to resting orders.

Each change is one transaction that locks, in this order: the asset's ``Book``
row (matching is serialised per asset), the accounts it changes in id order
(so two books never wait on each other's accounts in a cycle), and the house's
rows last, by relative updates. Inside it, the orders and balances it needs are
loaded into a ``market.venue.Venue``, which decides by ``market.matching``'s
rules exactly as the backtest does; what the venue changed is then written
back: orders, trades, balances, reservations, and the stream events, stored in
the same transaction and announced after it commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from market import fault_injection, matching
from market.errors import (
    IdempotencyConflict,
    InvalidPrice,
    InvalidQuantity,
    InvalidSide,
    InvalidTimeInForce,
    InvalidType,
    NoPrice,
    OrderNotFound,
    UnknownSymbol,
)
from market.events import publish_balance, publish_book, publish_order, publish_trade
from market.fills import MAX_ORDER_QUANTITY
from market.freshness import is_stale, price_age
from market.house import HOUSE_NAME, house_account
from market.matching import BUY, LIMIT, MARKET, SELL, STOP, STOP_LIMIT, Fees, Quote, Resting
from market.models import (
    Account,
    Book,
    EquityPoint,
    IdempotencyKey,
    LedgerEntry,
    Order,
    Position,
    Price,
    Trade,
)
from market.transactions import sqlite_writer
from market.venue import HOUSE, Venue, Wallet
from market.venue import Order as VenueOrder
from market.wire import balance_json, order_json, trade_json
from sources.catalog import symbols as all_symbols
from sources.ticks import format_money
from streams.publishing import publishing_batch

logger = logging.getLogger(__name__)
trade_logger = logging.getLogger("market.trades")

# The largest price an order may name (18 digits with 2 places in the database).
MAX_PRICE = Decimal("9999999999.99")
BOOK_EVENT_DEPTH = 10


# --- Validation --------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRequest:
    """A validated order request: what ``place_order`` executes."""

    symbol: str
    side: str
    quantity: int
    type: str = MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = matching.GTC

    def fingerprint(self) -> str:
        """A digest of what the order asks for, to tell a replay from a different order under one key."""
        body = {
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "type": self.type,
            "limit_price": None if self.limit_price is None else str(self.limit_price),
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "time_in_force": self.time_in_force,
        }
        if self.type == MARKET and self.time_in_force == matching.GTC:
            # A first-stage order's fingerprint, so keys used before the book still replay.
            body = {"symbol": self.symbol, "side": self.side, "quantity": self.quantity}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def parse_price(value: Any, name: str) -> Decimal:
    """A price from the wire: a decimal string with at most two places, above zero."""
    if not isinstance(value, str):
        raise InvalidPrice(f'{name} must be a decimal string such as "101.25", not {type(value).__name__}')
    text = value.strip()
    if text != value or not text or not all(c in "0123456789." for c in text) or text.count(".") > 1:
        raise InvalidPrice(f'{name} must be a decimal string such as "101.25", not {value!r}')
    if text.startswith(".") or text.endswith("."):
        raise InvalidPrice(f'{name} must be a decimal string such as "101.25", not {value!r}')
    price = Decimal(text)
    if price.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidPrice(f"{name} has at most two decimal places, not {value!r}")
    if not 0 < price <= MAX_PRICE:
        raise InvalidPrice(f"{name} must be above 0 and at most {MAX_PRICE}")
    return price.quantize(matching.CENT)


def validate_order(
    *,
    symbol: Any,
    side: Any,
    quantity: Any,
    type: Any = None,
    limit_price: Any = None,
    stop_price: Any = None,
    time_in_force: Any = None,
) -> OrderRequest:
    """Check an order's fields as they came (wire types); raises the ``OrderRejected`` of the first fault."""
    known = all_symbols()
    if not isinstance(symbol, str) or symbol not in known:
        raise UnknownSymbol(f"unknown symbol {symbol!r}; known: {', '.join(known)}")
    if side not in matching.SIDES:
        raise InvalidSide(f"side must be 'buy' or 'sell', not {side!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_ORDER_QUANTITY}")
    kind = MARKET if type is None else type
    if kind not in matching.ORDER_TYPES:
        raise InvalidType(f"type must be one of {', '.join(matching.ORDER_TYPES)}, not {type!r}")
    tif = matching.GTC if time_in_force is None else time_in_force
    if tif not in matching.TIMES_IN_FORCE:
        raise InvalidTimeInForce(
            f"time_in_force must be one of {', '.join(matching.TIMES_IN_FORCE)}, not {time_in_force!r}"
        )
    needs_limit = kind in (LIMIT, STOP_LIMIT)
    needs_stop = kind in (STOP, STOP_LIMIT)
    if needs_limit and limit_price is None:
        raise InvalidPrice(f"a {kind} order needs a limit_price")
    if not needs_limit and limit_price is not None:
        raise InvalidPrice(f"a {kind} order takes no limit_price")
    if needs_stop and stop_price is None:
        raise InvalidPrice(f"a {kind} order needs a stop_price")
    if not needs_stop and stop_price is not None:
        raise InvalidPrice(f"a {kind} order takes no stop_price")
    return OrderRequest(
        symbol=symbol,
        side=side,
        quantity=quantity,
        type=kind,
        limit_price=parse_price(limit_price, "limit_price") if needs_limit else None,
        stop_price=parse_price(stop_price, "stop_price") if needs_stop else None,
        time_in_force=tif,
    )


# --- The venue's settings ------------------------------------------------------------


def fees() -> Fees:
    return Fees(maker_bps=settings.EXCHANGE_MAKER_FEE_BPS, taker_bps=settings.EXCHANGE_TAKER_FEE_BPS)


def _venue() -> Venue:
    return Venue(
        fees=fees(),
        spread_bps=settings.EXCHANGE_SPREAD_BPS,
        house_depth=settings.EXCHANGE_HOUSE_DEPTH,
        max_open_orders=settings.EXCHANGE_MAX_OPEN_ORDERS,
    )


# --- Loading a piece of the book into a venue, and writing back what it changed -------


@dataclass
class _Unit:
    """One transaction's view of the book: the venue it decides in, and what it started from."""

    symbol: str
    book_row: Book
    house_id: int
    venue: Venue = field(default_factory=_venue)
    rows: dict[int, Order] = field(default_factory=dict)
    start: dict[int, tuple[str, int, bool]] = field(default_factory=dict)
    wallets_before: dict[int | None, tuple[Decimal, Decimal, int, int]] = field(default_factory=dict)
    new_orders: list[VenueOrder] = field(default_factory=list)
    # Each new order's database id, by its id in the venue (set by ``save``).
    ids: dict[int, int] = field(default_factory=dict)
    # The locked accounts' names, for the trade events (the house's is ``HOUSE_NAME``).
    names: dict[int, str] = field(default_factory=dict)
    # The accounts whose balances were loaded and locked.
    loaded: set[int] = field(default_factory=set)
    # Whether each loaded account had a position row in this asset.
    had_position: dict[int, bool] = field(default_factory=dict)
    # Each loaded account's positions in every asset, as read: (units, reserved units).
    held: defaultdict[int, dict[str, tuple[int, int]]] = field(default_factory=lambda: defaultdict(dict))

    def __post_init__(self) -> None:
        self.venue.wallets[HOUSE] = Wallet(cash=matching.ZERO)
        self.wallets_before[HOUSE] = (matching.ZERO, matching.ZERO, 0, 0)
        book = self.venue.book(self.symbol)
        row = self.book_row
        if row.bid is not None and row.ask is not None:
            book.quote = Quote(bid=row.bid, ask=row.ask, bid_depth=row.bid_depth, ask_depth=row.ask_depth)

    def account_of(self, venue_account: int | None) -> int:
        return self.house_id if venue_account is None else venue_account

    def load_orders(self, rows: Iterable[Order]) -> None:
        book = self.venue.book(self.symbol)
        for row in rows:
            self.rows[row.pk] = row
            self.start[row.pk] = (row.status, row.filled_quantity, row.triggered)
            order = VenueOrder(
                id=row.pk,
                account=row.account_id,
                symbol=row.symbol,
                side=row.side,
                type=row.type,
                quantity=row.quantity,
                limit_price=row.limit_price,
                stop_price=row.stop_price,
                time_in_force=row.time_in_force,
                status=row.status,
                triggered=row.triggered,
                maker_fee_bps=row.maker_fee_bps,
                filled_quantity=row.filled_quantity,
                notional=row.notional,
                fees=row.fees,
            )
            self.venue.orders[row.pk] = order
            if row.resting:
                book.add(
                    Resting(
                        order_id=row.pk,
                        account=row.account_id,
                        side=row.side,
                        price=row.limit_price or matching.ZERO,
                        remaining=order.remaining,
                        maker_fee_bps=row.maker_fee_bps,
                    )
                )
            elif order.waiting_for_stop:
                book.stops.append(row.pk)
        self.venue._next_id = max([*self.rows, self.venue._next_id - 1]) + 1

    def lock_accounts(self, accounts: Iterable[int]) -> dict[int, Account]:
        """Lock these accounts (not the house) in id order, with their positions here, into the venue.

        Their new balances are written as exact values (``_save_balances``),
        which is why every account the change may touch is read here.
        """
        wanted = sorted(set(accounts) - {self.house_id})
        locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
        self.loaded |= set(wanted)
        # Every asset's position, not only this one's: the ``balance`` events need
        # them all, and the accounts' rows are locked anyway.
        positions: dict[int, Position] = {}
        for p in Position.objects.select_for_update().filter(account_id__in=wanted):
            self.held[p.account_id][p.symbol] = (p.quantity, p.reserved)
            if p.symbol == self.symbol:
                positions[p.account_id] = p
        for pk in wanted:
            account = locked[pk]
            self.names[pk] = account.name
            position = positions.get(pk)
            self.had_position[pk] = position is not None
            units = position.quantity if position else 0
            reserved = position.reserved if position else 0
            self.venue.wallets[pk] = Wallet(
                cash=account.cash,
                reserved_cash=account.reserved_cash,
                units={self.symbol: units},
                reserved_units={self.symbol: reserved},
            )
            self.wallets_before[pk] = (account.cash, account.reserved_cash, units, reserved)
        return locked

    def save(self, *, balance_events: bool = True) -> list[Trade]:
        """Write back every change the venue made; returns the new trades (their events stored).

        ``balance_events=False`` leaves the ``balance`` events to the caller
        (a reset sends one after all its cancels).
        """
        now = timezone.now()
        venue = self.venue
        ids: dict[int, int] = {}
        changed: list[Order] = []
        for order in self.new_orders:
            row = Order.objects.create(
                account_id=order.account,
                symbol=order.symbol,
                side=order.side,
                type=order.type,
                quantity=order.quantity,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                time_in_force=order.time_in_force,
                status=order.status,
                filled_quantity=order.filled_quantity,
                notional=order.notional,
                fees=order.fees,
                maker_fee_bps=order.maker_fee_bps,
                resting=order.is_resting,
                triggered=order.triggered,
                created_at=now,
                updated_at=now,
            )
            ids[order.id] = row.pk
            self.rows[row.pk] = row
            changed.append(row)
        for pk, (status, filled, triggered) in self.start.items():
            order = venue.orders[pk]
            if (order.status, order.filled_quantity, order.triggered) == (status, filled, triggered):
                continue
            row = self.rows[pk]
            row.status = order.status
            row.filled_quantity = order.filled_quantity
            row.notional = order.notional
            row.fees = order.fees
            row.triggered = order.triggered
            row.resting = order.is_resting
            row.updated_at = now
            row.save(
                update_fields=[
                    "status",
                    "filled_quantity",
                    "notional",
                    "fees",
                    "triggered",
                    "resting",
                    "updated_at",
                ]
            )
            changed.append(row)
        trades = [
            Trade(
                symbol=self.symbol,
                price=fill.price,
                quantity=fill.quantity,
                notional=fill.notional,
                buyer_id=self.account_of(fill.buyer),
                seller_id=self.account_of(fill.seller),
                taker_side=fill.taker_side,
                buy_order_id=_order_id(fill.buy_order, ids),
                sell_order_id=_order_id(fill.sell_order, ids),
                buyer_fee=fill.buyer_fee,
                seller_fee=fill.seller_fee,
                ts=now,
            )
            for fill in venue.trades
        ]
        if trades:
            trades = Trade.objects.bulk_create(trades)
        self._save_balances()
        quote = venue.book(self.symbol).quote
        book_row = self.book_row
        depths = (book_row.bid_depth, book_row.ask_depth)
        if quote is not None and (quote.bid_depth, quote.ask_depth) != depths:
            book_row.bid_depth, book_row.ask_depth = quote.bid_depth, quote.ask_depth
            Book.objects.filter(pk=book_row.pk).update(bid_depth=quote.bid_depth, ask_depth=quote.ask_depth)
        names = {**self.names, self.house_id: HOUSE_NAME}
        for trade in trades:
            trade.buyer_name = names[trade.buyer_id]  # type: ignore[attr-defined]
            trade.seller_name = names[trade.seller_id]  # type: ignore[attr-defined]
            publish_trade(trade_json(trade))
        if trades:
            transaction.on_commit(lambda: _log_trades(trades))
        self.ids = ids
        self._publish_private(changed, trades, names, balance_events=balance_events)
        return trades

    def _publish_private(
        self, changed: list[Order], trades: list[Trade], names: dict[int, str], *, balance_events: bool
    ) -> None:
        """Each changed order's ``order`` event, then each changed account's ``balance`` event."""
        if not changed:
            return
        fills: dict[int, list[Trade]] = defaultdict(list)
        earlier = [row.pk for row in changed if row.pk in self.start]
        if earlier:
            new = {trade.pk for trade in trades}
            for trade in Trade.objects.filter(Q(buy_order_id__in=earlier) | Q(sell_order_id__in=earlier)):
                if trade.pk not in new:
                    _file_fill(fills, trade)
        for trade in trades:
            _file_fill(fills, trade)
        for row in changed:
            row.account = Account(pk=row.account_id, name=names.get(row.account_id, ""))
            publish_order(row.account_id, order_json(row, sorted(fills[row.pk], key=lambda t: t.pk)))
        moved = [
            pk
            for pk, wallet in self.venue.wallets.items()
            if pk is not None and self.wallets_before[pk] != _balances(wallet, self.symbol)
        ]
        if balance_events and moved:
            # The accounts whose balances were loaded are known as they now stand.
            known = {}
            for pk in moved:
                if pk in self.loaded:
                    wallet = self.venue.wallets[pk]
                    _, _, units, reserved = _balances(wallet, self.symbol)
                    positions = dict(self.held[pk])
                    # As the rows now stand: this asset's row exists if it did, or was written.
                    if self.had_position[pk] or (units, reserved) != self.wallets_before[pk][2:]:
                        positions[self.symbol] = (units, reserved)
                    known[pk] = Balances(wallet.cash, wallet.reserved_cash, positions)
            publish_balances(moved, known=known)

    def _save_balances(self) -> None:
        """Accounts get their new balances as exact values; the house, last, by differences.

        Exact values because SQLite keeps decimal columns as floating point:
        adding differences there drifts (0.10 + 0.70 - 0.70 - 0.10 is not 0),
        and a reservation a hair below zero breaks its check constraint. The
        house's rows are touched by every order, so they are updated last and
        relatively, to be held locked only until the commit that follows; the
        house has no constraint to break, and every read quantizes to cents.
        """
        # Plain statements (``_SET_CASH`` and the others): every order runs them, and the
        # ORM's building of each cost about as much as the database's work.
        with connection.cursor() as cursor:
            for pk in sorted(pk for pk in self.venue.wallets if pk is not None):
                wallet = self.venue.wallets[pk]
                before = self.wallets_before[pk]
                after = _balances(wallet, self.symbol)
                if after[:2] != before[:2]:
                    cursor.execute(_SET_CASH, [_money(wallet.cash), _money(wallet.reserved_cash), pk])
                if after[2:] != before[2:]:
                    if self.had_position[pk]:
                        cursor.execute(_SET_UNITS, [after[2], after[3], pk, self.symbol])
                    else:
                        self._create_position(pk, after[2], after[3], is_house=False)
            house = self.venue.wallets[HOUSE]
            cash0, _, units0, _ = self.wallets_before[HOUSE]
            cash, units = house.cash - cash0, house.units.get(self.symbol, 0) - units0
            if cash:
                cursor.execute(_ADD_CASH, [_money(cash), self.house_id])
            if units:
                cursor.execute(_ADD_UNITS, [units, self.house_id, self.symbol])
                if not cursor.rowcount:
                    self._create_position(self.house_id, units, 0, is_house=True)

    def _create_position(self, pk: int, units: int, reserved: int, *, is_house: bool) -> None:
        Position.objects.create(
            account_id=pk, symbol=self.symbol, quantity=units, reserved=reserved, is_house=is_house
        )


class Balances(NamedTuple):
    """An account's cash, reserved cash and positions (symbol: units, reserved units)."""

    cash: Decimal
    reserved_cash: Decimal
    positions: dict[str, tuple[int, int]]


# The balance updates of ``_Unit._save_balances``; the tables' names are the models', not input.
_ACCOUNTS, _POSITIONS = Account._meta.db_table, Position._meta.db_table
_SET_CASH = f"UPDATE {_ACCOUNTS} SET cash = %s, reserved_cash = %s WHERE id = %s"  # noqa: S608
_ADD_CASH = f"UPDATE {_ACCOUNTS} SET cash = cash + %s WHERE id = %s"  # noqa: S608
_SET_UNITS = f"UPDATE {_POSITIONS} SET quantity = %s, reserved = %s WHERE account_id = %s AND symbol = %s"  # noqa: S608
_ADD_UNITS = f"UPDATE {_POSITIONS} SET quantity = quantity + %s WHERE account_id = %s AND symbol = %s"  # noqa: S608
_CASH_FIELD = Account._meta.get_field("cash")


def _money(amount: Decimal) -> Any:
    """An amount as the ORM would send it for the accounts' cash columns."""
    return connection.ops.adapt_decimalfield_value(
        amount,
        _CASH_FIELD.max_digits,
        _CASH_FIELD.decimal_places,  # type: ignore[attr-defined]
    )


def publish_balances(
    accounts: Iterable[int], *, known: dict[int, Balances] | None = None, point: bool = False
) -> None:
    """Each account's ``balance`` event as this transaction leaves it, and a point of its history.

    ``known`` gives the balances of accounts the caller holds up to date; the
    others are read. A history point is written at most every
    ``EXCHANGE_HISTORY_INTERVAL`` seconds per account and process (always
    with ``point``), so a busy bot's orders do not each write one.
    """
    wanted = sorted(set(accounts))
    known = known or {}
    unknown = [pk for pk in wanted if pk not in known]
    balances = [(pk, known[pk].cash, known[pk].reserved_cash) for pk in wanted if pk in known]
    held: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for pk in wanted:
        if pk in known:
            held[pk] = dict(known[pk].positions)
    if unknown:
        balances += list(Account.objects.filter(pk__in=unknown).values_list("pk", "cash", "reserved_cash"))
        rows = Position.objects.filter(account_id__in=unknown).values_list(
            "account_id", "symbol", "quantity", "reserved"
        )
        for account_id, symbol, quantity, reserved in rows:
            held[account_id][symbol] = (quantity, reserved)
    due = [pk for pk in wanted if point or _history_due(pk)]
    prices = dict(Price.objects.values_list("symbol", "price")) if due else {}
    points = []
    for pk, cash, reserved_cash in sorted(balances):
        units = {symbol: quantity for symbol, (quantity, _) in held[pk].items()}
        publish_balance(
            pk,
            balance_json(
                cash=cash,
                reserved_cash=reserved_cash,
                positions=units,
                reserved_units={symbol: reserved for symbol, (_, reserved) in held[pk].items()},
            ),
        )
        if pk in due:
            worth = sum((prices.get(symbol, matching.ZERO) * n for symbol, n in units.items()), matching.ZERO)
            points.append(
                EquityPoint(account_id=pk, cash=cash, equity=(cash + worth).quantize(matching.CENT))
            )
    if points:
        EquityPoint.objects.bulk_create(points)


# When this process last wrote each account's history point (monotonic seconds).
_last_point: dict[int, float] = {}


def _history_due(account_id: int) -> bool:
    now = time.monotonic()
    if now - _last_point.get(account_id, -math.inf) < settings.EXCHANGE_HISTORY_INTERVAL:
        return False
    _last_point[account_id] = now
    return True


def _balances(wallet: Wallet, symbol: str) -> tuple[Decimal, Decimal, int, int]:
    return (
        wallet.cash,
        wallet.reserved_cash,
        wallet.units.get(symbol, 0),
        wallet.reserved_units.get(symbol, 0),
    )


def _file_fill(fills: dict[int, list[Trade]], trade: Trade) -> None:
    for order_id in (trade.buy_order_id, trade.sell_order_id):
        if order_id is not None:
            fills[order_id].append(trade)


def _order_id(venue_id: int | None, ids: dict[int, int]) -> int | None:
    if venue_id is None:
        return None
    return ids.get(venue_id, venue_id)


def _log_trades(trades: Sequence[Trade]) -> None:
    for trade in trades:
        trade_logger.info(
            "%s bought %d %s from %s at %s (trade #%d)",
            trade.buyer_name,  # type: ignore[attr-defined]
            trade.quantity,
            trade.symbol,
            trade.seller_name,  # type: ignore[attr-defined]
            format_money(trade.price),
            trade.pk,
        )


def _fresh_price(symbol: str, row: Book) -> Decimal:
    """The book's price, refused when older than ``EXCHANGE_PRICE_MAX_AGE`` in market time
    (a price frozen by a paused clock does not age)."""
    if row.price is None or row.ts is None:
        raise NoPrice(f"there is no price for {symbol} yet")
    age = price_age(row.ts)
    if is_stale(age):
        raise NoPrice(
            f"the latest {symbol} price is {age.total_seconds():.0f}s old; orders wait for a fresh one"
        )
    return row.price


def _opposite_book(symbol: str, request: OrderRequest, quote: Quote | None) -> list[Order]:
    """The resting orders an incoming order may reach, best first (never more than it has units)."""
    side = matching.opposite(request.side)
    rows = Order.objects.filter(symbol=symbol, side=side, resting=True)
    limit = request.limit_price if request.type in (LIMIT, STOP_LIMIT) else None
    if quote is not None and quote.depth(request.side) is None:
        # The house fills everything at its price: nothing worse is ever reached.
        house = quote.price(request.side)
        limit = house if limit is None else (min(limit, house) if request.side == BUY else max(limit, house))
    if limit is not None:
        rows = (
            rows.filter(limit_price__lte=limit)
            if request.side == BUY
            else rows.filter(limit_price__gte=limit)
        )
    ordering = ("limit_price", "id") if request.side == BUY else ("-limit_price", "id")
    return list(rows.order_by(*ordering)[: request.quantity])


# --- Placing -------------------------------------------------------------------------


def place_order(
    *,
    account: Account,
    symbol: Any,
    side: Any,
    quantity: Any,
    type: Any = None,
    limit_price: Any = None,
    stop_price: Any = None,
    time_in_force: Any = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
) -> Order:
    """Place an order: match it against the book and the house's quote, rest or cancel its remainder.

    The fields are taken as they came from the wire and checked by
    ``validate_order``, the one validation of every door (API, dashboard).

    One transaction, locked as the module says. With ``idempotency_key`` the
    order is placed at most once per account: a repeat with the same
    fingerprint answers the original order (``order.replayed`` True), a
    different one raises ``IdempotencyConflict``. Raises an ``OrderRejected``
    subclass when refused (no_price, insufficient_funds,
    insufficient_position, too_many_open_orders, ...); a refused order
    changes nothing and leaves no key.
    """
    request = validate_order(
        symbol=symbol,
        side=side,
        quantity=quantity,
        type=type,
        limit_price=limit_price,
        stop_price=stop_price,
        time_in_force=time_in_force,
    )
    if account.is_house:
        raise ValueError("the house does not place orders")
    fingerprint = request_fingerprint or request.fingerprint()
    try:
        with sqlite_writer(), transaction.atomic(), publishing_batch():
            return _place(account, request, idempotency_key, fingerprint)
    except IntegrityError:
        # Only a concurrent request with the same key gets here; its order is the answer.
        if idempotency_key is None:
            raise
        replayed = _replay(account, idempotency_key, fingerprint)
        if replayed is None:
            raise
        return replayed


def _replay(account: Account, key: str, fingerprint: str) -> Order | None:
    remembered = (
        IdempotencyKey.objects.select_related("order__account").filter(account=account, key=key).first()
    )
    if remembered is None:
        return None
    if remembered.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used for a different order (order #{remembered.order_id})"
        )
    order = remembered.order
    order.replayed = True
    return order


def _place(account: Account, request: OrderRequest, key: str | None, fingerprint: str) -> Order:
    symbol = request.symbol
    book_row = lock_book(symbol)
    if key is not None:
        replayed = _replay(account, key, fingerprint)
        if replayed is not None:
            return replayed
    if book_row.price is None or book_row.ts is None or book_row.bid is None:
        # A price recorded without its quote (a database from before the book) gets one now.
        latest = Price.objects.filter(symbol=symbol).first()
        if latest is None:
            raise NoPrice(f"there is no price for {symbol} yet")
        _requote(book_row, latest.price, latest.seq, latest.ts)
        book_row.save(update_fields=["seq", "price", "ts", "bid", "ask", "bid_depth", "ask_depth"])
    price = _fresh_price(symbol, book_row)
    fault_injection.refuse_as_stale(symbol)  # injected faults only (market/fault_injection.py)
    unit = _Unit(symbol=symbol, book_row=book_row, house_id=_house_of(book_row))
    venue = unit.venue
    venue_book = venue.book(symbol)
    venue_book.price = price
    waits = request.type in (STOP, STOP_LIMIT) and not matching.stop_triggered(
        request.side, request.stop_price or matching.ZERO, price
    )
    opposite = [] if waits else _opposite_book(symbol, request, venue_book.quote)
    unit.load_orders(opposite)
    may_rest = request.type in (STOP, STOP_LIMIT) or (
        request.type == LIMIT and request.time_in_force == "gtc"
    )
    if may_rest and settings.EXCHANGE_MAX_OPEN_ORDERS:
        venue.open_elsewhere[account.pk] = Order.objects.filter(
            account=account, status__in=matching.LIVE_STATUSES
        ).count()
    makers = {row.account_id for row in opposite}
    unit.lock_accounts({account.pk, *makers})
    # An injected partial fill (market/fault_injection.py) lets fewer units fill; none otherwise.
    fill = fault_injection.fill_quantity(
        type=request.type, time_in_force=request.time_in_force, quantity=request.quantity
    )
    order = venue.place(
        account=account.pk,
        symbol=symbol,
        side=request.side,
        quantity=fill,
        type=request.type,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        time_in_force=request.time_in_force,
    )
    fault_injection.restore_quantity(order, request.quantity)
    unit.new_orders.append(order)
    trades = unit.save()
    row = unit.rows[unit.ids[order.id]]
    row.account = account
    row.placed_trades = trades
    if key is not None:
        IdempotencyKey.objects.create(account_id=account.pk, key=key, fingerprint=fingerprint, order=row)
    wallet = venue.wallets[account.pk]
    account.cash, account.reserved_cash = wallet.cash, wallet.reserved_cash
    return row


# --- Cancelling ------------------------------------------------------------------------


def cancel_order(*, account: Account, order_id: int) -> Order:
    """Cancel one of the account's open orders; releases what it reserved.

    Another account's order is ``OrderNotFound`` (404), a closed one
    ``NotCancelable`` (409). A cancel and a fill that race are serialised by
    the book's lock: exactly one of them wins.
    """
    found = Order.objects.filter(pk=order_id, account=account).values_list("symbol", flat=True).first()
    if found is None:
        raise OrderNotFound(f"no order {order_id} of this account")
    with sqlite_writer(), transaction.atomic(), publishing_batch():
        book_row = lock_book(found)
        rows = _cancel(account, book_row, Order.objects.filter(pk=order_id), strict=True)
    return rows[0]


def cancel_all(*, account: Account, symbol: str | None = None) -> list[int]:
    """Cancel every open order of the account (of one asset); returns the canceled ids."""
    symbols = (
        [symbol]
        if symbol
        else sorted(
            set(
                Order.objects.filter(account=account, status__in=matching.LIVE_STATUSES).values_list(
                    "symbol", flat=True
                )
            )
        )
    )
    canceled: list[int] = []
    with sqlite_writer(), transaction.atomic(), publishing_batch():
        # Every book first (in symbol order), then the account: the order every transaction locks in.
        books = [lock_book(one) for one in symbols]
        for book_row in books:
            live = Order.objects.filter(
                account=account, symbol=book_row.symbol, status__in=matching.LIVE_STATUSES
            )
            canceled.extend(row.pk for row in _cancel(account, book_row, live, strict=False))
    return canceled


def reset_account(*, account: Account) -> list[int]:
    """Back to the starting cash with no positions: open orders canceled, the difference to the house.

    Each canceled order sends its ``order`` event, then one ``balance``
    event follows. The change is a ``LedgerEntry`` (not a trade, not on the
    tape), so the audit still explains every balance. Returns the canceled ids.
    """
    if account.is_house:
        raise ValueError("the house is not reset")
    canceled: list[int] = []
    with sqlite_writer(), transaction.atomic(), publishing_batch():
        books = [lock_book(symbol) for symbol in sorted(all_symbols())]
        for book_row in books:
            live = Order.objects.filter(
                account=account, symbol=book_row.symbol, status__in=matching.LIVE_STATUSES
            )
            canceled.extend(
                row.pk for row in _cancel(account, book_row, live, strict=False, balance_events=False)
            )
        locked = Account.objects.select_for_update().get(pk=account.pk)
        house = house_account()
        units = dict(
            Position.objects.filter(account=locked).exclude(quantity=0).values_list("symbol", "quantity")
        )
        cash = locked.starting_cash - locked.cash
        Account.objects.filter(pk=locked.pk).update(cash=locked.starting_cash)
        Position.objects.filter(account=locked).update(quantity=0)
        for symbol, quantity in sorted(units.items()):
            moved = Position.objects.filter(account=house, symbol=symbol).update(
                quantity=F("quantity") + quantity
            )
            if not moved:
                Position.objects.create(account=house, symbol=symbol, quantity=quantity, is_house=True)
        Account.objects.filter(pk=house.pk).update(cash=F("cash") - cash)
        LedgerEntry.objects.create(
            account=locked,
            kind=LedgerEntry.RESET,
            cash=cash,
            units={symbol: -quantity for symbol, quantity in units.items()},
        )
        publish_balances([locked.pk], point=True)
    account.cash, account.reserved_cash = account.starting_cash, matching.ZERO
    logger.info(
        "%s was reset to %s (%d open orders canceled)", account.name, account.starting_cash, len(canceled)
    )
    return canceled


def _cancel(
    account: Account, book_row: Book, orders: Any, *, strict: bool, balance_events: bool = True
) -> list[Order]:
    unit = _Unit(symbol=book_row.symbol, book_row=book_row, house_id=_house_of(book_row))
    rows = list(orders.select_for_update().filter(account=account).order_by("id"))
    if strict and not rows:
        raise OrderNotFound("no such order of this account")
    unit.load_orders(rows)
    unit.lock_accounts({account.pk})
    done = []
    for row in rows:
        if strict or unit.venue.orders[row.pk].is_live:
            unit.venue.cancel(account=account.pk, order_id=row.pk)
        else:
            continue
        done.append(row)
    unit.save(balance_events=balance_events)
    return done


# --- Ticks -----------------------------------------------------------------------------


def lock_book(symbol: str) -> Book:
    """The asset's book row, locked (created on its first tick)."""
    row = Book.objects.select_for_update().filter(symbol=symbol).first()
    if row is None:
        Book.objects.get_or_create(symbol=symbol, defaults={"house_id": house_account().pk})
        row = Book.objects.select_for_update().get(symbol=symbol)
    return row


def _house_of(book_row: Book) -> int:
    """The house's account id, which the book's row keeps so that an order need not look it up."""
    if book_row.house_id is None:
        book_row.house_id = house_account().pk
        Book.objects.filter(pk=book_row.pk).update(house_id=book_row.house_id)
    return book_row.house_id


def on_tick(*, book_row: Book, price: Decimal, seq: int, ts: datetime) -> None:
    """What a new price does to the book, inside ``record_price``'s transaction (the book row locked).

    The house requotes around it; stops it crossed trigger in the order they
    were placed; then the fresh quote fills the resting orders it crosses.
    """
    symbol = book_row.symbol
    quote = _requote(book_row, price, seq, ts)
    stops = list(
        Order.objects.filter(
            symbol=symbol,
            status__in=matching.LIVE_STATUSES,
            resting=False,
            type__in=(STOP, STOP_LIMIT),
            triggered=False,
        )
        .filter(Q(side=BUY, stop_price__lte=price) | Q(side=SELL, stop_price__gte=price))
        .order_by("id")
    )
    resting = Order.objects.filter(symbol=symbol, resting=True)
    if not stops:
        resting = resting.filter(
            Q(side=BUY, limit_price__gte=quote.ask) | Q(side=SELL, limit_price__lte=quote.bid)
        )
    rows = list(resting.order_by("id"))
    if stops or rows:
        unit = _Unit(symbol=symbol, book_row=book_row, house_id=_house_of(book_row))
        unit.load_orders([*rows, *stops])
        owners = {row.account_id for row in (*rows, *stops)}
        unit.lock_accounts(owners)
        unit.venue.tick(symbol, price)
        unit.save()
        quote = unit.venue.book(symbol).quote or quote
        book_row.bid_depth, book_row.ask_depth = quote.bid_depth, quote.ask_depth
    book_row.save(update_fields=["seq", "price", "ts", "bid", "ask", "bid_depth", "ask_depth"])
    _publish_book_if_changed(book_row, seq)


def book_levels(symbol: str, *, depth: int) -> dict[str, list[dict[str, Any]]]:
    """The accounts' resting orders aggregated per price, best first, ``depth`` levels per side."""
    levels: dict[str, list[dict[str, Any]]] = {"bids": [], "asks": []}
    for side, key, ordering in ((BUY, "bids", "-limit_price"), (SELL, "asks", "limit_price")):
        rows = (
            Order.objects.filter(symbol=symbol, resting=True, side=side)
            .order_by(ordering, "id")
            .values_list("limit_price", "quantity", "filled_quantity")
        )
        for limit_price, quantity, filled in rows.iterator():
            level = levels[key]
            price = format_money(limit_price or matching.ZERO)
            if level and level[-1]["price"] == price:
                level[-1]["quantity"] += quantity - filled
                level[-1]["orders"] += 1
            elif len(level) < depth:
                level.append({"price": price, "quantity": quantity - filled, "orders": 1})
            else:
                break
    return levels


def _requote(book_row: Book, price: Decimal, seq: int, ts: datetime) -> Quote:
    """The house's fresh quote for a tick, set on the book's row (saved by the caller)."""
    quote = matching.house_quote(
        price, spread_bps=settings.EXCHANGE_SPREAD_BPS, depth=settings.EXCHANGE_HOUSE_DEPTH
    )
    book_row.seq, book_row.price, book_row.ts = seq, price, ts
    book_row.bid, book_row.ask = quote.bid, quote.ask
    book_row.bid_depth, book_row.ask_depth = quote.bid_depth, quote.ask_depth
    return quote


def _publish_book_if_changed(book_row: Book, seq: int) -> None:
    levels = book_levels(book_row.symbol, depth=BOOK_EVENT_DEPTH)
    if levels == (book_row.levels or {"bids": [], "asks": []}):
        return
    Book.objects.filter(pk=book_row.pk).update(levels=levels)
    book_row.levels = levels
    publish_book({"symbol": book_row.symbol, "seq": seq, **levels})
