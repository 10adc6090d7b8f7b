"""First-stage trades become fills between the account and the house, each with its filled market order.

A first-stage trade was a market order of ``account`` against the house: the
account was the taker on ``side``. Its idempotency key now names that order.
Trades are append-only (0003's trigger), so the trigger is lifted for this
one conversion and put back by 0006.
"""

from decimal import Decimal

from django.db import migrations

from market.migrations._append_only import drop_trigger


def forward(apps, schema_editor):
    drop_trigger(schema_editor)
    Account = apps.get_model("market", "Account")
    Order = apps.get_model("market", "Order")
    Trade = apps.get_model("market", "Trade")
    IdempotencyKey = apps.get_model("market", "IdempotencyKey")
    house = Account.objects.filter(is_house=True).first()
    for trade in Trade.objects.order_by("id").iterator():
        order = Order.objects.create(
            account_id=trade.account_id,
            symbol=trade.symbol,
            side=trade.side,
            type="market",
            quantity=trade.quantity,
            time_in_force="gtc",
            status="filled",
            filled_quantity=trade.quantity,
            notional=trade.notional,
            fees=Decimal("0.00"),
            created_at=trade.ts,
            updated_at=trade.ts,
        )
        buying = trade.side == "buy"
        Trade.objects.filter(pk=trade.pk).update(
            buyer_id=trade.account_id if buying else house.pk,
            seller_id=house.pk if buying else trade.account_id,
            taker_side=trade.side,
            buy_order=order if buying else None,
            sell_order=None if buying else order,
        )
        IdempotencyKey.objects.filter(trade_id=trade.pk).update(order=order)


class Migration(migrations.Migration):
    dependencies = [("market", "0004_book_schema")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
