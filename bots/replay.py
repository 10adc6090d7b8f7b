"""Replaying a recorded session (``manage.py session export``) and comparing it with a live account.

Pure logic, no Django and no I/O: the lines of a session file in, results
out. The replay feeds the strategy exactly the session's prices, in their
recorded order, through ``bots.backtest.simulate`` (the exchange's own
matching in ``market.venue``), on the venue settings the session recorded.

The comparison puts the live account's orders beside the replay's, order by
order: the same asset, side and quantity is a match. The first order where
they part names the tick (asset and ``seq``) where the live bot and the
replay first decided differently. A live order's tick is the price it
filled at, found among the prices recorded at or before its creation; when
it filled on a later tick than the replay decided on, the live bot was late
(its order reached the exchange after the next price), which is shown as a
lag. P&L is the account's over the session's trades, its positions valued
at the last recorded prices, against the replay's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bots.backtest import PricePoint, RunResult, VenueSettings, cents, simulate
from bots.strategies import Order, Request, Strategy, Trade

VERSION = 1
# Ticks of the first live order's asset the replay starts before that order, for --compare:
# the built-in strategies decide on the last three prices.
WARMUP = 2


class SessionError(ValueError):
    """A session file this replay cannot read."""


@dataclass(frozen=True)
class Tick:
    symbol: str
    price: Decimal
    seq: int
    ts: datetime


def parse_time(text: str) -> datetime:
    """An ISO 8601 time of the file (compared as times: their fractions of seconds vary in length)."""
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Decided:
    """One order as placed: where (the tick) and what; live or replayed."""

    symbol: str
    side: str
    quantity: int
    seq: int
    filled: int
    price: Decimal | None

    def same_order(self, other: Decided) -> bool:
        return (self.symbol, self.side, self.quantity) == (other.symbol, other.side, other.quantity)

    def describe(self) -> str:
        at = f" at {self.price}" if self.price is not None else ""
        return f"{self.side} {self.quantity} {self.symbol} on tick #{self.seq} (filled {self.filled}{at})"


@dataclass
class Session:
    """A session file, read."""

    header: dict[str, Any]
    ticks: list[Tick] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def venue_settings(self) -> VenueSettings:
        venue = self.header.get("venue") or {}
        return VenueSettings(
            spread_bps=int(venue.get("spread_bps") or 0),
            house_depth=venue.get("house_depth"),
            maker_fee_bps=int(venue.get("maker_fee_bps") or 0),
            taker_fee_bps=int(venue.get("taker_fee_bps") or 0),
        )

    @property
    def starting_cash(self) -> Decimal:
        return Decimal(str(self.header.get("starting_cash") or "0"))


def read_session(lines: Iterable[str]) -> Session:
    """Parse a session file's lines; refuses a missing header or an unknown version."""
    session: Session | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise SessionError(f"line {number} is not JSON: {exc}") from exc
        kind = record.get("type") if isinstance(record, dict) else None
        if session is None:
            if kind != "session":
                raise SessionError("the first line must be the session header (type: session)")
            if record.get("version") != VERSION:
                raise SessionError(f"session version {record.get('version')!r}; this replay reads {VERSION}")
            session = Session(header=record)
        elif kind == "price":
            session.ticks.append(
                Tick(
                    symbol=record["symbol"],
                    price=Decimal(record["price"]),
                    seq=int(record["seq"]),
                    ts=parse_time(record["ts"]),
                )
            )
        elif kind == "order":
            session.orders.append(record)
        elif kind == "trade":
            session.trades.append(record)
        elif kind == "account":
            session.accounts[record["name"]] = record
    if session is None:
        raise SessionError("the session file is empty")
    return session


def live_orders(session: Session, account: str) -> list[Decided]:
    """The account's orders, oldest first, each at the tick whose price it filled at."""
    by_symbol: dict[str, list[Tick]] = {}
    for tick in session.ticks:
        by_symbol.setdefault(tick.symbol, []).append(tick)
    decided = []
    for order in session.orders:
        if order["account"] != account:
            continue
        created = parse_time(order["created_at"])
        ticks = [t for t in by_symbol.get(order["symbol"], []) if t.ts <= created]
        price = Decimal(order["average_price"]) if order.get("average_price") else None
        seq = ticks[-1].seq if ticks else 0
        for tick in reversed(ticks[-5:]):
            if tick.price == price:
                seq = tick.seq
                break
        decided.append(
            Decided(
                symbol=order["symbol"],
                side=order["side"],
                quantity=int(order["quantity"]),
                seq=seq,
                filled=int(order["filled_quantity"]),
                price=price,
            )
        )
    return decided


def live_pnl(session: Session, account: str) -> Decimal:
    """The account's profit over the session's trades, what it holds valued at the last recorded prices."""
    cash = Decimal(0)
    held: dict[str, int] = {}
    for trade in session.trades:
        notional = Decimal(trade["price"]) * int(trade["quantity"])
        if trade["buyer"] == account:
            cash -= notional + Decimal(trade["buyer_fee"])
            held[trade["symbol"]] = held.get(trade["symbol"], 0) + int(trade["quantity"])
        if trade["seller"] == account:
            cash += notional - Decimal(trade["seller_fee"])
            held[trade["symbol"]] = held.get(trade["symbol"], 0) - int(trade["quantity"])
    last = {tick.symbol: tick.price for tick in session.ticks}
    worth = sum((last.get(symbol, Decimal(0)) * units for symbol, units in held.items()), Decimal(0))
    return (cash + worth).quantize(Decimal("0.01"))


