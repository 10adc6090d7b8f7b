"""One recorded price sequence, played to the live runner on a real server and to the backtest:
a strategy with resting orders makes the same orders, order events and fills in both.

The server reads META from a source this test serves, which releases one tick
at a time and only once the runner has finished with the previous one, so the
live venue sees the same ticks and orders in the same order as the backtest.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bots.backtest import VenueSettings, cents, price_path, simulate
from bots.client import ExchangeClient
from bots.runner import Runner
from bots.strategies import OrderUpdate, Trade
from sources.catalog import source_specs
from sources.ticks import Tick
from tests import servers
from tests.bots.test_resting_orders import RecordingMarketMaker
from tests.servers import ServerProcess, create_bot, read_events

pytestmark = pytest.mark.e2e

# Enough for fills both ways and requotes, and short enough for a loaded 2-core machine.
TICKS = 30
SETTINGS = VenueSettings(spread_bps=10, maker_fee_bps=2, taker_fee_bps=5, max_open_orders=100)


class ScriptedSource:
    """An SSE price source for one asset that streams only the ticks the test has released."""

    def __init__(self, symbol: str, prices: list[Decimal]) -> None:
        self.symbol = symbol
        self.prices = prices
        self.released = 0
        self.changed = threading.Condition()
        self.closing = False
        source = self

        class Handler(BaseHTTPRequestHandler):
            # Chunked, as the exchange's own streams: the reader hands on each chunk as it arrives.
            protocol_version = "HTTP/1.1"

            def chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_GET(self) -> None:
                last = self.headers.get("Last-Event-ID") or ""
                sent = int(last.rsplit(":", 1)[1]) if ":" in last else 0
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self.chunk(b"event: stream-open\ndata:\n\n")
                    while True:
                        with source.changed:
                            source.changed.wait_for(partial(source.ready, sent), 5)
                            if source.closing:
                                return
                            upto = source.released
                        if upto == sent:
                            self.chunk(b"event: keep-alive\ndata:\n\n")
                        while sent < upto:
                            sent += 1
                            self.chunk(source.event(sent))
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def event(self, seq: int) -> bytes:
        tick = Tick(symbol=self.symbol, price=self.prices[seq - 1], seq=seq, ts=_now())
        data = json.dumps(tick.to_json())
        return f"event: tick\nid: source-{self.symbol}:{seq}\ndata: {data}\n\n".encode()

    def ready(self, sent: int) -> bool:
        return self.released > sent or self.closing

    def release(self, upto: int) -> None:
        with self.changed:
            self.released = upto
            self.changed.notify_all()

    def __enter__(self) -> ScriptedSource:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    return servers.wait_until(check, timeout=timeout, what=f"no {what}", step=0.01)


def by_first_seen(items: list[Any]) -> list[Any]:
    """The same items with each order id replaced by its order of first appearance (ids differ)."""
    ids: dict[int, int] = {}
    out = []
    for item in items:
        if isinstance(item, OrderUpdate):
            item = dataclasses.replace(item, order_id=ids.setdefault(item.order_id, len(ids) + 1))
        out.append(item)
    return out


@pytest.fixture
def meta_prices() -> list[Decimal]:
    spec = source_specs()["META"]
    path = price_path({"META": spec.new_walk}, seed="21", ticks=TICKS)
    return [price for _, price, _ in path]


@pytest.fixture
def source(meta_prices: list[Decimal]) -> Iterator[ScriptedSource]:
    with ScriptedSource("META", meta_prices) as scripted:
        yield scripted


@pytest.fixture
def server(tmp_path: Path, source: ScriptedSource) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "replay-server",
        EXCHANGE_SOURCES=f"META={source.url}",
        EXCHANGE_PRICE_MAX_AGE="600",
        EXCHANGE_ORDER_RATE="0",
        EXCHANGE_SPREAD_BPS=str(SETTINGS.spread_bps),
        EXCHANGE_MAKER_FEE_BPS=str(SETTINGS.maker_fee_bps),
        EXCHANGE_TAKER_FEE_BPS=str(SETTINGS.taker_fee_bps),
    )
    try:
        process.start()
        yield process
    finally:
        process.kill()


# Each tick waits for the runner's round trips (a read of its open orders, cancels, new quotes):
# about 0.3 s on an idle machine, several seconds on a busy one; the bound says so.
@pytest.mark.timeout(300)
def test_a_market_maker_makes_the_same_orders_events_and_fills_live_and_in_the_backtest(
    server: ServerProcess, source: ScriptedSource, meta_prices: list[Decimal]
) -> None:
    token = create_bot(server, "mm-replay")
    bearer = {"Authorization": f"Bearer {token}"}
    start_cursor = server.get("/api/accounts/me", headers=bearer).json()["cursor"]
    source.release(1)
    wait_until("the first META price", lambda: server.get("/api/prices/META/history").json()["prices"])

    live = RecordingMarketMaker()
    runner = Runner(strategy=live, exchange=ExchangeClient(server.url, token), symbols=["META"], name="mm")
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        wait_until("the runner's first price", lambda: runner.handled.get("META") == 1)
        for seq in range(2, TICKS + 1):
            source.release(seq)
            wait_until(f"the runner's price #{seq}", lambda seq=seq: runner.handled.get("META") == seq)
    finally:
        runner.stop()
        thread.join(15)
    assert not thread.is_alive()

    offline = RecordingMarketMaker()
    path = [("META", price, cents(price)) for price in meta_prices]
    result = simulate(offline, path, cash=Decimal("100000.00"), keep_trades=True, venue_settings=SETTINGS)

    # Every callback, in order: fills (price, units, fee, maker or taker), order changes, refusals.
    assert by_first_seen(live.told) == by_first_seen(offline.told)
    fills = [item for item in offline.told if isinstance(item, Trade)]
    assert {"maker", "taker"} == {fill.liquidity for fill in fills}
    statuses = {item.status for item in offline.told if isinstance(item, OrderUpdate)}
    assert {"open", "filled", "canceled"} <= statuses

    # Every order event of the account's private stream is one of the backtest's order changes.
    events = read_events(
        server.url + "/api/accounts/me/stream/",
        count=len(result.updates),
        types=("order",),
        headers={**bearer, "Last-Event-ID": start_cursor},
        timeout=30,
    )
    streamed = [
        (e["data"]["status"], e["data"]["filled_quantity"], e["data"]["average_price"], e["data"]["fees"])
        for e in events
    ]
    replayed = [
        (u.status, u.filled_quantity, None if u.average_price is None else str(u.average_price), str(u.fees))
        for u in result.updates
    ]
    assert streamed == replayed
    account = server.get("/api/accounts/me", headers=bearer).json()
    assert Decimal(account["cash"]) == result.final_cash
    assert {s: q for s, q in account["positions"].items() if q} == result.positions
