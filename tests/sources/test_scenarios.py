"""The scenario presets: each does what its line in ``scenario --list`` says, for any seed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sources.scenarios import DEFAULT, SCENARIOS, UnknownScenario, scenario_named, scenario_prices
from sources.walk import RandomWalk, seeded_rng

PRICES = ("30000.00", "3000.00", "500.00")
SEEDS = range(40)


def walk(seed: int, price: str) -> RandomWalk:
    return RandomWalk(price=Decimal(price), rng=seeded_rng(seed, "T"))


def path(name: str, seed: int, price: str, ticks: int) -> list[Decimal]:
    return scenario_prices(walk(seed, price), scenario_named(name), ticks)


def test_the_required_presets_exist_each_with_a_summary() -> None:
    assert {"calm", "volatile", "trend-up", "trend-down", "crash", "flash-crash", DEFAULT} <= set(SCENARIOS)
    assert all(scenario.summary for scenario in SCENARIOS.values())


@pytest.mark.parametrize("price", PRICES)
def test_crash_falls_at_least_ten_percent_within_200_ticks_then_recovers_partly(price: str) -> None:
    start = Decimal(price)
    for seed in SEEDS:
        prices = path("crash", seed, price, 200)
        bottom = min(prices)
        assert bottom <= start * Decimal("0.90"), (seed, bottom)
        after = prices[prices.index(bottom) :]
        # A partial recovery: up from the bottom by at least 4%, never back to the start.
        assert bottom * Decimal("1.04") <= max(after) < start, (seed, bottom, max(after))


@pytest.mark.parametrize("price", PRICES)
def test_flash_crash_falls_and_rebounds_within_a_few_ticks(price: str) -> None:
    start = Decimal(price)
    for seed in SEEDS:
        prices = path("flash-crash", seed, price, 6)
        assert prices[2] <= start * Decimal("0.93")
        assert prices[5] >= prices[2] * Decimal("1.07")


def test_trends_go_their_way() -> None:
    for seed in SEEDS:
        assert path("trend-up", seed, "500.00", 300)[-1] > Decimal("500.00")
        assert path("trend-down", seed, "500.00", 300)[-1] < Decimal("500.00")


def test_calm_moves_less_than_volatile() -> None:
    def widest(name: str, seed: int) -> Decimal:
        prices = path(name, seed, "3000.00", 300)
        return max(prices) - min(prices)

    for seed in SEEDS:
        assert widest("calm", seed) < widest("volatile", seed)


def test_a_scenario_is_reproducible_from_the_seed_and_its_first_tick() -> None:
    for name in SCENARIOS:
        assert path(name, 7, "500.00", 150) == path(name, 7, "500.00", 150)
    later = scenario_prices(walk(7, "500.00"), scenario_named("crash"), 100, first_tick=50)
    assert later != path("crash", 7, "500.00", 100)


def test_default_leaves_the_walk_as_configured() -> None:
    assert path(DEFAULT, 3, "500.00", 100) == walk(3, "500.00").prices(100)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownScenario, match="calm"):
        scenario_named("meltdown")
