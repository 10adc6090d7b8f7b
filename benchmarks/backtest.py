"""Backtest throughput, measured on the whole process: ``manage.py backtest`` from start to exit.

Prints strategy-ticks per second two ways: a strategy-tick is one strategy
seeing one time step of every asset; a strategy-price is one strategy seeing
one asset's price (three per time step with the default three assets). Two
runs, one after the other: strategies of market orders only (the venue hears
of a tick only when an order is placed), then strategies with resting limit
orders (the venue sees every tick of an asset where an order rests).

    .venv/bin/python benchmarks/backtest.py [--ticks 10000] [--seeds 1-100] [--limit-seeds 1-10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def count_seeds(text: str) -> int:
    sys.path.insert(0, str(ROOT))
    from bots.backtest import parse_seeds

    return len(parse_seeds(text))


def measure(strategies: list[str], *, ticks: int, seeds: str, repeat: int) -> None:
    command = [
        sys.executable,
        "manage.py",
        "backtest",
        *strategies,
        "--ticks",
        str(ticks),
        "--seeds",
        seeds,
        "--json",
        "--no-progress",
    ]
    env = {**os.environ, "DJANGO_DEBUG": "true"}
    strategy_ticks = len(strategies) * count_seeds(seeds) * ticks
    print("command:", " ".join(command[1:]))
    best = best_cpu = float("inf")
    outputs = set()
    assets = 0
    for attempt in range(1, repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        outputs.add(result.stdout)
        assets = len(json.loads(result.stdout.splitlines()[0])["symbols"])
        best = min(best, wall)
        best_cpu = min(best_cpu, cpu)
        print(
            f"run {attempt}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"{strategy_ticks / wall:,.0f} strategy-ticks/s, "
            f"{strategy_ticks * assets / wall:,.0f} strategy-prices/s"
        )
    rate = strategy_ticks / best
    print(
        f"best: {strategy_ticks:,} strategy-ticks in {best:.2f} s = {rate:,.0f} strategy-ticks/s "
        f"({rate * assets:,.0f} strategy-prices/s); per CPU second: {strategy_ticks / best_cpu:,.0f}; "
        f"output identical across runs: {len(outputs) == 1}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--market", default="investor,hamster", help="market-order strategies")
    parser.add_argument("--limit", default="market_maker", help="strategies with resting orders")
    parser.add_argument("--ticks", type=int, default=10_000)
    parser.add_argument("--seeds", default="1-100", help="seeds of the market-order run")
    parser.add_argument("--limit-seeds", default="1-10", help="seeds of the resting-order run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()
    print("market orders only:")
    measure(args.market.split(","), ticks=args.ticks, seeds=args.seeds, repeat=args.repeat)
    print("resting limit orders:")
    measure(args.limit.split(","), ticks=args.ticks, seeds=args.limit_seeds, repeat=args.repeat)


if __name__ == "__main__":
    main()
