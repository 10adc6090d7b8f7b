"""Fan-out of the market stream: how many clients each topology holds, and how fast.

    python benchmarks/fanout.py                      # all three targets, default steps
    python benchmarks/fanout.py --targets default --steps 1,100 --duration 5

Targets, each at one tick rate (``--interval`` per source, three sources; the
default 0.3 s gives 10 events/s per client, the rate of the earlier
measurements in docs/facts.md):

- ``default``: the exchange as ``make run`` serves it, one uvicorn process
  with the embedded engine and SQLite;
- ``pushpin``: the scaled topology (tests/scaled/topology.py): two workers
  behind Pushpin, Redis, PostgreSQL, ``runengine``;
- ``peer``: a bare sse-starlette broadcaster under uvicorn (peer_app.py).

The servers run on core 0 and the load generator (loadgen.py, a separate
asyncio process) on core 1 when ``taskset`` exists (PostgreSQL, a system
service, is not pinned). Each step opens N fresh connections and measures for
``--duration`` seconds; stepping stops at the first N that fails: a client not
connected, any loss, or p99 above 250 ms. Prints a Markdown table and, with
``--json``, writes every step's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scaled.topology import Process, ScaledTopology, missing_services, wait_until  # noqa: E402
from tests.servers import PYTHON, ServerProcess, free_port  # noqa: E402

P99_LIMIT_MS = 250.0
DEFAULT_STEPS = {
    "default": [1, 100, 250, 500, 750, 1000, 1500, 2000],
    "pushpin": [1, 100, 500, 1000, 1500, 2000, 2500, 3000, 3500],
    "peer": [1, 100, 1000, 1500, 2000, 2500, 3000],
}
SERVER_CORE, LOAD_CORE = "0", "1"


def taskset(core: str) -> list[str]:
    return ["taskset", "-c", core] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def process_tree(pids: list[int]) -> list[psutil.Process]:
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                found[proc.pid] = proc
    return list(found.values())


def pin(pids: list[int], core: str) -> None:
    """Pin every thread of these processes and their children to ``core``.

    Per thread: Linux applies an affinity to one thread, and threads that
    already run (Pushpin's, condure's, the engine's) keep their own.
    """
    if not taskset(core):
        return
    for proc in process_tree(pids):
        with contextlib.suppress(psutil.Error):
            for thread in proc.threads():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(thread.id, {int(core)})


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def cpu_by_process(procs: list[psutil.Process]) -> dict[int, tuple[str, float]]:
    found = {}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            found[proc.pid] = (proc.name(), times.user + times.system)
    return found


def rss_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 2**20


def profile_summary(raw: Path, top: int = 20) -> str:
    """The hottest frames of a py-spy ``--format raw`` profile, inclusive and self."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"{total} samples; inclusive:"]
    lines += [f"  {n / total:6.1%} {frame}" for frame, n in inclusive.most_common(top)]
    lines.append("self:")
    lines += [f"  {n / total:6.1%} {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


def start_profile(pid: int, duration: float, raw: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed; no profile", file=sys.stderr)
        return None
    # --gil: only the thread holding the GIL, i.e. where the Python CPU time goes.
    command = [
        spy,
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(duration)),
        "-r",
        "100",
        "--gil",
        "--format",
        "raw",
    ]
    return subprocess.Popen(
        [*command, "-o", str(raw), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def measure(
    url: str,
    clients: int,
    duration: float,
    server_pids: Callable[[], list[int]],
    profile: Path | None = None,
) -> dict[str, Any]:
    """One step: the load generator's figures plus the server's CPU and memory in its window.

    With ``profile``, py-spy samples the first server process during the window
    and a summary of where its time goes is written beside the raw profile.
    """
    command = [
        *taskset(LOAD_CORE),
        PYTHON,
        str(ROOT / "benchmarks" / "loadgen.py"),
        "--url",
        url,
        "--clients",
        str(clients),
        "--duration",
        str(duration),
        "--connect-timeout",
        "120",
    ]
    loadgen = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = process_tree(server_pids())
    cpu_start = cpu_end = 0.0
    start = end = time.monotonic()
    assert loadgen.stderr is not None
    spy = None
    for line in loadgen.stderr:
        if line.startswith("window start"):
            procs = process_tree(server_pids())
            cpu_start, start = cpu_seconds(procs), time.monotonic()
            parts_start = cpu_by_process(procs)
            if profile is not None:
                spy = start_profile(server_pids()[0], duration, profile)
        elif line.startswith("window end"):
            cpu_end, end = cpu_seconds(procs), time.monotonic()
            parts_end = cpu_by_process(procs)
            memory = rss_mb(procs)
    out, _ = loadgen.communicate(timeout=120)
    if spy is not None and profile is not None:
        spy.wait(60)
        if profile.exists():
            summary_path = profile.with_suffix(".txt")
            summary_path.write_text(profile_summary(profile))
            print(f"profile: {summary_path}", file=sys.stderr)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    busy = cpu_end - cpu_start
    result["server_cpu"] = round(busy / (end - start), 3) if end > start else float("nan")
    result["server_rss_mb"] = round(memory, 1)
    # Where the server's CPU went, by process name (Pushpin's parts, workers, engine).
    by_name: Counter[str] = Counter()
    for pid, (name, seconds) in parts_end.items():
        if pid in parts_start:
            by_name[name] += seconds - parts_start[pid][1]
    result["cpu_by_process"] = {name: round(used / (end - start), 3) for name, used in by_name.most_common(6)}
    result["cpu_us_per_event"] = round(busy / result["events"] * 1e6, 1) if result["events"] else float("nan")
    return result


def passed(result: dict[str, Any]) -> bool:
    return (
        result["connected"] == result["clients"]
        and result["dropped"] == 0
        and result["loss"] == 0
        and result["p99_ms"] <= P99_LIMIT_MS
    )


# Every client of the load generator comes from one address: the per-client stream
# limit (EXCHANGE_STREAMS_PER_CLIENT, 200 by default) would refuse all but the first 200.
SERVER_ENV = {"EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_STREAMS_PER_CLIENT": "0"}


@contextlib.contextmanager
def default_server(directory: Path, interval: float) -> Iterator[tuple[str, Callable[[], list[int]]]]:
    server = ServerProcess(directory, EXCHANGE_TICK_INTERVAL=str(interval), **SERVER_ENV)
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        pin([pid], SERVER_CORE)
        wait_until(
            lambda: len(requests.get(server.url + "/api/prices", timeout=2).json()["prices"]) == 3,
            timeout=30,
            what="the default server's prices did not flow",
        )
        yield server.url + "/market/stream/", lambda: [pid]
    finally:
        server.stop()


@contextlib.contextmanager
def pushpin_topology(directory: Path, interval: float) -> Iterator[tuple[str, Callable[[], list[int]]]]:
    topology = ScaledTopology(
        directory,
        tick_interval=interval,
        worker_env=SERVER_ENV,
        pushpin_log_level=int(os.environ.get("FANOUT_PUSHPIN_LOG_LEVEL", "0")),
    )
    topology.start()
    try:

        def pids() -> list[int]:
            processes = [topology.engine, topology.pushpin, topology.redis]
            own = [p.process.pid for p in processes if p is not None and p.process is not None]
            return own + [w.process.pid for w in topology.workers if w.process is not None]

        pin(pids(), SERVER_CORE)
        yield topology.url + "/market/stream/", pids
    finally:
        topology.stop()


@contextlib.contextmanager
def peer_server(directory: Path, interval: float) -> Iterator[tuple[str, Callable[[], list[int]]]]:
    port = free_port()
    env = {**os.environ, "PEER_TICK_INTERVAL": str(interval)}
    command = [
        PYTHON,
        "-m",
        "uvicorn",
        "benchmarks.peer_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    directory.mkdir(parents=True, exist_ok=True)
    peer = Process("peer", command, directory=directory, env=env)
    peer.start()
    try:
        url = f"http://127.0.0.1:{port}/market/stream/"
        wait_until(lambda: socket_open(port), timeout=20, what="the peer did not listen")
        assert peer.process is not None
        pid = peer.process.pid
        pin([pid], SERVER_CORE)
        yield url, lambda: [pid]
    finally:
        peer.stop()


def socket_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


TARGETS = {"default": default_server, "pushpin": pushpin_topology, "peer": peer_server}


def run(
    targets: list[str],
    steps: dict[str, list[int]],
    duration: float,
    interval: float,
    profile: tuple[str, int] | None = None,
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    # Kept after the run: the servers' logs (benchmarks/results/ is not in git).
    work = ROOT / "benchmarks" / "results" / "fanout-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with contextlib.nullcontext(str(work)) as tmp:
        for name in targets:
            if name == "pushpin" and missing_services():
                print(f"skipping pushpin: missing {', '.join(missing_services())}", file=sys.stderr)
                continue
            with TARGETS[name](Path(tmp) / name, interval) as (url, pids):
                for clients in steps[name]:
                    raw = None
                    if profile == (name, clients):
                        raw = ROOT / "benchmarks" / "results" / f"profile-{name}-{clients}.raw"
                        raw.parent.mkdir(exist_ok=True)
                    result = {"target": name, **measure(url, clients, duration, pids, raw)}
                    result["ok"] = passed(result)
                    results.append(result)
                    print(json.dumps(result), file=sys.stderr, flush=True)
                    if not result["ok"]:
                        break
                    time.sleep(2)
    return results


COLUMNS = [
    ("target", "target"),
    ("clients", "clients"),
    ("connected", "connected"),
    ("events_per_s", "events/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("loss", "loss"),
    ("server_cpu", "server CPU"),
    ("cpu_us_per_event", "µs CPU/event"),
    ("server_rss_mb", "server RSS MB"),
    ("gen_cpu", "generator CPU"),
    ("ok", "held"),
]


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result in results:
        cells = [
            "yes" if result[key] is True else "no" if result[key] is False else str(result[key])
            for key, _ in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]]) -> str:
    held = {}
    for result in results:
        if result["ok"]:
            held[result["target"]] = max(held.get(result["target"], 0), result["clients"])
    lines = [
        f"- {target} held {count} clients (p99 <= {P99_LIMIT_MS:g} ms, no loss)"
        for target, count in held.items()
    ]
    if "peer" in held and "default" in held:
        lines.append(f"- default / peer = {held['default'] / held['peer']:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", default="default,pushpin,peer")
    parser.add_argument(
        "--steps", help="client counts for every target, e.g. 1,100,1000 (default: per target)"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per step")
    parser.add_argument("--interval", type=float, default=0.3, help="tick interval of each of the 3 sources")
    parser.add_argument("--json", type=Path, help="also write every step's figures here")
    parser.add_argument(
        "--profile",
        metavar="TARGET:CLIENTS",
        help="py-spy the server during that step, e.g. default:1000 (into benchmarks/results/)",
    )
    args = parser.parse_args()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    steps = dict(DEFAULT_STEPS)
    if args.steps:
        steps = {name: [int(n) for n in args.steps.split(",")] for name in targets}
    profile = None
    if args.profile:
        name, _, count = args.profile.partition(":")
        profile = (name, int(count))
    results = run(targets, steps, args.duration, args.interval, profile)
    print(table(results))
    print()
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
