"""The hot paths as ratios to Django's own ceiling on this machine.

    python benchmarks/hot_paths.py                      # SQLite and PostgreSQL
    python benchmarks/hot_paths.py --database sqlite --seconds 5

The server is pinned to core 0 and the load generator (``wrk``, one thread,
16 connections) to core 1. The ceiling is benchmarks/bare_site.py: a bare
``async def`` Django view returning a small ``JsonResponse``, served by the
same uvicorn command as the exchange; it is measured before and after each
database's rows, and every row's ratio is to the mean of those two.

The exchange runs with production settings (``DJANGO_DEBUG=false``), 1 s ticks
and the per-token order rate limit off. Rows: ``/healthz``, ``/api/prices``,
``/api/book/META``, market orders from one account and from 16, and limit buys
that rest followed by their cancels (each request counted). A row's rate counts
2xx answers only; the other answers are printed. After each database the audit
from the trades must find no drift, or the run fails.

Needs ``wrk`` (Debian: ``apt-get install wrk``) and ``taskset``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fanout import LOAD_CORE, SERVER_CORE, taskset  # noqa: E402
from tests.servers import (  # noqa: E402
    PYTHON,
    SERVE_COMMAND,
    ServerProcess,
    base_env,
    create_bots,
    drop_postgres_database,
    free_port,
    ledger_discrepancies,
    postgres_available,
    postgres_database,
    wait_for_prices,
)

CONNECTIONS = 16
SYMBOL = "META"
# Units each account buys first, so sells in flight (up to one per connection) never run short.
PREBUY = CONNECTIONS + 4
WRK = ROOT / "benchmarks" / "wrk"
# The aims, as ratios to the bare view (market orders: per database, and a p99 bound).
AIMS = {
    "GET /healthz": 0.8,
    "GET /api/prices": 0.6,
    f"GET /api/book/{SYMBOL}": 0.6,
    "limit rests, then cancel": 0.2,
}
ORDER_AIM = {"sqlite": 0.3, "postgres": 0.25}
P99_AIM_MS = 200.0


@dataclass
class Result:
    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    load: float = 0.0

    @property
    def refused(self) -> dict[int, int]:
        return {status: n for status, n in sorted(self.statuses.items()) if not 200 <= status < 300}


def milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: float, script: str | None = None, env: dict[str, str] | None = None) -> Result:
    """One wrk run on the load core; the rate counts 2xx answers only."""
    # wrk's own 2 s timeout would drop the slow answers from the latencies: wait as long as a bot would.
    command = [
        *taskset(LOAD_CORE),
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    if script:
        command += ["-s", str(WRK / script)]
    run = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stdout}{run.stderr}")
    output = run.stdout
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    duration = re.search(r"requests in ([\d.]+)(ms|s|m),", output)
    elapsed = float(duration.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[duration.group(2)]  # type: ignore[union-attr]
    statuses: Counter[int] = Counter()
    for status, count in re.findall(r"^status (\d+) (\d+)$", output, re.MULTILINE):
        statuses[int(status)] += int(count)
    if not statuses:
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        bad = int(non_2xx.group(1)) if non_2xx else 0
        statuses[200] = total - bad
        if bad:
            statuses[0] = bad  # non-2xx, status not told by wrk
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    p50 = re.search(r"^\s+50%\s+(\S+)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)\s*$", output, re.MULTILINE)
    return Result(
        rate=ok / elapsed,
        p50_ms=milliseconds(p50.group(1)) if p50 else 0.0,
        p99_ms=milliseconds(p99.group(1)) if p99 else 0.0,
        statuses=statuses,
        load=os.getloadavg()[0],
    )


class PinnedServer(ServerProcess):
    """The exchange's server, as benchmarks/orders.py starts it, on the server core."""

    def command(self) -> list[str]:
        return [*taskset(SERVER_CORE), *super().command()]


def ceiling(seconds: float) -> Result:
    port = free_port()
    command = [*taskset(SERVER_CORE), *SERVE_COMMAND, "--host", "127.0.0.1", "--port", str(port)]
    command[command.index("exchange_site.asgi:application")] = "benchmarks.bare_site:application"
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=base_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url, timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        wrk(url, 1)  # warm-up
        return wrk(url, seconds)
    finally:
        process.kill()
        process.wait(10)


