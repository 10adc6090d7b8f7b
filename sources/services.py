"""State changes of a source: resume its walk, emit the next tick."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from sources.catalog import SourceSpec
from sources.events import publish_tick
from sources.models import SourceState
from sources.ticks import Tick
from sources.walk import RandomWalk


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


def emit_tick(*, symbol: str, walk: RandomWalk, seq: int, now: datetime | None = None) -> Tick:
    """Advance ``walk`` one step, publish tick ``seq + 1`` and remember it.

    The tick is published (and stored for resuming clients) before the state is
    saved: a crash in between re-emits the same ``seq`` with the same price on
    restart, which consumers drop as a duplicate, rather than skipping a seq.
    """
    tick = Tick(symbol=symbol, price=walk.step(), seq=seq + 1, ts=now or timezone.now())
    publish_tick(tick.to_json())
    SourceState.objects.update_or_create(symbol=symbol, defaults={"seq": tick.seq, "walk": walk.snapshot()})
    return tick
