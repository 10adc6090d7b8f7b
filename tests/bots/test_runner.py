"""The bot runner with an injected stream and a fake exchange: no network, no real sleeps."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import threading
from collections.abc import Sequence
from decimal import Decimal

import pytest

from bots.client import OrderRefused, RetryLater, Unreachable
from bots.runner import ExchangeUnavailable, Runner, describe_order, stop_on_signals
from bots.strategies import BUY, SELL, Investor, Order, Strategy, Trade
from streams.client import Backoff, StreamEvent
from tests.bots.fakes import FakeExchange, FakeResponse, LostResponse, Opener, price_event, sse


def no_wait() -> Backoff:
    return Backoff(initial=0.0, cap=0.0, rng=random.Random(1))


class Recorder(Strategy):
    """Remembers what it saw; places the orders it is given, one per price."""

    def __init__(self, *, quantity: int = 1, orders: Sequence[Order] = ()) -> None:
        super().__init__(quantity=quantity)
        self.seen: list[tuple[str, Decimal]] = []
        self.to_place = list(orders)
        self.fills: list[Trade] = []
        self.rejects: list[tuple[Order, str]] = []

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Order]:
        self.seen.append((symbol, price))
        return [self.to_place.pop(0)] if self.to_place else []

    def on_fill(self, trade: Trade) -> None:
        self.fills.append(trade)

    def on_reject(self, order: Order, code: str, message: str) -> None:
        self.rejects.append((order, code))


def make_runner(
    strategy: Strategy, exchange: FakeExchange, sleeps: list[float] | None = None, **kwargs: object
) -> Runner:
    recorded = sleeps if sleeps is not None else []
    runner = Runner(
        strategy=strategy,
        exchange=exchange,
        name="test",
        sleep=recorded.append,
        backoff=no_wait,
        new_key=iter(f"key-{n}" for n in range(1000)).__next__,
        **kwargs,  # type: ignore[arg-type]
    )
    return runner


def price(symbol: str, value: str, seq: int) -> StreamEvent:
    event, event_id, data = price_event(symbol, value, seq)
    return StreamEvent(event=event, data=data, id=event_id)


def test_it_connects_with_the_snapshot_cursor_and_resumes_from_the_last_event_it_handled() -> None:
    exchange = FakeExchange(cursor="market-BTC:3")
    strategy = Recorder()
    runner = make_runner(strategy, exchange, symbols=["BTC"])
    opener = Opener(
        FakeResponse(sse(price_event("BTC", "10.00", 4), price_event("BTC", "11.00", 5))),
        FakeResponse(sse(price_event("BTC", "12.00", 6))),
        when_done=runner.stop,
    )
    runner.opener = opener
    runner.run()
    assert [p for _, p in strategy.seen] == [Decimal("10.00"), Decimal("11.00"), Decimal("12.00")]
    headers = [h.get("Last-Event-ID") for _, h in opener.calls]
    assert headers[:3] == ["market-BTC:3", "market-BTC:5", "market-BTC:6"]
    assert all(params == {"symbols": "BTC"} for params, _ in opener.calls)


def test_prices_already_seen_are_dropped_by_seq() -> None:
    snapshot = [{"symbol": "BTC", "price": "10.00", "seq": 5, "ts": "2026-11-25T15:00:00Z"}]
    exchange = FakeExchange(snapshot=snapshot)
    strategy = Recorder()
    runner = make_runner(strategy, exchange)
    runner.opener = Opener(
        # The stream overlaps the snapshot (seq 5) and replays seq 6 after a reconnect.
        FakeResponse(sse(price_event("BTC", "10.00", 5), price_event("BTC", "11.00", 6))),
        FakeResponse(sse(price_event("BTC", "11.00", 6), price_event("BTC", "9.00", 7))),
        when_done=runner.stop,
    )
    runner.run()
    assert strategy.seen == [("BTC", Decimal("10.00")), ("BTC", Decimal("11.00")), ("BTC", Decimal("9.00"))]


def test_prices_of_assets_it_does_not_follow_are_ignored() -> None:
    strategy = Recorder()
    runner = make_runner(strategy, FakeExchange(), symbols=["META"])
    runner.step(price("BTC", "10.00", 1))
    runner.step(price("META", "500.00", 1))
    assert strategy.seen == [("META", Decimal("500.00"))]


def test_a_lost_response_is_retried_with_the_same_key_and_executes_once() -> None:
    exchange = FakeExchange(outcomes=[LostResponse(Unreachable("read timed out"))])
    exchange.price_now["BTC"] = Decimal("10.00")
    strategy = Recorder(orders=[Order("BTC", BUY, 2)])
    sleeps: list[float] = []
    runner = make_runner(strategy, exchange, sleeps)
    runner.step(price("BTC", "10.00", 1))
    assert [call["key"] for call in exchange.calls] == ["key-0", "key-0"]
    assert len(exchange.trades) == 1
    assert exchange.positions == {"BTC": 2}
    assert strategy.fills == [Trade("BTC", BUY, 2, Decimal("10.00"))]
    assert len(sleeps) == 1


def test_each_intended_order_gets_its_own_key() -> None:
    exchange = FakeExchange()
    exchange.price_now["BTC"] = Decimal("10.00")
    runner = make_runner(Recorder(orders=[Order("BTC", BUY, 1), Order("BTC", BUY, 1)]), exchange)
    runner.step(price("BTC", "10.00", 1))
    runner.step(price("BTC", "10.00", 2))
    assert [call["key"] for call in exchange.calls] == ["key-0", "key-1"]
    assert len(exchange.trades) == 2


def test_retry_after_is_honoured_before_retrying_with_the_same_key() -> None:
    exchange = FakeExchange(outcomes=[RetryLater(429, "rate_limited", "slow down", 7.0)])
    exchange.price_now["BTC"] = Decimal("10.00")
    sleeps: list[float] = []
    runner = make_runner(Recorder(orders=[Order("BTC", BUY, 1)]), exchange, sleeps)
    runner.step(price("BTC", "10.00", 1))
    assert sleeps == [7.0]
    assert [call["key"] for call in exchange.calls] == ["key-0", "key-0"]
    assert len(exchange.trades) == 1


def test_an_order_that_never_gets_an_answer_is_given_up_and_reported_to_the_strategy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    exchange = FakeExchange(outcomes=[Unreachable("refused")] * 50)
    strategy = Recorder(orders=[Order("BTC", BUY, 1)])
    runner = Runner(
        strategy=strategy,
        exchange=exchange,
        name="test",
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        clock=lambda: now[0],
        backoff=lambda: Backoff(initial=1.0, cap=4.0, rng=random.Random(1)),
        order_patience=20.0,
    )
    runner.step(price("BTC", "10.00", 1))
    assert strategy.rejects == [(Order("BTC", BUY, 1), "unavailable")]
    assert len({call["key"] for call in exchange.calls}) == 1
    assert 3 <= len(exchange.calls) < 50
    assert "giving up" in caplog.text


def test_a_refused_order_is_logged_with_its_code_and_told_to_the_strategy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exchange = FakeExchange(cash="5.00")
    exchange.price_now["BTC"] = Decimal("10.00")
    strategy = Recorder(orders=[Order("BTC", BUY, 1)])
    with caplog.at_level(logging.INFO, logger="bots"):
        make_runner(strategy, exchange).step(price("BTC", "10.00", 1))
    assert strategy.rejects == [(Order("BTC", BUY, 1), "insufficient_funds")]
    assert len(exchange.calls) == 1  # a definite answer is not retried
    assert "insufficient_funds" in caplog.text


def test_a_strategy_exception_is_logged_and_the_runner_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky(Recorder):
        def on_price(self, symbol: str, price: Decimal) -> Sequence[Order]:
            super().on_price(symbol, price)
            if len(self.seen) == 1:
                raise ZeroDivisionError("bug in the strategy")
            return []

    strategy = Flaky()
    runner = make_runner(strategy, FakeExchange())
    runner.step(price("BTC", "10.00", 1))
    runner.step(price("BTC", "11.00", 2))
    assert len(strategy.seen) == 2
    assert "ZeroDivisionError" in caplog.text
    assert "the strategy failed in on_price" in caplog.text


def test_it_logs_decisions_fills_and_pnl_like_the_original(caplog: pytest.LogCaptureFixture) -> None:
    exchange = FakeExchange()
    exchange.price_now["BTC"] = Decimal("64210.50")
    runner = make_runner(Recorder(orders=[Order("BTC", BUY, 1)]), exchange)
    with caplog.at_level(logging.INFO, logger="bots"):
        runner.step(price("BTC", "64210.50", 1))
    assert "Buying <BTC> for 64210.50" in caplog.text
    assert "Bought <BTC> at 64210.50" in caplog.text
    assert "P&L +0.00" in caplog.text
    assert describe_order(Order("BTC", SELL, 3), Decimal("64300.00")) == "Selling <BTC> x3 for 64300.00"


def test_malformed_price_events_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    strategy = Recorder()
    runner = make_runner(strategy, FakeExchange())
    runner.step(StreamEvent(event="price", data="not json", id="market-BTC:1"))
    runner.step(StreamEvent(event="price", data=json.dumps({"symbol": "BTC", "price": "-1"}), id="x"))
    runner.step(StreamEvent(event="trade", data="{}", id="market-BTC:2"))
    assert strategy.seen == []
    assert "ignoring" in caplog.text


def test_it_tells_the_strategy_what_the_account_already_holds() -> None:
    investor = Investor()
    runner = make_runner(investor, FakeExchange(positions={"META": 4}))
    runner.opener = Opener(when_done=runner.stop)
    runner.run()
    assert investor.positions == {"META": 4}


def test_it_waits_for_an_exchange_that_is_still_starting_then_gives_up() -> None:
    class Down(FakeExchange):
        def account(self) -> dict[str, object]:
            raise Unreachable("connection refused")

    now = [0.0]
    runner = Runner(
        strategy=Recorder(),
        exchange=Down(),
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        clock=lambda: now[0],
        backoff=lambda: Backoff(initial=1.0, cap=2.0, rng=random.Random(1)),
        wait_for_exchange=10.0,
    )
    with pytest.raises(ExchangeUnavailable, match="within 10 s"):
        runner.run()
    assert 5 <= now[0] <= 10


def test_a_wrong_token_is_not_waited_for() -> None:
    class Refusing(FakeExchange):
        def account(self) -> dict[str, object]:
            raise OrderRefused(401, "unauthorized", "A valid token is required")

    with pytest.raises(OrderRefused):
        make_runner(Recorder(), Refusing()).run()


def test_sigterm_stops_a_runner_blocked_on_an_idle_stream() -> None:
    sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM))

    class SignalsOnFirstPrice(Recorder):
        def on_price(self, symbol: str, price: Decimal) -> Sequence[Order]:
            # From another thread, as a terminal or honcho would; Python runs the
            # handler in the main thread, where the runner is about to block reading.
            sender.start()
            return super().on_price(symbol, price)

    strategy = SignalsOnFirstPrice()
    runner = Runner(strategy=strategy, exchange=FakeExchange(), name="test", backoff=no_wait)
    idle = FakeResponse(sse(price_event("BTC", "10.00", 1)), hold=runner.stop_event)
    runner.opener = Opener(idle)
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(runner):
        runner.run()
    sender.join(5)
    assert idle.woken is True  # ended by the stop flag, not by the bounded wait
    assert runner.stopping
    assert strategy.seen == [("BTC", Decimal("10.00"))]
    assert signal.getsignal(signal.SIGTERM) is before
