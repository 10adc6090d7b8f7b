"""The market clock and scenarios against a real server: commands and ``/api/admin/clock``.

The clock's changes come from another process (``manage.py clock``) or over
HTTP, and the server's tickers obey them through the database. A check that
nothing ticks watches for the time many ticks would take: a server that
ticked would fail it.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sources.catalog import source_specs
from tests import servers
from tests.servers import ServerProcess, create_bot, read_events, wait_for_prices

pytestmark = pytest.mark.e2e

OPERATOR = "e2e-operator-token-0123456789abcdef"
SYMBOLS = list(source_specs())
WAIT = 120.0  # bound of each wait on a loaded machine; each ends as soon as its condition holds


def wait_until(condition: Callable[[], Any], *, timeout: float = WAIT, what: str = "a condition") -> Any:
    return servers.wait_until(condition, timeout=timeout, what=what, step=0.05)


def clock(server: ServerProcess) -> dict[str, Any]:
    return dict(server.get("/api/clock").json())


def clock_seqs(server: ServerProcess) -> dict[str, int]:
    return {asset["symbol"]: asset["seq"] for asset in clock(server)["assets"]}


def market_seqs(server: ServerProcess) -> dict[str, int]:
    return {price["symbol"]: price["seq"] for price in server.get("/api/prices").json()["prices"]}


def operate(server: ServerProcess, body: dict[str, Any]) -> dict[str, Any]:
    response = server.post("/api/admin/clock", json=body, headers={"Authorization": f"Bearer {OPERATOR}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def history(server: ServerProcess, symbol: str) -> dict[int, Decimal]:
    body = server.get(f"/api/prices/{symbol}/history", params={"limit": 5000}).json()
    return {point["seq"]: Decimal(point["price"]) for point in body["prices"]}


def history_ts(server: ServerProcess, symbol: str) -> dict[int, str]:
    body = server.get(f"/api/prices/{symbol}/history", params={"limit": 5000}).json()
    return {point["seq"]: point["ts"] for point in body["prices"]}


def assert_no_ticks_for(server: ServerProcess, seqs: dict[str, int], seconds: float) -> None:
    """Nothing ticks at the source or reaches the market for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert clock_seqs(server) == seqs
        assert market_seqs(server) == seqs
        time.sleep(0.1)


def start(directory: Path, **env: str) -> ServerProcess:
    server = ServerProcess(directory, EXCHANGE_OPERATOR_TOKEN=OPERATOR, **env).start()
    wait_for_prices(server)
    return server


def test_pause_stops_every_tick_and_step_gives_exactly_n_per_asset_then_pauses(server_dir: Path) -> None:
    server = start(server_dir)
    try:
        cursor = server.get("/api/prices").json()["cursor"]
        assert "clock: paused" in server.manage("clock", "pause").stdout
        paused = clock_seqs(server)
        wait_until(lambda: market_seqs(server) == paused, what="the market catching up with the pause")
        # 40 ticks' worth of time at EXCHANGE_TICK_INTERVAL=0.05.
        assert_no_ticks_for(server, paused, 2.0)

        status = server.manage("clock", "step", "5").stdout
        assert "clock: stepping" in status
        wait_until(lambda: clock(server)["state"] == "paused", what="the step's end")
        stepped = {symbol: seq + 5 for symbol, seq in paused.items()}
        assert clock_seqs(server) == stepped
        wait_until(lambda: market_seqs(server) == stepped, what="the market taking the step's ticks")
        assert_no_ticks_for(server, stepped, 2.0)

        lines = server.manage("clock", "status").stdout.splitlines()
        assert lines[0].startswith("clock: paused, speed 1")
        assert {line.split()[0]: int(line.split()[2]) for line in lines[1:]} == stepped

        # Every asset's channel told its clients: paused, stepping, paused again after its 5 ticks.
        events = read_events(
            server.url + "/market/stream/", count=9, types=("clock",), params={"lastEventId": cursor}
        )
        for symbol in SYMBOLS:
            mine = [event["data"] for event in events if event["data"]["symbol"] == symbol]
            assert [event["state"] for event in mine] == ["paused", "stepping", "paused"]
            assert mine[-1]["seq"] == stepped[symbol]

        assert "clock: running" in server.manage("clock", "resume").stdout
        wait_until(
            lambda: all(market_seqs(server)[s] > stepped[s] for s in SYMBOLS), what="ticks after resume"
        )
    finally:
        server.kill()


