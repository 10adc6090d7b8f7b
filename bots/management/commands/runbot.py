"""``manage.py runbot STRATEGY``: run a trading bot against an exchange until Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter

from bots.client import ExchangeClient, OrderRefused
from bots.runner import ExchangeUnavailable, Runner, stop_on_signals
from bots.strategies import STRATEGIES, UnknownStrategy, build_strategy, strategy_label
from exchange_site.env import env_str
from streams.client import StreamError

logger = logging.getLogger("bots.runbot")


def parse_symbols(raw: str) -> list[str]:
    symbols = [part.strip() for part in raw.split(",") if part.strip()]
    if not symbols:
        raise CommandError(f"no symbols in {raw!r}; expected a list such as BTC,META")
    return list(dict.fromkeys(symbols))


def strategies_help() -> str:
    lines = [f"  {name:<13} {cls.summary}" for name, cls in STRATEGIES.items()]
    return (
        "built-in strategies:\n"
        + "\n".join(lines)
        + "\n  or a class of your own: some.module:MyStrategy (a bots.strategies.Strategy subclass)"
        + "\n\nenvironment: EXCHANGE_URL, EXCHANGE_TOKEN, INTERESTED_IN (e.g. BTC,META), PORT"
    )


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the strategy list kept as written."""


class Command(BaseCommand):
    help = (
        "Run a trading bot: follow the market stream, let a strategy decide, place its orders.\n"
        "Without --url/--token it trades on the local server under an account named after\n"
        "the strategy (created if missing), reusing the token kept for it in .exchange/tokens/\n"
        "so a running bot of that account keeps working."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = strategies_help()
        parser.formatter_class = HelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("strategy", help=f"{' | '.join(STRATEGIES)} | some.module:MyStrategy")
        parser.add_argument(
            "--symbols", help="assets to follow, e.g. BTC,META (default: $INTERESTED_IN, else all)"
        )
        parser.add_argument("--quantity", type=int, default=1, help="lot size of each buy (default 1)")
        parser.add_argument(
            "--url", help="the exchange's base URL (default: $EXCHANGE_URL, else http://127.0.0.1:$PORT)"
        )
        parser.add_argument(
            "--token",
            help="API token (default: $EXCHANGE_TOKEN, else the token kept locally for the account, "
            "else provision one)",
        )
        parser.add_argument("--name", help="account name when provisioning (default: the strategy's name)")
        parser.add_argument(
            "--wait",
            type=float,
            default=60.0,
            help="seconds to wait for the exchange to come up (default 60)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            strategy = build_strategy(options["strategy"], quantity=options["quantity"])
        except (UnknownStrategy, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        label = options["name"] or strategy_label(options["strategy"])
        raw_symbols = options["symbols"] or env_str("INTERESTED_IN")
        symbols = parse_symbols(raw_symbols) if raw_symbols else None
        url = (
            options["url"] or env_str("EXCHANGE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"
        )
        token = options["token"] or env_str("EXCHANGE_TOKEN") or self.provision(label)
        runner = Runner(
            strategy=strategy,
            exchange=ExchangeClient(url, token),
            symbols=symbols,
            name=label,
            wait_for_exchange=options["wait"],
        )
        with stop_on_signals(runner):
            try:
                runner.run()
            except ExchangeUnavailable as exc:
                raise CommandError(f"{url}: {exc}") from exc
            except OrderRefused as exc:
                raise CommandError(f"{url} refused us: {exc} (check --token / EXCHANGE_TOKEN)") from exc
            except StreamError as exc:
                raise CommandError(f"the market stream refused us: {exc}") from exc

    def provision(self, name: str) -> str:
        """The token of bot account ``name`` in this project's database, never rotating one in use.

        Reuses the token kept on this machine (see ``market.local_tokens``) so
        a second ``runbot NAME`` does not stop the first; opens the account
        and issues a token when there is none.
        """
        # Imported here: only a bot without a token touches the database.
        from market.errors import AccountInUse, PersonsAccount
        from market.local_tokens import bot_token

        try:
            token, issued = bot_token(name=name)
        except PersonsAccount as exc:
            raise CommandError(
                f"{name!r} is a person's account (signed up on the dashboard), not a bot's: "
                "choose another --name, or pass that person's --token"
            ) from exc
        except AccountInUse as exc:
            raise CommandError(
                f"account {name!r} is in use: it has a token that this machine does not keep "
                f"(from createbot, or another machine). Pass it with --token or EXCHANGE_TOKEN, "
                f"choose another --name, or run `manage.py createbot {name}` to rotate it "
                "(bots running with the old token stop)"
            ) from exc
        except ValueError as exc:
            raise CommandError(f"cannot provision an account named {name!r}: {exc}") from exc
        if issued:
            logger.info("%s: provisioned a token for account %r in the local database", name, name)
        else:
            logger.info("%s: reusing the token kept for account %r", name, name)
        return token
