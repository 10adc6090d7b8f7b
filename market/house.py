"""The house: the exchange's own account, market maker and issuer of every account's starting cash."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from market.models import Account

HOUSE_NAME = "exchange"


def house_account() -> Account:
    """The exchange's own account: its quote is the other side of every order that takes it."""
    house = Account.objects.filter(is_house=True).first()
    if house is not None:
        return house
    try:
        with transaction.atomic():
            return Account.objects.create(name=HOUSE_NAME, cash=Decimal("0.00"), is_house=True)
    except IntegrityError:
        return Account.objects.get(is_house=True)
