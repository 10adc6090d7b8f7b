"""The backbone end to end: a real server process, real sockets, sseclient-py."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests

from tests.servers import ServerProcess, read_events

pytestmark = pytest.mark.e2e

SYMBOLS = ("BTC", "TCSG", "META")


def every_symbol(events: list[dict]) -> bool:
    return {event["data"]["symbol"] for event in events} == set(SYMBOLS)


def assert_consecutive_per_symbol(events: list[dict]) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for event in events:
        seqs[event["data"]["symbol"]].append(event["data"]["seq"])
    for symbol, values in seqs.items():
        assert values == list(range(values[0], values[0] + len(values))), symbol
    return seqs


def test_each_source_streams_ticks_with_consecutive_seqs(exchange_server: ServerProcess) -> None:
    listing = exchange_server.get("/sources/").json()["sources"]
    assert [source["symbol"] for source in listing] == list(SYMBOLS)
    for source in listing:
        events = read_events(
            source["stream"], count=5, types=("tick",), headers={"Last-Event-ID": source["cursor"]}
        )
        assert {e["data"]["symbol"] for e in events} == {source["symbol"]}
        seqs = [e["data"]["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + 5))
        assert all(set(e["data"]) == {"symbol", "price", "seq", "ts"} for e in events)
        assert all(float(e["data"]["price"]) > 0 for e in events)


def test_an_unknown_source_is_a_json_404(exchange_server: ServerProcess) -> None:
    response = exchange_server.get("/sources/NOPE/stream/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_symbol"


def test_the_market_stream_rebroadcasts_every_asset(exchange_server: ServerProcess) -> None:
    events = read_events(
        exchange_server.url + "/market/stream/", count=30, types=("price",), until=every_symbol
    )
    seqs = assert_consecutive_per_symbol(events)
    assert set(seqs) == set(SYMBOLS)


def test_symbols_narrow_the_market_stream(exchange_server: ServerProcess) -> None:
    events = read_events(
        exchange_server.url + "/market/stream/",
        count=12,
        types=("price",),
        params={"symbols": "BTC,META"},
        until=lambda out: {e["data"]["symbol"] for e in out} >= {"BTC", "META"},
    )
    assert {e["data"]["symbol"] for e in events} == {"BTC", "META"}


@pytest.mark.parametrize("symbols", ["XYZ", "btc", "BTC,", ""])
def test_a_bad_symbol_list_is_a_json_400(exchange_server: ServerProcess, symbols: str) -> None:
    response = exchange_server.get("/market/stream/", params={"symbols": symbols})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "unknown_symbol"


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_client_resumes_after_a_disconnect_without_a_gap(exchange_server: ServerProcess, how: str) -> None:
    url = exchange_server.url + "/market/stream/"
    first = read_events(url, count=9, types=("price",))
    last_id = first[-1]["id"]
    last_seen: dict[str, int] = {}
    for event in first:
        last_seen[event["data"]["symbol"]] = event["data"]["seq"]
    # The cursor also covers assets whose events had not arrived yet.
    snapshot = {p["symbol"]: p["seq"] for p in exchange_server.get("/api/prices").json()["prices"]}
    time.sleep(0.5)  # about ten ticks per asset happen while disconnected
    if how == "header":
        resumed = read_events(
            url, count=45, types=("price",), headers={"Last-Event-ID": last_id}, until=every_symbol
        )
    else:
        resumed = read_events(
            url, count=45, types=("price",), params={"lastEventId": last_id}, until=every_symbol
        )
    seqs = assert_consecutive_per_symbol(resumed)
    assert set(seqs) == set(SYMBOLS)
    for symbol, values in seqs.items():
        if symbol in last_seen:
            assert values[0] == last_seen[symbol] + 1, symbol
        else:
            assert values[0] <= snapshot[symbol] + 1, symbol


def test_the_rest_snapshot_and_the_stream_join_without_a_gap(exchange_server: ServerProcess) -> None:
    snapshot = exchange_server.get("/api/prices").json()
    assert [p["symbol"] for p in snapshot["prices"]] == list(SYMBOLS)
    events = read_events(
        exchange_server.url + "/market/stream/",
        count=15,
        types=("price",),
        headers={"Last-Event-ID": snapshot["cursor"]},
        until=every_symbol,
    )
    for price in snapshot["prices"]:
        following = [e["data"]["seq"] for e in events if e["data"]["symbol"] == price["symbol"]]
        # At most a repeat of the snapshot's own seq (clients drop it by seq), never a gap.
        assert following[0] in (price["seq"], price["seq"] + 1)


def test_price_history_is_oldest_first_and_bounded(exchange_server: ServerProcess) -> None:
    deadline = time.monotonic() + 20
    while len(exchange_server.get("/api/prices/BTC/history", params={"limit": 6}).json()["prices"]) < 6:
        assert time.monotonic() < deadline, "the engine recorded fewer than 6 BTC prices in 20 s"
        time.sleep(0.1)
    body = exchange_server.get("/api/prices/BTC/history", params={"limit": 5}).json()
    seqs = [p["seq"] for p in body["prices"]]
    assert len(seqs) == 5
    assert seqs == sorted(seqs)
    assert body["cursor"].startswith("market-BTC:")


def test_history_of_an_unknown_symbol_is_a_json_404(exchange_server: ServerProcess) -> None:
    response = exchange_server.get("/api/prices/XYZ/history")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_symbol"


def test_the_feed_recovers_when_a_source_server_restarts(tmp_path: Path) -> None:
    sources = ServerProcess(tmp_path / "sources").start()
    try:
        market = ServerProcess(
            tmp_path / "market",
            EXCHANGE_SOURCES=" ".join(f"{s}={sources.url}/sources/{s}/stream/" for s in SYMBOLS),
        ).start()
        try:
            read_events(market.url + "/market/stream/", count=6, types=("price",), params={"symbols": "BTC"})
            sources.kill()
            time.sleep(1.0)
            sources = ServerProcess(
                tmp_path / "sources", database_url=sources.database_url, port=sources.port
            ).start()
            before = market.get("/api/prices").json()["prices"][0]["seq"]
            deadline = time.monotonic() + 20
            while market.get("/api/prices").json()["prices"][0]["seq"] < before + 20:
                assert time.monotonic() < deadline, market.log()
                time.sleep(0.1)
            history = market.get("/api/prices/BTC/history", params={"limit": 5000}).json()["prices"]
            seqs = [p["seq"] for p in history]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the market missed or doubled a tick"
            assert seqs[0] == 1
        finally:
            market.kill()
    finally:
        sources.kill()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_the_server_and_its_engine_stop_cleanly_on_a_signal(tmp_path: Path, sig: str) -> None:
    import signal

    server = ServerProcess(tmp_path).start()
    with requests.get(server.url + "/market/stream/", stream=True, timeout=5):
        time.sleep(0.3)
        started = time.monotonic()
        code = server.stop(getattr(signal, sig))
    # An open stream must not hold the shutdown (uvicorn waits 1 s for it); the bound leaves room
    # for a busy machine, far below the stream's own 20 s keep-alive.
    assert time.monotonic() - started < 15
    # uvicorn re-raises SIGTERM after its shutdown, as a process killed by it would.
    assert code in (0, -signal.SIGTERM), server.log()
    log = server.log()
    assert "engine started" in log
    assert "engine stopped" in log
    assert "Traceback" not in log
