"""The book's rules: how an order meets the resting orders and the house's quote.

Pure: no Django, no I/O, ``Decimal`` money. The exchange's services (orders
stored in the database) and the backtest (orders kept in memory) both decide
with these functions, so the live venue and a replay fill alike.

The rules, in one place:

- Price, then time: the best price first; at one price, accounts' resting
  orders in the order they arrived, then the house's quote.
- A trade executes at the maker's price: the resting order's, or the house's
  quote when an order takes it. Equal prices cross.
- The house quotes ``bid = source x (1 - spread/2)`` rounded down to a cent and
  ``ask = source x (1 + spread/2)`` rounded up, with a depth of units per side
  renewed every tick (``None``: unlimited).
- Self-trade prevention, "cancel the newest": an order that reaches a resting
  order of its own account stops there; what it filled before stays filled,
  its rest is canceled, and the resting order is untouched. The resting order
  was there first, and a bot that quotes both sides keeps its quotes.
- Fees are basis points of each fill's notional, rounded half up to a cent,
  paid to the house; the house pays none.
- A resting buy reserves, per unit, its limit price plus the maker fee on it
  rounded up to a cent. Resting orders only ever fill as makers, and the fee
  of every fill (however small) is at most that per-unit bound, so what a fill
  releases always covers what it costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from market.errors import InsufficientFunds, InsufficientPosition, OrderRejected

BUY = "buy"
SELL = "sell"
SIDES = (BUY, SELL)

MARKET = "market"
LIMIT = "limit"
STOP = "stop"
STOP_LIMIT = "stop_limit"
ORDER_TYPES = (MARKET, LIMIT, STOP, STOP_LIMIT)

GTC = "gtc"
IOC = "ioc"
FOK = "fok"
TIMES_IN_FORCE = (GTC, IOC, FOK)

OPEN = "open"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELED = "canceled"
REJECTED = "rejected"
STATUSES = (OPEN, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED)
LIVE_STATUSES = (OPEN, PARTIALLY_FILLED)

MAKER = "maker"
TAKER = "taker"

CENT = Decimal("0.01")
BPS = Decimal(10_000)
ZERO = Decimal("0.00")


def opposite(side: str) -> str:
    return SELL if side == BUY else BUY


def fee(notional: Decimal, bps: int) -> Decimal:
    """The fee on one fill: ``bps`` basis points of its notional, rounded half up to a cent."""
    if not bps:
        return ZERO
    return (notional * bps / BPS).quantize(CENT, rounding=ROUND_HALF_UP)


def unit_reserve(limit: Decimal, maker_fee_bps: int) -> Decimal:
    """What a resting buy holds per unit: its limit price and the largest maker fee on one unit."""
    return limit + (limit * maker_fee_bps / BPS).quantize(CENT, rounding=ROUND_CEILING)


def reserved_cash(limit: Decimal, remaining: int, maker_fee_bps: int) -> Decimal:
    """The cash a resting buy of ``remaining`` units at ``limit`` holds."""
    return unit_reserve(limit, maker_fee_bps) * remaining


def stop_triggered(side: str, stop_price: Decimal, price: Decimal) -> bool:
    """Whether ``price`` has crossed a stop: up through it for a buy, down through it for a sell."""
    return price >= stop_price if side == BUY else price <= stop_price


def average_price(notional: Decimal, quantity: int) -> Decimal | None:
    """The filled notional over the filled quantity, rounded half up to a cent."""
    if not quantity:
        return None
    return (notional / quantity).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Fees:
    """The venue's fee schedule in basis points."""

    maker_bps: int = 0
    taker_bps: int = 0


