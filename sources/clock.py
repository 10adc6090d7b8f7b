"""The market clock: its state in the database, the operator's changes to it, and market time.

Every process reads the one ``Clock`` row, so a ``clock pause`` from a
management command stops the tickers of ``runengine`` as it stops those of
the serving process. Changes lock the row; each tick locks it too (see
``sources.services.emit_tick``), so once ``pause_clock`` returns no tick
starts, and ``step_clock(ticks=N)`` gives exactly N ticks per asset.
Scenarios are applied here too, under the same lock, so that a scenario
starts exactly at an asset's next tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sources.catalog import symbols as all_symbols
from sources.models import AssetScenario, Clock, ClockChange, SourceState
from sources.scenarios import DEFAULT, scenario_named
from sources.ticks import format_ts
from sources.timeline import ClockSegment, market_elapsed

# Ticks X times as often as EXCHANGE_TICK_INTERVAL, for X up to this.
MAX_SPEED = 100.0
# The most ticks one step asks for (per asset).
MAX_STEP = 1_000_000


class ClockError(ValueError):
    """A clock change that cannot be made (a speed out of range, a step of no ticks, an unknown symbol)."""


@dataclass(frozen=True)
class AssetClock:
    """One asset as the clock sees it: its last tick, its scenario, and where a step stops it."""

    symbol: str
    seq: int
    scenario: str
    scenario_since: int | None
    step_until: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "seq": self.seq,
            "scenario": self.scenario,
            "scenario_since": self.scenario_since,
            "step_until": self.step_until,
        }


@dataclass(frozen=True)
class ClockStatus:
    """The clock's state, speed and version, and every asset's."""

    state: str
    speed: float
    version: int
    changed_at: datetime
    assets: list[AssetClock]

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "speed": self.speed,
            "version": self.version,
            "changed_at": format_ts(self.changed_at),
            "assets": [asset.to_json() for asset in self.assets],
        }


def segment_of(row: Clock | ClockChange) -> ClockSegment:
    return ClockSegment(
        at=row.changed_at if isinstance(row, Clock) else row.at,
        market=row.market_seconds,
        running=row.state != Clock.PAUSED,
        speed=row.speed,
    )


def current_clock() -> Clock:
    """The clock row (created running at speed 1 if the database has none yet)."""
    row = Clock.objects.filter(pk=1).first()
    return row if row is not None else _create_clock()


def locked_clock() -> Clock:
    """The clock row, locked until the current transaction ends (call it inside ``atomic``)."""
    row = Clock.objects.select_for_update().filter(pk=1).first()
    if row is None:
        _create_clock()
        row = Clock.objects.select_for_update().get(pk=1)
    return row


def _create_clock() -> Clock:
    try:
        with transaction.atomic():
            return Clock.objects.create(pk=1, changed_at=timezone.now())
    except IntegrityError:  # another process created it first
        return Clock.objects.get(pk=1)


def record_change(
    clock: Clock,
    *,
    action: str,
    state: str | None = None,
    speed: float | None = None,
    step_until: dict[str, int] | None = None,
    now: datetime | None = None,
) -> None:
    """Save a change of the locked ``clock``: market time carries on from where it stood."""
    now = now or timezone.now()
    clock.market_seconds = segment_of(clock).market_at(now)
    clock.changed_at = now
    clock.state = state or clock.state
    clock.speed = speed or clock.speed
    if step_until is not None:
        clock.step_until = step_until
    clock.version += 1
    clock.save()
    ClockChange.objects.create(
        at=now, market_seconds=clock.market_seconds, state=clock.state, speed=clock.speed, action=action
    )


def pause_clock() -> ClockStatus:
    """No source ticks until ``resume_clock`` or ``step_clock``; orders still fill at the frozen prices."""
    with transaction.atomic():
        clock = locked_clock()
        if clock.state != Clock.PAUSED:
            record_change(clock, action="pause", state=Clock.PAUSED, step_until={})
    return clock_status()


def resume_clock() -> ClockStatus:
    with transaction.atomic():
        clock = locked_clock()
        if clock.state != Clock.RUNNING:
            record_change(clock, action="resume", state=Clock.RUNNING, step_until={})
    return clock_status()


def step_clock(*, ticks: int) -> ClockStatus:
    """Exactly ``ticks`` more ticks per asset (counted from each one's last seq now), then paused."""
    if not 1 <= ticks <= MAX_STEP:
        raise ClockError(f"a step is 1 to {MAX_STEP} ticks, not {ticks}")
    with transaction.atomic():
        clock = locked_clock()
        seqs = _last_seqs()
        targets = {symbol: seqs.get(symbol, 0) + ticks for symbol in all_symbols()}
        record_change(clock, action=f"step {ticks}", state=Clock.STEPPING, step_until=targets)
    return clock_status()


def set_clock_speed(*, speed: float) -> ClockStatus:
    """Ticks ``speed`` times as often as ``EXCHANGE_TICK_INTERVAL`` (paused stays paused)."""
    if not 0 < speed <= MAX_SPEED:  # also refuses NaN
        raise ClockError(f"the speed is above 0 and at most {MAX_SPEED:g}, not {speed}")
    with transaction.atomic():
        clock = locked_clock()
        if clock.speed != speed:
            record_change(clock, action=f"speed {speed:g}", speed=speed)
    return clock_status()


def apply_scenario(*, name: str, symbol: str | None = None) -> ClockStatus:
    """``name`` for one asset or for all, from each one's next tick (``default`` ends a scenario)."""
    scenario_named(name)  # raises UnknownScenario
    known = all_symbols()
    if symbol is not None and symbol not in known:
        raise ClockError(f"unknown symbol {symbol!r}; known: {', '.join(known)}")
    targets = [symbol] if symbol else known
    with transaction.atomic():
        clock = locked_clock()
        now = timezone.now()
        for target in targets:
            AssetScenario.objects.update_or_create(
                symbol=target, defaults={"name": name, "start_seq": None, "applied_at": now}
            )
        record_change(clock, action=f"scenario {name} {','.join(targets)}", now=now)
    return clock_status()


def start_scenario(*, symbol: str, name: str) -> bool:
    """At start-up (``EXCHANGE_SCENARIO``): apply ``name`` unless the asset already follows it."""
    if not name:
        return False
    scenario_named(name)
    current = AssetScenario.objects.filter(symbol=symbol).values_list("name", flat=True).first()
    if current == name:
        return False
    apply_scenario(name=name, symbol=symbol)
    return True


def scenario_of(symbol: str) -> AssetScenario | None:
    return AssetScenario.objects.filter(symbol=symbol).first()


def clock_status() -> ClockStatus:
    clock = current_clock()
    seqs = _last_seqs()
    scenarios = {row.symbol: row for row in AssetScenario.objects.all()}
    stepping = clock.state == Clock.STEPPING
    return ClockStatus(
        state=clock.state,
        speed=clock.speed,
        version=clock.version,
        changed_at=clock.changed_at,
        assets=[
            AssetClock(
                symbol=symbol,
                seq=seqs.get(symbol, 0),
                scenario=scenarios[symbol].name if symbol in scenarios else DEFAULT,
                scenario_since=scenarios[symbol].start_seq if symbol in scenarios else None,
                step_until=clock.step_until.get(symbol) if stepping else None,
            )
            for symbol in all_symbols()
        ],
    )


def _last_seqs() -> dict[str, int]:
    return dict(SourceState.objects.values_list("symbol", "seq"))


def read_clock_row() -> Clock | None:
    """The clock's one row, or None before it was ever set.

    A raw query: every order and every health check reads it, and compiling
    the ORM's query cost more than running it (benchmarks/hot_paths.py).
    """
    rows = list(Clock.objects.raw(f"SELECT * FROM {Clock._meta.db_table} WHERE id = %s", [1]))  # noqa: S608  (no user input)
    # Read to the end, so the cursor is closed now rather than when it is collected.
    return rows[0] if rows else None


def market_age(ts: datetime, *, now: datetime | None = None, clock: Clock | bool | None = True) -> timedelta:
    """How much market time has passed since ``ts`` (a tick's wall time): the age of a price.

    It stands still while the clock is paused and runs ``speed`` times as
    fast as wall time, so a frozen price never goes stale, and at speed 10 a
    price is as stale after 1.5 s as it is after 15 s at speed 1. ``clock``
    is the clock's row when the caller has read it already (``None``: there is
    none); by default it is read here.
    """
    now = now or timezone.now()
    if clock is True:
        clock = read_clock_row()
    if clock is None or clock is False:
        return now - ts
    earlier = None
    if ts < clock.changed_at:
        change = ClockChange.objects.filter(at__lte=ts).order_by("-at", "-id").first()
        earlier = segment_of(change) if change is not None else None
    return timedelta(seconds=market_elapsed(ts, now, current=segment_of(clock), earlier=earlier))
