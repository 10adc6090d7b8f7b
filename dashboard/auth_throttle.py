"""Throttle of sign-ups and log-ins: at most ``EXCHANGE_AUTH_RATE`` per client IP address per minute.

It guards every form that checks a password or creates a login: the
dashboard's sign-up and log-in and the admin's log-in. Guessing passwords is
slowed to that rate, and so is minting accounts: each sign-up opens an account
that the house funds with the starting cash, so this rate is also what bounds
how fast new money can enter the exchange from one address.

Counted in one-minute windows, each opened by a client's first attempt, in
Django's default cache: per process by default, shared by every worker in the
scaled mode (``REDIS_URL`` configures a Redis cache). The client is ``REMOTE_ADDR``, the address of the
connection. Refused attempts answer 429 with ``Retry-After`` (the seconds left
in the window). If the cache cannot be reached, attempts pass.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

logger = logging.getLogger(__name__)

WINDOW = 60
GUARDED_URL_NAMES = ("login", "dashboard:signup", "admin:login")


def guarded_paths() -> frozenset[str]:
    return frozenset(reverse(name) for name in GUARDED_URL_NAMES)


class AuthRateLimitMiddleware:
    """Refuses a client's sign-up and log-in attempts past ``EXCHANGE_AUTH_RATE`` a minute with 429."""

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponse], clock: Callable[[], float] = time.time
    ) -> None:
        self.get_response = get_response
        self.clock = clock
        self.paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rate = int(settings.EXCHANGE_AUTH_RATE)
        if rate > 0 and request.method == "POST":
            if self.paths is None:
                self.paths = guarded_paths()
            if request.path in self.paths:
                wait = self._wait(request.META.get("REMOTE_ADDR", ""), rate)
                if wait is not None:
                    response = HttpResponse(
                        f"Too many sign-up or log-in attempts from your address; try again in {wait} s.\n",
                        status=429,
                        content_type="text/plain; charset=utf-8",
                    )
                    response["Retry-After"] = str(wait)
                    return response
        return self.get_response(request)

    def _wait(self, client: str, rate: int) -> int | None:
        """Seconds until the client may try again, or ``None`` when this attempt is allowed."""
        now = self.clock()
        key = f"auth-rate:{client}"
        try:
            # add() is atomic where the cache is shared: a client's first attempt
            # opens its window, which ends when the entries expire.
            if cache.add(key, 0, timeout=WINDOW):
                cache.set(f"{key}:since", now, timeout=WINDOW)
            attempts = cache.incr(key)
            since = float(cache.get(f"{key}:since", now))
        except Exception as exc:  # the cache backend's own errors, e.g. Redis down
            logger.warning("sign-up and log-in throttle skipped: the cache is unavailable (%s)", exc)
            return None
        if attempts <= rate:
            return None
        return max(1, math.ceil(since + WINDOW - now))