@dataclass(frozen=True)
class Quote:
    """The house's quote in one asset this tick, with the units it still offers on each side."""

    bid: Decimal
    ask: Decimal
    bid_depth: int | None = None
    ask_depth: int | None = None

    def price(self, side: str) -> Decimal:
        """The house's price to an order of ``side``: a buy takes the ask, a sell the bid."""
        return self.ask if side == BUY else self.bid

    def depth(self, side: str) -> int | None:
        return self.ask_depth if side == BUY else self.bid_depth

    def used(self, side: str, quantity: int) -> Quote:
        """The quote after the house filled ``quantity`` units against an order of ``side``."""
        # Built directly: ``dataclasses.replace`` costs several times as much, once per fill.
        if side == BUY:
            if self.ask_depth is None:
                return self
            return Quote(self.bid, self.ask, self.bid_depth, self.ask_depth - quantity)
        if self.bid_depth is None:
            return self
        return Quote(self.bid, self.ask, self.bid_depth - quantity, self.ask_depth)


def house_quote(source: Decimal, *, spread_bps: int = 0, depth: int | None = None) -> Quote:
    """The house's fresh quote around ``source``, with ``depth`` units per side (None: unlimited)."""
    factors = _SPREAD_FACTORS.get(spread_bps)
    if factors is None:
        factors = _SPREAD_FACTORS[spread_bps] = _spread_factors(spread_bps)
    below, above = factors
    bid = max((source * below).quantize(CENT, rounding=ROUND_FLOOR), CENT)
    ask = (source * above).quantize(CENT, rounding=ROUND_CEILING)
    return Quote(bid, ask, depth, depth)


def _spread_factors(spread_bps: int) -> tuple[Decimal, Decimal]:
    # Exact whatever the context: a whole number of bps over 20,000 ends within a few places.
    half = Decimal(spread_bps) / (2 * BPS)
    return 1 - half, 1 + half


# The factors of the spreads in use, by bps: computed once, as a price arrives every tick.
_SPREAD_FACTORS: dict[int, tuple[Decimal, Decimal]] = {}


@dataclass(frozen=True)
class Resting:
    """An account's order waiting in the book: what matching needs to know of it."""

    order_id: int
    account: int
    side: str
    price: Decimal
    remaining: int
    maker_fee_bps: int = 0


@dataclass(frozen=True)
class Incoming:
    """An order arriving at the book (new, or a stop just triggered): it is the taker."""

    order_id: int | None
    account: int
    side: str
    quantity: int
    limit: Decimal | None = None
    time_in_force: str = GTC
    # The maker fee its resting part will pay; None: the venue's current one.
    maker_fee_bps: int | None = None

    def crosses(self, price: Decimal) -> bool:
        if self.limit is None:
            return True
        return price <= self.limit if self.side == BUY else price >= self.limit


@dataclass(frozen=True)
class Fill:
    """One trade. ``None`` as an account or order stands for the house."""

    price: Decimal
    quantity: int
    taker_side: str
    maker_order: int | None
    maker_account: int | None
    taker_order: int | None
    taker_account: int | None
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO

    @property
    def notional(self) -> Decimal:
        return (self.price * self.quantity).quantize(CENT)

    @property
    def buyer(self) -> int | None:
        return self.taker_account if self.taker_side == BUY else self.maker_account

    @property
    def seller(self) -> int | None:
        return self.maker_account if self.taker_side == BUY else self.taker_account

    @property
    def buyer_fee(self) -> Decimal:
        return self.taker_fee if self.taker_side == BUY else self.maker_fee

    @property
    def seller_fee(self) -> Decimal:
        return self.maker_fee if self.taker_side == BUY else self.taker_fee

    @property
    def buy_order(self) -> int | None:
        return self.taker_order if self.taker_side == BUY else self.maker_order

    @property
    def sell_order(self) -> int | None:
        return self.maker_order if self.taker_side == BUY else self.taker_order


@dataclass(frozen=True)
class Match:
    """What an incoming order would do against the book and the quote (before any balance check)."""

    fills: tuple[Fill, ...]
    quantity: int
    quote: Quote
    self_trade: bool = False

    @property
    def filled(self) -> int:
        return sum(f.quantity for f in self.fills)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled

    @property
    def notional(self) -> Decimal:
        return sum((f.notional for f in self.fills), ZERO)

    @property
    def taker_fees(self) -> Decimal:
        return sum((f.taker_fee for f in self.fills), ZERO)


