"""``manage.py faults NAME --reject P ... --seed N`` / ``NAME --clear`` / ``--list``: injected faults."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from market.fault_injection import clear_faults, fault_rows, plan_of, set_faults
from market.faults import FaultPlan, InvalidFaultPlan
from market.models import Account


class Command(BaseCommand):
    help = (
        "Inject faults into one account's requests and streams, reproducibly from --seed; they take effect "
        "at its next request and leave every other account alone. Setting a plan replaces the earlier one "
        "(absent options: no such fault). Probabilities are per request, from 0 to 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the account (a bot's name)")
        parser.add_argument("--reject", type=float, default=0.0, metavar="P", help="503/429 with Retry-After")
        parser.add_argument("--delay-ms", type=int, default=0, metavar="D", help="every answer D ms late")
        parser.add_argument(
            "--lose-response",
            type=float,
            default=0.0,
            metavar="P",
            help="an order executes, its answer is lost",
        )
        parser.add_argument(
            "--partial", type=float, default=0.0, metavar="P", help="a market/ioc order fills only half"
        )
        parser.add_argument(
            "--stale", type=float, default=0.0, metavar="P", help="an order refused: no_price"
        )
        parser.add_argument(
            "--drop-stream-after", type=float, default=None, metavar="S", help="its streams are cut after S s"
        )
        parser.add_argument("--seed", type=int, default=0, metavar="N", help="the draws' seed (default 0)")
        parser.add_argument("--clear", action="store_true", help="end the account's faults")
        parser.add_argument("--list", action="store_true", help="every account's faults, one line each")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            rows = fault_rows()
            for row in rows:
                self.stdout.write(
                    f"{row.account.name}: {plan_of(row).describe()} ({row.requests} requests seen)"
                )
            if not rows:
                self.stdout.write("no account has faults")
            return
        name = options["name"]
        if not name:
            raise CommandError("name the account (or use --list)")
        account = Account.objects.filter(name=name, is_house=False).first()
        if account is None:
            raise CommandError(f"there is no account named {name!r}")
        if options["clear"]:
            cleared = clear_faults(account=account)
            self.stdout.write(f"{name}: faults cleared" if cleared else f"{name}: had no faults")
            return
        try:
            plan = FaultPlan(
                reject=options["reject"],
                delay_ms=options["delay_ms"],
                lose_response=options["lose_response"],
                partial=options["partial"],
                stale=options["stale"],
                drop_stream_after=options["drop_stream_after"],
                seed=options["seed"],
            )
        except InvalidFaultPlan as exc:
            raise CommandError(str(exc)) from exc
        set_faults(account=account, plan=plan)
        self.stdout.write(f"{name}: {plan.describe()}, from its next request")
