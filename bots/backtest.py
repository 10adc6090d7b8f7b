"""The backtest: a strategy replayed offline over the sources' seeded walk.

Pure logic, no Django and no I/O. Each seed fixes one price path per asset
(``sources.walk``, the very walk the live sources step), the assets tick in
turn as on the exchange, and every order goes to a ``market.venue.Venue``:
the exchange's own matching, house quote, depth and fees, so fills, cash,
positions and rejections follow the exchange exactly.

Money stays exact: cash is a ``Decimal`` updated only by ``fill``; the hot
loop tracks equity for the drawdown in whole cents (ints), which are exact
for two-place prices and much cheaper than ``Decimal`` on every tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bots.strategies import (
    BUY,
    GTC,
    LIMIT,
    LIVE,
    MAKER,
    MARKET,
    SELL,
    STOP,
    STOP_LIMIT,
    TAKER,
    Cancel,
    Order,
    OrderUpdate,
    Request,
    Strategy,
    Trade,
)
from bots.tracker import Change, FillReport, OrderReport, OrderTracker, deliver, is_refusal
from market.errors import (
    InvalidPrice,
    InvalidQuantity,
    InvalidSide,
    InvalidTimeInForce,
    InvalidType,
    NotCancelable,
    OrderNotFound,
    OrderRejected,
    TooManyOpenOrders,
)
from market.fills import MAX_ORDER_QUANTITY
from market.matching import ORDER_TYPES, TIMES_IN_FORCE, Fees
from market.venue import Order as VenueOrder
from market.venue import Venue, Wallet
from sources.scenarios import Scenario, scenario_prices
from sources.walk import RandomWalk

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")

# One price in the replay: symbol, price, and the price in whole cents.
PricePoint = tuple[str, Decimal, int]
WalkFactory = Callable[[str], RandomWalk]
# The strategy's account in the backtest's venue.
ACCOUNT = 1


@dataclass(frozen=True)
class VenueSettings:
    """The venue a backtest trades on: the house's spread and depth, the fees and the limit of
    open orders (defaults: none of them, as the exchange's defaults but the open-order limit)."""

    spread_bps: int = 0
    house_depth: int | None = None
    maker_fee_bps: int = 0
    taker_fee_bps: int = 0
    max_open_orders: int = 0

    def venue(self) -> Venue:
        return Venue(
            fees=Fees(maker_bps=self.maker_fee_bps, taker_bps=self.taker_fee_bps),
            spread_bps=self.spread_bps,
            house_depth=self.house_depth,
            # The session counts its own open orders (the venue would scan all it ever held).
            max_open_orders=0,
        )


def cents(amount: Decimal) -> int:
    """A two-place amount in whole cents, exactly."""
    return int(amount * HUNDRED)


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


@dataclass(frozen=True)
class RunResult:
    """One strategy over one seed: its final books and the metrics derived from them."""

    strategy: str
    seed: str
    ticks: int
    symbols: tuple[str, ...]
    starting_cash: Decimal
    final_cash: Decimal
    final_equity: Decimal
    positions: Mapping[str, int]
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    buys: int
    sells: int
    wins: int
    rejections: int
    orders: int = 0
    fees: Decimal = ZERO
    maker_units: int = 0
    taker_units: int = 0
    placed_units: int = 0
    trade_log: tuple[Trade, ...] = field(default=(), compare=False, repr=False)
    updates: tuple[OrderUpdate, ...] = field(default=(), compare=False, repr=False)

    @property
    def pnl(self) -> Decimal:
        return self.final_equity - self.starting_cash

    @property
    def trades(self) -> int:
        return self.buys + self.sells

    @property
    def return_pct(self) -> Decimal:
        if not self.starting_cash:
            return Decimal(0)
        return (self.pnl * HUNDRED / self.starting_cash).quantize(CENT)

    @property
    def filled_units(self) -> int:
        return self.maker_units + self.taker_units

    @property
    def maker_share(self) -> Decimal | None:
        """Share of the filled units that filled as maker (resting when they traded)."""
        if not self.filled_units:
            return None
        return (Decimal(self.maker_units) / self.filled_units).quantize(Decimal("0.0001"))

    @property
    def fill_ratio(self) -> Decimal | None:
        """Filled units over the units of every order the exchange accepted."""
        if not self.placed_units:
            return None
        return (Decimal(self.filled_units) / self.placed_units).quantize(Decimal("0.0001"))

    @property
    def win_rate(self) -> Decimal | None:
        """Share of sells that got more than the average cost of the units sold."""
        if not self.sells:
            return None
        return (Decimal(self.wins) / Decimal(self.sells)).quantize(Decimal("0.0001"))

    def to_json(self) -> dict[str, Any]:
        """The run as JSON: money as decimal strings; ``seed`` an integer when it is one."""
        return {
            "strategy": self.strategy,
            "seed": seed_json(self.seed),
            "ticks": self.ticks,
            "symbols": list(self.symbols),
            "starting_cash": money(self.starting_cash),
            "final_cash": money(self.final_cash),
            "final_equity": money(self.final_equity),
            "pnl": money(self.pnl),
            "return_pct": str(self.return_pct),
            "max_drawdown": money(self.max_drawdown),
            "max_drawdown_pct": str(self.max_drawdown_pct),
            "trades": self.trades,
            "buys": self.buys,
            "sells": self.sells,
            "win_rate": None if self.win_rate is None else str(self.win_rate),
            "rejections": self.rejections,
            "orders": self.orders,
            "fees": money(self.fees),
            "maker_units": self.maker_units,
            "taker_units": self.taker_units,
            "maker_share": None if self.maker_share is None else str(self.maker_share),
            "fill_ratio": None if self.fill_ratio is None else str(self.fill_ratio),
            "positions": dict(self.positions),
        }


def seed_json(seed: str) -> int | str:
    """``"7"`` -> ``7``; a seed that is not a plain integer (``demo``, ``007``) stays a string.

    ``007`` and ``7`` seed different walks, so only the canonical form becomes a number.
    """
    return int(seed) if seed.isdigit() and str(int(seed)) == seed else seed


def price_path(
    walks: Mapping[str, WalkFactory], *, seed: str, ticks: int, scenario: Scenario | None = None
) -> list[PricePoint]:
    """``ticks`` prices of every asset for one seed, interleaved tick by tick in symbol order.

    Under ``scenario`` the first tick is the scenario's first, as it is live for
    a source started with ``EXCHANGE_SCENARIO`` and the same seed.
    """
    series = []
    for symbol, new_walk in walks.items():
        walk = new_walk(seed)
        if scenario is not None and scenario.phases:  # ``default`` has none: the walk as configured
            prices = scenario_prices(walk, scenario, ticks)
        else:
            prices = walk.prices(ticks)
        series.append([(symbol, price, cents(price)) for price in prices])
    return [point for tick in zip(*series, strict=True) for point in tick]


class _Session:
    """One strategy's orders in the backtest's venue: placing, canceling, and what ticks do to them.

    Kept apart from ``simulate``'s loop, which stays lean for the ticks when
    nothing rests; these steps run only when there is an order to handle.
    """

    def __init__(
        self,
        strategy: Strategy,
        venue: Venue,
        wallet: Wallet,
        *,
        cash: Decimal,
        keep_trades: bool,
        max_open_orders: int = 0,
    ) -> None:
        self.strategy = strategy
        self.max_open_orders = max_open_orders
        self.venue = venue
        self.wallet = wallet
        self.tracker = OrderTracker()
        self.keep_trades = keep_trades
        self.trade_log: list[Trade] = []
        self.updates: list[OrderUpdate] = []
        self.positions: dict[str, int] = {}
        self.last_cents: dict[str, int] = {}
        self.quoted: dict[str, int] = {}  # the tick each asset's quote is from
        # symbol -> our live orders there (ids, oldest first); the symbols the venue must see tick.
        self.live: dict[str, dict[int, None]] = {}
        self.watching: set[str] = set()
        self.basis: dict[str, int] = {}  # cost of the units held, in cents, for the win rate
        self.cash = cash
        self.cash_cents = cents(cash)
        self.holdings = 0
        self.buys = self.sells = self.wins = self.rejections = 0
        self.orders = 0
        self.fees = ZERO
        self.maker_units = self.taker_units = 0

    # --- what the strategy asks -------------------------------------------------

    def requests(self, requests: Iterable[Request], symbol: str, price: Decimal, index: int) -> None:
        for request in requests:
            if isinstance(request, Cancel):
                self._cancel(request)
            else:
                self._place(request, symbol, price, index)

    def _place(self, order: Order, symbol: str, price: Decimal, index: int) -> None:
        if order.symbol != symbol:
            # Only the asset that just ticked has a price this instant.
            self._refused(order, "no_price", f"no current price for {order.symbol} in this tick")
            return
        if self.quoted.get(symbol) != index:
            self.venue.tick(symbol, price)
            self.quoted[symbol] = index
        try:
            check_order(order)
            may_wait = order.type in (STOP, STOP_LIMIT) or (
                order.type == LIMIT and order.time_in_force == GTC
            )
            limit = self.max_open_orders
            if may_wait and limit and sum(map(len, self.live.values())) >= limit:
                raise TooManyOpenOrders(f"an account may have at most {limit} open orders")
            placed = self.venue.place(
                account=ACCOUNT,
                symbol=symbol,
                side=order.side,
                quantity=order.quantity,
                type=order.type,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                time_in_force=order.time_in_force,
            )
        except OrderRejected as exc:
            self._refused(order, exc.code, exc.message)
            return
        self.orders += 1
        status = placed.status
        if status not in LIVE:
            # Done at once (a market order, mostly): it will never change again, so it needs
            # no tracking; the strategy hears what the tracker would tell it, in the order
            # ``deliver`` tells it (the fill, the update, then a refusal), without the Change.
            self.tracker.placed_units += placed.quantity
            filled = placed.filled_quantity
            average = placed.average_price
            trade = None
            if filled:
                trade = Trade(
                    symbol=symbol,
                    side=order.side,
                    quantity=filled,
                    price=average or price,
                    fee=placed.fees,
                    liquidity=TAKER,
                    ref=order.ref,
                )
            update = OrderUpdate(
                order=order,
                order_id=placed.id,
                status=status,
                filled_quantity=filled,
                average_price=average,
                fees=placed.fees,
                fill=trade,
            )
            if self.keep_trades:
                self.updates.append(update)
            if trade is not None:
                self._filled(trade)
            self.strategy.on_order(update)
            if is_refusal(status, filled, order):
                self._refused(order, status, "nothing filled")
            return
        self.live.setdefault(symbol, {})[placed.id] = None
        self.watching.add(symbol)
        self._tell(self.tracker.placed(order, report_of(placed)))

    def _cancel(self, request: Cancel) -> None:
        order_id = self.tracker.id_of(request.ref)
        tracked = None if order_id is None else self.tracker.known(order_id)
        if order_id is None or tracked is None or tracked.status not in LIVE:
            return  # not ours, or closed already: the runner sends nothing either
        try:
            order = self.venue.cancel(account=ACCOUNT, order_id=order_id)
        except (NotCancelable, OrderNotFound):
            return
        self._closed(order.symbol, order_id)
        self._tell(self.tracker.observe(report_of(order)))

    def _refused(self, order: Order, code: str, message: str) -> None:
        self.rejections += 1
        self.strategy.on_reject(order, code, message)

    # --- what a tick does ---------------------------------------------------------

    def tick(self, symbol: str, price: Decimal, index: int) -> None:
        """The venue sees the tick (stops trigger, the house sweeps); the strategy hears what changed."""
        self.venue.tick(symbol, price)
        self.quoted[symbol] = index
        orders = self.venue.orders
        tracker = self.tracker
        for order_id in list(self.live[symbol]):
            order = orders[order_id]
            tracked = tracker.known(order_id)
            if tracked is None or (order.status, order.filled_quantity) == (tracked.status, tracked.filled):
                continue
            if not order.is_live:
                self._closed(symbol, order_id)
            self._tell(tracker.observe(report_of(order)))

    def _closed(self, symbol: str, order_id: int) -> None:
        live = self.live.get(symbol, {})
        live.pop(order_id, None)
        if not live:
            self.watching.discard(symbol)

    # --- telling the strategy -----------------------------------------------------

    def _tell(self, changes: list[Change]) -> None:
        if self.keep_trades:
            self.updates.extend(change.update for change in changes)
        deliver(changes, on_fill=self._filled, on_order=self.strategy.on_order, on_reject=self._refused)

    def _filled(self, trade: Trade) -> None:
        symbol = trade.symbol
        before = self.positions.get(symbol, 0)
        after = before + (trade.quantity if trade.side == BUY else -trade.quantity)
        if after:
            self.positions[symbol] = after
        else:
            self.positions.pop(symbol, None)
        # The wallet may already be past later fills of the same tick; it is read again after them.
        self.cash = self.wallet.cash
        self.cash_cents = cents(self.cash)
        # A plain loop: a generator under sum() cost more than the few positions it adds up.
        holdings = 0
        last_cents = self.last_cents
        for held, units in self.positions.items():
            holdings += units * last_cents[held]
        self.holdings = holdings
        notional = cents(trade.price * trade.quantity)
        if trade.side == BUY:
            self.buys += 1
            self.basis[symbol] = self.basis.get(symbol, 0) + notional
        else:
            self.sells += 1
            cost = self.basis.get(symbol, 0)
            # Average cost: the sold units carry cost * quantity / before.
            if before and notional * before > cost * trade.quantity:
                self.wins += 1
            self.basis[symbol] = cost - cost * trade.quantity // before if after and before else 0
        self.fees += trade.fee
        if trade.liquidity == MAKER:
            self.maker_units += trade.quantity
        else:
            self.taker_units += trade.quantity
        if self.keep_trades:
            self.trade_log.append(trade)
        self.strategy.on_fill(trade)


def check_order(order: Order) -> None:
    """The API's checks of an order's shape, for requests that never cross the wire."""
    if not 1 <= order.quantity <= MAX_ORDER_QUANTITY or isinstance(order.quantity, bool):
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_ORDER_QUANTITY}")
    if order.side not in (BUY, SELL):
        raise InvalidSide(f"side must be 'buy' or 'sell', not {order.side!r}")
    if order.type not in ORDER_TYPES:
        raise InvalidType(f"type must be one of {', '.join(ORDER_TYPES)}, not {order.type!r}")
    if order.time_in_force not in TIMES_IN_FORCE:
        raise InvalidTimeInForce(f"time_in_force must be one of {', '.join(TIMES_IN_FORCE)}")
    if order.type == MARKET and order.limit_price is None and order.stop_price is None:
        return  # needs no price and has none: the loop below would find nothing (most orders)
    for name, value, needed in (
        ("limit_price", order.limit_price, order.type in (LIMIT, STOP_LIMIT)),
        ("stop_price", order.stop_price, order.type in (STOP, STOP_LIMIT)),
    ):
        if needed and value is None:
            raise InvalidPrice(f"a {order.type} order needs a {name}")
        if not needed and value is not None:
            raise InvalidPrice(f"a {order.type} order takes no {name}")
        if value is not None and (value <= 0 or value != value.quantize(CENT)):
            raise InvalidPrice(f"{name} must be above 0 with at most two decimal places, not {value}")


