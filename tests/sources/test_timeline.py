"""Market time: wall time scaled by the speed, standing still while paused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sources.timeline import ClockSegment, market_elapsed

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_it_runs_at_the_speed_and_stands_still_while_paused() -> None:
    assert ClockSegment(at(0), 100.0, True, 3.0).market_at(at(2)) == 106.0
    assert ClockSegment(at(0), 100.0, False, 3.0).market_at(at(50)) == 100.0


def test_a_price_from_before_a_pause_does_not_age_while_paused() -> None:
    running = ClockSegment(at(0), 0.0, True, 1.0)
    paused = ClockSegment(at(10), 10.0, False, 1.0)
    # Ticked at 8 s, paused at 10 s: 2 s old, at 10 s as at an hour later.
    assert market_elapsed(at(8), at(3600), current=paused, earlier=running) == 2.0


def test_age_counts_each_stretch_at_its_own_speed() -> None:
    slow = ClockSegment(at(0), 0.0, True, 1.0)
    fast = ClockSegment(at(10), 10.0, True, 10.0)
    assert market_elapsed(at(9), at(11), current=fast, earlier=slow) == 11.0
    assert market_elapsed(at(10.5), at(11), current=fast, earlier=slow) == 5.0


def test_without_history_it_counts_earlier_time_as_wall_time() -> None:
    paused = ClockSegment(at(10), 50.0, False, 2.0)
    assert market_elapsed(at(7), at(20), current=paused, earlier=None) == 3.0


def test_a_tick_stamped_just_after_now_is_not_negative() -> None:
    running = ClockSegment(at(0), 0.0, True, 1.0)
    assert market_elapsed(at(5), at(4), current=running, earlier=None) == 0.0
