"""Orders over real sockets.

A committed trade reaches the stream, rejections change nothing, and a locked
database answers 503 instead of failing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ServerProcess, create_bot, read_events, wait_for_prices

pytestmark = pytest.mark.e2e

ORDER = {"symbol": "META", "side": "buy", "quantity": 1}


@pytest.fixture(scope="module")
def trader(exchange_server: ServerProcess) -> str:
    wait_for_prices(exchange_server)
    return create_bot(exchange_server, "wire-trader")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def books(server: ServerProcess, token: str) -> tuple[Any, ...]:
    """What an order could change (equity moves with prices, so it is left out)."""
    account = server.get("/api/accounts/me", headers=bearer(token)).json()
    tape = server.get("/api/trades", params={"account": "wire-trader"}).json()["trades"]
    return account["cash"], account["positions"], account["trades"], [trade["id"] for trade in tape]


def test_a_committed_order_reaches_the_market_stream_after_the_snapshot(
    exchange_server: ServerProcess, trader: str
) -> None:
    cursor = exchange_server.get("/api/trades", params={"symbol": "META"}).json()["cursor"]
    placed = exchange_server.post("/api/orders", json=ORDER, headers=bearer(trader))
    assert placed.status_code == 201, placed.text
    events = read_events(
        exchange_server.url + "/market/stream/",
        count=1,
        types=("trade",),
        params={"symbols": "META"},
        headers={"Last-Event-ID": cursor},
    )
    assert events[0]["event"] == "trade"
    (fill,) = placed.json()["fills"]
    trade = events[0]["data"]
    assert (trade["id"], trade["price"], trade["quantity"]) == (
        fill["trade_id"],
        fill["price"],
        fill["quantity"],
    )
    assert (trade["buyer"], trade["seller"], trade["taker_side"]) == ("wire-trader", "exchange", "buy")


def chunks() -> Iterator[bytes]:
    yield b'{"symbol": "META", '
    yield b'"side": "buy", "quantity": 1, "pad": "' + b"x" * 40_000 + b'"}'


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": ORDER, "headers": {"Authorization": None}}, 401, "unauthorized"),
        ({"json": ORDER, "headers": {"Authorization": "Bearer wrong"}}, 401, "unauthorized"),
        (
            {"data": '{"symbol": "META", "side": "buy", "quantity": 1}', "content_type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        ({"data": "x" * 40_000, "content_type": "application/json"}, 413, "payload_too_large"),
        ({"data": chunks(), "content_type": "application/json"}, 413, "payload_too_large"),
        (
            {"data": '{"symbol": "META", "symbol": "BTC", "side": "buy", "quantity": 1}'},
            400,
            "malformed_json",
        ),
        ({"json": {**ORDER, "quantity": 0}}, 400, "invalid_quantity"),
        ({"json": {**ORDER, "price": "0.01"}}, 400, "invalid_request"),
    ],
    ids=[
        "no token",
        "wrong token",
        "text/plain",
        "over-large",
        "over-large chunked",
        "duplicate keys",
        "zero",
        "price",
    ],
)
def test_a_rejection_over_the_wire_changes_nothing(
    exchange_server: ServerProcess, trader: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    headers = {**bearer(trader), "Content-Type": kwargs.pop("content_type", "application/json")}
    headers.update(kwargs.pop("headers", {}))
    before = books(exchange_server, trader)
    response = exchange_server.post("/api/orders", headers=headers, **kwargs)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert books(exchange_server, trader) == before


def test_a_database_locked_past_its_timeout_answers_503_with_retry_after(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    database = server.database_url.removeprefix("sqlite:///")
    server.database_url += "?timeout=1"
    server.env["DATABASE_URL"] = server.database_url
    server.start()
    try:
        wait_for_prices(server)
        token = create_bot(server, "patient")
        blocker = sqlite3.connect(database, isolation_level=None, timeout=10)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            response = server.post("/api/orders", json=ORDER, headers=bearer(token))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (response.status_code, response.json()["error"]["code"]) == (503, "busy")
        assert response.headers["Retry-After"] == "1"
        deadline = time.monotonic() + 20
        while (retried := server.post("/api/orders", json=ORDER, headers=bearer(token))).status_code != 201:
            assert retried.status_code in (409, 503), (
                retried.text
            )  # a price may be stale right after the lock
            assert time.monotonic() < deadline, retried.text
            time.sleep(0.2)
        assert server.get("/api/accounts/me", headers=bearer(token)).json()["trades"] == 1
    finally:
        server.kill()
