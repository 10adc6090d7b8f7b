"""An SSE load generator: N concurrent market-stream clients, one asyncio process.

    python benchmarks/loadgen.py --url http://127.0.0.1:8000/market/stream/ --clients 1000 --duration 10

Raw asyncio streams (uvloop when installed), chunked decoding and a minimal SSE parser, so one
core can read tens of thousands of events per second. Each client connects
(with at most ``--connect-concurrency`` handshakes at once), then, once all
are connected and a settling second has passed, the generator measures for
``--duration`` seconds: for every ``price`` event, the latency from the tick's
``ts`` to its receipt, and which (symbol, seq) each client got. It prints one
JSON object: clients connected and failed, events delivered and per second,
latency p50/p99/max in ms, loss (events some client got that others missed,
over ticks of the window), and the generator's own CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit


@dataclass
class Client:
    seen: set[tuple[str, int]] = field(default_factory=set)
    connected: bool = False
    failed: str = ""
    dropped: bool = False
    malformed: int = 0


@dataclass
class Window:
    start: float = 0.0
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    events: int = 0


def parse_ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def run_client(
    client: Client,
    host: str,
    port: int,
    path: str,
    window: Window,
    gate: asyncio.Semaphore,
    stop: asyncio.Event,
) -> None:
    try:
        async with gate:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                "Cache-Control: no-cache\r\n\r\n".encode()
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            status = head.split(b" ", 2)[1]
            if status != b"200":
                client.failed = f"status {status.decode()}"
                writer.close()
                return
            chunked = b"chunked" in head.lower()
            client.connected = True
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        client.failed = exc.__class__.__name__
        return
    buffer = b""
    framed = b""  # raw chunked-encoding bytes not yet decoded
    size = -1  # length of the chunk being read; -1 while reading its size line
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                client.dropped = True
                return
            now = time.time()
            if chunked:
                framed += chunk
                while True:
                    if size < 0:
                        line_end = framed.find(b"\r\n")
                        if line_end < 0:
                            break
                        size = int(framed[:line_end].split(b";")[0], 16)
                        framed = framed[line_end + 2 :]
                        if size == 0:
                            client.dropped = True
                            return
                    if len(framed) < size + 2:
                        break
                    buffer += framed[:size]
                    framed = framed[size + 2 :]
                    size = -1
            else:
                buffer += chunk
            while True:
                cut = buffer.find(b"\n\n")
                if cut < 0:
                    break
                block, buffer = buffer[:cut], buffer[cut + 2 :]
                if b"event: price" not in block:
                    continue
                start = block.find(b"data: ")
                if start < 0:
                    continue
                line_end = block.find(b"\n", start)
                raw = block[start + 6 : line_end if line_end >= 0 else len(block)]
                try:
                    data = json.loads(raw)
                    ts = parse_ts(data["ts"])
                except (ValueError, KeyError):
                    client.malformed += 1
                    continue
                if window.start <= ts <= window.end:
                    window.events += 1
                    window.latencies.append((now - ts) * 1000.0)
                    client.seen.add((data["symbol"], data["seq"]))
    except (OSError, asyncio.IncompleteReadError):
        client.dropped = True
    finally:
        writer.close()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(args: argparse.Namespace) -> dict[str, object]:
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    clients = [Client() for _ in range(args.clients)]
    window = Window(start=float("inf"))
    gate = asyncio.Semaphore(args.connect_concurrency)
    stop = asyncio.Event()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    tasks = [
        asyncio.ensure_future(run_client(client, host, port, path, window, gate, stop)) for client in clients
    ]
    deadline = started + args.connect_timeout
    while time.monotonic() < deadline and sum(1 for c in clients if c.connected or c.failed) < len(clients):
        await asyncio.sleep(0.1)
    connect_seconds = time.monotonic() - started
    await asyncio.sleep(args.settle)
    # The orchestrator samples the server's CPU between these two lines.
    print("window start", file=sys.stderr, flush=True)
    window.start = time.time()
    cpu_start = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(args.duration)
    # Ticks stamped in the window; a grace period lets the last ones arrive.
    window.end = time.time()
    await asyncio.sleep(args.grace)
    print("window end", file=sys.stderr, flush=True)
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    connected = [c for c in clients if c.connected]
    expected = set().union(*(c.seen for c in connected)) if connected else set()
    delivered = sum(len(c.seen & expected) for c in connected)
    possible = len(expected) * len(connected)
    measured = window.end - window.start
    cpu = (cpu_end.ru_utime + cpu_end.ru_stime) - (cpu_start.ru_utime + cpu_start.ru_stime)
    return {
        "clients": args.clients,
        "connected": len(connected),
        "failed": sum(1 for c in clients if c.failed),
        "dropped": sum(1 for c in connected if c.dropped),
        "malformed": sum(c.malformed for c in clients),
        "connect_seconds": round(connect_seconds, 2),
        "ticks": len(expected),
        "events": window.events,
        "events_per_s": round(window.events / measured, 1) if measured > 0 else 0,
        "p50_ms": round(percentile(window.latencies, 0.50), 1),
        "p99_ms": round(percentile(window.latencies, 0.99), 1),
        "max_ms": round(max(window.latencies), 1) if window.latencies else float("nan"),
        "loss": round(1 - delivered / possible, 4) if possible else 1.0,
        "gen_cpu": round(cpu / (measured + args.grace), 3),
        "gen_cpu_total_s": round(
            (cpu_end.ru_utime + cpu_end.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime), 2
        ),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--grace", type=float, default=1.0)
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--connect-concurrency", type=int, default=100)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    result = asyncio.run(main(arguments))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
