"""The whole venue in memory: accounts, books, stops and the house, on ``market.matching``'s rules.

Pure: no Django, no I/O. The backtest trades against it, and the property
tests hold it against a brute-force model. The exchange's services keep the
same state in the database and decide with the same ``market.matching``
functions, in the same order of steps:

- placing: validate, stop orders wait (or trigger at once when the price has
  crossed), otherwise ``decide`` against the book and the quote, settle the
  fills, rest or cancel the remainder;
- a tick: the new price and the house's fresh quote; triggered stops in the
  order they were placed; then the quote sweeps the resting orders it crosses.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from market.errors import (
    InsufficientFunds,
    InsufficientPosition,
    NoPrice,
    NotCancelable,
    OrderNotFound,
    TooManyOpenOrders,
)
from market.matching import (
    BUY,
    CANCELED,
    CENT,
    FILLED,
    FOK,
    GTC,
    LIMIT,
    LIVE_STATUSES,
    MARKET,
    OPEN,
    PARTIALLY_FILLED,
    SELL,
    STOP,
    STOP_LIMIT,
    ZERO,
    Decision,
    Fees,
    Fill,
    Incoming,
    Quote,
    Resting,
    average_price,
    decide,
    fee,
    house_quote,
    reserved_cash,
    settle,
    stop_triggered,
    sweep,
)

HOUSE = None

# Fresh house quotes a venue remembers by price: a walk revisits its prices
# often, and a quote is immutable; the bound keeps a long-lived venue small.
_QUOTE_CACHE_SIZE = 4096


@dataclass(slots=True)
class Wallet:
    """One account's balances: cash and units per asset, with the parts open orders reserve."""

    cash: Decimal
    reserved_cash: Decimal = ZERO
    units: dict[str, int] = field(default_factory=dict)
    reserved_units: dict[str, int] = field(default_factory=dict)

    @property
    def available_cash(self) -> Decimal:
        return self.cash - self.reserved_cash

    def available_units(self, symbol: str) -> int:
        return self.units.get(symbol, 0) - self.reserved_units.get(symbol, 0)


@dataclass(slots=True)
class Order:
    """An order's life in the venue: the request, its status and its fills."""

    id: int
    account: int
    symbol: str
    side: str
    type: str
    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = "gtc"
    status: str = OPEN
    triggered: bool = False
    maker_fee_bps: int = 0
    filled_quantity: int = 0
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    # The fills since this venue took the order (all of them in a backtest).
    fills: list[Fill] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        return average_price(self.notional, self.filled_quantity)

    def add_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.filled_quantity += fill.quantity
        self.notional += fill.notional
        self.fees += fill.taker_fee if fill.taker_order == self.id else fill.maker_fee

    @property
    def is_resting(self) -> bool:
        return self.is_live and not self.waiting_for_stop

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def waiting_for_stop(self) -> bool:
        return self.type in (STOP, STOP_LIMIT) and not self.triggered and self.is_live


@dataclass(slots=True)
class Book:
    """One asset's resting orders, best first on each side, and the house's quote."""

    bids: list[Resting] = field(default_factory=list)
    asks: list[Resting] = field(default_factory=list)
    stops: list[int] = field(default_factory=list)
    quote: Quote | None = None
    price: Decimal | None = None

    def side(self, side: str) -> list[Resting]:
        return self.bids if side == BUY else self.asks

    def add(self, resting: Resting) -> None:
        orders = self.side(resting.side)
        keys = [_priority(r) for r in orders]
        orders.insert(bisect.bisect_right(keys, _priority(resting)), resting)

    def remove(self, order_id: int, side: str) -> Resting | None:
        orders = self.side(side)
        for index, resting in enumerate(orders):
            if resting.order_id == order_id:
                return orders.pop(index)
        return None


def _priority(resting: Resting) -> tuple[Decimal, int]:
    return (-resting.price if resting.side == BUY else resting.price, resting.order_id)


