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

from bots.strategies import BUY, Strategy, Trade
from market.errors import OrderRejected
from market.matching import Fees
from market.venue import Venue
from sources.walk import RandomWalk

CENT = Decimal("0.01")
HUNDRED = Decimal(100)

# One price in the replay: symbol, price, and the price in whole cents.
PricePoint = tuple[str, Decimal, int]
WalkFactory = Callable[[str], RandomWalk]
# The strategy's account in the backtest's venue.
ACCOUNT = 1


@dataclass(frozen=True)
class VenueSettings:
    """The venue a backtest trades on: the house's spread and depth, and the fees (defaults: none)."""

    spread_bps: int = 0
    house_depth: int | None = None
    maker_fee_bps: int = 0
    taker_fee_bps: int = 0

    def venue(self) -> Venue:
        return Venue(
            fees=Fees(maker_bps=self.maker_fee_bps, taker_bps=self.taker_fee_bps),
            spread_bps=self.spread_bps,
            house_depth=self.house_depth,
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
    trade_log: tuple[Trade, ...] = field(default=(), compare=False, repr=False)

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
            "positions": dict(self.positions),
        }


def seed_json(seed: str) -> int | str:
    """``"7"`` -> ``7``; a seed that is not a plain integer (``demo``, ``007``) stays a string.

    ``007`` and ``7`` seed different walks, so only the canonical form becomes a number.
    """
    return int(seed) if seed.isdigit() and str(int(seed)) == seed else seed


def price_path(walks: Mapping[str, WalkFactory], *, seed: str, ticks: int) -> list[PricePoint]:
    """``ticks`` prices of every asset for one seed, interleaved tick by tick in symbol order."""
    series = []
    for symbol, new_walk in walks.items():
        prices = new_walk(seed).prices(ticks)
        series.append([(symbol, price, cents(price)) for price in prices])
    return [point for tick in zip(*series, strict=True) for point in tick]


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

    The venue hears of a tick only when an order needs it (the house's quote
    and depth of that tick): a strategy's market orders rest nowhere, so the
    ticks between its orders change nothing the venue holds.
    """
    venue = (venue_settings or VenueSettings()).venue()
    wallet = venue.open_account(ACCOUNT, cash)
    quoted: dict[str, int] = {}  # the tick each asset's quote is from
    on_price = strategy.on_price
    positions: dict[str, int] = {}
    last_cents: dict[str, int] = {}
    basis: dict[str, int] = {}  # cost of the units held, in cents, for the win rate
    cash_cents = cents(cash)
    starting = cash
    holdings = 0  # value of the positions at their last prices, in cents
    peak = cash_cents
    worst_drop = 0  # the largest fall from a peak, in cents
    worst_frac_drop, worst_frac_peak = 0, 1  # the largest fall relative to its peak
    buys = sells = wins = rejections = 0
    trade_log: list[Trade] = []
    strategy.on_start({})

    for index, (symbol, price, price_cents) in enumerate(path):
        held = positions.get(symbol)
        if held:
            holdings += held * (price_cents - last_cents[symbol])
            last_cents[symbol] = price_cents
            # Equity moves only with the price of something held: a fill at
            # the tick's price swaps cash for units of the same value.
            equity = cash_cents + holdings
            if equity > peak:
                peak = equity
            else:
                drop = peak - equity
                if drop > worst_drop:
                    worst_drop = drop
                if drop * worst_frac_peak > worst_frac_drop * peak:
                    worst_frac_drop, worst_frac_peak = drop, peak
        else:
            last_cents[symbol] = price_cents
        orders = on_price(symbol, price)
        if not orders:
            continue
        for order in orders:
            before = positions.get(order.symbol, 0)
            if order.symbol != symbol:
                # Only the asset that just ticked has a price this instant.
                rejections += 1
                strategy.on_reject(order, "no_price", f"no current price for {order.symbol} in this tick")
                continue
            if quoted.get(symbol) != index:
                venue.tick(symbol, price)
                quoted[symbol] = index
            try:
                placed = venue.place(account=ACCOUNT, symbol=symbol, side=order.side, quantity=order.quantity)
            except OrderRejected as exc:
                rejections += 1
                strategy.on_reject(order, exc.code, exc.message)
                continue
            if not placed.filled_quantity:
                rejections += 1
                strategy.on_reject(order, placed.status, "nothing filled")
                continue
            cash = wallet.cash
            cash_cents = cents(cash)
            notional = cents(placed.notional)
            after = wallet.units.get(symbol, 0)
            if after:
                positions[symbol] = after
            else:
                positions.pop(symbol, None)
            holdings += (after - before) * price_cents
            if order.side == BUY:
                buys += 1
                basis[symbol] = basis.get(symbol, 0) + notional
            else:
                sells += 1
                cost = basis.get(symbol, 0)
                # Average cost: the sold units carry cost * quantity / before.
                if notional * before > cost * placed.filled_quantity:
                    wins += 1
                basis[symbol] = cost - cost * placed.filled_quantity // before if after else 0
            trade = Trade(
                symbol=symbol,
                side=order.side,
                quantity=placed.filled_quantity,
                price=placed.average_price or price,
            )
            if keep_trades:
                trade_log.append(trade)
            strategy.on_fill(trade)

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
        buys=buys,
        sells=sells,
        wins=wins,
        rejections=rejections,
        trade_log=tuple(trade_log),
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
) -> list[RunResult]:
    """Every strategy over every seed; one price path per seed, shared by the strategies.

    Results come seed by seed, strategies in the given order, so the same
    arguments give the same list.
    """
    results = []
    for seed in seeds:
        path = price_path(walks, seed=seed, ticks=ticks)
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
