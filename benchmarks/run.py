"""`make bench`: every benchmark in turn, bounded in time (about fifteen minutes in all).

    python benchmarks/run.py                 # everything
    python benchmarks/run.py --only fanout   # or hot, orders, backtest, clock

0. hot paths (hot_paths.py): /healthz, /api/prices, /api/book, market orders
   and limit-then-cancel, each as a ratio to a bare async Django view measured
   in the same run (server on core 0, wrk on core 1), SQLite and PostgreSQL;
1. fan-out (fanout.py): the default server, the Pushpin topology and the
   sse-starlette peer, stepping the number of market-stream clients up to the
   first that fails (p99 > 250 ms, loss, or a client not connected);
2. orders: benchmarks/orders.py (one server, SQLite and PostgreSQL) and
   orders_workers.py (1 and 2 workers on one database);
3. backtest: benchmarks/backtest.py, strategy-ticks per second;
4. clock: benchmarks/clock_speed.py, the highest clock speed at which every
   tick still reaches a market-stream client in order.

Each part prints its own figures; the machine (cores, load average) is printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def section(title: str) -> None:
    print(f"\n## {title}\n", flush=True)


def run(*args: str, timeout: float) -> None:
    command = [PYTHON, *args]
    print("$ " + " ".join(["python", *args]), flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, timeout=timeout, check=False, stderr=subprocess.DEVNULL)
    if result.returncode != 0:
        print(f"(exited with {result.returncode})")
    print(f"({time.monotonic() - started:.0f} s)", flush=True)


def machine() -> None:
    load = os.getloadavg()
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, load {load[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["hot", "fanout", "orders", "backtest", "clock"])
    args = parser.parse_args()
    machine()
    if args.only in (None, "hot"):
        section("Hot paths, as ratios to a bare Django view")
        run("benchmarks/hot_paths.py", timeout=600)
    if args.only in (None, "fanout"):
        section("Fan-out of the market stream (10 events/s per client)")
        run("benchmarks/fanout.py", timeout=900)
    if args.only in (None, "orders"):
        section("Orders")
        for database in ("sqlite", "postgres"):
            run("benchmarks/orders.py", "--database", database, "--seconds", "10", timeout=300)
        for database in ("sqlite", "postgres"):
            for workers in ("1", "2"):
                run(
                    "benchmarks/orders_workers.py",
                    "--database",
                    database,
                    "--workers",
                    workers,
                    "--seconds",
                    "10",
                    timeout=300,
                )
    if args.only in (None, "backtest"):
        section("Backtest")
        run("benchmarks/backtest.py", "--repeat", "2", timeout=600)
    if args.only in (None, "clock"):
        section("Clock speed")
        run("benchmarks/clock_speed.py", timeout=300)
    print(json.dumps({"finished": time.strftime("%Y-%m-%d %H:%M:%S")}))


if __name__ == "__main__":
    main()
