"""State changes of a source: resume its walk, emit the next tick when the clock lets it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from sources.catalog import SourceSpec
from sources.clock import current_clock, locked_clock, record_change, scenario_of
from sources.events import publish_tick
from sources.models import AssetScenario, Clock, SourceState
from sources.scenarios import DEFAULT, scenario_named
from sources.ticks import Tick, format_ts
from sources.walk import RandomWalk, WalkParams


def resume_walk(*, spec: SourceSpec, seed: str | int | None) -> tuple[RandomWalk, int]:
    """The walk and last ``seq`` of a source, continued from its stored state.

    A restarted source goes on with the next ``seq`` and the exact path the
    seed fixes, instead of starting over at 1.
    """
    walk = spec.new_walk(seed)
    state = SourceState.objects.filter(symbol=spec.symbol).first()
    if state is None:
        return walk, 0
    walk.restore(state.walk)
    return walk, state.seq


@dataclass(frozen=True)
class ClockView:
    """What one asset's ticker sees of the clock: whether it may tick, how fast, under which scenario."""

    state: str
    speed: float
    scenario: str
    step_until: int | None

    def may_tick(self, seq: int) -> bool:
        """Whether the tick after ``seq`` may happen now."""
        if self.state == Clock.RUNNING:
            return True
        return self.state == Clock.STEPPING and self.step_until is not None and seq < self.step_until

    def announced(self) -> tuple[str, float, str]:
        """What a ``clock`` event tells, so a ticker announces each change once."""
        return (self.state, self.speed, self.scenario)

    def to_json(self, *, symbol: str, seq: int, now: datetime | None = None) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "state": self.state,
            "speed": self.speed,
            "scenario": self.scenario,
            "seq": seq,
            "ts": format_ts(now or timezone.now()),
        }


# What a ticker assumes was announced before it starts: a clock never touched.
UNTOUCHED = ClockView(state=Clock.RUNNING, speed=1.0, scenario=DEFAULT, step_until=None)


def clock_view(symbol: str) -> ClockView:
    """The clock as ``symbol``'s ticker sees it now (without locking anything)."""
    return _view(symbol, current_clock(), scenario_of(symbol))


def _view(symbol: str, clock: Clock, scenario: AssetScenario | None) -> ClockView:
    return ClockView(
        state=clock.state,
        speed=clock.speed,
        scenario=scenario.name if scenario is not None else DEFAULT,
        step_until=clock.step_until.get(symbol) if clock.state == Clock.STEPPING else None,
    )


@dataclass(frozen=True)
class Emitted:
    """What ``emit_tick`` did: the tick (None when the clock held the asset) and the clock it saw."""

    tick: Tick | None
    view: ClockView


def emit_tick(*, symbol: str, walk: RandomWalk, seq: int, now: datetime | None = None) -> Emitted:
    """Advance ``walk`` one step, publish tick ``seq + 1`` and remember it, if the clock lets it.

    One transaction holds the clock's row from the check to the commit, so no
    tick slips past a pause, and the tick that completes a step pauses the
    clock. The asset's scenario (if any) sets the step's parameters from its
    first tick on. No tick when the clock holds the asset (paused, or its step done).
    """
    with transaction.atomic():
        clock = locked_clock()
        scenario = scenario_of(symbol)
        view = _view(symbol, clock, scenario)
        if not view.may_tick(seq):
            return Emitted(None, view)
        params = _scenario_params(scenario, seq)
        tick = Tick(symbol=symbol, price=walk.step(params), seq=seq + 1, ts=now or timezone.now())
        publish_tick(tick.to_json())
        state = walk.snapshot()
        saved = SourceState.objects.filter(symbol=symbol).update(seq=tick.seq, walk=state, updated_at=tick.ts)
        if not saved:
            SourceState.objects.create(symbol=symbol, seq=tick.seq, walk=state)
        if clock.state == Clock.STEPPING and _step_done(clock.step_until):
            record_change(clock, action="step done", state=Clock.PAUSED, step_until={})
            view = _view(symbol, clock, scenario)
    return Emitted(tick, view)


def _scenario_params(scenario: AssetScenario | None, seq: int) -> WalkParams | None:
    if scenario is None:
        return None
    if scenario.start_seq is None:
        # This tick is the scenario's first.
        scenario.start_seq = seq
        scenario.save(update_fields=["start_seq"])
    return scenario_named(scenario.name).params_at(seq - scenario.start_seq)


def _step_done(targets: dict[str, int]) -> bool:
    seqs = dict(SourceState.objects.filter(symbol__in=targets).values_list("symbol", "seq"))
    return all(seqs.get(symbol, 0) >= target for symbol, target in targets.items())
