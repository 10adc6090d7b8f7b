"""The original exchange's random walk, with a floor so a price stays positive.

Pure logic: no Django, no I/O. Each step draws a whole number 0..max_step and
moves the price against ``direction`` (the walk starts with direction +1, so it
falls first, as the original did); then, with ``reversal_probability``, the
direction flips. Unlike the original, a step that would take the price below
``floor`` turns the walk around instead. The same seed gives the same path.

Absolute steps (the original's, and the default) move every asset by up to
``max_step`` whatever its price: a 500 asset loses 99% in minutes while a
30,000 one barely moves. Relative steps (``WalkParams.relative``) draw a whole
number of basis points of the price instead, 0..max_step_bps, and may add a
steady ``drift_bps`` per step; scenarios (``sources.scenarios``) use them. Both
modes draw the same two numbers per step, so the generator's state, and the
path after it, never depends on which mode came before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
BASIS_POINTS = Decimal(10_000)
ZERO = Decimal(0)


def seeded_rng(seed: str | int | None, symbol: str) -> random.Random:
    """A generator for one source: independent per symbol, fixed by ``seed``.

    String seeding is stable across processes and Python runs (it hashes with
    SHA-512), unlike ``hash()``; no seed means a fresh random path.
    """
    if seed is None:
        return random.Random()
    return random.Random(f"{seed}:{symbol}")


@dataclass(frozen=True)
class WalkParams:
    """How one step moves: absolute (``max_step`` units) or relative (basis points of the price)."""

    max_step: int = 10
    reversal_probability: float = 0.15
    relative: bool = False
    max_step_bps: int = 10
    drift_bps: int = 0

    def __post_init__(self) -> None:
        if self.max_step < 0 or self.max_step_bps < 0:
            raise ValueError("max_step and max_step_bps must not be negative")
        if not 0.0 <= self.reversal_probability <= 1.0:
            raise ValueError("reversal_probability must lie between 0 and 1")
        if abs(self.drift_bps) >= 10_000:
            raise ValueError("drift_bps must lie strictly between -10000 and 10000")


@dataclass
class RandomWalk:
    """One source's price path; ``step()`` returns the next price."""

    price: Decimal
    max_step: int = 10
    reversal_probability: float = 0.15
    floor: Decimal = Decimal("1.00")
    direction: int = 1
    rng: random.Random = field(default_factory=random.Random)
    relative: bool = False
    max_step_bps: int = 10
    drift_bps: int = 0

    def __post_init__(self) -> None:
        self.price = Decimal(self.price).quantize(CENT)
        self.floor = Decimal(self.floor).quantize(CENT)
        if self.price < self.floor:
            raise ValueError(f"initial price {self.price} is below the floor {self.floor}")
        self.params()  # validates the step parameters
        if self.direction not in (1, -1):
            raise ValueError("direction must be 1 or -1")

    def params(self) -> WalkParams:
        """The walk's own step parameters (what ``step`` uses when given none)."""
        return WalkParams(
            max_step=self.max_step,
            reversal_probability=self.reversal_probability,
            relative=self.relative,
            max_step_bps=self.max_step_bps,
            drift_bps=self.drift_bps,
        )

    def step(self, params: WalkParams | None = None) -> Decimal:
        """The next price, moved by ``params`` (a scenario's) or by the walk's own parameters."""
        # The walk's own fields are read directly: a WalkParams per step cost the
        # backtest a third of its time.
        p = self if params is None else params
        price, direction = self.price, self.direction
        if p.relative:
            move = Decimal(self.rng.randint(0, p.max_step_bps)) * price / BASIS_POINTS
            drift = Decimal(p.drift_bps) * price / BASIS_POINTS
        else:
            move, drift = Decimal(self.rng.randint(0, p.max_step)), ZERO
        candidate = price - move * direction + drift
        if candidate < self.floor:
            # Falling through the floor: bounce instead, so the price stays
            # positive and the walk keeps moving.
            direction = -direction
            candidate = max(price - move * direction + drift, self.floor)
        self.price = candidate.quantize(CENT)
        if self.rng.random() < p.reversal_probability:
            direction = -direction
        self.direction = direction
        return self.price

    def prices(self, count: int) -> list[Decimal]:
        """The next ``count`` prices (used by the backtest and benchmarks): ``count`` steps."""
        if self.relative or type(self.rng) is not random.Random or self.max_step < 0:
            return [self.step() for _ in range(count)]
        return self._absolute_prices(count)

    def _absolute_prices(self, count: int) -> list[Decimal]:
        # ``step`` in absolute mode, in one frame: the backtest draws a path per seed
        # and asset, and the two calls below ``randint`` were a third of each step.
        # ``randint(0, n)`` is ``randrange(0, n + 1)``, which returns ``0 + _randbelow(n + 1)``:
        # the same draw, so the generator's state and the path are exactly ``step``'s.
        # Private, but what randint calls; tests/sources/test_walk.py holds the two paths equal.
        draw, chance = self.rng._randbelow, self.rng.random  # type: ignore[attr-defined]
        width = self.max_step + 1
        # ``move * direction`` for each draw and direction, the same Decimals ``step`` makes.
        moves = {d: [Decimal(k) * d for k in range(width)] for d in (1, -1)}
        floor, reversal = self.floor, self.reversal_probability
        price, direction = self.price, self.direction
        signed = moves[direction]
        prices = []
        for _ in range(count):
            k = draw(width)
            candidate = price - signed[k] + ZERO
            if candidate < floor:
                direction = -direction
                signed = moves[direction]
                candidate = max(price - signed[k] + ZERO, floor)
            price = candidate.quantize(CENT)
            if chance() < reversal:
                direction = -direction
                signed = moves[direction]
            prices.append(price)
        self.price, self.direction = price, direction
        return prices

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable state from which ``restore`` continues the exact path."""
        version, internal, gauss = self.rng.getstate()
        return {
            "price": str(self.price),
            "direction": self.direction,
            "rng": [version, list(internal), gauss],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.price = Decimal(state["price"]).quantize(CENT)
        self.direction = int(state["direction"])
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
