"""Market scenarios: named presets of the walk's parameters over ticks.

Pure logic: no Django, no I/O. A scenario is a list of phases, each a number
of ticks with its ``WalkParams``; the last phase lasts for ever. The walk keeps
its seeded generator whatever the scenario, so a scenario applied after the
same ``seq`` of the same seed gives the same prices every time.

Every preset uses steps relative to the price, so each asset moves by the
same share of its price whatever that price is. The bounds in the docstrings
hold for any seed: a step's random part is at most ``max_step_bps``, so a
phase whose ``drift_bps`` is larger moves the price in the drift's direction
at every tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sources.walk import RandomWalk, WalkParams

# The name that leaves the walk as configured (EXCHANGE_STEP_MODE and the other settings).
DEFAULT = "default"


@dataclass(frozen=True)
class Phase:
    """``ticks`` ticks moved by ``params``; ``ticks`` is None for the last, endless phase."""

    params: WalkParams
    ticks: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A named preset; ``params_at(0)`` moves the first tick after it is applied."""

    name: str
    summary: str
    phases: tuple[Phase, ...] = ()

    def params_at(self, tick: int) -> WalkParams | None:
        """The parameters of the scenario's ``tick``-th tick (from 0); None: the walk's own."""
        for phase in self.phases:
            if phase.ticks is None or tick < phase.ticks:
                return phase.params
            tick -= phase.ticks
        return None


def relative(max_step_bps: int, *, drift_bps: int = 0, reversal_probability: float = 0.3) -> WalkParams:
    return WalkParams(
        relative=True,
        max_step_bps=max_step_bps,
        drift_bps=drift_bps,
        reversal_probability=reversal_probability,
    )


CALM = relative(3)

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(DEFAULT, "the configured walk (EXCHANGE_STEP_MODE, EXCHANGE_MAX_STEP...); ends a scenario"),
        Scenario("calm", "small moves: up to 0.03% of the price a tick", (Phase(CALM),)),
        Scenario("volatile", "large moves: up to 0.6% of the price a tick", (Phase(relative(60)),)),
        Scenario(
            "trend-up",
            "a steady rise: +0.06% a tick on average, moves up to 0.15%",
            (Phase(relative(15, drift_bps=6, reversal_probability=0.5)),),
        ),
        Scenario(
            "trend-down",
            "a steady fall: -0.06% a tick on average, moves up to 0.15%",
            (Phase(relative(15, drift_bps=-6, reversal_probability=0.5)),),
        ),
        # 60 ticks of -0.2% to -0.4% each: 11% to 21% down (at least 10% for
        # any seed), then 50 ticks of +0.1% to +0.2%: back up 5% to 10.5%,
        # which always leaves it below where it started (2% to 17% down).
        Scenario(
            "crash",
            "11-21% down over 60 ticks, a partial recovery over 50, then calm",
            (
                Phase(relative(10, drift_bps=-30), ticks=60),
                Phase(relative(5, drift_bps=15), ticks=50),
                Phase(CALM),
            ),
        ),
        # 3 ticks of -2.5% to -3.5%, then 3 of +2.5% to +3.1%.
        Scenario(
            "flash-crash",
            "7-10% down in 3 ticks, back up 8-10% in the next 3, then calm",
            (
                Phase(relative(50, drift_bps=-300), ticks=3),
                Phase(relative(30, drift_bps=280), ticks=3),
                Phase(CALM),
            ),
        ),
    )
}


class UnknownScenario(ValueError):
    """A scenario name that is not one of ``SCENARIOS``."""


def scenario_named(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def scenario_prices(
    walk: RandomWalk, scenario: Scenario, count: int, *, first_tick: int = 0
) -> list[Decimal]:
    """The next ``count`` prices of ``walk`` under ``scenario``, from its ``first_tick``-th tick."""
    return [walk.step(scenario.params_at(first_tick + tick)) for tick in range(count)]
