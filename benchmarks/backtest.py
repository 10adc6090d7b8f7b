"""Backtest throughput, measured on the whole process: ``manage.py backtest`` from start to exit.

Prints strategy-ticks per second two ways: a strategy-tick is one strategy
seeing one time step of every asset; a strategy-price is one strategy seeing
one asset's price (three per time step with the default three assets).

    .venv/bin/python benchmarks/backtest.py [--ticks 10000] [--seeds 1-100] [--repeat 3]
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("strategies", nargs="*", default=["investor", "hamster"])
    parser.add_argument("--ticks", type=int, default=10_000)
    parser.add_argument("--seeds", default="1-100")
    parser.add_argument(
        "--symbols", type=int, default=3, help="assets in the run (the default settings have 3)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()

    command = [
        sys.executable,
        "manage.py",
        "backtest",
        *args.strategies,
        "--ticks",
        str(args.ticks),
        "--seeds",
        args.seeds,
        "--json",
        "--no-progress",
    ]
    env = {**os.environ, "DJANGO_DEBUG": "true"}
    strategy_ticks = len(args.strategies) * count_seeds(args.seeds) * args.ticks
    print("command:", " ".join(command[1:]))
    best = best_cpu = float("inf")
    outputs = set()
    for attempt in range(1, args.repeat + 1):
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


if __name__ == "__main__":
    main()
