"""The bot runner: feeds a strategy the market stream and places the orders it returns.

It owns the loop and everything that can go wrong around it, so a strategy
stays pure: it takes a REST snapshot first (its ``cursor`` is where the stream
resumes, so nothing falls between snapshot and stream), reads the market
stream through the shared ``StreamReader`` (reconnects with capped backoff and
``Last-Event-ID``), drops prices it has already seen (by ``seq``), places each
order under its own ``Idempotency-Key`` and retries an unanswered order with
the same key (so it executes at most once), honours ``Retry-After``, catches a
strategy's exceptions at its boundary, and stops promptly when told to.
Clock, sleep, keys and the stream opener are injected for tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from functools import partial
from types import FrameType
from typing import Any

from bots.client import Exchange, OrderRefused, RetryLater, Unreachable
from bots.strategies import BUY, Order, Strategy, Trade
from sources.ticks import MalformedTick, Tick
from streams.client import Backoff, Opener, StreamEvent, StreamReader, open_stream

logger = logging.getLogger(__name__)

PRICE_EVENT = "price"
RETRY_CAP = 2.0
# A bot reconnects to the stream within 5 s of the server coming back; the jitter
# still spreads many bots' reconnections.
STREAM_RETRY_CAP = 5.0
RESET_EVENT = "stream-reset"


def filled_part(order: dict[str, Any]) -> Trade | None:
    """What of an order the exchange answered has executed, as the strategy sees it; None if nothing."""
    filled = int(order.get("filled_quantity") or 0)
    if not filled or order.get("average_price") is None:
        return None
    return Trade(
        symbol=str(order["symbol"]),
        side=str(order["side"]),
        quantity=filled,
        price=Decimal(str(order["average_price"])),
    )


class ExchangeUnavailable(Exception):
    """The exchange did not answer within the time the runner was given to wait."""


def describe_order(order: Order, price: Decimal | str) -> str:
    """``Buying <BTC> for 64210.50``, ``Selling <BTC> x3 for 64300.00``: the original's lines."""
    verb = "Buying" if order.side == BUY else "Selling"
    lots = f" x{order.quantity}" if order.quantity != 1 else ""
    return f"{verb} <{order.symbol}>{lots} for {price}"


def signed(amount: str) -> str:
    return amount if amount.startswith("-") else f"+{amount}"


