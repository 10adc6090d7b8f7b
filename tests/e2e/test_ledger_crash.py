"""``kill -9`` in the middle of order traffic leaves the books whole (RELIABILITY item 11).

Clients place idempotent orders while the server is killed without warning.
After a restart on the same database, every acknowledged order exists exactly
once, unchanged; retrying an order whose answer was lost (same key, same body)
gives exactly one trade; and the audit from trades finds no drift, in the
balances and in the reservations of the orders left resting (RELIABILITY 24).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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

CLIENTS = 4


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    url = postgres_database()
    yield url
    drop_postgres_database(url)


class Trader(threading.Thread):
    """Places a market buy, a market sell, then a resting limit buy, each with its own key, until the end.

    The resting orders reserve cash: after the crash the audit checks those
    reservations against the open orders too.
    """

    def __init__(self, url: str, name: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.name = name
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acknowledged: list[dict[str, Any]] = []
        self.in_flight: tuple[str, dict[str, Any]] | None = None

    def run(self) -> None:
        for n in range(10_000):
            key = f"{self.name}-{n}"
            body: dict[str, Any] = {"symbol": "META", "side": "sell" if n % 3 == 1 else "buy", "quantity": 1}
            if n % 3 == 2:
                body.update(type="limit", limit_price="1.00")  # far below the price: it rests
            self.in_flight = (key, body)
            try:
                response = requests.post(
                    self.url + "/api/orders",
                    json=body,
                    headers={**self.headers, "Idempotency-Key": key},
                    timeout=10,
                )
            except requests.RequestException:
                return
            if response.status_code != 201:
                return
            self.acknowledged.append(response.json())
            self.in_flight = None


def test_a_kill_9_under_load_loses_no_acknowledged_order_and_doubles_none(
    tmp_path: Path, database_url: str | None
) -> None:
    first = ServerProcess(tmp_path / "before", database_url=database_url, EXCHANGE_ORDER_RATE="0")
    first.start()
    try:
        wait_for_prices(first)
        tokens = create_bots(first, [f"crash{i}" for i in range(CLIENTS)])
        traders = [Trader(first.url, name, token) for name, token in tokens.items()]
        for trader in traders:
            trader.start()
        deadline = time.monotonic() + 20
        while sum(len(t.acknowledged) for t in traders) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        first.kill()
    for trader in traders:
        trader.join(15)
    assert sum(len(t.acknowledged) for t in traders) >= 40

    second = ServerProcess(tmp_path / "after", database_url=first.database_url, EXCHANGE_ORDER_RATE="0")
    second.start()
    try:
        wait_for_prices(second)
        for trader in traders:
            if trader.in_flight is not None:
                key, body = trader.in_flight
                retried = second.post(
                    "/api/orders", json=body, headers={**trader.headers, "Idempotency-Key": key}
                )
                assert retried.status_code == 201, retried.text
                trader.acknowledged.append(retried.json())
                again = second.post(
                    "/api/orders", json=body, headers={**trader.headers, "Idempotency-Key": key}
                )
                assert again.content == retried.content
            tape = second.get("/api/trades", params={"account": trader.name, "limit": 500}).json()["trades"]
            acknowledged = [fill["trade_id"] for order in trader.acknowledged for fill in order["fills"]]
            assert sorted(trade["id"] for trade in tape) == acknowledged
            for order in trader.acknowledged:
                stored = second.get(f"/api/orders/{order['id']}", headers=trader.headers).json()
                assert stored == order
        audit = second.manage(
            "shell", "-v", "0", "-c", "from market.selectors import audit_ledger; print(audit_ledger())"
        )
        assert audit.stdout.strip().splitlines()[-1] == "[]"
    finally:
        second.kill()
