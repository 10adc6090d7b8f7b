"""``manage.py scenario NAME [--symbol S]`` and ``scenario --list``: market regimes on demand.

A scenario takes effect at each asset's next tick and follows the asset's
seeded walk, so the same seed and the same starting seq give the same prices.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources import clock
from sources.management.commands.clock import render_status
from sources.scenarios import SCENARIOS, UnknownScenario


class Command(BaseCommand):
    help = "Apply a market scenario to every asset or to one (--symbol); --list shows them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the scenario (see --list); `default` ends one")
        parser.add_argument("--symbol", help="only this asset (default: every asset)")
        parser.add_argument("--list", action="store_true", help="list the scenarios, one a line")

    def handle(self, *args: Any, name: str | None, symbol: str | None, list: bool, **options: Any) -> None:
        if list:
            width = max(len(known) for known in SCENARIOS)
            for scenario in SCENARIOS.values():
                self.stdout.write(f"{scenario.name:<{width}}  {scenario.summary}")
            return
        if not name:
            raise CommandError("name a scenario, or --list them")
        try:
            status = clock.apply_scenario(name=name, symbol=symbol)
        except (UnknownScenario, clock.ClockError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{name} from the next tick of {symbol or 'every asset'}")
        self.stdout.write(render_status(status))
