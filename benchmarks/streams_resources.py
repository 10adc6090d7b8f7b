"""Threads and database connections of one serving process with N open market streams.

    python benchmarks/streams_resources.py                       # SQLite and PostgreSQL, 30/300/1000
    python benchmarks/streams_resources.py --database sqlite --streams 30,300

Starts the production server (``tests.servers.ServerProcess``: uvicorn, DEBUG
off) with the stream limits lifted, opens N ``/market/stream/`` clients from
this process over loopback (at most ``--connect-concurrency`` handshakes at
once), waits until every one has received its first event block, and prints,
per step, one JSON object: streams open and refused, the server's threads,
its open file descriptors and those on the SQLite file, the rows of
``pg_stat_activity`` for the server's PostgreSQL database, and how long
``/healthz`` took meanwhile. After the last step the clients leave and the
same figures are taken once the server is idle again.

PostgreSQL is the one at ``TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, trust authentication); a
database of its own is created for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import (
    POSTGRES_ADMIN_URL,
    ServerProcess,
    drop_postgres_database,
    postgres_available,
    postgres_database,
)


class Streams:
    """N raw-socket SSE clients on the server's market stream."""

    def __init__(self, port: int, concurrency: int) -> None:
        self.port = port
        self.gate = asyncio.Semaphore(concurrency)
        self.writers: list[asyncio.StreamWriter] = []
        self.readers: list[asyncio.Task[None]] = []
        self.refused: dict[str, int] = {}

    async def open(self, count: int, timeout: float) -> None:
        results = await asyncio.gather(*(self._open_one(timeout) for _ in range(count)))
        for failure in filter(None, results):
            self.refused[failure] = self.refused.get(failure, 0) + 1

    async def _open_one(self, timeout: float) -> str | None:
        async with self.gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), timeout
                )
                writer.write(
                    f"GET /market/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                    "Accept: text/event-stream\r\n\r\n".encode()
                )
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                status = head.split(b" ", 2)[1].decode()
                if status != "200":
                    writer.close()
                    return f"status {status}"
                # The first block (padding, stream-open) comes after the stream's first read.
                await asyncio.wait_for(reader.readuntil(b"stream-open"), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                return exc.__class__.__name__
        self.writers.append(writer)
        self.readers.append(asyncio.create_task(self._drain(reader)))
        return None

    @staticmethod
    async def _drain(reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(65536):
                pass
        except (OSError, asyncio.CancelledError):
            pass

    @property
    def alive(self) -> int:
        return sum(1 for task in self.readers if not task.done())

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.readers, return_exceptions=True)
        self.writers.clear()
        self.readers.clear()


def pg_connections(database_url: str | None) -> int | None:
    if not database_url or not database_url.startswith("postgres"):
        return None
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("select count(*) from pg_stat_activity where datname = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def figures(server: ServerProcess) -> dict[str, Any]:
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    sqlite_file = (
        server.database_url.removeprefix("sqlite:///") if server.database_url.startswith("sqlite") else None
    )
    files = process.open_files()
    started = time.monotonic()
    try:
        health = requests.get(server.url + "/healthz", timeout=30).status_code
    except requests.RequestException as exc:
        health = exc.__class__.__name__  # type: ignore[assignment]
    return {
        "threads": process.num_threads(),
        "fds": process.num_fds(),
        "sqlite_fds": sum(1 for f in files if sqlite_file and f.path.startswith(sqlite_file))
        if sqlite_file
        else None,
        "pg_connections": pg_connections(server.database_url),
        "healthz": health,
        "healthz_ms": round((time.monotonic() - started) * 1000, 1),
    }


async def measure(database: str, counts: list[int], concurrency: int, settle: float) -> None:
    directory = Path(tempfile.mkdtemp(prefix=f"streams-resources-{database}-"))
    database_url = postgres_database() if database == "postgres" else None
    server = ServerProcess(
        directory,
        database_url=database_url,
        EXCHANGE_LOG_LEVEL="WARNING",
        EXCHANGE_STREAMS_MAX="0",
        EXCHANGE_STREAMS_PER_CLIENT="0",
    )
    server.start(timeout=60)
    try:
        requests.get(server.url + "/market/stream/", stream=True, timeout=10).close()  # the engine starts
        await asyncio.sleep(settle)
        print(json.dumps({"database": database, "streams": 0, **figures(server)}), flush=True)
        streams = Streams(server.port, concurrency)
        for count in counts:
            await streams.open(count - streams.alive, timeout=120)
            await asyncio.sleep(settle)
            print(
                json.dumps(
                    {
                        "database": database,
                        "streams": streams.alive,
                        "refused": streams.refused,
                        **figures(server),
                    }
                ),
                flush=True,
            )
        await streams.close()
        await asyncio.sleep(settle * 2)
        print(json.dumps({"database": database, "streams": 0, "after": True, **figures(server)}), flush=True)
    finally:
        server.kill()
        if database_url:
            drop_postgres_database(database_url)


def main() -> None:
    # A timeout's SIGTERM still stops the server and drops the database (the ``finally`` blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--streams", default="30,300,1000", help="comma-separated open-stream counts, rising")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each measurement")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    counts = [int(part) for part in args.streams.split(",")]
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for database in databases:
        if database == "postgres" and not postgres_available():
            print(json.dumps({"database": database, "skipped": f"not reachable at {POSTGRES_ADMIN_URL}"}))
            continue
        asyncio.run(measure(database, counts, args.connect_concurrency, args.settle))


if __name__ == "__main__":
    main()
