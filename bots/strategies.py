"""Trading strategies: the ``Strategy`` interface and the built-in strategies.

Pure logic, no Django and no I/O, so one strategy object runs the same way
under the live runner (``manage.py runbot``) and in the backtest. A strategy
sees one price at a time and answers with the requests it wants: orders
(market, limit, stop, stop-limit) and cancels of its own resting orders.
Whoever runs it places them and then tells it what happened (``on_fill``,
``on_order``, ``on_reject``), so its bookkeeping follows the account, not its
wishes. Built in: the original's ``investor`` and ``hamster`` (market
orders), and ``market_maker`` and ``breakout``, which show the book.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

BUY = "buy"
SELL = "sell"
MARKET = "market"
LIMIT = "limit"
STOP = "stop"
STOP_LIMIT = "stop_limit"
GTC = "gtc"
IOC = "ioc"
FOK = "fok"
# An order's statuses, as the exchange reports them.
OPEN = "open"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELED = "canceled"
REJECTED = "rejected"
LIVE = (OPEN, PARTIALLY_FILLED)
MAKER = "maker"
TAKER = "taker"
CENT = Decimal("0.01")
# Returned when a strategy wants nothing: shared, so the hot path allocates nothing.
NO_ORDERS: tuple[Order, ...] = ()


@dataclass(frozen=True)
class Order:
    """An order a strategy wants placed. ``Order(symbol, side, quantity)`` is a market order.

    ``type`` is ``market``, ``limit`` (needs ``limit_price``), ``stop`` (a
    market order once the price crosses ``stop_price``) or ``stop_limit``
    (both prices); ``time_in_force`` ``gtc``, ``ioc`` or ``fok``, as in the API.
    ``ref`` is the strategy's own name for the order: updates carry it back,
    and ``Cancel(ref)`` cancels it. Refs must be unique per strategy.
    """

    symbol: str
    side: str
    quantity: int
    type: str = MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = GTC
    ref: str | None = None

    def describe(self) -> str:
        """``buy 2 BTC limit 29990.00``, ``sell 1 BTC stop 29870.00``: the order as the logs name it."""
        text = f"{self.side} {self.quantity} {self.symbol}"
        if self.type == MARKET:
            text += " market"
        if self.stop_price is not None:
            text += f" stop {self.stop_price}"
        if self.limit_price is not None:
            text += f" limit {self.limit_price}"
        if self.time_in_force != GTC:
            text += f" {self.time_in_force}"
        return text


@dataclass(frozen=True)
class Cancel:
    """A request to cancel the strategy's own order named ``ref`` (what is left of it)."""

    ref: str


Request = Order | Cancel


@dataclass(frozen=True)
class Trade:
    """What of an order was executed: the price is the exchange's, not the strategy's guess.

    One ``Trade`` per report of new fills: for a market order, all of it at its
    average price; for a resting order, each part as it fills. ``fee`` is what
    the account paid on these units, ``liquidity`` ``maker``, ``taker`` or
    ``mixed``; ``ref`` is the order's ref, if the strategy gave one.
    """

    symbol: str
    side: str
    quantity: int
    price: Decimal
    fee: Decimal = Decimal("0.00")
    liquidity: str = TAKER
    ref: str | None = None


@dataclass(frozen=True)
class OrderUpdate:
    """A change of one of the strategy's orders, as the exchange reported it.

    ``status`` is ``open`` (accepted: resting, or a stop waiting), then
    ``partially_filled``, ``filled``, ``canceled`` (by the strategy, or the
    unfilled rest of a market, ioc or fok order) or ``rejected`` (a triggered
    stop that could not fill). ``fill`` is what filled since the previous
    update (also given to ``on_fill``), ``None`` when nothing did.
    """

    order: Order
    order_id: int
    status: str
    filled_quantity: int
    average_price: Decimal | None
    fees: Decimal
    fill: Trade | None = None

    @property
    def ref(self) -> str | None:
        return self.order.ref

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    @property
    def remaining(self) -> int:
        return self.order.quantity - self.filled_quantity


_HOOKS = {
    OPEN: "on_open",
    PARTIALLY_FILLED: "on_partially_filled",
    FILLED: "on_filled",
    CANCELED: "on_canceled",
    REJECTED: "on_rejected",
}


