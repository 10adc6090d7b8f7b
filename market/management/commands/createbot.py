"""``manage.py createbot NAME``: open an account (or rotate its token) and print the new token."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from market.errors import PersonsAccount
from market.local_tokens import keep_token
from market.models import Account
from market.services import issue_token, revoke_token


def money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value < 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Create a trading account named NAME and print a new API token as the last word. "
        "Running it again for an existing name rotates the token: the old one stops working at once, "
        "and so does any bot running with it. A person's account (dashboard sign-up) is refused. "
        "--revoke disables the token without issuing a new one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="account name: letters, digits, '_', '.' or '-'")
        parser.add_argument(
            "--cash",
            type=money,
            default=None,
            help="starting cash of a new account (default: EXCHANGE_STARTING_CASH)",
        )
        parser.add_argument("--revoke", action="store_true", help="disable the account's token; issue none")

    def handle(self, *args: Any, name: str, cash: Decimal | None, revoke: bool, **options: Any) -> None:
        if revoke:
            if not revoke_token(name=name):
                raise CommandError(f"{name} has no token to revoke")
            self.stdout.write(f"revoked the token of {name}; it no longer works")
            return
        existed = Account.objects.filter(name=name).exists()
        try:
            token = issue_token(name=name, cash=cash)
        except PersonsAccount as exc:
            raise CommandError(
                f"{name!r} is a person's account (signed up on the dashboard); bots never get its token"
            ) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # Kept for `runbot NAME` on this machine, which then reuses it instead of rotating it.
        keep_token(name=name, token=token)
        if existed:
            self.stderr.write(
                f"{name} already exists: rotating its token. The old token stops working now, "
                "and any bot running with it will stop (unauthorized)."
            )
            if cash is not None:
                self.stderr.write(f"--cash applies only to a new account and was ignored for {name}.")
        what = "rotated the token of" if existed else "created account"
        self.stdout.write(f"{what} {name}; the token is shown once, keep it: {token}")
