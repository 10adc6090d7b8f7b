"""The bot runner: feeds a strategy the market stream, makes the requests it returns,
and tells it what becomes of its orders.

It owns the loop and everything that can go wrong around it, so a strategy
stays pure: it takes a REST snapshot first (its ``cursor`` is where the stream
resumes, so nothing falls between snapshot and stream), reads the market
stream through the shared ``StreamReader`` (reconnects with capped backoff and
``Last-Event-ID``), drops prices it has already seen (by ``seq``), places each
order under its own ``Idempotency-Key`` and retries an unanswered order with
the same key (so it executes at most once), honours ``Retry-After``, catches a
strategy's exceptions at its boundary, and stops promptly when told to.

The account's private stream (``order`` events) is read in a second thread
from the cursor ``/api/accounts/me`` gave, resumed the same way; its events
are handled in the main thread, before each price. ``bots.tracker`` applies
each report of an order once, whichever way it came (the answer to placing
or canceling it, the stream, a replay after a reconnect). Before a price of an
asset where the strategy has open orders, the runner reads those orders
(``/api/orders?status=open``) and waits until the stream has told it
everything that read shows, so the fills a tick caused reach the strategy
before that tick's price, as in the backtest. Clock, sleep, keys and the
stream opener are injected for tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from functools import partial
from types import FrameType
from typing import Any

from bots.client import Exchange, OrderRefused, RetryLater, Unreachable
from bots.strategies import (
    BUY,
    FILLED,
    LIVE,
    MARKET,
    PARTIALLY_FILLED,
    Cancel,
    Order,
    OrderUpdate,
    Strategy,
)
from bots.tracker import Change, OrderReport, OrderTracker, deliver
from sources.ticks import MalformedTick, Tick
from streams.client import Backoff, Opener, StreamError, StreamEvent, StreamReader, open_stream

logger = logging.getLogger(__name__)

PRICE_EVENT = "price"
ORDER_EVENT = "order"
RETRY_CAP = 2.0
# A bot reconnects to the stream within 5 s of the server coming back; the jitter
# still spreads many bots' reconnections.
STREAM_RETRY_CAP = 5.0
RESET_EVENT = "stream-reset"


class ExchangeUnavailable(Exception):
    """The exchange did not answer within the time the runner was given to wait."""


def describe_order(order: Order, price: Decimal | str) -> str:
    """``Buying <BTC> for 64210.50``, ``Selling <BTC> x3 for 64300.00``: the original's lines."""
    verb = "Buying" if order.side == BUY else "Selling"
    lots = f" x{order.quantity}" if order.quantity != 1 else ""
    return f"{verb} <{order.symbol}>{lots} for {price}"