class Strategy:
    """The interface every strategy implements; subclass it and override ``on_price``.

    - ``on_start(positions)``: once, before the first price, with the units the
      account already holds (a restarted bot keeps its account).
    - ``on_price(symbol, price)``: every new price of every followed asset, in
      order, each once; returns the requests to make now (usually none):
      ``Order`` and ``Cancel`` objects, made in the order given.
    - ``on_fill(trade)``: units of one of its orders were executed (a market
      order at once; a resting order when the price reaches it).
    - ``on_order(update)``: any change of one of its orders (accepted, partly
      or wholly filled, canceled, rejected); the default calls ``on_open``,
      ``on_partially_filled``, ``on_filled``, ``on_canceled`` or
      ``on_rejected``. ``on_fill`` comes first when the change is a fill.
    - ``on_reject(order, code, message)``: the exchange refused an order
      (``code`` as in the API's errors), or a market, ioc, fok order or a stop
      ended without filling anything (``code`` its status).

    Every report of what happened up to a price arrives before that price's
    ``on_price``: live and in the backtest alike, fills that a tick caused come
    before the tick's ``on_price``. ``quantity`` is the lot size (``--quantity``).
    """

    #: One line for ``runbot --help``.
    summary: ClassVar[str] = "a trading strategy"

    def __init__(self, *, quantity: int = 1) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError("quantity must be a whole number of at least 1")
        self.quantity = quantity

    def on_start(self, positions: Mapping[str, int]) -> None:
        """Learn what the account already holds; the default ignores it."""

    #: Cancel the account's open orders in the followed assets before the first price
    #: (a restarted bot's old quotes would otherwise be orders it cannot name).
    cancel_open_orders_on_start: ClassVar[bool] = False

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Request]:
        raise NotImplementedError

    def on_fill(self, trade: Trade) -> None:
        """Units of an order were executed; the default ignores it."""

    def on_reject(self, order: Order, code: str, message: str) -> None:
        """An order was refused, or ended unfilled; the default ignores it."""

    def on_order(self, update: OrderUpdate) -> None:
        """One of the strategy's orders changed; the default calls the hook named for its status."""
        # By name, not a dict of bound methods: this runs on every fill of a backtest.
        hook = _HOOKS.get(update.status)
        if hook is not None:
            getattr(self, hook)(update)

    def on_open(self, update: OrderUpdate) -> None:
        """The order was accepted and rests in the book (or its stop waits)."""

    def on_partially_filled(self, update: OrderUpdate) -> None:
        """Part of the order filled; the rest still rests."""

    def on_filled(self, update: OrderUpdate) -> None:
        """The whole order filled."""

    def on_canceled(self, update: OrderUpdate) -> None:
        """The order was canceled: by the strategy, or the unfilled rest of a market/ioc/fok order."""

    def on_rejected(self, update: OrderUpdate) -> None:
        """A triggered stop could not fill (its account could not cover it, or nothing to fill against)."""


