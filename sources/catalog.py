"""The configured sources: which assets exist and how each one walks."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from sources.walk import RandomWalk, seeded_rng


@dataclass(frozen=True)
class SourceSpec:
    """One asset's source: its symbol, name and walk parameters."""

    symbol: str
    name: str
    initial_price: Decimal
    max_step: int
    reversal_probability: float
    floor: Decimal
    relative: bool = False
    max_step_bps: int = 10

    def new_walk(self, seed: str | int | None) -> RandomWalk:
        return RandomWalk(
            price=self.initial_price,
            max_step=self.max_step,
            reversal_probability=self.reversal_probability,
            floor=self.floor,
            rng=seeded_rng(seed, self.symbol),
            relative=self.relative,
            max_step_bps=self.max_step_bps,
        )


def source_specs() -> dict[str, SourceSpec]:
    """Every configured source by symbol, in the order settings list them."""
    return {
        symbol: SourceSpec(
            symbol=symbol,
            name=name,
            initial_price=price,
            max_step=settings.EXCHANGE_MAX_STEP,
            reversal_probability=settings.EXCHANGE_REVERSAL_PROBABILITY,
            floor=settings.EXCHANGE_PRICE_FLOOR,
            relative=settings.EXCHANGE_STEP_MODE == "relative",
            max_step_bps=settings.EXCHANGE_MAX_STEP_BPS,
        )
        for symbol, (name, price) in settings.EXCHANGE_ASSETS.items()
    }


def symbols() -> list[str]:
    return list(settings.EXCHANGE_ASSETS)