def _liquidity(
    side: str, book: Iterable[Resting], quote: Quote | None
) -> Iterator[tuple[Decimal, Resting | None, int | None]]:
    """Makers for an order of ``side``, best first: (price, resting order or None for the house, units).

    At the house's price, accounts' orders come first.
    """
    house_price = quote.price(side) if quote is not None else None
    house_depth = quote.depth(side) if quote is not None else 0
    house_pending = quote is not None and house_depth != 0
    for resting in book:
        if house_pending and house_price is not None and _better(side, house_price, resting.price):
            yield house_price, None, house_depth
            house_pending = False
        yield resting.price, resting, resting.remaining
    if house_pending and house_price is not None:
        yield house_price, None, house_depth


def _better(side: str, price: Decimal, than: Decimal) -> bool:
    """Whether ``price`` is strictly better than ``than`` for an order of ``side``."""
    return price < than if side == BUY else price > than


def match(incoming: Incoming, book: Sequence[Resting], quote: Quote | None, fees: Fees) -> Match:
    """Match ``incoming`` against ``book`` (the other side's resting orders, best first) and the quote.

    ``fok`` fills all or nothing; the self-trade rule stops the order at its
    own account's resting order. Nothing is mutated: the fills say which
    resting orders shrink, and the returned quote has the house's depth used.
    """
    plan: list[tuple[Decimal, Resting | None, int]] = []
    left = incoming.quantity
    self_trade = False
    for price, resting, available in _liquidity(incoming.side, book, quote):
        if left == 0 or not incoming.crosses(price):
            break
        if resting is not None and resting.account == incoming.account:
            self_trade = True
            break
        take = left if available is None else min(left, available)
        plan.append((price, resting, take))
        left -= take
    if incoming.time_in_force == FOK and left:
        return Match(fills=(), quantity=incoming.quantity, quote=quote or _NO_QUOTE, self_trade=self_trade)
    fills = []
    after = quote
    for price, resting, take in plan:
        notional = (price * take).quantize(CENT)
        if resting is None:
            assert after is not None
            after = after.used(incoming.side, take)
        fills.append(
            Fill(
                price=price,
                quantity=take,
                taker_side=incoming.side,
                maker_order=resting.order_id if resting else None,
                maker_account=resting.account if resting else None,
                taker_order=incoming.order_id,
                taker_account=incoming.account,
                maker_fee=fee(notional, resting.maker_fee_bps) if resting else ZERO,
                taker_fee=fee(notional, fees.taker_bps),
            )
        )
    return Match(
        fills=tuple(fills), quantity=incoming.quantity, quote=after or _NO_QUOTE, self_trade=self_trade
    )


# Matching without a house quote (the house absent, as in a test of accounts alone).
_NO_QUOTE = Quote(bid=CENT, ask=CENT, bid_depth=0, ask_depth=0)


def sweep(bids: Sequence[Resting], asks: Sequence[Resting], quote: Quote) -> tuple[tuple[Fill, ...], Quote]:
    """The house's fresh quote fills the resting orders it crosses, best first, at their prices.

    The resting orders are the makers and pay the maker fee; the house is the
    taker and pays none. Returns the fills and the quote with its depth used.
    """
    fills: list[Fill] = []
    for side_of_house, orders in ((SELL, bids), (BUY, asks)):
        for resting in orders:
            # The house serves the resting order from the side that order takes.
            depth = quote.depth(resting.side)
            if depth == 0 or not _crossed_by_house(resting, quote):
                break
            take = resting.remaining if depth is None else min(resting.remaining, depth)
            notional = (resting.price * take).quantize(CENT)
            fills.append(
                Fill(
                    price=resting.price,
                    quantity=take,
                    taker_side=side_of_house,
                    maker_order=resting.order_id,
                    maker_account=resting.account,
                    taker_order=None,
                    taker_account=None,
                    maker_fee=fee(notional, resting.maker_fee_bps),
                )
            )
            quote = quote.used(resting.side, take)
    return tuple(fills), quote


def _crossed_by_house(resting: Resting, quote: Quote) -> bool:
    return resting.price >= quote.ask if resting.side == BUY else resting.price <= quote.bid


