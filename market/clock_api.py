"""The clock over HTTP: ``/api/clock`` for everyone to read, ``/api/admin/clock`` for operators.

Views parse and call one service of ``sources.clock``; the tickers of every
process obey the change at their next tick and announce it on the market
stream (``clock`` events).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from market.operators import operator_refusal
from market.wire import ClockOut, clock_json
from sources import clock
from sources.scenarios import UnknownScenario
from web.errors import error_response

router = Router(tags=["clock"])


class ClockChangeIn(Schema):
    """A change of the clock: ``pause``, ``resume``, ``step`` (``ticks``) or ``speed`` (``speed``)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["pause", "resume", "step", "speed"]
    ticks: int | None = Field(None, ge=1, le=clock.MAX_STEP, description="`step`: ticks per asset")
    speed: float | None = Field(
        None, gt=0, le=clock.MAX_SPEED, description="`speed`: times the interval's rate"
    )


class ScenarioIn(Schema):
    """A scenario for one asset (``symbol``) or for all (no ``symbol``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(examples=["crash"])
    symbol: str | None = Field(None, examples=["META"])


class ClockErrorDetail(Schema):
    code: str = Field(examples=["forbidden"])
    message: str


class ClockErrorOut(Schema):
    """The one error format: ``forbidden`` (not an operator), ``invalid_clock``, ``unknown_scenario``."""

    error: ClockErrorDetail


@router.get(
    "/clock", response=ClockOut, summary="The market clock: state, speed, each asset's seq and scenario"
)
def read_clock(request: HttpRequest) -> dict[str, Any]:
    return clock_json(clock.clock_status())


@router.get(
    "/admin/clock",
    response={200: ClockOut, 403: ClockErrorOut},
    summary="The market clock, for an operator (staff session or EXCHANGE_OPERATOR_TOKEN)",
)
def admin_clock(request: HttpRequest) -> Any:
    return operator_refusal(request) or clock_json(clock.clock_status())


@router.post(
    "/admin/clock",
    response={200: ClockOut, 400: ClockErrorOut, 403: ClockErrorOut},
    summary="Pause, resume, step N ticks per asset, or set the speed",
    description="Every process's tickers obey it from their next tick; a `clock` event on the market stream "
    "announces it for each asset.",
)
def change_clock(request: HttpRequest, change: ClockChangeIn) -> Any:
    refusal = operator_refusal(request)
    if refusal is not None:
        return refusal
    try:
        if change.action == "pause":
            status = clock.pause_clock()
        elif change.action == "resume":
            status = clock.resume_clock()
        elif change.action == "step":
            status = clock.step_clock(ticks=_required(change.ticks, "ticks", "step"))
        else:
            status = clock.set_clock_speed(speed=_required(change.speed, "speed", "speed"))
    except clock.ClockError as exc:
        return error_response(400, "invalid_clock", str(exc))
    return clock_json(status)


@router.post(
    "/admin/scenario",
    response={200: ClockOut, 400: ClockErrorOut, 403: ClockErrorOut},
    summary="Apply a scenario to one asset or to all, from each one's next tick",
)
def change_scenario(request: HttpRequest, change: ScenarioIn) -> Any:
    refusal = operator_refusal(request)
    if refusal is not None:
        return refusal
    try:
        return clock_json(clock.apply_scenario(name=change.name, symbol=change.symbol))
    except UnknownScenario as exc:
        return error_response(400, "unknown_scenario", str(exc))
    except clock.ClockError as exc:
        return error_response(400, "unknown_symbol", str(exc))


def _required(value: Any, field: str, action: str) -> Any:
    if value is None:
        raise clock.ClockError(f"`{action}` needs `{field}`")
    return value
