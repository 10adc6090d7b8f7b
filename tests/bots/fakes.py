"""Test doubles for the bot runner: an exchange without a network, and SSE responses."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import requests

from bots.client import OrderRefused
from market.errors import OrderRejected
from market.fills import fill


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