class ThreePriceStrategy(Strategy):
    """Shared machinery of the original's bots: the last three prices per asset
    (p0, p1, p2, oldest first), the position it holds and its highest buy price.

    A peak is ``p0 < p1 > p2`` and a dip ``p0 > p1 < p2``, both strict, so flat
    stretches are neither. The highest buy price is the highest price paid for
    the units held now: it is forgotten when the position is sold out, and it is
    unknown (``None``) for units held from before the start, so the sell rules,
    which compare with it, wait until the strategy has bought something itself.
    """

    def __init__(self, *, quantity: int = 1) -> None:
        super().__init__(quantity=quantity)
        # symbol -> [p1, p2]: the two previous prices; p0 is shifted out on each price.
        self._window: dict[str, list[Decimal | None]] = {}
        self.positions: dict[str, int] = {}
        self.highest_buy: dict[str, Decimal] = {}

    def on_start(self, positions: Mapping[str, int]) -> None:
        self.positions = {symbol: units for symbol, units in positions.items() if units > 0}

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Order]:
        window = self._window.get(symbol)
        if window is None:
            self._window[symbol] = [None, price]
            return NO_ORDERS
        p0, p1 = window
        window[0] = p1
        window[1] = price
        if p0 is None or p1 is None:
            return NO_ORDERS
        if p0 < p1 > price:
            return self.on_peak(symbol, price)
        if p0 > p1 < price:
            return self.on_dip(symbol, price)
        return NO_ORDERS

    def on_peak(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return NO_ORDERS

    def on_dip(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return NO_ORDERS

    def on_fill(self, trade: Trade) -> None:
        held = self.positions.get(trade.symbol, 0)
        if trade.side == BUY:
            self.positions[trade.symbol] = held + trade.quantity
            highest = self.highest_buy.get(trade.symbol)
            if highest is None or trade.price > highest:
                self.highest_buy[trade.symbol] = trade.price
            return
        left = held - trade.quantity
        if left > 0:
            self.positions[trade.symbol] = left
        else:
            self.positions.pop(trade.symbol, None)
            self.highest_buy.pop(trade.symbol, None)

    def buy_lot(self, symbol: str) -> Sequence[Order]:
        return (Order(symbol, BUY, self.quantity),)

    def sell_all(self, symbol: str) -> Sequence[Order]:
        return (Order(symbol, SELL, self.positions[symbol]),)


class Investor(ThreePriceStrategy):
    """Buys the dips, sells the peaks at a profit (the original's investor).

    - On a dip (p0 > p1 < p2): buy one lot; remember the highest buy price.
    - On a peak (p0 < p1 > p2): if it holds the asset and p2 is above its
      highest buy price, sell the whole position.
    """

    summary = "buys one lot on a dip; on a peak above its highest buy price sells everything"

    def on_dip(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return self.buy_lot(symbol)

    def on_peak(self, symbol: str, price: Decimal) -> Sequence[Order]:
        highest = self.highest_buy.get(symbol)
        if highest is not None and price > highest and self.positions.get(symbol, 0) > 0:
            return self.sell_all(symbol)
        return NO_ORDERS


class Hamster(ThreePriceStrategy):
    """The investor's mirror image (the original's hamster): buys high, panics low.

    - On a peak (p0 < p1 > p2): buy one lot; remember the highest buy price.
    - On a dip (p0 > p1 < p2): if it holds the asset and p2 is below its
      highest buy price, sell the whole position (a panic sale at a loss).
    """

    summary = "buys one lot on a peak; on a dip below its highest buy price sells everything"

    def on_peak(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return self.buy_lot(symbol)

    def on_dip(self, symbol: str, price: Decimal) -> Sequence[Order]:
        highest = self.highest_buy.get(symbol)
        if highest is not None and price < highest and self.positions.get(symbol, 0) > 0:
            return self.sell_all(symbol)
        return NO_ORDERS


class MarketMaker(Strategy):
    """Quotes both sides around the price with resting limit orders, and lives off the difference.

    - Its first price of an asset: buy ``start_lots`` lots at market (a
      starting inventory, so it can quote the ask at once).
    - Every price: a bid of one lot at ``price - edge`` while it holds fewer
      than ``max_lots`` lots, and an ask of one lot (at most what it holds) at
      ``price + edge``; both ``gtc``.
    - When the price moves, it requotes: cancels the quotes still resting and
      places new ones around the new price (cancels first, so their
      reservations are free for the new orders).
    - A bid refused for lack of cash is not repeated until something sells.

    Where it must quote to be filled: a resting order fills when an order of
    another account reaches it (a market sell takes the best bid, and the
    house's bid comes after accounts' bids at its price) or when the next
    tick's house quote crosses it. Under the default house quote (the source
    price, no spread) a bid at ``price - edge`` fills when the next price is
    ``edge`` or more lower, an ask when it is ``edge`` or more higher. With a
    spread, the house quotes ``source x (1 +- spread/2)``: the bid then fills
    only when the house's ask falls to it, so a bid inside the house's spread
    is first in line for other accounts' sells but seldom swept by the house.
    A fill is at the quote's price however far the price went through it, and
    the walk moves 0 to 10.00 a tick with momentum: a tight quote fills often
    but mostly when the price has run past it, and the inventory then follows
    the trend against it. The default ``edge`` (5.00) fills about one step in
    two; the README's backtest table shows what it costs.
    """

    summary = "quotes a bid and an ask around the price with limit orders, requoting as it moves"
    cancel_open_orders_on_start = True

    def __init__(
        self,
        *,
        quantity: int = 1,
        edge: Decimal = Decimal("5.00"),
        max_lots: int = 3,
        start_lots: int = 1,
    ) -> None:
        super().__init__(quantity=quantity)
        if edge <= 0:
            raise ValueError("edge must be above 0")
        self.edge = edge
        self.max_position = max_lots * quantity
        self.start_position = start_lots * quantity
        self.positions: dict[str, int] = {}
        # symbol -> side -> the live quote: (ref, price).
        self.quotes: dict[str, dict[str, tuple[str, Decimal]]] = {}
        self.started: set[str] = set()
        self.broke: set[str] = set()  # assets whose last bid was refused for lack of cash
        self._refs = 0

    def on_start(self, positions: Mapping[str, int]) -> None:
        self.positions = {symbol: units for symbol, units in positions.items() if units > 0}

    def _ref(self, symbol: str, side: str) -> str:
        self._refs += 1
        return f"mm-{symbol}-{side}-{self._refs}"

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Request]:
        held = self.positions.get(symbol, 0)
        if symbol not in self.started:
            self.started.add(symbol)
            if held < self.start_position:
                return (Order(symbol, BUY, self.start_position - held, ref=self._ref(symbol, "start")),)
        quotes = self.quotes.setdefault(symbol, {})
        requests: list[Request] = []
        wanted: dict[str, Decimal] = {}
        bid = price - self.edge
        if held < self.max_position and symbol not in self.broke and bid >= CENT:
            wanted[BUY] = bid
        if held > 0:
            wanted[SELL] = price + self.edge
        for side in (BUY, SELL):
            live = quotes.get(side)
            if live is not None and live[1] != wanted.get(side):
                requests.append(Cancel(live[0]))
                del quotes[side]
        for side, at in wanted.items():
            if side in quotes:
                continue
            size = self.quantity if side == BUY else min(self.quantity, held)
            ref = self._ref(symbol, side)
            quotes[side] = (ref, at)
            requests.append(Order(symbol, side, size, type=LIMIT, limit_price=at, ref=ref))
        return requests

    def on_fill(self, trade: Trade) -> None:
        held = self.positions.get(trade.symbol, 0)
        held += trade.quantity if trade.side == BUY else -trade.quantity
        self.positions[trade.symbol] = held
        if trade.side == SELL:
            self.broke.discard(trade.symbol)

    def on_order(self, update: OrderUpdate) -> None:
        if not update.is_live:
            self._forget(update.order)

    def on_reject(self, order: Order, code: str, message: str) -> None:
        self._forget(order)
        if order.side == BUY and code == "insufficient_funds" and order.type == LIMIT:
            self.broke.add(order.symbol)

    def _forget(self, order: Order) -> None:
        quotes = self.quotes.get(order.symbol, {})
        live = quotes.get(order.side)
        if live is not None and live[0] == order.ref:
            del quotes[order.side]


class Breakout(Strategy):
    """Buys a breakout above the recent high, protected by a stop-loss; exits on the stop or a target.

    - It keeps each asset's last ``lookback`` prices (20). A price above all of
      them is a breakout: if it holds none, it buys one lot at market.
    - On the next price it protects the position with a stop order to sell it
      all at the recent low (the lowest of those prices at the entry): the
      exchange triggers it on the first tick at or below that price, between
      two of the strategy's decisions.
    - Its target is the entry price plus ``reward`` (2) times the risk (entry
      minus stop). On a price at or above it, it cancels the stop and sells
      the position at market.
    - It only buys (the exchange has no short selling), so a break below the
      recent low is its exit, not an entry. Should the stop end without
      filling (rejected), it sells at market on the next price.
    """

    summary = "buys a break above the recent high; a stop order at the recent low, sells at a target"

    def __init__(self, *, quantity: int = 1, lookback: int = 20, reward: Decimal = Decimal(2)) -> None:
        super().__init__(quantity=quantity)
        if lookback < 2:
            raise ValueError("lookback must be at least 2")
        self.lookback = lookback
        self.reward = reward
        self.recent: dict[str, list[Decimal]] = {}
        self.positions: dict[str, int] = {}
        self.entering: set[str] = set()
        self.entry: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (entry price, stop price)
        # symbol -> (the stop's ref, None once it is gone; stop price; target price)
        self.exits: dict[str, tuple[str | None, Decimal, Decimal]] = {}
        self._refs = 0

    def on_start(self, positions: Mapping[str, int]) -> None:
        self.positions = {symbol: units for symbol, units in positions.items() if units > 0}

    def _ref(self, symbol: str, what: str) -> str:
        self._refs += 1
        return f"bo-{symbol}-{what}-{self._refs}"

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Request]:
        recent = self.recent.setdefault(symbol, [])
        held = self.positions.get(symbol, 0)
        requests: Sequence[Request] = NO_ORDERS
        if held > 0 and symbol not in self.entering:
            requests = self._manage(symbol, price, held, recent)
        elif (
            not held and symbol not in self.entering and len(recent) == self.lookback and price > max(recent)
        ):
            self.entering.add(symbol)
            self.entry[symbol] = (price, min(recent))
            requests = (Order(symbol, BUY, self.quantity, ref=self._ref(symbol, "entry")),)
        recent.append(price)
        if len(recent) > self.lookback:
            del recent[0]
        return requests

    def _manage(self, symbol: str, price: Decimal, held: int, recent: list[Decimal]) -> Sequence[Request]:
        plan = self.exits.get(symbol)
        if plan is None:
            # A fresh position (or one held from before the start): protect it.
            # A stop already crossed triggers at once: the exchange sells at market.
            entry, stop = self.entry.get(symbol, (price, min(recent, default=price)))
            target = entry + self.reward * (entry - stop)
            ref = self._ref(symbol, "stop")
            self.exits[symbol] = (ref, stop, target)
            return (Order(symbol, SELL, held, type=STOP, stop_price=max(stop, CENT), ref=ref),)
        stop_ref, stop, target = plan
        if price >= target:
            self.exits[symbol] = (None, stop, target)
            sell = Order(symbol, SELL, held, ref=self._ref(symbol, "target"))
            return (Cancel(stop_ref), sell) if stop_ref else (sell,)
        if stop_ref is None:
            # The stop is gone but the position is not (a rejected stop, or a target sale refused).
            return (Order(symbol, SELL, held, ref=self._ref(symbol, "exit")),)
        return NO_ORDERS

    def on_fill(self, trade: Trade) -> None:
        held = self.positions.get(trade.symbol, 0)
        held += trade.quantity if trade.side == BUY else -trade.quantity
        if trade.side == BUY:
            self.entering.discard(trade.symbol)
            if trade.symbol in self.entry:
                self.entry[trade.symbol] = (trade.price, self.entry[trade.symbol][1])
        if held > 0:
            self.positions[trade.symbol] = held
        else:
            self.positions.pop(trade.symbol, None)
            self.exits.pop(trade.symbol, None)
            self.entry.pop(trade.symbol, None)

    def on_reject(self, order: Order, code: str, message: str) -> None:
        if order.side == BUY:
            self.entering.discard(order.symbol)
            if not self.positions.get(order.symbol):
                self.entry.pop(order.symbol, None)

    def on_order(self, update: OrderUpdate) -> None:
        order = update.order
        if order.side == BUY and not update.is_live:
            self.entering.discard(order.symbol)
        plan = self.exits.get(order.symbol)
        if order.type == STOP and not update.is_live and plan is not None and plan[0] == order.ref:
            self.exits[order.symbol] = (None, plan[1], plan[2])


#: The built-in strategies by the name ``runbot`` and ``backtest`` accept.
STRATEGIES: dict[str, type[Strategy]] = {
    "investor": Investor,
    "hamster": Hamster,
    "market_maker": MarketMaker,
    "breakout": Breakout,
}


class UnknownStrategy(ValueError):
    """A strategy name that is neither built in nor an importable Strategy class."""


def load_strategy(name: str) -> type[Strategy]:
    """A strategy class by built-in name, ``package.module:ClassName`` or ``package.module.ClassName``."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    if ":" in name:
        module_name, _, class_name = name.partition(":")
    elif "." in name:
        module_name, _, class_name = name.rpartition(".")
    else:
        raise UnknownStrategy(
            f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)} or module.path:ClassName"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownStrategy(f"cannot import {module_name!r} for strategy {name!r}: {exc}") from exc
    found: Any = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise UnknownStrategy(f"{name!r} is not a subclass of bots.strategies.Strategy")
    return found


def build_strategy(name: str, *, quantity: int = 1) -> Strategy:
    """A fresh strategy object by name (see ``load_strategy``) with lot size ``quantity``."""
    return load_strategy(name)(quantity=quantity)


def strategy_label(name: str) -> str:
    """A short name for logs and account names: ``investor``, or ``MyStrategy`` for a path."""
    if name in STRATEGIES:
        return name
    return name.replace(":", ".").rsplit(".", 1)[-1]