def report_of(order: VenueOrder) -> OrderReport:
    """A venue order as the API would report it to its owner."""
    fills = tuple(
        FillReport(
            price=f.price,
            quantity=f.quantity,
            fee=f.taker_fee if f.taker_order == order.id else f.maker_fee,
            liquidity=TAKER if f.taker_order == order.id else MAKER,
        )
        for f in order.fills
    )
    return OrderReport(
        id=order.id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        quantity=order.quantity,
        status=order.status,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        fees=order.fees,
        fills=fills,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        time_in_force=order.time_in_force,
    )


def simulate(
    strategy: Strategy,
    path: Iterable[PricePoint],
    *,
    cash: Decimal,
    name: str = "",
    seed: str = "",
    ticks: int = 0,
    symbols: Sequence[str] = (),
    keep_trades: bool = False,
    venue_settings: VenueSettings | None = None,
) -> RunResult:
    """Feed ``path`` to ``strategy``, filling its orders by the exchange's rules.

    The venue hears of a tick only when it matters: when an order is placed
    (the house's quote and depth of that tick), and on every tick of an asset
    where the strategy has orders resting or stops waiting (stops trigger, the
    house sweeps). Market orders rest nowhere, so for a strategy that places
    only those, the ticks between its orders change nothing the venue holds.
    """
    chosen = venue_settings or VenueSettings()
    venue = chosen.venue()
    wallet = venue.open_account(ACCOUNT, cash)
    session = _Session(
        strategy, venue, wallet, cash=cash, keep_trades=keep_trades, max_open_orders=chosen.max_open_orders
    )
    starting = cash
    on_price = strategy.on_price
    positions = session.positions
    last_cents = session.last_cents
    watching = session.watching
    cash_cents = session.cash_cents
    holdings = 0  # value of the positions at their last prices, in cents
    peak = cash_cents
    worst_drop = 0  # the largest fall from a peak, in cents
    worst_frac_drop, worst_frac_peak = 0, 1  # the largest fall relative to its peak
    strategy.on_start({})

    for index, (symbol, price, price_cents) in enumerate(path):
        held = positions.get(symbol)
        if held:
            holdings += held * (price_cents - last_cents[symbol])
            last_cents[symbol] = price_cents
        else:
            last_cents[symbol] = price_cents
        if watching and symbol in watching:
            fills = session.buys + session.sells
            session.tick(symbol, price, index)
            if session.buys + session.sells != fills:
                cash_cents, holdings = session.cash_cents, session.holdings
                held = True
        if held:
            # Equity moves with the price of something held, and with the fees
            # and the spread of a fill (a fill at the source price without a fee
            # swaps cash for units of the same value).
            equity = cash_cents + holdings
            if equity > peak:
                peak = equity
            else:
                drop = peak - equity
                if drop > worst_drop:
                    worst_drop = drop
                if drop * worst_frac_peak > worst_frac_drop * peak:
                    worst_frac_drop, worst_frac_peak = drop, peak
        orders = on_price(symbol, price)
        if not orders:
            continue
        fills = session.buys + session.sells
        session.requests(orders, symbol, price, index)
        if session.buys + session.sells != fills:
            cash_cents, holdings = session.cash_cents, session.holdings
            equity = cash_cents + holdings
            drop = peak - equity
            if drop > worst_drop:
                worst_drop = drop
            if drop > 0 and drop * worst_frac_peak > worst_frac_drop * peak:
                worst_frac_drop, worst_frac_peak = drop, peak

    cash = session.cash
    final_equity = (
        cash + sum((Decimal(last_cents[s]) * units for s, units in positions.items()), Decimal(0)) / HUNDRED
    )
    return RunResult(
        strategy=name,
        seed=seed,
        ticks=ticks,
        symbols=tuple(symbols),
        starting_cash=starting,
        final_cash=cash,
        final_equity=final_equity.quantize(CENT),
        positions=dict(sorted(positions.items())),
        max_drawdown=Decimal(worst_drop) / HUNDRED,
        max_drawdown_pct=(Decimal(worst_frac_drop) * HUNDRED / Decimal(worst_frac_peak)).quantize(CENT),
        buys=session.buys,
        sells=session.sells,
        wins=session.wins,
        rejections=session.rejections,
        orders=session.orders,
        fees=session.fees,
        maker_units=session.maker_units,
        taker_units=session.taker_units,
        placed_units=session.tracker.placed_units,
        trade_log=tuple(session.trade_log),
        updates=tuple(session.updates) if keep_trades else (),
    )


