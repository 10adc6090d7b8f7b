"""Order throughput and latency: 8 clients place orders for N seconds.

``--kind market`` (default): alternating market buys and sells, filled by the
house. ``--kind rest-cancel``: a limit buy below the price that rests in the
book, then its cancel; every request (placement or cancel) is counted.

Starts its own server (uvicorn, as ``make run``) on a fresh SQLite file or a
fresh PostgreSQL database, or targets a running one with ``--url`` and
``--token``. Prints orders/s and p50/p99 latency, the responses by status, and
whether the audit from trades still finds the books whole.

    .venv/bin/python benchmarks/orders.py --database sqlite --seconds 10
    .venv/bin/python benchmarks/orders.py --database sqlite --seconds 10 --kind rest-cancel
    .venv/bin/python benchmarks/orders.py --database postgres --seconds 10
    .venv/bin/python benchmarks/orders.py --url http://127.0.0.1:8000 --token TOKEN --seconds 10

The server it starts has the per-token rate limit off (``EXCHANGE_ORDER_RATE=0``),
so the figure is the exchange's, not the limiter's; against ``--url`` all
clients share one token and its limit applies.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import (  # noqa: E402
    ServerProcess,
    create_bots,
    drop_postgres_database,
    ledger_discrepancies,
    postgres_available,
    postgres_database,
    wait_for_prices,
)

MAX_SECONDS = 300
SYMBOL = "META"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(url: str, token: str, deadline: float, tally: Tally) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    side = "buy"
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    resting: int | None = None
    while time.monotonic() < deadline:
        started = time.perf_counter()
        if args.kind == "market":
            response = session.post(
                url + "/api/orders", json={"symbol": SYMBOL, "side": side, "quantity": 1}, timeout=30
            )
        elif resting is None:
            # Far below the price: it rests (the walk moves at most 10 a tick from 500).
            body = {"symbol": SYMBOL, "side": "buy", "quantity": 1, "type": "limit", "limit_price": "1.00"}
            response = session.post(url + "/api/orders", json=body, timeout=30)
        else:
            response = session.delete(f"{url}/api/orders/{resting}", timeout=30)
        latencies.append(time.perf_counter() - started)
        statuses[response.status_code] += 1
        if args.kind == "market" and response.status_code == 201:
            side = "sell" if side == "buy" else "buy"
        elif args.kind == "rest-cancel" and response.status_code in (200, 201):
            resting = response.json()["id"] if resting is None else None
    with tally.lock:
        tally.latencies.extend(latencies)
        tally.statuses.update(statuses)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(url: str, tokens: list[str], seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(url, token, deadline, tally)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return tally


def report(tally: Tally, seconds: float, label: str) -> None:
    ok = tally.statuses[201] + tally.statuses[200]
    print(f"{label}: {len(tally.latencies)} {args.kind} requests in {seconds:.0f}s by {args.clients} clients")
    print(f"  requests/s (2xx){ok / seconds:8.1f}")
    if tally.latencies:
        print(f"  latency p50     {statistics.median(tally.latencies) * 1000:8.1f} ms")
        print(f"  latency p99     {percentile(tally.latencies, 0.99) * 1000:8.1f} ms")
    print(f"  responses       {dict(sorted(tally.statuses.items()))}")


def issue_tokens(server: ServerProcess, count: int) -> list[str]:
    return list(create_bots(server, [f"bench{i}" for i in range(count)]).values())


def audit(server: ServerProcess) -> str:
    return str(len(ledger_discrepancies(server)))


def main() -> int:
    seconds = min(args.seconds, MAX_SECONDS)
    if args.url:
        if not args.token:
            sys.exit("--url needs --token (from manage.py createbot NAME)")
        requests.get(args.url + "/api/prices", timeout=10).raise_for_status()
        report(run(args.url.rstrip("/"), [args.token] * args.clients, seconds), seconds, args.url)
        return 0
    database_url = None
    if args.database == "postgres":
        if not postgres_available():
            sys.exit(
                "PostgreSQL is not reachable (TEST_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432)"
            )
        database_url = postgres_database()
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as directory:
        server = ServerProcess(
            Path(directory),
            database_url=database_url,
            EXCHANGE_ORDER_RATE="0",
            EXCHANGE_TICK_INTERVAL="1.0",
        )
        try:
            server.start()
            wait_for_prices(server)
            tokens = issue_tokens(server, args.clients)
            tally = run(server.url, tokens, seconds)
            report(tally, seconds, f"{args.database} (uvicorn, one process, 1 s ticks)")
            print(f"  audit drift     {audit(server)} discrepancies")
        finally:
            server.kill()
            if database_url:
                drop_postgres_database(database_url)
    return 0


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
parser.add_argument("--seconds", type=float, default=10.0, help=f"how long to run (at most {MAX_SECONDS})")
parser.add_argument("--clients", type=int, default=8)
parser.add_argument("--kind", choices=["market", "rest-cancel"], default="market")
parser.add_argument("--url", help="target a running server instead of starting one")
parser.add_argument("--token", help="with --url: the API token every client uses")
args = parser.parse_args()

if __name__ == "__main__":
    sys.exit(main())
