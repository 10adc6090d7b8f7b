"""Concurrent orders against real server processes, on file SQLite and on PostgreSQL.

Two server processes share one database (the second runs no engine), and the
requests of each race are spread over both, so the database's own locking is
what keeps the books whole, not one process's scheduling.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import (
    ServerProcess,
    create_bots,
    drop_postgres_database,
    postgres_database,
    require_postgres,
    wait_for_prices,
)

pytestmark = pytest.mark.e2e

# The races below fire more orders at once than the default per-token burst.
RACE_ENV = {"EXCHANGE_ORDER_RATE": "0"}
BOTS = ["seller", "retrier", "mixer0", "mixer1", "mixer2", "mixer3"]
STARTING_CASH = Decimal("100000.00")


class Pair:
    """Two servers on one database; ``urls`` alternate between them."""

    def __init__(self, first: ServerProcess, second: ServerProcess) -> None:
        self.first = first
        self.second = second
        self.urls = [first.url, second.url]

        self.tokens = create_bots(first, BOTS)

    def audit(self) -> list[str]:
        """Recompute every account from the public trade tape, as an outsider would; returns the drift."""
        board = requests.get(self.first.url + "/api/accounts", timeout=10).json()["accounts"]
        tape = requests.get(self.first.url + "/api/trades", params={"limit": 500}, timeout=10).json()[
            "trades"
        ]
        assert len(tape) < 500, "the tape is longer than one page; the audit would miss trades"
        cash: dict[str, Decimal] = defaultdict(Decimal, {row["name"]: STARTING_CASH for row in board})
        units: dict[tuple[str, str], int] = Counter()
        for trade in tape:
            notional = trade["quantity"] * Decimal(trade["price"])
            cash[trade["buyer"]] -= notional
            cash[trade["seller"]] += notional
            units[(trade["buyer"], trade["symbol"])] += trade["quantity"]
            units[(trade["seller"], trade["symbol"])] -= trade["quantity"]
        drift = []
        for row in board:
            if Decimal(row["cash"]) != cash[row["name"]]:
                drift.append(f"{row['name']} cash {row['cash']} != {cash[row['name']]}")
            held = {symbol: n for (name, symbol), n in units.items() if name == row["name"] and n}
            if row["positions"] != held:
                drift.append(f"{row['name']} positions {row['positions']} != {held}")
        return drift


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    database_url = None
    if request.param == "postgres":
        require_postgres()
        database_url = postgres_database()
    directory: Path = tmp_path_factory.mktemp(f"orders-{request.param}")
    first = ServerProcess(directory / "a", database_url=database_url, **RACE_ENV)
    second = ServerProcess(
        directory / "b", database_url=first.database_url, EXCHANGE_ENGINE="off", **RACE_ENV
    )
    try:
        first.start()
        second.start()
        wait_for_prices(first)
        yield Pair(first, second)
    finally:
        first.kill()
        second.kill()
        if database_url:
            drop_postgres_database(database_url)


def race(
    urls: list[str], bodies: list[dict[str, Any]], headers: list[dict[str, str]]
) -> list[requests.Response]:
    """POST every body at once (released together by a barrier), alternating between the servers."""
    barrier = threading.Barrier(len(bodies))

    def send(index: int) -> requests.Response:
        barrier.wait(timeout=30)
        # A busy database may answer 503 with Retry-After; a client retries the same request.
        for _ in range(10):
            response = requests.post(
                urls[index % len(urls)] + "/api/orders",
                json=bodies[index],
                headers=headers[index],
                timeout=60,
            )
            if response.status_code != 503:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, range(len(bodies))))


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def me(pair: Pair, token: str) -> dict[str, Any]:
    return dict(requests.get(pair.first.url + "/api/accounts/me", headers=bearer(token), timeout=10).json())


def test_twenty_sells_of_one_lot_let_exactly_one_win(servers: Pair) -> None:
    token = servers.tokens["seller"]
    bought = requests.post(
        servers.first.url + "/api/orders",
        json={"symbol": "META", "side": "buy", "quantity": 1},
        headers=bearer(token),
        timeout=10,
    )
    assert bought.status_code == 201, bought.text
    responses = race(
        servers.urls, [{"symbol": "META", "side": "sell", "quantity": 1}] * 20, [bearer(token)] * 20
    )
    outcomes = Counter((r.status_code, r.json().get("error", {}).get("code")) for r in responses)
    assert outcomes == {(201, None): 1, (409, "insufficient_position"): 19}
    account = me(servers, token)
    assert (account["positions"], account["trades"]) == ({}, 2)
    assert servers.audit() == []


def test_fifty_copies_of_one_idempotency_key_make_one_trade(servers: Pair) -> None:
    token = servers.tokens["retrier"]
    headers = bearer(token, **{"Idempotency-Key": "one-order-only"})
    responses = race(servers.urls, [{"symbol": "TCSG", "side": "buy", "quantity": 2}] * 50, [headers] * 50)
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    account = me(servers, token)
    assert (account["positions"], account["trades"]) == ({"TCSG": 2}, 1)
    assert servers.audit() == []


def test_many_accounts_trading_at_once_keep_the_books_whole(servers: Pair) -> None:
    tokens = [servers.tokens[f"mixer{i}"] for i in range(4)]
    bodies, headers = [], []
    for round_ in range(6):
        for token in tokens:
            side = "buy" if round_ % 2 == 0 else "sell"
            bodies.append({"symbol": "BTC", "side": side, "quantity": 1})
            headers.append(bearer(token))
    responses = race(servers.urls, bodies, headers)
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    for token in tokens:
        account = me(servers, token)
        assert account["positions"].get("BTC", 0) >= 0
    assert servers.audit() == []