class Runner:
    """Runs one strategy against one exchange account until ``stop()``."""

    def __init__(
        self,
        *,
        strategy: Strategy,
        exchange: Exchange,
        symbols: Sequence[str] | None = None,
        name: str = "bot",
        stop: threading.Event | None = None,
        opener: Opener = open_stream,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
        backoff: Callable[[], Backoff] | None = None,
        retry_backoff: Callable[[], Backoff] | None = None,
        wait_for_exchange: float = 60.0,
        order_patience: float = 60.0,
    ) -> None:
        self.strategy = strategy
        self.exchange = exchange
        self.symbols = list(symbols) if symbols else None
        self.name = name
        self.stop_event = stop or threading.Event()
        self.opener = opener
        # Waiting on the stop flag makes every pause end at once on a signal.
        self.sleep = sleep or self.stop_event.wait
        self.clock = clock
        self.new_key = new_key
        self.make_backoff = backoff or partial(Backoff, cap=STREAM_RETRY_CAP)
        # Waiting for the server and retrying an order use a short cap: the
        # exchange usually comes back within seconds (``make run`` starts it
        # with the bots), and an order waits on the answer.
        self.make_retry_backoff = retry_backoff or partial(Backoff, cap=RETRY_CAP)
        self.wait_for_exchange = wait_for_exchange
        self.order_patience = order_patience
        self.last_seq: dict[str, int] = {}
        self.reader: StreamReader | None = None
        self.fills = 0
        self.rejections = 0

    # --- lifecycle ---------------------------------------------------------------

    def stop(self) -> None:
        """Ask the runner to stop, from any thread or a signal handler."""
        self.stop_event.set()
        if self.reader is not None:
            self.reader.close()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def run(self) -> None:
        """Connect, then trade on every price until ``stop()``."""
        cursor = self.start()
        if self.stopping:
            return
        params = {"symbols": ",".join(self.symbols)} if self.symbols else {}
        self.reader = StreamReader(
            self.exchange.stream_url,
            cursor=cursor,
            params=params,
            headers=getattr(self.exchange, "stream_headers", None),
            stop=self.stop_event,
            backoff=self.make_backoff(),
            opener=self.opener,
            name=f"{self.name}: market stream",
        )
        logger.info(
            "%s: following %s on %s",
            self.name,
            ", ".join(self.symbols or ["every asset"]),
            self.exchange.stream_url,
        )
        for event in self.reader.events():
            self.step(event)
        logger.info("%s: stopped after %d trades and %d rejections", self.name, self.fills, self.rejections)

    def start(self) -> str | None:
        """Wait for the exchange, tell the strategy what the account holds, feed it the
        snapshot's prices; returns the stream cursor the snapshot carried."""
        account = self._patiently("read the account", self.exchange.account)
        if account is None:
            return None
        positions = {symbol: int(units) for symbol, units in (account.get("positions") or {}).items()}
        logger.info(
            "%s: trading as %r with cash %s%s",
            self.name,
            account.get("name"),
            account.get("cash"),
            "".join(f", {units} {symbol}" for symbol, units in positions.items() if units),
        )
        self._guarded("on_start", self.strategy.on_start, positions)
        snapshot = self._patiently("read the prices", self.exchange.prices)
        if snapshot is None:
            return None
        for price in snapshot.get("prices", []):
            self.on_price_data(price)
        cursor = snapshot.get("cursor")
        return str(cursor) if cursor else None

    def _patiently(self, what: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """``call()`` until the exchange answers (it may still be starting); ``None`` if stopped."""
        backoff = self.make_retry_backoff()
        deadline = self.clock() + self.wait_for_exchange
        while not self.stopping:
            try:
                return call()
            except (Unreachable, RetryLater) as exc:
                delay = exc.retry_after if isinstance(exc, RetryLater) else backoff.next_delay()
                if self.clock() + delay > deadline:
                    raise ExchangeUnavailable(
                        f"could not {what} within {self.wait_for_exchange:g} s: {exc}"
                    ) from exc
                logger.warning(
                    "%s: waiting for the exchange to %s (%s); retrying in %.1f s", self.name, what, exc, delay
                )
                self.sleep(delay)
        return None

    # --- events ------------------------------------------------------------------

    def step(self, event: StreamEvent) -> None:
        """Handle one stream event: the unit tests drive the runner through this."""
        if event.event == PRICE_EVENT:
            try:
                data = json.loads(event.data)
            except ValueError:
                logger.warning("%s: ignoring a price event that is not JSON: %.200s", self.name, event.data)
                return
            self.on_price_data(data)
        elif event.event == RESET_EVENT:
            logger.warning(
                "%s: the exchange no longer keeps our stream position; continuing from now", self.name
            )

    def on_price_data(self, data: Any) -> None:
        try:
            tick = Tick.from_json(data)
        except MalformedTick as exc:
            logger.warning("%s: ignoring %s", self.name, exc)
            return
        if self.symbols is not None and tick.symbol not in self.symbols:
            return
        last = self.last_seq.get(tick.symbol)
        if last is not None and tick.seq <= last:
            return  # seen already: the snapshot overlaps the stream, or a replay
        if last is not None and tick.seq > last + 1:
            logger.info(
                "%s: %s prices #%d..#%d were not delivered", self.name, tick.symbol, last + 1, tick.seq - 1
            )
        self.last_seq[tick.symbol] = tick.seq
        orders = self._guarded("on_price", self.strategy.on_price, tick.symbol, tick.price)
        for order in orders or ():
            if self.stopping:
                break
            self.execute(order, seen_price=tick.price)

    # --- orders ------------------------------------------------------------------

    def execute(self, order: Order, *, seen_price: Decimal) -> Trade | None:
        """Place ``order`` exactly once and tell the strategy the outcome."""
        logger.info("%s: %s", self.name, describe_order(order, seen_price))
        key = self.new_key()
        backoff = self.make_retry_backoff()
        deadline = self.clock() + self.order_patience
        while True:
            try:
                raw = self.exchange.place_order(
                    symbol=order.symbol, side=order.side, quantity=order.quantity, key=key
                )
                break
            except OrderRefused as exc:
                self.rejections += 1
                logger.warning(
                    "%s: order refused: %s %d %s: %s: %s",
                    self.name,
                    order.side,
                    order.quantity,
                    order.symbol,
                    exc.code,
                    exc.message,
                )
                self._guarded("on_reject", self.strategy.on_reject, order, exc.code, exc.message)
                return None
            except (RetryLater, Unreachable) as exc:
                delay = exc.retry_after if isinstance(exc, RetryLater) else backoff.next_delay()
                if self.stopping or self.clock() + delay > deadline:
                    why = "stopping" if self.stopping else f"no answer within {self.order_patience:g} s"
                    self.rejections += 1
                    logger.error(
                        "%s: giving up on %s %d %s (%s); it may have executed under key %s",
                        self.name,
                        order.side,
                        order.quantity,
                        order.symbol,
                        why,
                        key,
                    )
                    self._guarded("on_reject", self.strategy.on_reject, order, "unavailable", str(exc))
                    return None
                logger.warning(
                    "%s: %s; retrying the same order (key %s) in %.1f s", self.name, exc, key, delay
                )
                self.sleep(delay)
        trade = filled_part(raw)
        if trade is None:
            # Accepted, but nothing to fill against (no liquidity at its price): the exchange
            # canceled it, and the strategy hears of it as of a refusal.
            self.rejections += 1
            status = str(raw.get("status"))
            logger.warning(
                "%s: order #%s %s %d %s was %s unfilled",
                self.name,
                raw.get("id"),
                order.side,
                order.quantity,
                order.symbol,
                status,
            )
            self._guarded("on_reject", self.strategy.on_reject, order, status, "nothing filled")
            return None
        self.fills += 1
        self._guarded("on_fill", self.strategy.on_fill, trade)
        trades = ", ".join(f"#{fill.get('trade_id')}" for fill in raw.get("fills") or ())
        logger.info(
            "%s: %s <%s>%s at %s (order #%s, trade %s)%s",
            self.name,
            "Bought" if trade.side == BUY else "Sold",
            trade.symbol,
            f" x{trade.quantity}" if trade.quantity != 1 else "",
            trade.price,
            raw.get("id"),
            trades or "-",
            self._pnl_line(),
        )
        return trade

    def _pnl_line(self) -> str:
        try:
            account = self.exchange.account()
        except (Unreachable, RetryLater, OrderRefused) as exc:
            logger.debug("%s: no account snapshot after the fill: %s", self.name, exc)
            return ""
        pnl = signed(str(account.get("pnl")))
        return f"; P&L {pnl}, equity {account.get('equity')}, cash {account.get('cash')}"

    def _guarded(self, hook: str, call: Callable[..., Any], *args: Any) -> Any:
        """Call a strategy hook; its exception is logged and the runner carries on."""
        try:
            return call(*args)
        except Exception:
            logger.exception("%s: the strategy failed in %s%r; carrying on", self.name, hook, args)
            return None


@contextlib.contextmanager
def stop_on_signals(runner: Runner) -> Iterator[None]:
    """SIGINT and SIGTERM stop ``runner`` (main thread only); previous handlers come back after."""

    def stop(signum: int) -> None:
        logger.info("%s: %s received; stopping", runner.name, signal.Signals(signum).name)
        runner.stop()

    def handle(signum: int, frame: FrameType | None) -> None:
        # A handler runs in the main thread between any two bytecodes, possibly
        # while that thread holds a lock that stopping needs (the reader's, an
        # Event's, logging's): stop from another thread so it cannot deadlock.
        threading.Thread(target=stop, args=(signum,), name="runbot-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