def median_gap(server: ServerProcess, symbol: str, first: int, last: int) -> float:
    from sources.ticks import parse_ts

    stamps = history_ts(server, symbol)
    times = [parse_ts(stamps[seq]) for seq in range(first, last + 1)]
    return statistics.median((b - a).total_seconds() for a, b in itertools.pairwise(times))


def test_speed_changes_the_tick_rate_and_only_an_operator_may_change_it(server_dir: Path) -> None:
    server = start(server_dir, EXCHANGE_TICK_INTERVAL="0.25")
    try:
        bot = create_bot(server, "speedy")
        for headers in ({}, {"Authorization": f"Bearer {bot}"}):
            refused = server.post("/api/admin/clock", json={"action": "pause"}, headers=headers)
            assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
        assert clock(server)["state"] == "running"

        # One tick every 1 s at speed 0.25 (the first after the change may still be on the old schedule).
        changed = operate(server, {"action": "speed", "speed": 0.25})
        assert changed["speed"] == 0.25
        slow_from = changed["assets"][0]["seq"] + 1
        wait_until(lambda: market_seqs(server)["BTC"] >= slow_from + 5, what="slow ticks")
        slow = median_gap(server, "BTC", slow_from, slow_from + 5)

        # One every 0.125 s at speed 2.
        fast_from = operate(server, {"action": "speed", "speed": 2})["assets"][0]["seq"] + 1
        wait_until(lambda: market_seqs(server)["BTC"] >= fast_from + 8, what="fast ticks")
        fast = median_gap(server, "BTC", fast_from, fast_from + 8)
        assert slow >= 0.9, slow
        assert fast <= slow / 2, (fast, slow)
    finally:
        server.kill()


def test_the_same_seed_gives_the_same_price_at_each_seq_across_speeds_pauses_and_restarts(
    server_dir: Path,
) -> None:
    server = start(server_dir)
    try:
        operate(server, {"action": "speed", "speed": 3})
        wait_until(lambda: min(market_seqs(server).values()) >= 20, what="20 ticks at speed 3")
        server.manage("clock", "pause")
        server.manage("clock", "step", "3")
        wait_until(lambda: clock(server)["state"] == "paused", what="the step's end")
        operate(server, {"action": "resume"})
        server.stop()
        server = ServerProcess(server_dir, database_url=server.database_url, EXCHANGE_OPERATOR_TOKEN=OPERATOR)
        server.start()
        operate(server, {"action": "speed", "speed": 0.5})
        before = max(market_seqs(server).values())
        operate(server, {"action": "speed", "speed": 1})
        wait_until(lambda: min(market_seqs(server).values()) >= before + 10, what="ticks after the restart")
        for symbol, spec in source_specs().items():
            seen = history(server, symbol)
            expected = spec.new_walk("7").prices(max(seen))
            assert sorted(seen) == list(range(1, max(seen) + 1))
            assert {seq: expected[seq - 1] for seq in seen} == seen, symbol
    finally:
        server.kill()


def test_a_crash_takes_the_price_down_ten_percent_within_200_ticks(server_dir: Path) -> None:
    server = start(server_dir, EXCHANGE_TICK_INTERVAL="0.02", EXCHANGE_SCENARIO="calm")
    try:
        assert {asset["scenario"] for asset in clock(server)["assets"]} == {"calm"}
        out = server.manage("scenario", "crash", "--symbol", "META").stdout
        assert "crash from the next tick of META" in out

        def since() -> int | None:
            meta = next(asset for asset in clock(server)["assets"] if asset["symbol"] == "META")
            assert meta["scenario"] == "crash"
            return meta["scenario_since"]

        start_seq = wait_until(since, what="the crash's first tick")
        # The crash bottoms out within its first 60 ticks.
        wait_until(lambda: market_seqs(server)["META"] >= start_seq + 70, what="70 ticks of the crash")
        prices = history(server, "META")
        before = prices[start_seq]
        low = min(prices[seq] for seq in range(start_seq + 1, start_seq + 71))
        assert low <= before * Decimal("0.90"), (before, low)
        others = {asset["symbol"]: asset["scenario"] for asset in clock(server)["assets"]}
        assert others == {"BTC": "calm", "TCSG": "calm", "META": "crash"}
    finally:
        server.kill()
