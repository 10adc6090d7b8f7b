"""``manage.py clock status|pause|resume|step N|speed X``: the market clock every process obeys.

Each change is saved in the database; the tickers of whichever process ticks
(the server, or ``runengine``) obey it at their next tick and announce it on
the market stream as ``clock`` events.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources import clock


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def speed_value(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = "Show or change the market clock: status, pause, resume, step N (ticks per asset), speed X."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("status", help="the state, the speed, and each asset's last seq and scenario")
        actions.add_parser("pause", help="no ticks; orders still fill at the frozen prices")
        actions.add_parser("resume", help="tick again at the current speed")
        step = actions.add_parser("step", help="exactly N more ticks per asset, then paused")
        step.add_argument("ticks", type=positive_int, metavar="N")
        speed = actions.add_parser("speed", help="tick X times as often as EXCHANGE_TICK_INTERVAL")
        speed.add_argument("speed", type=speed_value, metavar="X")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "pause":
                status = clock.pause_clock()
            elif action == "resume":
                status = clock.resume_clock()
            elif action == "step":
                status = clock.step_clock(ticks=options["ticks"])
            elif action == "speed":
                status = clock.set_clock_speed(speed=options["speed"])
            else:
                status = clock.clock_status()
        except clock.ClockError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render_status(status))


def render_status(status: clock.ClockStatus) -> str:
    """``clock: paused, speed 2`` then one line per asset: ``BTC  seq 41  scenario crash``."""
    lines = [f"clock: {status.state}, speed {status.speed:g} (version {status.version})"]
    for asset in status.assets:
        line = f"{asset.symbol:<6} seq {asset.seq:<8} scenario {asset.scenario}"
        if asset.step_until is not None:
            line += f"  stepping to seq {asset.step_until}"
        lines.append(line)
    return "\n".join(lines)
