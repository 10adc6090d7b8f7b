"""The order path in one process, without HTTP: market orders per CPU-second and queries per order.

Calls the order service (``place_order``) directly on a fresh SQLite file,
alternating buys and sells of one lot of META against the house, so the
figure is the ledger's own work (validation, locks, matching, the writes, the
events stored for the streams), not the server's. ``--against DIR`` measures
another checkout of the exchange in the same run, round by round in turn
(the machine is shared and noisy), and prints the ratio: for example the
first stage's, in a worktree beside this one:

    git worktree add --detach ../stage-1 04afb83 && make -C ../stage-1 install-dev
    .venv/bin/python benchmarks/order_path.py --against ../stage-1

Each round runs in a new process of that checkout's own virtualenv; the
figure of a checkout is its best round (the one least disturbed by others).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs inside the checkout measured, with its own settings and code: only names both stages share.
WORKER = r"""
import json, os, sys, time
import django
django.setup()
from decimal import Decimal
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from sources.ticks import Tick
from market.models import Account
from market import services
try:
    from market.orders import place_order   # the second stage
except ImportError:
    from market.services import place_order  # the first stage

call_command("migrate", verbosity=0)
tick = Tick(symbol="META", price=Decimal("500.00"), seq=1, ts=timezone.now())
services.record_price(tick=tick, cursor=None)
services.issue_token(name="bench", cash=Decimal("100000000.00"))
account = Account.objects.get(name="bench")
count = int(sys.argv[1])

def order(i):
    place_order(account=account, symbol="META", side="buy" if i % 2 == 0 else "sell", quantity=1)

for i in range(20):  # warm up: imports, caches, the first position rows
    order(i)
with CaptureQueriesContext(connection) as queries:
    order(0)
    order(1)
started = time.process_time()
wall = time.perf_counter()
for i in range(count):
    order(i)
cpu = time.process_time() - started
print(json.dumps({"orders": count, "cpu_s": cpu, "wall_s": time.perf_counter() - wall,
                  "queries_per_order": len(queries) / 2}))
"""


def python_of(checkout: Path) -> str:
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def one_round(checkout: Path, orders: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="order-path-") as directory:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "EXCHANGE_", "DATABASE_URL", "REDIS_URL"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="exchange_site.settings",
            DJANGO_SECRET_KEY="order-path-benchmark-" + "x" * 40,
            DJANGO_DEBUG="false",
            EXCHANGE_ENV_FILE="",
            EXCHANGE_STATE_DIR=directory,
            EXCHANGE_ORDER_RATE="0",
            EXCHANGE_LOG_LEVEL="WARNING",
            DATABASE_URL=f"sqlite:///{directory}/db.sqlite3",
        )
        result = subprocess.run(
            [python_of(checkout), "-c", WORKER, str(orders)],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(f"{checkout}: the worker failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000, help="orders per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per checkout (default 3)")
    parser.add_argument("--against", type=Path, help="another checkout to measure in the same run")
    args = parser.parse_args()
    checkouts = {"this checkout": ROOT}
    if args.against is not None:
        checkouts[f"{args.against}"] = args.against.resolve()
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    for _ in range(args.rounds):
        for name, checkout in checkouts.items():
            rounds[name].append(one_round(checkout, args.orders))
    print(f"load {os.getloadavg()[0]:.2f}; {args.orders} market orders per round, best of {args.rounds}")
    best = {}
    for name, results in rounds.items():
        top = min(results, key=lambda r: r["cpu_s"])
        best[name] = args.orders / top["cpu_s"]
        print(
            f"{name:>20}: {best[name]:7.0f} orders/CPU-s ({args.orders / top['wall_s']:.0f}/s wall), "
            f"{top['queries_per_order']:.1f} queries per order"
        )
    if args.against is not None:
        this, other = best["this checkout"], best[f"{args.against}"]
        print(f"ratio this/other: {this / other:.2f}")


if __name__ == "__main__":
    main()
