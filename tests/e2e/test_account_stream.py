"""The private account stream against a real server: its owner's order and balance events, nobody else's."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.servers import ServerProcess, create_bots, read_events, wait_for_prices

pytestmark = pytest.mark.e2e

STREAM = "/api/accounts/me/stream/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("account-stream"), EXCHANGE_ORDER_RATE="0")
    try:
        process.start()
        wait_for_prices(process)
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    return create_bots(server, ["owner", "stranger"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cursor_of(server: ServerProcess, token: str) -> str:
    return str(server.get("/api/accounts/me", headers=bearer(token)).json()["cursor"])


def place(server: ServerProcess, token: str, **order: Any) -> dict[str, Any]:
    response = server.post("/api/orders", json={"symbol": "META", **order}, headers=bearer(token))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_owner_sees_each_order_change_then_its_balance(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    me = server.get("/api/accounts/me", headers=bearer(tokens["owner"])).json()
    cursor, cash = str(me["cursor"]), me["cash"]
    resting = place(server, tokens["owner"], side="buy", quantity=2, type="limit", limit_price="1.00")
    server.delete(f"/api/orders/{resting['id']}", headers=bearer(tokens["owner"]))
    events = read_events(
        server.url + STREAM,
        count=4,
        types=("order", "balance"),
        headers={**bearer(tokens["owner"]), "Last-Event-ID": cursor},
    )
    assert [e["event"] for e in events] == ["order", "balance", "order", "balance"]
    assert [e["data"]["status"] for e in events if e["event"] == "order"] == ["open", "canceled"]
    # Other tests in this module trade as the owner first, in any order: compare with its cash before.
    assert events[1]["data"]["cash"] == cash
    assert Decimal(events[1]["data"]["available_cash"]) == Decimal(cash) - 2
    assert events[3]["data"]["available_cash"] == cash


def test_a_resumed_stream_misses_nothing_and_repeats_nothing(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    headers = bearer(tokens["owner"])
    cursor = cursor_of(server, tokens["owner"])
    first = place(server, tokens["owner"], side="buy", quantity=1)
    (seen,) = read_events(
        server.url + STREAM, count=1, types=("order",), headers={**headers, "Last-Event-ID": cursor}
    )
    assert seen["data"]["id"] == first["id"]
    second = place(server, tokens["owner"], side="sell", quantity=1)
    events = read_events(
        server.url + STREAM,
        count=2,
        types=("order", "balance"),
        headers={**headers, "Last-Event-ID": seen["id"]},
    )
    assert [e["event"] for e in events] == ["balance", "order"]  # the first order's balance, then the second
    assert events[1]["data"]["id"] == second["id"]


def test_nobody_else_reads_an_account_s_stream(server: ServerProcess, tokens: dict[str, str]) -> None:
    assert requests.get(server.url + STREAM, timeout=10).status_code == 401
    wrong = requests.get(server.url + STREAM, headers=bearer("not-a-token"), timeout=10)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "unauthorized")
    cursor = cursor_of(server, tokens["stranger"])
    place(server, tokens["owner"], side="buy", quantity=1)
    mine = place(server, tokens["stranger"], side="buy", quantity=1)
    (event,) = read_events(
        server.url + STREAM,
        count=1,
        types=("order",),
        headers={**bearer(tokens["stranger"]), "Last-Event-ID": cursor},
    )
    assert event["data"]["id"] == mine["id"]
    assert event["data"]["account"] == "stranger"