def accounts(server: ServerProcess, count: int) -> dict[str, str]:
    made = create_bots(server, [f"bench{i}" for i in range(count)])
    for token in made.values():
        response = server.post(
            "/api/orders",
            json={"symbol": SYMBOL, "side": "buy", "quantity": PREBUY},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
    return made


def exchange_rows(database: str, seconds: float) -> tuple[dict[str, Result], int]:
    database_url = postgres_database() if database == "postgres" else None
    rows: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hot-") as directory:
        server = PinnedServer(
            Path(directory),
            database_url=database_url,
            EXCHANGE_ORDER_RATE="0",
            EXCHANGE_TICK_INTERVAL="1.0",
            EXCHANGE_MAX_OPEN_ORDERS="1000",
        )
        try:
            server.start()
            wait_for_prices(server)
            made = accounts(server, CONNECTIONS)
            one = dict(list(made.items())[:1])
            every = ",".join(f"{name}={token}" for name, token in made.items())
            for label, path in (
                ("GET /healthz", "/healthz"),
                ("GET /api/prices", "/api/prices"),
                (f"GET /api/book/{SYMBOL}", f"/api/book/{SYMBOL}"),
            ):
                wrk(server.url + path, 1)  # warm-up
                rows[label] = wrk(server.url + path, seconds)
            single = ",".join(f"{name}={token}" for name, token in one.items())
            rows["market order, 1 account"] = wrk(
                server.url + "/", seconds, "orders.lua", {"WRK_ACCOUNTS": single, "WRK_SYMBOL": SYMBOL}
            )
            rows["market order, 16 accounts"] = wrk(
                server.url + "/", seconds, "orders.lua", {"WRK_ACCOUNTS": every, "WRK_SYMBOL": SYMBOL}
            )
            rows["limit rests, then cancel"] = wrk(
                server.url + "/", seconds, "rest_cancel.lua", {"WRK_ACCOUNTS": every, "WRK_SYMBOL": SYMBOL}
            )
            drift = len(ledger_discrepancies(server))
        finally:
            server.kill()
            if database_url:
                drop_postgres_database(database_url)
    return rows, drift


def aim(label: str, database: str) -> float:
    return ORDER_AIM[database] if label.startswith("market order") else AIMS[label]


def report(database: str, rows: dict[str, Result], before: Result, after: Result, drift: int) -> None:
    bare = (before.rate + after.rate) / 2
    print(
        f"\n{database}: the bare view {before.rate:,.0f}/s before, {after.rate:,.0f}/s after "
        f"(mean {bare:,.0f}/s, p99 {before.p99_ms:.1f} / {after.p99_ms:.1f} ms)"
    )
    print(f"  {'path':<28}{'2xx/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'aim':>7}  load  other answers")
    for label, result in rows.items():
        ratio = result.rate / bare if bare else 0.0
        target = aim(label, database)
        met = ratio >= target and (not label.startswith("market") or result.p99_ms <= P99_AIM_MS)
        mark = f"{target:>5.2f} {'ok' if met else '--'}"
        print(
            f"  {label:<28}{result.rate:>9,.0f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}"
            f"{ratio:>8.2f}{mark:>9}  {result.load:4.1f}  {result.refused or ''}"
        )
    print(f"  audit drift: {drift} discrepancies")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=5.0, help="each row's measured run (at most 60)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("hot_paths.py needs wrk: apt-get install wrk")
    seconds = min(args.seconds, 60.0)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    if "postgres" in databases and not postgres_available():
        print("PostgreSQL is not reachable: its rows are left out")
        databases.remove("postgres")
    print(
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]} ({PYTHON}), server on core {SERVER_CORE}, "
        f"wrk -t1 -c{CONNECTIONS} on core {LOAD_CORE}, {seconds:g} s per row"
    )
    failed = False
    for database in databases:
        before = ceiling(seconds)
        rows, drift = exchange_rows(database, seconds)
        after = ceiling(seconds)
        report(database, rows, before, after, drift)
        failed = failed or drift != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