def run_backtest(
    *,
    strategies: Mapping[str, Callable[[], Strategy]],
    walks: Mapping[str, WalkFactory],
    seeds: Sequence[str],
    ticks: int,
    cash: Decimal,
    progress: Callable[[int], Any] | None = None,
    venue_settings: VenueSettings | None = None,
    scenario: Scenario | None = None,
) -> list[RunResult]:
    """Every strategy over every seed; one price path per seed, shared by the strategies.

    Results come seed by seed, strategies in the given order, so the same
    arguments give the same list.
    """
    results = []
    for seed in seeds:
        path = price_path(walks, seed=seed, ticks=ticks, scenario=scenario)
        for name, make in strategies.items():
            results.append(
                simulate(
                    make(),
                    path,
                    cash=cash,
                    name=name,
                    seed=seed,
                    ticks=ticks,
                    symbols=tuple(walks),
                    venue_settings=venue_settings,
                )
            )
            if progress is not None:
                progress(1)
    return results


def parse_seeds(text: str) -> list[str]:
    """``1-50`` / ``3,7,9`` / ``1-3,10`` / ``demo`` -> seed strings, in order, without repeats."""
    seeds: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty seed in {text!r}")
        low, dash, high = part.partition("-")
        if dash and low.strip().isdigit() and high.strip().isdigit():
            first, last = int(low), int(high)
            if last < first:
                raise ValueError(f"seed range {part!r} runs backwards")
            if last - first >= 1_000_000:
                raise ValueError(f"seed range {part!r} is too long")
            seeds.extend(str(n) for n in range(first, last + 1))
        else:
            seeds.append(part)
    return list(dict.fromkeys(seeds))
