"""Test doubles for the bot runner: an exchange without a network, and SSE responses."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import requests

from bots.backtest import VenueSettings, check_order
from bots.client import OrderRefused
from bots.strategies import Order
from market.errors import OrderRejected
from market.fills import fill
from market.venue import Order as VenueOrder
from streams.client import StreamEvent


def price_event(symbol: str, price: str, seq: int, event_id: str | None = None) -> tuple[str, str, str]:
    data = {"symbol": symbol, "price": price, "seq": seq, "ts": "2026-11-25T15:00:00.000000Z"}
    return ("price", event_id or f"market-{symbol}:{seq}", json.dumps(data))


def sse(*events: tuple[str, str, str]) -> str:
    return "event: stream-open\ndata:\n\n" + "".join(
        f"event: {e}\nid: {i}\ndata: {d}\n\n" for e, i, d in events
    )


class FakeResponse:
    """A streaming response: its events, then a dropped connection (or a block until ``hold`` is set)."""

    def __init__(self, body: str, *, hold: threading.Event | None = None, status: int = 200) -> None:
        self.status_code = status
        self.text = body
        self.body = body.encode()
        self.hold = hold
        self.raw = None
        self.woken: bool | None = None

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(str(self.status_code))

    def iter_content(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield self.body
        if self.hold is not None:
            # An idle live stream: blocks until the runner is stopped (bounded).
            self.woken = self.hold.wait(10)
            return
        raise requests.ConnectionError("connection dropped")

    def close(self) -> None:
        pass


class Opener:
    """Hands out the given responses in turn, recording the headers of each connection;
    when none are left it calls ``when_done`` (e.g. the runner's ``stop``) and refuses."""

    def __init__(self, *responses: FakeResponse, when_done: Any = None) -> None:
        self.responses = list(responses)
        self.when_done = when_done
        self.calls: list[tuple[dict[str, str], dict[str, str]]] = []

    def __call__(self, url: str, params: dict[str, str], headers: dict[str, str]) -> FakeResponse:
        self.calls.append((dict(params), dict(headers)))
        if not self.responses:
            if self.when_done is not None:
                self.when_done()
            raise requests.ConnectionError("refused")
        return self.responses.pop(0)


class FakeExchange:
    """The REST side of an exchange in memory. ``outcomes`` scripts ``place_order``: each
    entry is an exception to raise or ``None`` to fill the order by ``market.fills`` at
    ``price_now[symbol]``, the exchange's own rule."""

    stream_url = "http://exchange.test/market/stream/"

    def __init__(
        self,
        *,
        cursor: str = "market-BTC:0",
        snapshot: list[dict[str, Any]] | None = None,
        cash: str = "100000.00",
        positions: dict[str, int] | None = None,
        outcomes: list[BaseException | None] | None = None,
    ) -> None:
        self.cursor = cursor
        self.snapshot = snapshot or []
        self.starting = Decimal(cash)
        self.cash = Decimal(cash)
        self.positions = dict(positions or {})
        self.outcomes = list(outcomes or [])
        self.price_now: dict[str, Decimal] = {}
        self.calls: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    def prices(self) -> dict[str, Any]:
        return {"cursor": self.cursor, "prices": self.snapshot}

    def account(self) -> dict[str, Any]:
        equity = self.cash + sum(
            (self.price_now.get(s, Decimal(0)) * q for s, q in self.positions.items()), Decimal(0)
        )
        return {
            "name": "fake",
            "cash": str(self.cash),
            "positions": dict(self.positions),
            "equity": str(equity),
            "pnl": str(equity - self.starting),
            "trades": len(self.trades),
        }

    def place_order(self, *, symbol: str, side: str, quantity: int, key: str) -> dict[str, Any]:
        self.calls.append({"symbol": symbol, "side": side, "quantity": quantity, "key": key})
        if key in self.by_key:
            return self.by_key[key]  # an idempotent replay: the original trade
        outcome = self.outcomes.pop(0) if self.outcomes else None
        lost_after_executing = isinstance(outcome, LostResponse)
        if outcome is not None and not lost_after_executing:
            raise outcome
        price = self.price_now[symbol]
        try:
            done = fill(
                cash=self.cash,
                position=self.positions.get(symbol, 0),
                side=side,
                quantity=quantity,
                price=price,
            )
        except OrderRejected as exc:
            raise OrderRefused(exc.status, exc.code, exc.message) from exc
        self.cash = done.cash
        self.positions[symbol] = done.position
        order_id = next(self.ids)
        ts = "2026-11-25T15:00:00.000000Z"
        trade = {
            "id": order_id,
            "account": "fake",
            "symbol": symbol,
            "side": side,
            "type": "market",
            "quantity": quantity,
            "limit_price": None,
            "stop_price": None,
            "time_in_force": "gtc",
            "status": "filled",
            "filled_quantity": quantity,
            "average_price": str(price),
            "fees": "0.00",
            "created_at": ts,
            "updated_at": ts,
            "fills": [
                {
                    "trade_id": order_id,
                    "price": str(price),
                    "quantity": quantity,
                    "fee": "0.00",
                    "liquidity": "taker",
                    "ts": ts,
                }
            ],
        }
        self.trades.append(trade)
        self.by_key[key] = trade
        if lost_after_executing:
            raise outcome.error
        return trade


class LostResponse(Exception):
    """Scripted outcome: the order executes, but the answer never reaches the bot."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def order_json(order: VenueOrder, *, account: str = "fake") -> dict[str, Any]:
    """A venue order as the API shows it to its owner (``market.wire``'s order object)."""
    ts = "2026-11-25T15:00:00.000000Z"

    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value.quantize(Decimal("0.01")))

    return {
        "id": order.id,
        "account": account,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "quantity": order.quantity,
        "limit_price": money(order.limit_price),
        "stop_price": money(order.stop_price),
        "time_in_force": order.time_in_force,
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "average_price": money(order.average_price),
        "fees": money(order.fees),
        "created_at": ts,
        "updated_at": ts,
        "fills": [
            {
                "trade_id": n,
                "price": money(f.price),
                "quantity": f.quantity,
                "fee": money(f.taker_fee if f.taker_order == order.id else f.maker_fee),
                "liquidity": "taker" if f.taker_order == order.id else "maker",
                "ts": ts,
            }
            for n, f in enumerate(order.fills, 1)
        ],
    }


class VenueExchange:
    """An exchange in memory on ``market.venue.Venue`` (the exchange's rules, every order type),
    with the private stream as a list of ``order`` events handed to ``listener``.

    ``tick(symbol, price)`` is a source tick; ``duplicate`` delivers every event twice, as a
    replay after a reconnect would."""

    stream_url = "http://exchange.test/market/stream/"
    account_stream_url = "http://exchange.test/api/accounts/me/stream/"
    stream_headers: dict[str, str] = {"Authorization": "Bearer fake"}

    def __init__(
        self, *, settings: VenueSettings | None = None, cash: str = "100000.00", duplicate: bool = False
    ) -> None:
        self.venue = (settings or VenueSettings()).venue()
        self.wallet = self.venue.open_account(1, Decimal(cash))
        self.starting = Decimal(cash)
        self.price_now: dict[str, Decimal] = {}
        self.duplicate = duplicate
        self.listener: Any = None
        self.events: list[dict[str, Any]] = []
        self.seen: dict[int, tuple[str, int]] = {}
        self.live: set[int] = set()
        self.newest = 0
        self.calls: list[str] = []
        self.by_key: dict[str, dict[str, Any]] = {}

    def tick(self, symbol: str, price: Decimal) -> None:
        self.price_now[symbol] = price
        self.venue.tick(symbol, price)
        self._publish()

    def _publish(self) -> None:
        # Only live orders and new ones can change: the others' states are final.
        orders = self.venue.orders
        newest = max(orders, default=0)
        candidates = sorted({*self.live, *range(self.newest + 1, newest + 1)})
        self.newest = newest
        for order_id in candidates:
            order = orders[order_id]
            if order.is_live:
                self.live.add(order_id)
            else:
                self.live.discard(order_id)
            state = (order.status, order.filled_quantity)
            if self.seen.get(order.id) == state:
                continue
            self.seen[order.id] = state
            data = order_json(order)
            self.events.append(data)
            for _ in range(2 if self.duplicate else 1):
                if self.listener is not None:
                    self.listener(
                        StreamEvent(event="order", data=json.dumps(data), id=f"account-1:{len(self.events)}")
                    )

    def prices(self) -> dict[str, Any]:
        return {"cursor": "market-BTC:0", "prices": []}

    def account(self) -> dict[str, Any]:
        return {
            "name": "fake",
            "cash": str(self.wallet.cash),
            "positions": {s: q for s, q in self.wallet.units.items() if q},
            "equity": "0.00",
            "pnl": "0.00",
            "cursor": f"account-1:{len(self.events)}",
        }

    def place_order(
        self, *, symbol: str, side: str, quantity: int, key: str, **fields: Any
    ) -> dict[str, Any]:
        self.calls.append(f"place {side} {quantity} {symbol} {fields}")
        if key in self.by_key:
            return self.by_key[key]
        price = {
            name: Decimal(fields[name]) if fields.get(name) else None
            for name in ("limit_price", "stop_price")
        }
        order = Order(
            symbol,
            side,
            quantity,
            type=fields.get("type") or "market",
            time_in_force=fields.get("time_in_force") or "gtc",
            **price,
        )
        try:
            check_order(order)
            placed = self.venue.place(
                account=1,
                symbol=symbol,
                side=side,
                quantity=quantity,
                type=order.type,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                time_in_force=order.time_in_force,
            )
        except OrderRejected as exc:
            raise OrderRefused(exc.status, exc.code, exc.message) from exc
        self._publish()
        answer = order_json(placed)
        self.by_key[key] = answer
        return answer

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        self.calls.append(f"cancel {order_id}")
        try:
            order = self.venue.cancel(account=1, order_id=order_id)
        except OrderRejected as exc:
            raise OrderRefused(exc.status, exc.code, exc.message) from exc
        self._publish()
        return order_json(order)

    def cancel_all(self, symbol: str | None = None) -> dict[str, Any]:
        ids = [i for i in sorted(self.live) if symbol in (None, self.venue.orders[i].symbol)]
        for order_id in ids:
            self.venue.cancel(account=1, order_id=order_id)
        self._publish()
        return {"canceled": ids}

    def order(self, order_id: int) -> dict[str, Any]:
        self.calls.append(f"get {order_id}")
        return order_json(self.venue.orders[order_id])

    def open_orders(self, symbol: str | None = None) -> dict[str, Any]:
        self.calls.append(f"open {symbol}")
        live = [self.venue.orders[i] for i in sorted(self.live, reverse=True)]
        return {"cursor": "", "orders": [order_json(o) for o in live if symbol in (None, o.symbol)]}
