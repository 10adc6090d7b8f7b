"""The clock's services and the tick they gate: pause, step, speed, scenarios, market time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sources import clock
from sources.catalog import source_specs
from sources.models import AssetScenario, Clock, ClockChange, SourceState
from sources.scenarios import scenario_named, scenario_prices
from sources.services import clock_view, emit_tick, resume_walk
from sources.walk import RandomWalk

pytestmark = pytest.mark.django_db


class Ticker:
    """One asset's walk, ticked by hand through the real ``emit_tick``."""

    def __init__(self, symbol: str, seed: str = "7") -> None:
        self.symbol = symbol
        self.walk, self.seq = resume_walk(spec=source_specs()[symbol], seed=seed)

    def tick(self) -> Decimal | None:
        tick = emit_tick(symbol=self.symbol, walk=self.walk, seq=self.seq).tick
        if tick is None:
            return None
        self.seq = tick.seq
        return tick.price

    def ticks(self, count: int) -> list[Decimal | None]:
        return [self.tick() for _ in range(count)]


def test_a_new_clock_runs_at_speed_one() -> None:
    status = clock.clock_status()
    assert (status.state, status.speed) == ("running", 1.0)
    assert [asset.symbol for asset in status.assets] == list(source_specs())


def test_paused_no_asset_ticks_and_resumed_it_goes_on_with_the_same_path() -> None:
    btc = Ticker("BTC")
    first = btc.ticks(3)
    clock.pause_clock()
    assert btc.ticks(5) == [None] * 5
    assert SourceState.objects.get(symbol="BTC").seq == 3
    clock.resume_clock()
    rest = btc.ticks(3)
    expected = source_specs()["BTC"].new_walk("7").prices(6)
    assert [*first, *rest] == expected


def test_step_gives_exactly_n_ticks_per_asset_then_pauses() -> None:
    tickers = [Ticker(symbol) for symbol in source_specs()]
    tickers[0].ticks(2)
    clock.pause_clock()
    status = clock.step_clock(ticks=3)
    assert status.state == "stepping"
    assert [asset.step_until for asset in status.assets] == [5, 3, 3]
    for ticker in tickers:
        prices = ticker.ticks(6)
        assert sum(price is not None for price in prices) == 3
    assert clock.clock_status().state == "paused"
    assert [ticker.seq for ticker in tickers] == [5, 3, 3]
    assert ClockChange.objects.order_by("id").last().action == "step done"


def test_a_step_is_at_least_one_tick() -> None:
    with pytest.raises(clock.ClockError):
        clock.step_clock(ticks=0)


def test_speed_is_above_zero_and_bounded() -> None:
    assert clock.set_clock_speed(speed=10).speed == 10.0
    for wrong in (0.0, -1.0, clock.MAX_SPEED * 2, float("nan")):
        with pytest.raises(clock.ClockError):
            clock.set_clock_speed(speed=wrong)
    assert Clock.objects.get().speed == 10.0


def test_every_change_is_logged_with_the_market_time_it_happened_at() -> None:
    clock.set_clock_speed(speed=2)
    clock.pause_clock()
    clock.pause_clock()  # already paused: no change
    clock.resume_clock()
    actions = list(ClockChange.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["speed 2", "pause", "resume"]
    times = list(ClockChange.objects.order_by("id").values_list("market_seconds", flat=True))
    assert times == sorted(times)
    assert Clock.objects.get().version == 3


def test_a_price_does_not_age_while_the_clock_is_paused() -> None:
    ticked = timezone.now()
    clock.pause_clock()
    later = timezone.now() + timedelta(hours=1)
    assert clock.market_age(ticked, now=later) < timedelta(seconds=1)


def test_a_price_ages_speed_times_as_fast() -> None:
    clock.set_clock_speed(speed=10)
    ticked = timezone.now()
    assert clock.market_age(ticked, now=ticked + timedelta(seconds=2)) == timedelta(seconds=20)


def test_without_a_clock_row_age_is_wall_time() -> None:
    Clock.objects.all().delete()
    ticked = timezone.now()
    assert clock.market_age(ticked, now=ticked + timedelta(seconds=3)) == timedelta(seconds=3)


def test_a_scenario_starts_at_the_next_tick_and_follows_the_seeded_walk() -> None:
    meta = Ticker("META")
    before = meta.ticks(4)
    clock.apply_scenario(name="crash", symbol="META")
    assert AssetScenario.objects.get(symbol="META").start_seq is None
    after = meta.ticks(80)
    assert AssetScenario.objects.get(symbol="META").start_seq == 4
    walk: RandomWalk = source_specs()["META"].new_walk("7")
    assert before == walk.prices(4)
    assert after == scenario_prices(walk, scenario_named("crash"), 80)
    assert min(after) <= Decimal(str(before[-1])) * Decimal("0.9")  # type: ignore[arg-type]
    assert clock_view("META").scenario == "crash"
    assert clock_view("BTC").scenario == "default"


def test_applying_a_scenario_again_starts_it_over() -> None:
    meta = Ticker("META")
    clock.apply_scenario(name="flash-crash")
    meta.ticks(3)
    clock.apply_scenario(name="flash-crash")
    meta.tick()
    assert AssetScenario.objects.get(symbol="META").start_seq == 3


def test_the_start_up_scenario_is_applied_once_across_restarts() -> None:
    assert clock.start_scenario(symbol="BTC", name="calm") is True
    assert clock.start_scenario(symbol="BTC", name="calm") is False
    assert clock.start_scenario(symbol="BTC", name="") is False
    assert clock.clock_status().assets[0].scenario == "calm"


def test_a_scenario_for_an_unknown_symbol_is_refused() -> None:
    with pytest.raises(clock.ClockError, match="unknown symbol"):
        clock.apply_scenario(name="calm", symbol="DOGE")


def test_clock_status_prints_the_state_the_speed_and_each_assets_last_seq(capsys) -> None:  # type: ignore[no-untyped-def]
    Ticker("TCSG").ticks(2)
    call_command("clock", "speed", "2.5")
    call_command("clock", "status")
    out = capsys.readouterr().out.splitlines()
    assert out[-4].startswith("clock: running, speed 2.5")
    assert out[-2].split()[:3] == ["TCSG", "seq", "2"]
    with pytest.raises(CommandError, match="speed"):
        call_command("clock", "speed", "0")


def test_scenario_list_has_a_line_each(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("scenario", "--list")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "default", "calm", "volatile", "trend-up", "trend-down", "crash", "flash-crash",
    ]  # fmt: skip
    with pytest.raises(CommandError, match="unknown scenario"):
        call_command("scenario", "meltdown")


def test_a_wrong_step_mode_or_scenario_fails_the_system_checks(settings) -> None:  # type: ignore[no-untyped-def]
    from sources.checks import check_walk_settings

    assert check_walk_settings() == []
    settings.EXCHANGE_STEP_MODE = "relatve"
    settings.EXCHANGE_SCENARIO = "crahs"
    assert [problem.id for problem in check_walk_settings()] == ["sources.E001", "sources.E002"]
