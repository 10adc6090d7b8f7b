"""Strategies with resting orders: the runner and the backtest tell them the same things."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from bots.backtest import VenueSettings, cents, price_path, simulate
from bots.runner import Runner
from bots.strategies import (
    BUY,
    LIMIT,
    SELL,
    STOP,
    Breakout,
    Cancel,
    MarketMaker,
    Order,
    OrderUpdate,
    Request,
    Strategy,
    Trade,
)
from sources.catalog import source_specs
from streams.client import Backoff, StreamEvent
from tests.bots.fakes import VenueExchange, price_event

CASH = Decimal("100000.00")
WITH_COSTS = VenueSettings(spread_bps=10, maker_fee_bps=2, taker_fee_bps=5)


class Recording:
    """Mixed into a strategy: remembers every fill and order update it is told of, in order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.told: list[Trade | OrderUpdate | tuple[str, str]] = []

    def on_fill(self, trade: Trade) -> None:
        self.told.append(trade)
        super().on_fill(trade)  # type: ignore[misc]

    def on_order(self, update: OrderUpdate) -> None:
        self.told.append(update)
        super().on_order(update)  # type: ignore[misc]

    def on_reject(self, order: Order, code: str, message: str) -> None:
        self.told.append((order.ref or order.describe(), code))
        super().on_reject(order, code, message)  # type: ignore[misc]


class RecordingMarketMaker(Recording, MarketMaker):
    pass


class RecordingBreakout(Recording, Breakout):
    pass


def make_runner(strategy: Strategy, exchange: VenueExchange) -> Runner:
    runner = Runner(
        strategy=strategy,
        exchange=exchange,
        name="live",
        sleep=lambda seconds: None,
        backoff=lambda: Backoff(initial=0.0, cap=0.0),
    )
    exchange.listener = runner.private_events.put
    runner.start()
    return runner


def play(runner: Runner, exchange: VenueExchange, path: Sequence[tuple[str, Decimal, int]]) -> None:
    """Each price as the exchange has it: the tick (stops, the house's sweep), then the price event."""
    seqs: dict[str, int] = {}
    for symbol, price, _ in path:
        seqs[symbol] = seqs.get(symbol, 0) + 1
        exchange.tick(symbol, price)
        event, event_id, data = price_event(symbol, str(price), seqs[symbol])
        runner.step(StreamEvent(event=event, data=data, id=event_id))


def walks() -> dict:
    return {symbol: spec.new_walk for symbol, spec in source_specs().items()}


@pytest.mark.parametrize("strategy_class", [RecordingMarketMaker, RecordingBreakout])
@pytest.mark.parametrize("venue", [VenueSettings(), WITH_COSTS], ids=["defaults", "spread-and-fees"])
@pytest.mark.parametrize("duplicate", [False, True], ids=["once", "replayed"])
def test_the_runner_and_the_backtest_tell_a_strategy_the_same_order_changes_and_fills(
    strategy_class: type[Recording], venue: VenueSettings, duplicate: bool
) -> None:
    recorded = price_path(walks(), seed="5", ticks=400)
    offline: Any = strategy_class()
    result = simulate(offline, recorded, cash=CASH, keep_trades=True, venue_settings=venue)

    exchange = VenueExchange(settings=venue, duplicate=duplicate)
    live: Any = strategy_class()
    runner = make_runner(live, exchange)
    play(runner, exchange, recorded)

    assert live.told == offline.told
    updates = [item for item in live.told if isinstance(item, OrderUpdate)]
    assert list(result.updates) == updates
    assert {"open", "filled", "canceled"} <= {u.status for u in updates}
    assert exchange.wallet.cash == result.final_cash
    assert {s: q for s, q in exchange.wallet.units.items() if q} == result.positions
    assert result.fill_ratio is not None
    assert 0 < result.fill_ratio <= 1
    if venue.maker_fee_bps:
        assert result.fees > 0


def test_the_market_maker_quotes_both_sides_and_requotes_when_the_price_moves() -> None:
    mm = MarketMaker(edge=Decimal("2.00"), max_lots=2)
    (start,) = mm.on_price("META", Decimal("500.00"))
    assert (start.side, start.type, start.quantity) == (BUY, "market", 1)
    mm.on_fill(Trade("META", BUY, 1, Decimal("500.00")))
    quotes = mm.on_price("META", Decimal("500.00"))
    assert [(o.side, o.type, o.limit_price) for o in quotes if isinstance(o, Order)] == [
        (BUY, LIMIT, Decimal("498.00")),
        (SELL, LIMIT, Decimal("502.00")),
    ]
    assert mm.on_price("META", Decimal("500.00")) == []  # unchanged price: the quotes stay
    moved = mm.on_price("META", Decimal("503.00"))
    refs = [o.ref for o in quotes if isinstance(o, Order)]
    assert moved[:2] == [Cancel(refs[0]), Cancel(refs[1])]
    new_quotes = [o.limit_price for o in moved[2:] if isinstance(o, Order)]
    assert new_quotes == [Decimal("501.00"), Decimal("505.00")]


def test_the_market_maker_stops_bidding_at_its_maximum_position() -> None:
    mm = MarketMaker(edge=Decimal("1.00"), max_lots=2, start_lots=0)
    mm.on_start({"BTC": 2})
    requests: list[Request] = list(mm.on_price("BTC", Decimal("100.00")))
    assert [(o.side, o.limit_price) for o in requests if isinstance(o, Order)] == [(SELL, Decimal("101.00"))]


def test_the_breakout_enters_above_the_recent_high_with_a_stop_at_the_recent_low() -> None:
    bo = Breakout(lookback=3)
    for price in ("10.00", "12.00", "11.00"):
        assert bo.on_price("X", Decimal(price)) == ()
    (entry,) = bo.on_price("X", Decimal("13.00"))
    assert (entry.side, entry.type) == (BUY, "market")
    bo.on_fill(Trade("X", BUY, 1, Decimal("13.00"), ref=entry.ref))
    (stop,) = bo.on_price("X", Decimal("13.50"))
    assert (stop.side, stop.type, stop.stop_price) == (SELL, STOP, Decimal("10.00"))
    # The target: 13.00 + 2 x (13.00 - 10.00) = 19.00.
    assert bo.on_price("X", Decimal("18.99")) == ()
    cancel, sell = bo.on_price("X", Decimal("19.00"))
    assert cancel == Cancel(stop.ref or "")
    assert (sell.side, sell.type, sell.quantity) == (SELL, "market", 1)


def test_the_runner_logs_each_order_change_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    class OneBid(Strategy):
        def on_price(self, symbol: str, price: Decimal) -> Sequence[Request]:
            if price == Decimal("100.00"):
                return [Order(symbol, BUY, 2, type=LIMIT, limit_price=Decimal("99.00"), ref="bid")]
            if price == Decimal("99.50"):
                return [Cancel("bid")]
            return []

    exchange = VenueExchange(settings=VenueSettings(house_depth=1))
    runner = make_runner(OneBid(), exchange)
    caplog.set_level(logging.INFO, logger="bots")
    play(runner, exchange, [("BTC", Decimal(p), cents(Decimal(p))) for p in ("100.00", "98.00", "99.50")])
    lines = [r.getMessage() for r in caplog.records if ": order #" in r.getMessage()]
    assert lines == [
        "live: order #1 buy 2 BTC limit 99.00: open",
        "live: order #1 buy 2 BTC limit 99.00: partially filled 1/2 at 99.00 (maker)",
        "live: order #1 buy 2 BTC limit 99.00: canceled after 1/2 filled",
    ]
