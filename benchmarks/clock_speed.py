"""The clock's top speed: the highest speed at which every tick still reaches a market-stream client in order.

    python benchmarks/clock_speed.py                          # speeds 1,2,5,10,20,50,100
    python benchmarks/clock_speed.py --speeds 1,10 --duration 8 --interval 1

One server as ``make run`` serves it (uvicorn, the embedded engine, SQLite),
at ``--interval`` seconds per tick and source (three sources). For each speed
(``POST /api/admin/clock``) one market-stream client connects from the current
cursor and reads for ``--duration`` seconds. A speed passes when, for every
asset, the client got every ``seq`` once and in order, and the ticks came at
90% of the rate asked for at least (``speed / interval`` per asset); the
stepping stops at the first speed that fails. Printed per speed: the rate
asked for and got, gaps or disorder, the delivery latency (tick to client,
p50/p99) and the server's CPU (one core = 100%), which says what limits it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import ServerProcess, wait_for_prices  # noqa: E402

OPERATOR = "benchmark-operator-token-0123456789"
RATE_SHARE = 0.9
COLUMNS = ("asked_per_asset", "got_per_asset", "gaps", "disorder", "latency_p50_ms", "latency_p99_ms")


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def read_stream(url: str, cursor: str, seconds: float) -> list[tuple[dict[str, Any], datetime]]:
    """Price events with their arrival times, for ``seconds``."""
    import sseclient

    out: list[tuple[dict[str, Any], datetime]] = []
    deadline = time.monotonic() + seconds
    with requests.get(
        url, headers={"Last-Event-ID": cursor, "Accept": "text/event-stream"}, stream=True, timeout=(5, 30)
    ) as response:
        response.raise_for_status()
        for event in sseclient.SSEClient(response.iter_content(chunk_size=None)).events():
            if event.event == "price":
                out.append((json.loads(event.data), datetime.now(UTC)))
            if time.monotonic() > deadline:
                break
    return out


def measure(server: ServerProcess, speed: float, *, interval: float, duration: float) -> dict[str, Any]:
    answer = server.post(
        "/api/admin/clock",
        json={"action": "speed", "speed": speed},
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    answer.raise_for_status()
    time.sleep(min(1.0, 3 * interval / speed))  # let the tickers take the new schedule
    cursor = server.get("/api/prices").json()["cursor"]
    process = psutil.Process(server.process.pid if server.process else 0)
    cpu_before = process.cpu_times()
    started = time.monotonic()
    events = read_stream(server.url + "/market/stream/", cursor, duration)
    elapsed = time.monotonic() - started
    cpu_after = process.cpu_times()
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / elapsed

    by_symbol: dict[str, list[int]] = {}
    stamps: dict[str, list[datetime]] = {}
    latencies = []
    for data, arrived in events:
        by_symbol.setdefault(data["symbol"], []).append(data["seq"])
        stamps.setdefault(data["symbol"], []).append(parse_ts(data["ts"]))
        latencies.append((arrived - parse_ts(data["ts"])).total_seconds() * 1000)
    gaps = disorder = 0
    for seqs in by_symbol.values():
        for previous, current in itertools.pairwise(seqs):
            if current <= previous:
                disorder += 1
            elif current != previous + 1:
                gaps += current - previous - 1
    asked = speed / interval
    # The rate the source ticked at, from the ticks' own times (the connection's start does not count).
    got = min(
        ((len(times) - 1) / max((times[-1] - times[0]).total_seconds(), 1e-9) for times in stamps.values()),
        default=0.0,
    )
    latencies.sort()
    return {
        "speed": speed,
        "asked_per_asset": round(asked, 1),
        "got_per_asset": round(got, 1),
        "gaps": gaps,
        "disorder": disorder,
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "server_cpu": round(cpu * 100),
        "passed": bool(by_symbol) and gaps == 0 and disorder == 0 and got >= RATE_SHARE * asked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speeds", default="1,2,5,10,20,50,100")
    parser.add_argument("--interval", type=float, default=1.0, help="EXCHANGE_TICK_INTERVAL (seconds)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds read per speed")
    parser.add_argument("--json", type=Path, help="write every speed's figures here")
    parser.add_argument(
        "--directory", help="where the server's SQLite file goes, e.g. /dev/shm to take the disk out"
    )
    args = parser.parse_args()
    speeds = [float(part) for part in args.speeds.split(",")]

    print(f"cores {psutil.cpu_count()}, load average {' '.join(f'{x:.1f}' for x in psutil.getloadavg())}")
    print(f"interval {args.interval}s per tick and source, 3 sources, {args.duration}s per speed\n")
    print("| speed | ticks/s per asset asked | got | gaps | disorder | p50 ms | p99 ms | server CPU |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    with tempfile.TemporaryDirectory(dir=args.directory) as directory:
        server = ServerProcess(
            Path(directory) / "server",
            EXCHANGE_TICK_INTERVAL=str(args.interval),
            EXCHANGE_OPERATOR_TOKEN=OPERATOR,
            EXCHANGE_PRICE_MAX_AGE="60",
        ).start()
        try:
            wait_for_prices(server)
            for speed in speeds:
                result = measure(server, speed, interval=args.interval, duration=args.duration)
                results.append(result)
                cells = [f"{speed:g}", *(str(result[key]) for key in COLUMNS)]
                verdict = "" if result["passed"] else " fails"
                print(f"| {' | '.join(cells)} | {result['server_cpu']}% |{verdict}", flush=True)
                if not result["passed"]:
                    break
        finally:
            server.kill()
    passed = [result["speed"] for result in results if result["passed"]]
    print(
        f"\nhighest speed where every tick reached the client in order: {max(passed) if passed else 'none'}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