class Venue:
    """An exchange in memory, with the live venue's rules; ``None`` as an account is the house."""

    def __init__(
        self,
        *,
        fees: Fees | None = None,
        spread_bps: int = 0,
        house_depth: int | None = None,
        max_open_orders: int = 0,
    ) -> None:
        self.fees = fees or Fees()
        self.spread_bps = spread_bps
        self.house_depth = house_depth
        self.max_open_orders = max_open_orders
        self.wallets: dict[int | None, Wallet] = {HOUSE: Wallet(cash=ZERO)}
        self.books: dict[str, Book] = {}
        self.orders: dict[int, Order] = {}
        self.trades: list[Fill] = []
        # Open orders the venue does not hold (a snapshot of a book kept elsewhere).
        self.open_elsewhere: dict[int, int] = {}
        self._next_id = 1
        self._quotes: dict[tuple[Decimal, int, int | None], Quote] = {}

    # --- accounts -------------------------------------------------------------

    def open_account(self, account: int, cash: Decimal) -> Wallet:
        """An account funded by the house, so cash is conserved from the start."""
        wallet = Wallet(cash=cash)
        self.wallets[account] = wallet
        self.wallets[HOUSE].cash -= cash
        return wallet

    def book(self, symbol: str) -> Book:
        book = self.books.get(symbol)
        if book is None:
            # Not ``setdefault``: that would build a Book on every call.
            book = self.books[symbol] = Book()
        return book

    # --- orders ---------------------------------------------------------------

    def place(
        self,
        *,
        account: int,
        symbol: str,
        side: str,
        quantity: int,
        type: str = MARKET,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        time_in_force: str = "gtc",
    ) -> Order:
        """Place an order (already validated for shape); raises ``OrderRejected`` when refused."""
        book = self.book(symbol)
        if book.price is None:
            raise NoPrice(f"there is no price for {symbol} yet")
        may_wait = type in (STOP, STOP_LIMIT) or (type == LIMIT and time_in_force == GTC)
        if may_wait and self.max_open_orders and self.open_orders(account) >= self.max_open_orders:
            raise TooManyOpenOrders(f"an account may have at most {self.max_open_orders} open orders")
        order = Order(
            id=self._next_id,
            account=account,
            symbol=symbol,
            side=side,
            type=type,
            quantity=quantity,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            maker_fee_bps=self.fees.maker_bps,
        )
        if type == MARKET and book.quote is not None and self._house_only(order, book):
            self._take_house(order, book, book.quote)
            return order
        if type in (STOP, STOP_LIMIT):
            self._check_stop_cover(order)
            self._next_id += 1
            self.orders[order.id] = order
            if stop_triggered(side, stop_price or ZERO, book.price):
                self._trigger(order, book)
            else:
                book.stops.append(order.id)
            return order
        decision = self._decide(order, book, triggered=False)
        self._next_id += 1
        self.orders[order.id] = order
        self._apply(order, book, decision)
        return order

    def cancel(self, *, account: int, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.account != account:
            raise OrderNotFound(f"no order {order_id} of this account")
        if not order.is_live:
            raise NotCancelable(f"order {order_id} is {order.status}")
        book = self.book(order.symbol)
        if order.waiting_for_stop:
            book.stops.remove(order.id)
        else:
            self._unrest(order, book)
        order.status = CANCELED
        return order

    def open_orders(self, account: int) -> int:
        mine = sum(1 for order in self.orders.values() if order.account == account and order.is_live)
        return mine + self.open_elsewhere.get(account, 0)

    # --- ticks ----------------------------------------------------------------

    def tick(self, symbol: str, price: Decimal) -> list[Fill]:
        """A new source price: the house requotes, stops trigger in order, the quote sweeps the book."""
        book = self.book(symbol)
        book.price = price
        book.quote = self._fresh_quote(price)
        if not (book.stops or book.bids or book.asks):
            # Nothing to trigger and nothing for the quote to sweep.
            return []
        before = len(self.trades)
        for order_id in list(book.stops):
            order = self.orders[order_id]
            if stop_triggered(order.side, order.stop_price or ZERO, price):
                book.stops.remove(order_id)
                self._trigger(order, book)
        self._sweep(symbol, book)
        return self.trades[before:]

    def _fresh_quote(self, price: Decimal) -> Quote:
        if not price > 0:
            # Keyed by value, 0 and -0 would share a quote; they round to different asks.
            return house_quote(price, spread_bps=self.spread_bps, depth=self.house_depth)
        key = (price, self.spread_bps, self.house_depth)
        quote = self._quotes.get(key)
        if quote is None:
            if len(self._quotes) >= _QUOTE_CACHE_SIZE:
                self._quotes.clear()
            quote = self._quotes[key] = house_quote(price, spread_bps=self.spread_bps, depth=self.house_depth)
        return quote

    # --- steps ----------------------------------------------------------------

    def _house_only(self, order: Order, book: Book) -> bool:
        """Whether only the house can fill this market order: nothing rests on the other side."""
        return order.account is not HOUSE and not book.side(SELL if order.side == BUY else BUY)

    def _take_house(self, order: Order, book: Book, quote: Quote) -> None:
        """A market order when the other side of the book is empty: only the house can fill it.

        The same outcome as ``decide`` + ``_apply`` (the property tests hold
        both to one model), computed directly because the backtest places
        tens of thousands of these: at most one fill, at the house's price, up
        to its depth; the same checks, messages, statuses and balance changes,
        with the same ``Decimal`` operations so every amount keeps its exponent.
        """
        side, quantity, account = order.side, order.quantity, order.account
        if side == BUY:
            price, depth = quote.ask, quote.ask_depth
        else:
            price, depth = quote.bid, quote.bid_depth
        take = quantity if depth is None else min(quantity, depth)
        if take and order.time_in_force == FOK and take < quantity:
            take = 0
        wallet = self.wallets[account]
        notional = taker_fee = ZERO
        if take:
            notional = (price * take).quantize(CENT)
            taker_fee = fee(notional, self.fees.taker_bps)
        if side == BUY:
            need = notional + taker_fee
            available_cash = wallet.cash - wallet.reserved_cash
            if need > available_cash:
                raise InsufficientFunds(
                    f"buying {quantity} needs {need} (fills, fees and reservation); "
                    f"available cash is {available_cash}"
                )
        else:
            available_units = wallet.available_units(order.symbol)
            if quantity > available_units:
                raise InsufficientPosition(
                    f"cannot sell {quantity}; the available position is {available_units}"
                )
        self._next_id += 1
        self.orders[order.id] = order
        if take:
            fill = Fill(
                price=price,
                quantity=take,
                taker_side=side,
                maker_order=None,
                maker_account=None,
                taker_order=order.id,
                taker_account=account,
                maker_fee=ZERO,
                taker_fee=taker_fee,
            )
            house = self.wallets[HOUSE]
            symbol = order.symbol
            # As ``settle``: the taker pays (or gets) the notional and its fee,
            # the house the other side plus the fee; nobody's reservation moves.
            if side == BUY:
                wallet.cash += ZERO - (notional + taker_fee)
                house.cash += ZERO + (notional - ZERO) + (ZERO + taker_fee)
                units = take
            else:
                wallet.cash += ZERO + (notional - taker_fee)
                house.cash += ZERO - (notional + ZERO) + (ZERO + taker_fee)
                units = -take
            wallet.reserved_cash += ZERO
            house.reserved_cash += ZERO
            wallet.units[symbol] = wallet.units.get(symbol, 0) + units
            house.units[symbol] = house.units.get(symbol, 0) - units
            self.trades.append(fill)
            order.fills.append(fill)
            order.filled_quantity = take
            order.notional += notional
            order.fees += taker_fee
            book.quote = quote.used(side, take)
        order.status = FILLED if take == quantity else CANCELED

    def _incoming(self, order: Order) -> Incoming:
        limit = order.limit_price if order.type in (LIMIT, STOP_LIMIT) else None
        return Incoming(
            order_id=order.id,
            account=order.account,
            side=order.side,
            quantity=order.remaining,
            limit=limit,
            time_in_force=order.time_in_force,
            maker_fee_bps=order.maker_fee_bps,
        )

    def _decide(self, order: Order, book: Book, *, triggered: bool) -> Decision:
        wallet = self.wallets[order.account]
        return decide(
            self._incoming(order),
            book=book.side(SELL if order.side == BUY else BUY),
            quote=book.quote,
            fees=self.fees,
            available_cash=wallet.available_cash,
            available_units=wallet.available_units(order.symbol),
            triggered=triggered,
        )

    def _check_stop_cover(self, order: Order) -> None:
        # A stop reserves nothing while it waits, but one that its account
        # could not cover today is refused like any other order.
        wallet = self.wallets[order.account]
        decide(
            Incoming(order_id=None, account=order.account, side=order.side, quantity=order.quantity),
            book=(),
            quote=None,
            fees=self.fees,
            available_cash=wallet.available_cash,
            available_units=wallet.available_units(order.symbol),
        )

    def _trigger(self, order: Order, book: Book) -> None:
        order.triggered = True
        self._apply(order, book, self._decide(order, book, triggered=True))

    def _apply(self, order: Order, book: Book, decision: Decision) -> None:
        makers = {r.order_id: r for r in book.side(SELL if order.side == BUY else BUY)}
        self._settle(order.symbol, decision.fills, makers)
        for fill in decision.fills:
            self._record_maker_fill(fill, book, makers)
            order.add_fill(fill)
        if decision.match.quote is not None and book.quote is not None:
            book.quote = decision.match.quote
        order.status = decision.status
        if decision.rests:
            wallet = self.wallets[order.account]
            wallet.reserved_cash += decision.reserve_cash
            if decision.reserve_units:
                wallet.reserved_units[order.symbol] = (
                    wallet.reserved_units.get(order.symbol, 0) + decision.reserve_units
                )
            book.add(
                Resting(
                    order_id=order.id,
                    account=order.account,
                    side=order.side,
                    price=order.limit_price or ZERO,
                    remaining=decision.rests,
                    maker_fee_bps=order.maker_fee_bps,
                )
            )

    def _sweep(self, symbol: str, book: Book) -> None:
        if book.quote is None:
            return
        fills, book.quote = sweep(book.bids, book.asks, book.quote)
        if not fills:
            return
        makers = {r.order_id: r for r in (*book.bids, *book.asks)}
        self._settle(symbol, fills, makers)
        for fill in fills:
            self._record_maker_fill(fill, book, makers)

    def _record_maker_fill(self, fill: Fill, book: Book, makers: dict[int, Resting]) -> None:
        self.trades.append(fill)
        if fill.maker_order is None:
            return
        maker = self.orders[fill.maker_order]
        maker.add_fill(fill)
        resting = makers[fill.maker_order]
        orders = book.side(resting.side)
        index = next(i for i, r in enumerate(orders) if r.order_id == resting.order_id)
        left = orders[index].remaining - fill.quantity
        if left:
            orders[index] = Resting(
                order_id=resting.order_id,
                account=resting.account,
                side=resting.side,
                price=resting.price,
                remaining=left,
                maker_fee_bps=resting.maker_fee_bps,
            )
            maker.status = PARTIALLY_FILLED
        else:
            orders.pop(index)
            maker.status = FILLED

    def _settle(self, symbol: str, fills: Iterable[Fill], makers: dict[int, Resting]) -> None:
        for account, delta in settle(fills, makers).deltas.items():
            wallet = self.wallets[account]
            wallet.cash += delta.cash
            wallet.reserved_cash += delta.reserved_cash
            wallet.units[symbol] = wallet.units.get(symbol, 0) + delta.units
            if delta.reserved_units:
                wallet.reserved_units[symbol] = wallet.reserved_units.get(symbol, 0) + delta.reserved_units

    def _unrest(self, order: Order, book: Book) -> None:
        resting = book.remove(order.id, order.side)
        if resting is None:
            return
        wallet = self.wallets[order.account]
        if order.side == BUY:
            wallet.reserved_cash -= reserved_cash(resting.price, resting.remaining, resting.maker_fee_bps)
        else:
            wallet.reserved_units[order.symbol] -= resting.remaining