def describe_change(update: OrderUpdate) -> str:
    """``order #12 buy 2 BTC limit 29990.00: partially filled 1/2 at 29990.00``: one line per change."""
    head = f"order #{update.order_id} {update.order.describe()}: "
    status = update.status.replace("_", " ")
    if update.fill is not None:
        fill = update.fill
        at = f" at {fill.price}"
        fee = f", fee {fill.fee}" if fill.fee else ""
        role = f" ({fill.liquidity})" if update.order.type != MARKET else ""
        return f"{head}{status} {update.filled_quantity}/{update.order.quantity}{at}{role}{fee}"
    if update.filled_quantity and update.status not in (FILLED, PARTIALLY_FILLED):
        return f"{head}{status} after {update.filled_quantity}/{update.order.quantity} filled"
    return head + status


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
        sync_patience: float = 5.0,
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
        # How long to wait for the private stream to tell what a read of the open orders shows.
        self.sync_patience = sync_patience
        self.last_seq: dict[str, int] = {}
        # The last price of each asset whose handling is complete (requests made, outcomes told).
        self.handled: dict[str, int] = {}
        self.reader: StreamReader | None = None
        self.private_reader: StreamReader | None = None
        self.private_cursor: str | None = None
        self.private_events: queue.Queue[StreamEvent | BaseException] = queue.Queue()
        self.tracker = OrderTracker()
        self.fills = 0
        self.rejections = 0

    # --- lifecycle ---------------------------------------------------------------

    def stop(self) -> None:
        """Ask the runner to stop, from any thread or a signal handler."""
        self.stop_event.set()
        for reader in (self.reader, self.private_reader):
            if reader is not None:
                reader.close()

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
        private = self._start_private_stream()
        try:
            for event in self.reader.events():
                self.step(event)
        finally:
            self.stop_event.set()
            if self.private_reader is not None:
                self.private_reader.close()
            if private is not None:
                private.join(10)
        logger.info("%s: stopped after %d fills and %d rejections", self.name, self.fills, self.rejections)

    def _start_private_stream(self) -> threading.Thread | None:
        """Read the account's private stream into a queue, in a thread, from the account's cursor."""
        url = getattr(self.exchange, "account_stream_url", None)
        if not url:
            return None
        self.private_reader = StreamReader(
            url,
            cursor=self.private_cursor,
            headers=dict(getattr(self.exchange, "stream_headers", {})),
            stop=self.stop_event,
            backoff=self.make_backoff(),
            opener=self.opener,
            name=f"{self.name}: account stream",
        )
        reader = self.private_reader

        def read() -> None:
            try:
                for event in reader.events():
                    self.private_events.put(event)
            except StreamError as exc:
                logger.error("%s: the account stream refused us: %s", self.name, exc)
                self.private_events.put(exc)
            except Exception as exc:
                logger.exception("%s: the account stream failed", self.name)
                self.private_events.put(exc)

        thread = threading.Thread(target=read, name=f"{self.name}-account-stream", daemon=True)
        thread.start()
        return thread

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
        cursor = account.get("cursor")
        self.private_cursor = str(cursor) if cursor else None
        if self.strategy.cancel_open_orders_on_start:
            self._cancel_leftovers()
        self._guarded("on_start", self.strategy.on_start, positions)
        snapshot = self._patiently("read the prices", self.exchange.prices)
        if snapshot is None:
            return None
        for price in snapshot.get("prices", []):
            self.on_price_data(price)
        cursor = snapshot.get("cursor")
        return str(cursor) if cursor else None

    def _cancel_leftovers(self) -> None:
        """Cancel the open orders an earlier run left in the followed assets (nameless to the strategy)."""
        followed: list[str | None] = [*self.symbols] if self.symbols else [None]
        for symbol in followed:
            try:
                canceled = self.exchange.cancel_all(symbol).get("canceled") or []
            except (Unreachable, RetryLater, OrderRefused) as exc:
                logger.warning("%s: could not cancel the orders left from before: %s", self.name, exc)
                return
            if canceled:
                logger.info(
                    "%s: canceled %d open orders left from before (%s)",
                    self.name,
                    len(canceled),
                    ", ".join(f"#{order_id}" for order_id in canceled),
                )

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
        elif event.event == ORDER_EVENT:
            self.on_private_event(event)
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
        self.drain_private()
        self.catch_up(tick.symbol)
        requests = self._guarded("on_price", self.strategy.on_price, tick.symbol, tick.price)
        for request in requests or ():
            if self.stopping:
                break
            if isinstance(request, Cancel):
                self.cancel(request)
            else:
                self.execute(request, seen_price=tick.price)
        self.handled[tick.symbol] = tick.seq

    # --- the private stream -------------------------------------------------------

    def on_private_event(self, event: StreamEvent) -> None:
        """One event of the account's stream: an ``order`` report is applied (once)."""
        if event.event == RESET_EVENT:
            logger.warning("%s: the account stream lost our position; reading our open orders", self.name)
            self.refresh(self.tracker.live())
            return
        if event.event != ORDER_EVENT:
            return  # balances: the strategy hears of fills, the log reads the account
        try:
            report = OrderReport.from_json(json.loads(event.data))
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning(
                "%s: ignoring an order event we cannot read (%s): %.200s", self.name, exc, event.data
            )
            return
        self._tell(self.tracker.observe(report))

    def drain_private(self) -> None:
        """Handle every private event that has arrived, without waiting."""
        while True:
            try:
                item = self.private_events.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, StreamEvent):
                self.on_private_event(item)

    def catch_up(self, symbol: str) -> None:
        """Before a price of ``symbol``: learn everything that has happened to our open orders there.

        The exchange publishes a tick's price after the transaction that
        filled the resting orders it crossed, so a read of the open orders now
        shows those fills; the runner waits (``sync_patience``) until the
        stream has delivered them, then reads what is still missing by id.
        """
        live = self.tracker.live(symbol)
        if not live:
            return
        try:
            listed = self.exchange.open_orders(symbol)
        except (Unreachable, RetryLater, OrderRefused) as exc:
            logger.warning("%s: could not read our open %s orders: %s", self.name, symbol, exc)
            return
        open_now = {}
        for data in listed.get("orders") or ():
            report = OrderReport.from_json(data)
            open_now[report.id] = report

        def behind() -> list[int]:
            return [
                order_id
                for order_id in self.tracker.live(symbol)
                if order_id not in open_now or not self.tracker.is_current(open_now[order_id])
            ]

        deadline = self.clock() + self.sync_patience
        waiting = behind()
        while waiting and self.private_reader is not None and not self.stopping:
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            try:
                item = self.private_events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if not isinstance(item, StreamEvent):
                break  # the stream is gone: read the rest
            self.on_private_event(item)
            waiting = behind()
        if waiting:
            for order_id in waiting:
                if order_id in open_now:
                    self._tell(self.tracker.observe(open_now[order_id]))
            self.refresh([order_id for order_id in behind()])

    def refresh(self, order_ids: Iterable[int]) -> None:
        """Read orders by id and apply what the strategy has not been told."""
        for order_id in order_ids:
            try:
                data = self.exchange.order(order_id)
            except (Unreachable, RetryLater, OrderRefused) as exc:
                logger.warning("%s: could not read order #%d: %s", self.name, order_id, exc)
                continue
            self._tell(self.tracker.observe(OrderReport.from_json(data)))

    def _tell(self, changes: list[Change]) -> None:
        """Log each change in one line, then tell the strategy (a fill first, a refusal last)."""
        for change in changes:
            update = change.update
            logger.info("%s: %s", self.name, describe_change(update))
            if change.rejected:
                self.rejections += 1
            if update.fill is not None:
                self.fills += 1
                self._log_fill(update)
        deliver(
            changes,
            on_fill=partial(self._guarded, "on_fill", self.strategy.on_fill),
            on_order=partial(self._guarded, "on_order", self.strategy.on_order),
            on_reject=partial(self._guarded, "on_reject", self.strategy.on_reject),
        )

    def _log_fill(self, update: OrderUpdate) -> None:
        trade = update.fill
        assert trade is not None
        logger.info(
            "%s: %s <%s>%s at %s (order #%s)%s",
            self.name,
            "Bought" if trade.side == BUY else "Sold",
            trade.symbol,
            f" x{trade.quantity}" if trade.quantity != 1 else "",
            trade.price,
            update.order_id,
            self._pnl_line(),
        )

    # --- orders ------------------------------------------------------------------

    def execute(self, order: Order, *, seen_price: Decimal) -> OrderUpdate | None:
        """Place ``order`` exactly once and tell the strategy the outcome; the order's first update."""
        if order.type == MARKET:
            logger.info("%s: %s", self.name, describe_order(order, seen_price))
        key = self.new_key()
        backoff = self.make_retry_backoff()
        deadline = self.clock() + self.order_patience
        while True:
            try:
                raw = self.exchange.place_order(
                    symbol=order.symbol,
                    side=order.side,
                    quantity=order.quantity,
                    key=key,
                    **_order_fields(order),
                )
                break
            except OrderRefused as exc:
                self.rejections += 1
                logger.warning(
                    "%s: order refused: %s: %s: %s", self.name, order.describe(), exc.code, exc.message
                )
                self._guarded("on_reject", self.strategy.on_reject, order, exc.code, exc.message)
                return None
            except (RetryLater, Unreachable) as exc:
                delay = exc.retry_after if isinstance(exc, RetryLater) else backoff.next_delay()
                if self.stopping or self.clock() + delay > deadline:
                    why = "stopping" if self.stopping else f"no answer within {self.order_patience:g} s"
                    self.rejections += 1
                    logger.error(
                        "%s: giving up on %s (%s); it may have executed under key %s",
                        self.name,
                        order.describe(),
                        why,
                        key,
                    )
                    self._guarded("on_reject", self.strategy.on_reject, order, "unavailable", str(exc))
                    return None
                logger.warning(
                    "%s: %s; retrying the same order (key %s) in %.1f s", self.name, exc, key, delay
                )
                self.sleep(delay)
        try:
            report = OrderReport.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error(
                "%s: the exchange's answer to %s is unreadable: %s", self.name, order.describe(), exc
            )
            return None
        changes = self.tracker.placed(order, report)
        self._tell(changes)
        return changes[0].update if changes else None

    def cancel(self, request: Cancel) -> None:
        """Cancel the strategy's order ``request.ref``, if it is still open as far as we know."""
        order_id = self.tracker.id_of(request.ref)
        tracked = None if order_id is None else self.tracker.known(order_id)
        if order_id is None or tracked is None:
            logger.warning("%s: no order of ours is named %r; nothing to cancel", self.name, request.ref)
            return
        if tracked.status not in LIVE:
            return  # closed already, and the strategy has been told
        try:
            raw = self.exchange.cancel_order(order_id)
        except OrderRefused as exc:
            # Filled or canceled in the meantime: read how it ended.
            logger.info("%s: order #%d could not be canceled: %s", self.name, order_id, exc.code)
            self.refresh([order_id])
            return
        except (RetryLater, Unreachable) as exc:
            logger.warning("%s: the cancel of order #%d got no answer (%s)", self.name, order_id, exc)
            self.refresh([order_id])
            return
        self._tell(self.tracker.observe(OrderReport.from_json(raw)))

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


def _order_fields(order: Order) -> dict[str, Any]:
    """The API's fields of an order besides symbol, side and quantity; none for a plain market order."""
    if order.type == MARKET and order.time_in_force == "gtc":
        return {}
    return {
        "type": order.type,
        "limit_price": None if order.limit_price is None else str(order.limit_price),
        "stop_price": None if order.stop_price is None else str(order.stop_price),
        "time_in_force": order.time_in_force,
    }


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
