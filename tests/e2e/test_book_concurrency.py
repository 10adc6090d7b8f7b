"""The book under concurrent requests, on file SQLite and on PostgreSQL (RELIABILITY items 24 and 25).

Two server processes share one database, with a wide house spread so that
accounts' orders rest between the house's bid and ask and meet each other.
Racing takers never fill a resting order beyond its quantity, a cancel and a
fill that race have exactly one winner, and the audit (balances and
reservations) finds nothing to explain.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
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

# The house quotes 10% either side of the source, so resting orders near the
# price stay between its bid and ask for many ticks.
BOOK_ENV = {"EXCHANGE_ORDER_RATE": "0", "EXCHANGE_SPREAD_BPS": "2000"}
TAKERS = [f"taker{i}" for i in range(4)]
SYMBOL = "TCSG"


class Venue:
    """Two servers on one database, and the accounts that trade on it."""

    def __init__(self, first: ServerProcess, second: ServerProcess) -> None:
        self.first = first
        self.urls = [first.url, second.url]
        self.tokens = create_bots(first, ["maker", *TAKERS])

    def call(self, method: str, path: str, name: str, index: int = 0, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[name]}"}
        url = self.urls[index % len(self.urls)] + path
        for _ in range(10):
            response = requests.request(method, url, headers=headers, timeout=60, **kwargs)
            if response.status_code != 503:  # a busy database: retry, as a client does
                return response
        return response

    def place(self, name: str, index: int = 0, **order: Any) -> requests.Response:
        return self.call("POST", "/api/orders", name, index, json={"symbol": SYMBOL, **order})

    def source_price(self) -> Decimal:
        return Decimal(self.first.get(f"/api/book/{SYMBOL}").json()["source_price"])

    def audit(self) -> list[str]:
        script = "import json; from market.selectors import audit_ledger; print(json.dumps(audit_ledger()))"
        out = self.first.manage("shell", "-v", "0", "-c", script).stdout.strip().splitlines()[-1]
        return list(json.loads(out))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def venue(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    database_url = None
    if request.param == "postgres":
        require_postgres()
        database_url = postgres_database()
    directory: Path = tmp_path_factory.mktemp(f"book-{request.param}")
    first = ServerProcess(directory / "a", database_url=database_url, **BOOK_ENV)
    second = ServerProcess(
        directory / "b", database_url=first.database_url, EXCHANGE_ENGINE="off", **BOOK_ENV
    )
    try:
        first.start()
        second.start()
        wait_for_prices(first)
        yield Venue(first, second)
    finally:
        first.kill()
        second.kill()
        if database_url:
            drop_postgres_database(database_url)


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call at the same moment (released together by a barrier)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def resting_sell(venue: Venue, quantity: int) -> dict[str, Any]:
    """A sell of the maker's, resting at the source price (inside the house's wide quote)."""
    price = venue.source_price()
    bought = venue.place("maker", side="buy", quantity=quantity)
    assert bought.status_code == 201, bought.text
    order = venue.place("maker", side="sell", quantity=quantity, type="limit", limit_price=str(price))
    assert order.status_code == 201, order.text
    body: dict[str, Any] = order.json()
    assert body["status"] == "open", body
    return body


def test_twenty_takers_never_fill_a_resting_order_beyond_its_quantity(venue: Venue) -> None:
    sell = resting_sell(venue, 5)
    take = {
        "side": "buy",
        "quantity": 1,
        "type": "limit",
        "limit_price": sell["limit_price"],
        "time_in_force": "ioc",
    }
    calls = [
        (lambda i=i: venue.place(TAKERS[i % len(TAKERS)], i, **take))
        for i in range(20)  # type: ignore[misc]
    ]
    responses = at_once(calls)
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["canceled"] * 15 + ["filled"] * 5
    after = venue.call("GET", f"/api/orders/{sell['id']}", "maker").json()
    assert (after["status"], after["filled_quantity"]) == ("filled", 5)
    assert sum(f["quantity"] for f in after["fills"]) == 5
    assert venue.audit() == []


def test_a_cancel_and_a_fill_that_race_have_exactly_one_winner(venue: Venue) -> None:
    for round_ in range(4):
        sell = resting_sell(venue, 1)
        take = {
            "side": "buy",
            "quantity": 1,
            "type": "limit",
            "limit_price": sell["limit_price"],
            "time_in_force": "ioc",
        }
        order_id, taker = sell["id"], TAKERS[round_]
        cancel, fill = at_once(
            [
                lambda order_id=order_id, n=round_: venue.call(
                    "DELETE", f"/api/orders/{order_id}", "maker", n
                ),
                lambda taker=taker, n=round_, take=take: venue.place(taker, n + 1, **take),
            ]
        )
        filled = fill.json()["status"] == "filled"
        if filled:
            assert (cancel.status_code, cancel.json()["error"]["code"]) == (409, "not_cancelable")
        else:
            assert (cancel.status_code, cancel.json()["status"]) == (200, "canceled")
            assert fill.json()["status"] == "canceled"
        final = venue.call("GET", f"/api/orders/{sell['id']}", "maker").json()
        assert final["status"] == ("filled" if filled else "canceled")
    assert venue.audit() == []
    maker = venue.call("GET", "/api/accounts/me", "maker").json()
    assert maker["available_positions"] == maker["positions"]  # nothing left reserved
