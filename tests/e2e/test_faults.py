"""Injected faults against a real server: each looks to a client as a venue's failure, and our runner
survives every kind with no order executed twice and none lost."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_runbot import DECISION, Bot, wait_for
from tests.servers import ServerProcess, create_bots, wait_for_prices

pytestmark = pytest.mark.e2e

OPERATOR = "e2e-operator-token"
NAMES = ["f-reject", "f-delay", "f-lose", "f-partial", "f-stale", "f-drop", "f-direct", "f-bystander"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("faults-server"), EXCHANGE_OPERATOR_TOKEN=OPERATOR)
    process.start()
    wait_for_prices(process)
    yield process
    process.kill()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    return create_bots(server, NAMES)


def set_faults(server: ServerProcess, name: str, **plan: Any) -> None:
    response = server.put(
        f"/api/admin/faults/{name}", json=plan, headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    assert response.status_code == 200, response.text


def clear_faults(server: ServerProcess, name: str) -> None:
    response = server.delete(f"/api/admin/faults/{name}", headers={"Authorization": f"Bearer {OPERATOR}"})
    assert response.status_code == 200, response.text


def injected(server: ServerProcess, kind: str, name: str) -> int:
    return server.log().count(f"injected fault {kind} on {name}'s")


def orders_of(server: ServerProcess, token: str) -> list[dict[str, Any]]:
    body = server.get("/api/orders", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"})
    return list(body.json()["orders"])


def audit(server: ServerProcess) -> list[str]:
    script = "import json; from market.selectors import audit_ledger; print(json.dumps(audit_ledger()))"
    return list(json.loads(server.manage("shell", "-v", "0", "-c", script).stdout.splitlines()[-1]))


FILL = re.compile(r": (Bought|Sold) <")
CASES = {
    # fault kind -> (plan, what to wait for in the server's log)
    "reject": ({"reject": 0.3, "seed": 1}, 2),
    "delay": ({"delay_ms": 150, "seed": 1}, 5),
    "lose-response": ({"lose_response": 0.5, "seed": 2}, 2),
    "partial": ({"partial": 0.5, "seed": 3}, 2),
    "stale": ({"stale": 0.4, "seed": 4}, 2),
    "drop-stream": ({"drop_stream_after": 1.0, "seed": 5}, 2),
}
ACCOUNT = {
    "reject": "f-reject",
    "delay": "f-delay",
    "lose-response": "f-lose",
    "partial": "f-partial",
    "stale": "f-stale",
    "drop-stream": "f-drop",
}


@pytest.mark.parametrize("kind", list(CASES))
def test_the_runner_survives_the_fault_with_every_order_placed_exactly_once(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path, kind: str
) -> None:
    plan, times = CASES[kind]
    name = ACCOUNT[kind]
    token = tokens[name]
    if kind == "reject":
        # The command line does the same as the operator's HTTP call.
        server.manage("faults", name, "--reject", str(plan["reject"]), "--seed", str(plan["seed"]))
    else:
        set_faults(server, name, **plan)
    bot = Bot(
        server,
        tmp_path,
        "hamster",
        "--url",
        server.url,
        "--token",
        token,
        "--symbols",
        "META",
        "--quantity",
        "2",
    )
    try:
        wait_for(
            f"{times} injected {kind} faults", lambda: injected(server, kind, name) >= times, bot, timeout=90
        )
        if kind == "drop-stream":
            # The faults above are counted when a stream opens; wait for the cuts themselves.
            wait_for("two cut streams", lambda: bot.log().count("connection lost") >= 2, bot, timeout=90)
        wait_for("two fills", lambda: len(FILL.findall(bot.log())) >= 2, bot, timeout=90)
        assert bot.terminate() == 0
    finally:
        bot.kill()
    clear_faults(server, name)
    log = bot.log()
    assert "Traceback" not in log
    decisions = len(DECISION.findall(log))
    refused = log.count(": order refused:")
    stopped = log.count("(stopping); it may have executed")
    # The runner gives up on an order only when it is told to stop mid-retry.
    assert all("(stopping)" in line for line in log.splitlines() if "giving up" in line), log
    orders = orders_of(server, token)
    # Every decision is one order on the exchange, except those the exchange refused outright.
    assert decisions - refused - stopped <= len(orders) <= decisions - refused, log
    executed = [o for o in orders if o["filled_quantity"]]
    # The strategy heard of every execution once (an order in flight at SIGTERM may be left out).
    assert len(executed) - stopped <= len(FILL.findall(log)) <= len(executed), log
    assert audit(server) == []
    if kind == "stale":
        assert refused >= 1
        assert "no_price" in log
    if kind == "lose-response":
        assert "retrying the same order" in log
    if kind == "partial":
        assert any(o["status"] == "canceled" and o["filled_quantity"] < o["quantity"] for o in orders)
    if kind == "drop-stream":
        assert log.count("connection lost") >= 2
        assert "not JSON" not in log
        assert "were not delivered" not in log


def test_a_lost_answer_closes_the_connection_and_the_retry_with_its_key_gets_the_order(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    token = tokens["f-direct"]
    set_faults(server, "f-direct", lose_response=1.0)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"symbol": "META", "side": "buy", "quantity": 1}
    with pytest.raises(requests.ConnectionError):
        server.post("/api/orders", json=body, headers=headers)
    # A bystander is untouched meanwhile.
    other = server.post(
        "/api/orders", json=body, headers={"Authorization": f"Bearer {tokens['f-bystander']}"}
    )
    assert other.status_code == 201
    assert "X-Exchange-Fault" not in other.headers
    clear_faults(server, "f-direct")
    again = server.post("/api/orders", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [o["id"] for o in orders_of(server, token)] == [again.json()["id"]]
    assert "injected fault lose-response on f-direct's" in server.log()


def test_a_stream_of_the_account_is_cut_mid_event_and_resumes_from_its_cursor(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    set_faults(server, "f-direct", drop_stream_after=0.5, seed=8)
    cursor = server.get("/api/prices").json()["cursor"]
    with requests.get(
        server.url + "/market/stream/",
        params={"symbols": "META"},
        headers={"Authorization": f"Bearer {tokens['f-direct']}", "Last-Event-ID": cursor},
        stream=True,
        timeout=(5, 20),
    ) as response:
        assert "drop-stream" in response.headers["X-Exchange-Fault"]
        raw = b"".join(response.iter_content(chunk_size=None))
    clear_faults(server, "f-direct")
    assert not raw.endswith(b"\n\n")  # cut in the middle of an event
    complete = raw[: raw.rfind(b"\n\n")].decode()
    assert "event: price" in complete
