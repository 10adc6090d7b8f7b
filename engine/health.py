"""What ``/healthz`` reports: the database, the engine and each asset's price age.

It must stay cheap (load balancers poll it and it is benchmarked): one query
reads every asset's latest price time, and that query is also the database's
check. The engine's state is read from this process's memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from engine.engine import RUNNING, current_engine, first_line
from market.freshness import is_stale, max_price_age, price_age, read_clock
from market.models import Price
from sources.catalog import symbols as all_symbols

logger = logging.getLogger(__name__)

OK = "ok"
UNHEALTHY = "unhealthy"

# An asset with no price yet is waited for as long as a price may be old,
# counted from when this process began serving: a web worker may start before
# the engine (the scaled mode) and a fresh engine needs a tick or two.
SERVING_SINCE = timezone.now()


@dataclass(frozen=True)
class Health:
    """The health check's verdict and its body, part by part."""

    body: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return bool(self.body["status"] == OK)

    def unhealthy_parts(self) -> list[str]:
        return [name for name in ("database", "engine", "prices") if self.body[name]["status"] != OK]


def check_health(*, now: datetime | None = None, since: datetime | None = None) -> Health:
    """Check every part; ``now`` and ``since`` (when serving began) are for tests."""
    now = now or timezone.now()
    try:
        latest = dict(Price.objects.values_list("symbol", "ts"))
    except DatabaseError as exc:
        # The reason (host, database name) goes to the log, not to anonymous callers.
        logger.warning("health check: the database is not reachable: %s", first_line(exc))
        database = {"status": UNHEALTHY, "error": "not reachable"}
        prices: dict[str, Any] = {"status": UNHEALTHY, "error": "unknown while the database is not reachable"}
    else:
        database = {"status": OK}
        prices = prices_health(latest, now=now, since=since or SERVING_SINCE)
    parts = {"database": database, "engine": engine_health(), "prices": prices}
    status = OK if all(part["status"] == OK for part in parts.values()) else UNHEALTHY
    return Health({"status": status, **parts})


def prices_health(latest: dict[str, datetime], *, now: datetime, since: datetime) -> dict[str, Any]:
    """Each asset's price age in market time.

    An asset is ``ok``, ``stale``, ``pending`` (no price yet, still young) or ``missing``.
    """
    assets: dict[str, dict[str, Any]] = {}
    clock = read_clock()
    for symbol in all_symbols():
        ts = latest.get(symbol)
        age = price_age(ts if ts is not None else since, now=now, clock=clock)
        if ts is not None:
            status = "stale" if is_stale(age) else OK
        else:
            status = "missing" if is_stale(age) else "pending"
        assets[symbol] = {"status": status, "age": seconds(age) if ts is not None else None}
    healthy = all(asset["status"] in (OK, "pending") for asset in assets.values())
    return {
        "status": OK if healthy else UNHEALTHY,
        "max_age": seconds(max_price_age()),
        "assets": assets,
    }


def engine_health() -> dict[str, Any]:
    """The engine of this process: every worker running; or ``off`` here (``runengine`` elsewhere)."""
    if settings.EXCHANGE_ENGINE != "embedded":
        # Another process runs it; its liveness shows in the prices' age.
        return {"status": OK, "mode": settings.EXCHANGE_ENGINE}
    engine = current_engine()
    if engine is None:
        return {"status": UNHEALTHY, "mode": "embedded", "error": "not started"}
    workers = engine.worker_states()
    healthy = not engine.stopped and all(state == RUNNING for state in workers.values())
    return {"status": OK if healthy else UNHEALTHY, "mode": "embedded", "workers": workers}


def seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)
