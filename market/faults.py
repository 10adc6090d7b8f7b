"""Injected faults: what an account's fault plan does to its next request, decided from a seed.

Pure: no Django, no I/O. An operator gives an account a plan (``manage.py
faults NAME ...`` or ``/api/admin/faults/<name>``); every request the account
makes with its token advances the plan's request counter by one, and request
``n`` draws its faults from ``random.Random(f"{seed}:{n}")``, always the same
draws in the same order whatever the request is. So one seed and one sequence
of requests give the same faults on every run, and a plan set again starts
over from request 1. ``market.fault_injection`` applies the decision.

The fault kinds, each as a real venue's failure looks to a client:

- ``reject``: 503 ``unavailable`` or 429 ``rate_limited`` (one or the other,
  drawn) with ``Retry-After``, before the request does anything;
- ``delay_ms``: every answer arrives this many milliseconds late;
- ``lose_response``: an order executes and commits, then the connection
  closes without an answer: the client must retry with its ``Idempotency-Key``;
- ``partial``: a market or ioc order fills half its quantity (rounded down)
  where it could fill all, and the rest is canceled;
- ``stale``: an order is refused with 409 ``no_price`` as if the price were stale;
- ``drop_stream_after``: a stream the account opens is cut after this many
  seconds, in the middle of the first event sent after that.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields

REJECT = "reject"
DELAY = "delay"
LOSE_RESPONSE = "lose-response"
PARTIAL = "partial"
STALE = "stale"
DROP_STREAM = "drop-stream"
KINDS = (REJECT, DELAY, LOSE_RESPONSE, PARTIAL, STALE, DROP_STREAM)

# Statuses of a rejection: a busy venue or a rate limit.
REJECT_STATUSES = (503, 429)
# Seconds a rejected client is told to wait.
RETRY_AFTER = 1


class InvalidFaultPlan(ValueError):
    """A plan with a probability outside 0..1, a negative delay or a bad seed."""


@dataclass(frozen=True)
class FaultPlan:
    """One account's faults: probabilities per request (0..1), a delay, a stream's lifetime, a seed."""

    reject: float = 0.0
    delay_ms: int = 0
    lose_response: float = 0.0
    partial: float = 0.0
    stale: float = 0.0
    drop_stream_after: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("reject", "lose_response", "partial", "stale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise InvalidFaultPlan(f"{name} is a probability from 0 to 1, not {value!r}")
        if isinstance(self.delay_ms, bool) or not isinstance(self.delay_ms, int) or self.delay_ms < 0:
            raise InvalidFaultPlan(f"delay_ms is a whole number of milliseconds >= 0, not {self.delay_ms!r}")
        if self.delay_ms > 60_000:
            raise InvalidFaultPlan("delay_ms is at most 60000 (a minute)")
        after = self.drop_stream_after
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int | float) or not after > 0
        ):
            raise InvalidFaultPlan(f"drop_stream_after is a number of seconds > 0, not {after!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InvalidFaultPlan(f"seed is a whole number, not {self.seed!r}")

    @property
    def empty(self) -> bool:
        return self == FaultPlan(seed=self.seed)

    def to_json(self) -> dict[str, float | int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def describe(self) -> str:
        """``reject=0.2 delay_ms=100 seed=7``: the plan's non-default settings in one line."""
        parts = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name != "seed" and getattr(self, f.name) != f.default
        ]
        return " ".join([*parts, f"seed={self.seed}"]) if parts else f"no faults (seed={self.seed})"


@dataclass(frozen=True)
class Decision:
    """What faults request number ``request`` of a plan draws; which of them apply depends on the request."""

    request: int
    reject: int | None = None  # the status, when rejected
    delay_ms: int = 0
    lose_response: bool = False
    partial: bool = False
    stale: bool = False
    drop_stream_after: float | None = None
    # Where in the first event after ``drop_stream_after`` the stream is cut (0..1 of its bytes).
    cut: float = 0.5


def decide(plan: FaultPlan, request: int) -> Decision:
    """The faults of the plan's request number ``request`` (1 for the first request after it was set)."""
    rng = random.Random(f"{plan.seed}:{request}")
    # Always six draws in this order, so a decision never depends on another fault's setting.
    reject, status, lose, partial, stale, cut = (rng.random() for _ in range(6))
    return Decision(
        request=request,
        reject=REJECT_STATUSES[status < 0.5] if reject < plan.reject else None,
        delay_ms=plan.delay_ms,
        lose_response=lose < plan.lose_response,
        partial=partial < plan.partial,
        stale=stale < plan.stale,
        drop_stream_after=plan.drop_stream_after,
        cut=cut,
    )


def partial_quantity(quantity: int) -> int:
    """How much of an order a ``partial`` fault lets fill: half, rounded down (an order of 1 fills none)."""
    return quantity // 2
