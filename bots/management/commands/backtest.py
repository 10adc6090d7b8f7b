"""``manage.py backtest STRATEGY... [--ticks N] [--seeds 1-50]``: strategies over seeded walks, offline."""

from __future__ import annotations

import gc
import json
import sys
from functools import partial
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from bots.backtest import VenueSettings, parse_seeds, run_backtest
from bots.metrics import render_table, summarize
from bots.replay import SessionError, compare, read_session, replay, replay_ticks
from bots.strategies import STRATEGIES, UnknownStrategy, load_strategy
from sources.catalog import source_specs
from sources.scenarios import DEFAULT, SCENARIOS, scenario_named


class Command(BaseCommand):
    help = (
        "Replay the sources' random walk offline for each seed and trade it with each strategy, "
        "filling orders by the exchange's rules from the exchange's starting cash. Prints P&L per "
        f"strategy (built in: {', '.join(STRATEGIES)}; or some.module:MyStrategy)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("strategies", nargs="+", metavar="STRATEGY")
        parser.add_argument("--ticks", type=int, default=1000, help="ticks per asset and seed (default 1000)")
        parser.add_argument("--seeds", default="1-50", help="e.g. 1-50, 3,7,9 or 1-3,10 (default 1-50)")
        parser.add_argument("--symbols", help="assets to trade, e.g. BTC,META (default all)")
        parser.add_argument("--quantity", type=int, default=1, help="lot size of each buy (default 1)")
        parser.add_argument(
            "--spread-bps", type=int, help="the house's spread (default: EXCHANGE_SPREAD_BPS)"
        )
        parser.add_argument(
            "--house-depth",
            type=int,
            help="units the house offers per side per tick, 0 = unlimited (default: EXCHANGE_HOUSE_DEPTH)",
        )
        parser.add_argument("--maker-fee-bps", type=int, help="default: EXCHANGE_MAKER_FEE_BPS")
        parser.add_argument("--taker-fee-bps", type=int, help="default: EXCHANGE_TAKER_FEE_BPS")
        parser.add_argument(
            "--scenario",
            default=DEFAULT,
            help=f"move the walk by a scenario from its first tick: {', '.join(SCENARIOS)} "
            "(default: the configured walk; `manage.py scenario --list` describes each)",
        )
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object per line, one per run, instead"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument(
            "--replay", metavar="FILE", help="replay the prices of a session file (`session export`) instead"
        )
        parser.add_argument(
            "--compare",
            metavar="ACCOUNT",
            help="with --replay: where the live ACCOUNT and the replay part ways",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["ticks"] < 1:
            raise CommandError("--ticks must be at least 1")
        if options["quantity"] < 1:
            raise CommandError("--quantity must be at least 1")
        if options["replay"]:
            if options["scenario"] != DEFAULT:
                raise CommandError("--scenario moves a seeded walk; a --replay has its recorded prices")
            self.replay(options)
            return
        if options["compare"]:
            raise CommandError("--compare needs --replay FILE")
        try:
            seeds = parse_seeds(options["seeds"])
            classes = {name: load_strategy(name) for name in dict.fromkeys(options["strategies"])}
            scenario = scenario_named(options["scenario"])
        except (UnknownStrategy, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        specs = source_specs()
        if options["symbols"]:
            wanted = [part.strip() for part in options["symbols"].split(",") if part.strip()]
            unknown = [symbol for symbol in wanted if symbol not in specs]
            if unknown or not wanted:
                raise CommandError(f"unknown symbols {', '.join(unknown)}; known: {', '.join(specs)}")
            specs = {symbol: specs[symbol] for symbol in dict.fromkeys(wanted)}
        venue = venue_settings(options)
        quiet = options["no_progress"] or not sys.stderr.isatty()
        # What is alive now (Django, the settings, every module) lives as long as the process:
        # frozen, it is not rescanned by every full collection the runs' objects set off.
        gc.freeze()
        try:
            with tqdm(
                total=len(seeds) * len(classes), unit="run", disable=quiet, file=sys.stderr, leave=False
            ) as bar:
                results = run_backtest(
                    strategies={
                        name: partial(cls, quantity=options["quantity"]) for name, cls in classes.items()
                    },
                    walks={symbol: spec.new_walk for symbol, spec in specs.items()},
                    seeds=seeds,
                    ticks=options["ticks"],
                    cash=settings.EXCHANGE_STARTING_CASH,
                    venue_settings=venue,
                    scenario=scenario,
                    progress=bar.update,
                )
        finally:
            gc.unfreeze()
        if options["json"]:
            # One JSON object per line, one per run (JSON Lines): easy to stream, grep and append.
            for result in results:
                self.stdout.write(json.dumps(result.to_json()))
            return
        self.stdout.write(
            f"{len(seeds)} seeds x {options['ticks']} ticks of {', '.join(specs)}"
            f"{'' if scenario.name == DEFAULT else f' under the scenario {scenario.name}'}, "
            f"lot {options['quantity']}, starting cash {settings.EXCHANGE_STARTING_CASH}; "
            f"spread {venue.spread_bps} bps, house depth {venue.house_depth or 'unlimited'}, "
            f"fees {venue.maker_fee_bps}/{venue.taker_fee_bps} bps maker/taker"
        )
        self.stdout.write(render_table(summarize(results)))

    def replay(self, options: dict[str, Any]) -> None:
        """``--replay FILE [--compare ACCOUNT]``: one strategy over a recorded session (bots/replay.py)."""
        names = list(dict.fromkeys(options["strategies"]))
        if len(names) != 1:
            raise CommandError("--replay takes one strategy")
        try:
            cls = load_strategy(names[0])
            with open(options["replay"], encoding="utf-8") as lines:
                session = read_session(lines)
        except (UnknownStrategy, SessionError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        account = options["compare"]
        wanted = options["symbols"]
        symbols = [part.strip() for part in wanted.split(",") if part.strip()] if wanted else None
        ticks = replay_ticks(session, account=account, symbols=symbols)
        result = replay(cls(quantity=options["quantity"]), ticks, session, name=names[0])
        if account is None:
            run = result.result
            self.stdout.write(
                json.dumps(run.to_json()) if options["json"] else render_table(summarize([run]))
            )
            return
        comparison = compare(session, account, result)
        for line in comparison.lines(account, names[0]):
            self.stdout.write(line)


def venue_settings(options: dict[str, Any]) -> VenueSettings:
    """The venue of the exchange's settings, with any flag given instead."""

    def pick(flag: str, setting: int | None) -> int | None:
        value = options.get(flag)
        if value is None:
            return setting
        if value < 0:
            raise CommandError(f"--{flag.replace('_', '-')} must be at least 0")
        return int(value)

    depth = pick("house_depth", settings.EXCHANGE_HOUSE_DEPTH)
    return VenueSettings(
        spread_bps=pick("spread_bps", settings.EXCHANGE_SPREAD_BPS) or 0,
        house_depth=depth or None,
        maker_fee_bps=pick("maker_fee_bps", settings.EXCHANGE_MAKER_FEE_BPS) or 0,
        taker_fee_bps=pick("taker_fee_bps", settings.EXCHANGE_TAKER_FEE_BPS) or 0,
        max_open_orders=settings.EXCHANGE_MAX_OPEN_ORDERS,
    )