@dataclass(frozen=True)
class Decision:
    """What becomes of an incoming order once its balances are checked."""

    status: str
    match: Match
    rests: int = 0
    reserve_cash: Decimal = ZERO
    reserve_units: int = 0
    rejection: OrderRejected | None = None

    @property
    def fills(self) -> tuple[Fill, ...]:
        return self.match.fills


def decide(
    incoming: Incoming,
    *,
    book: Sequence[Resting],
    quote: Quote | None,
    fees: Fees,
    available_cash: Decimal,
    available_units: int,
    triggered: bool = False,
) -> Decision:
    """Match an order and check it is covered; the one rule for new orders and triggered stops.

    A buy must afford what it fills now (notional and taker fees) plus the
    reservation of what rests; a sell must hold every unit it offers. A new
    order that is not covered raises ``InsufficientFunds`` or
    ``InsufficientPosition`` (the order is refused and nothing changes); a
    triggered stop is ``rejected`` instead, as is one that finds nothing to fill.
    """
    result = match(incoming, book, quote, fees)
    rests = 0
    if incoming.limit is not None and incoming.time_in_force == GTC and not result.self_trade:
        rests = result.remaining
    reserve = ZERO
    if rests and incoming.limit is not None and incoming.side == BUY:
        maker_bps = fees.maker_bps if incoming.maker_fee_bps is None else incoming.maker_fee_bps
        reserve = reserved_cash(incoming.limit, rests, maker_bps)
    problem: OrderRejected | None = None
    if incoming.side == BUY:
        need = result.notional + result.taker_fees + reserve
        if need > available_cash:
            problem = InsufficientFunds(
                f"buying {incoming.quantity} needs {need} (fills, fees and reservation); "
                f"available cash is {available_cash}"
            )
    elif incoming.quantity > available_units:
        problem = InsufficientPosition(
            f"cannot sell {incoming.quantity}; the available position is {available_units}"
        )
    if problem is not None:
        if not triggered:
            raise problem
        return Decision(status=REJECTED, match=_unfilled(result, quote), rejection=problem)
    if result.filled == incoming.quantity:
        status = FILLED
    elif rests:
        status = PARTIALLY_FILLED if result.filled else OPEN
    elif triggered and not result.filled:
        status = REJECTED
    else:
        status = CANCELED
    return Decision(
        status=status,
        match=result,
        rests=rests,
        reserve_cash=reserve,
        reserve_units=rests if incoming.side == SELL else 0,
    )


def _unfilled(result: Match, quote: Quote | None) -> Match:
    return Match(fills=(), quantity=result.quantity, quote=quote or _NO_QUOTE)


@dataclass
class Delta:
    """How one account's balances in one asset change: cash, units, and their reserved parts."""

    cash: Decimal = ZERO
    reserved_cash: Decimal = ZERO
    units: int = 0
    reserved_units: int = 0

    def __bool__(self) -> bool:
        return bool(self.cash or self.reserved_cash or self.units or self.reserved_units)


@dataclass
class Settlement:
    """Every balance change of a set of fills, per account (``None``: the house)."""

    deltas: dict[int | None, Delta] = field(default_factory=dict)

    def of(self, account: int | None) -> Delta:
        return self.deltas.setdefault(account, Delta())


def settle(fills: Iterable[Fill], makers: Mapping[int, Resting]) -> Settlement:
    """The balance changes of ``fills``: cash and units move, fees go to the house.

    A resting maker's fill releases its reservation for the units filled
    (``makers`` holds the resting orders by id); the taker's reservation of
    what rests is the caller's to add.
    """
    result = Settlement()
    for f in fills:
        notional = f.notional
        buyer, seller = result.of(f.buyer), result.of(f.seller)
        buyer.cash -= notional + f.buyer_fee
        buyer.units += f.quantity
        seller.cash += notional - f.seller_fee
        seller.units -= f.quantity
        result.of(None).cash += f.maker_fee + f.taker_fee
        if f.maker_order is not None:
            resting = makers[f.maker_order]
            maker = result.of(f.maker_account)
            if resting.side == BUY:
                maker.reserved_cash -= reserved_cash(resting.price, f.quantity, resting.maker_fee_bps)
            else:
                maker.reserved_units -= f.quantity
    return result