def replay_ticks(
    session: Session,
    *,
    account: str | None = None,
    symbols: Sequence[str] | None = None,
    warmup: int = WARMUP,
) -> list[Tick]:
    """The prices to replay (of ``symbols``, default all): all of them, or, to compare with ``account``,
    from ``warmup`` ticks (of the first order's asset) before its first order, where its strategy
    held nothing yet."""
    ticks = [t for t in session.ticks if symbols is None or t.symbol in symbols]
    first = next(iter(live_orders(session, account)), None) if account is not None else None
    if first is None:
        return ticks
    own = [t for t in ticks if t.symbol == first.symbol and t.seq <= first.seq - warmup]
    if not own:
        return ticks
    start = own[-1].ts
    return [t for t in ticks if t.ts >= start]


class _Recorder(Strategy):
    """Wraps a strategy in the replay: notes the tick of every order it returns, and its outcome."""

    def __init__(self, inner: Strategy, ticks: Sequence[Tick]) -> None:
        super().__init__(quantity=inner.quantity)
        self.inner = inner
        self.ticks = ticks
        self.index = -1
        self.placed: list[Decided] = []
        self._pending: list[Order] = []

    def on_start(self, positions: Mapping[str, int]) -> None:
        self.inner.on_start(positions)

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Request]:
        self.index += 1
        requests = self.inner.on_price(symbol, price)
        # The comparison follows the orders placed; a cancel places nothing.
        self._pending = [request for request in requests or () if isinstance(request, Order)]
        return requests

    def _outcome(self, order: Order, filled: int, price: Decimal | None) -> None:
        tick = self.ticks[self.index]
        self.placed.append(Decided(order.symbol, order.side, order.quantity, tick.seq, filled, price))

    def on_fill(self, trade: Trade) -> None:
        order = self._pending.pop(0) if self._pending else Order(trade.symbol, trade.side, trade.quantity)
        self._outcome(order, trade.quantity, trade.price)
        self.inner.on_fill(trade)

    def on_reject(self, order: Order, code: str, message: str) -> None:
        if self._pending:
            self._pending.pop(0)
        if code not in ("insufficient_funds", "insufficient_position", "no_price"):
            # Placed and canceled unfilled: an order on the exchange too.
            self._outcome(order, 0, None)
        self.inner.on_reject(order, code, message)


@dataclass(frozen=True)
class Replay:
    """A replay's result: the backtest's run and every order it placed, at its tick."""

    result: RunResult
    orders: list[Decided]


def replay(strategy: Strategy, ticks: Sequence[Tick], session: Session, *, name: str = "") -> Replay:
    """Run ``strategy`` over ``ticks`` on the session's venue, from the session's starting cash."""
    recorder = _Recorder(strategy, ticks)
    path: list[PricePoint] = [(t.symbol, t.price, cents(t.price)) for t in ticks]
    result = simulate(
        recorder,
        path,
        cash=session.starting_cash,
        name=name,
        seed=str(session.header.get("seed") or ""),
        ticks=len(ticks),
        symbols=tuple(session.header.get("symbols") or ()),
        venue_settings=session.venue_settings(),
    )
    return Replay(result=result, orders=recorder.placed)


@dataclass(frozen=True)
class Comparison:
    """Live against replay, order by order."""

    live: list[Decided]
    replayed: list[Decided]
    live_pnl: Decimal
    replay_pnl: Decimal

    @property
    def first_difference(self) -> int | None:
        """The index of the first order that is not the same live and replayed (None: they all match)."""
        for index, (live, replayed) in enumerate(zip(self.live, self.replayed, strict=False)):
            if not live.same_order(replayed):
                return index
        if len(self.live) != len(self.replayed):
            return min(len(self.live), len(self.replayed))
        return None

    @property
    def late(self) -> int:
        """Matching orders the live bot filled on a later tick than the replay decided on."""
        pairs = zip(self.live, self.replayed, strict=False)
        return sum(1 for live, replayed in pairs if live.same_order(replayed) and live.seq > replayed.seq)

    def lines(self, account: str, strategy: str) -> list[str]:
        out = [
            f"live {account}: {len(self.live)} orders, P&L {self.live_pnl}",
            f"replay {strategy}: {len(self.replayed)} orders, P&L {self.replay_pnl}",
        ]
        index = self.first_difference
        if index is None:
            out.append(f"the orders match, order for order ({len(self.live)})")
        else:
            live = self.live[index] if index < len(self.live) else None
            replayed = self.replayed[index] if index < len(self.replayed) else None
            ticks = [d for d in (live, replayed) if d is not None]
            first = min(ticks, key=lambda d: d.seq)
            out.append(f"first difference at order {index + 1}, tick {first.symbol} #{first.seq}:")
            out.append(f"  live:   {live.describe() if live else 'no order'}")
            out.append(f"  replay: {replayed.describe() if replayed else 'no order'}")
        if self.late:
            out.append(f"{self.late} live orders filled on a later tick than the replay decided on")
        return out


def compare(session: Session, account: str, replayed: Replay) -> Comparison:
    return Comparison(
        live=live_orders(session, account),
        replayed=replayed.orders,
        live_pnl=live_pnl(session, account),
        replay_pnl=replayed.result.pnl.quantize(Decimal("0.01")),
    )
