"""Per-token rate limit of orders: a token bucket kept in Django's cache.

Each account's bucket holds one second's worth of orders (``EXCHANGE_ORDER_RATE``)
and refills continuously, so a bot may burst briefly but not sustain more than
the rate. Refused requests answer 429 with ``Retry-After`` (django-ninja's
throttling hook sets the header). The buckets live in Django's default cache:
per process by default, shared by every worker in the scaled mode (``REDIS_URL``
configures a Redis cache). If the cache cannot be reached, orders pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

# Read-modify-write of a bucket is guarded so that threads of one process do
# not both spend the same token; the wait is per thread because one throttle
# object serves every request of its endpoint.
_lock = threading.Lock()
logger = logging.getLogger(__name__)
_last = threading.local()


class OrderRateThrottle(BaseThrottle):
    """Allows ``EXCHANGE_ORDER_RATE`` orders per second per authenticated account."""

    # Wall-clock time: with a shared cache (REDIS_URL) the buckets are read by
    # several processes, whose monotonic clocks need not agree.
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def allow_request(self, request: HttpRequest) -> bool:
        rate = float(settings.EXCHANGE_ORDER_RATE)
        account = getattr(request, "auth", None)
        if rate <= 0 or account is None:
            return True
        capacity = max(rate, 1.0)
        key = f"order-rate:{account.pk}"
        try:
            return self._take(key, rate, capacity)
        except Exception as exc:  # the cache backend's own errors, e.g. Redis down
            # Fail open: an unreachable cache must not stop trading.
            logger.warning("order rate limit skipped: the cache is unavailable (%s)", exc)
            _last.wait = None
            return True

    def _take(self, key: str, rate: float, capacity: float) -> bool:
        with _lock:
            now = self.clock()
            tokens, then = cache.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * rate)
            if tokens >= 1.0:
                cache.set(key, (tokens - 1.0, now), timeout=60)
                _last.wait = None
                return True
            cache.set(key, (tokens, now), timeout=60)
            _last.wait = (1.0 - tokens) / rate
            return False

    def wait(self) -> float | None:
        wait: float | None = getattr(_last, "wait", None)
        return wait
