"""Orders per second and latency with 1 or 2 web workers on SQLite or PostgreSQL.

    python benchmarks/orders_workers.py --database postgres --workers 2 --seconds 10

Starts the workers (uvicorn, as ``make run``) on one fresh database, the
engine embedded in the first only (so prices stay fresh and tick once), with
the per-token rate limit off (``EXCHANGE_ORDER_RATE=0``), and one account per
client. The load comes from a separate asyncio process (``--clients``
keep-alive connections spread over the workers, each alternating buy and sell
of one META), which prints orders/s, p50/p99/max latency, the responses by
status and its own CPU use; then the ledger is audited from the trades.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYMBOL = "META"


async def order_client(
    url: str, token: str, deadline: float, latencies: list[float], statuses: Counter[int]
) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    side = "buy"
    try:
        while time.monotonic() < deadline:
            body = json.dumps({"symbol": SYMBOL, "side": side, "quantity": 1}).encode()
            request = (
                f"POST /api/orders HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(head.split(b" ", 2)[1])
            statuses[status] += 1
            if status == 201:
                side = "sell" if side == "buy" else "buy"
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    finally:
        writer.close()


async def generate(urls: list[str], tokens: list[str], seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(
            order_client(urls[i % len(urls)], token, deadline, latencies, statuses)
            for i, token in enumerate(tokens)
        )
    )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    ordered = sorted(latencies)

    def pick(fraction: float) -> float:
        return (
            round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 1) if ordered else 0.0
        )

    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return {
        "requests": len(latencies),
        "orders_per_s": round(statuses[201] / seconds, 1),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": pick(1.0),
        "statuses": dict(statuses),
        "gen_cpu": round(cpu / seconds, 3),
    }


def load_main(argv: list[str]) -> None:
    """The load generator's own process: ``--load URLS TOKENS_JSON SECONDS``."""
    urls, tokens, seconds = argv[0].split(","), json.loads(argv[1]), float(argv[2])
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(json.dumps(asyncio.run(generate(urls, tokens, seconds))))


def bench(database: str, workers: int, clients: int, seconds: float) -> dict[str, object]:
    from tests.servers import (
        PYTHON,
        ServerProcess,
        drop_postgres_database,
        postgres_database,
        sqlite_database,
        wait_for_prices,
    )

    with tempfile.TemporaryDirectory(prefix="bench-orders-") as tmp:
        database_url = postgres_database() if database == "postgres" else sqlite_database(Path(tmp))
        servers = [
            ServerProcess(
                Path(tmp) / f"worker{i}",
                database_url=database_url,
                EXCHANGE_ORDER_RATE="0",
                EXCHANGE_TICK_INTERVAL="1.0",
                EXCHANGE_ENGINE="embedded" if i == 0 else "off",
                EXCHANGE_LOG_LEVEL="WARNING",
            )
            for i in range(workers)
        ]
        try:
            for server in servers:
                server.start()
            wait_for_prices(servers[0])
            names = [f"bench{i}" for i in range(clients)]
            script = (
                "import json; from market.services import issue_token; "
                f"print(json.dumps([issue_token(name=name) for name in {names!r}]))"
            )
            tokens = json.loads(servers[0].manage("shell", "-v", "0", "-c", script).stdout.splitlines()[-1])
            urls = ",".join(server.url for server in servers)
            load = subprocess.run(
                [PYTHON, __file__, "--load", urls, json.dumps(tokens), str(seconds)],
                capture_output=True,
                text=True,
                timeout=seconds + 120,
                check=True,
            )
            result: dict[str, object] = json.loads(load.stdout.strip().splitlines()[-1])
            check = "from market.selectors import audit_ledger; print(len(audit_ledger()))"
            result["audit_discrepancies"] = int(
                servers[0].manage("shell", "-v", "0", "-c", check).stdout.strip().splitlines()[-1]
            )
        finally:
            for server in servers:
                server.kill()
            if database == "postgres":
                drop_postgres_database(database_url)
    return {"database": database, "workers": workers, "clients": clients, **result}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
    print(json.dumps(bench(args.database, args.workers, args.clients, min(args.seconds, 120.0))))


if __name__ == "__main__":
    main()
