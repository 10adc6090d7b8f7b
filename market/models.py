"""The market's data: latest prices and their history, and the ledger (accounts, positions, trades)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Price(models.Model):
    """The latest price of one asset, and the feed's cursor in its source stream.

    Keeping the cursor in the same row as the price it produced means the feed
    resumes exactly after the last tick it recorded, across restarts.
    """

    symbol = models.CharField(max_length=16, primary_key=True)
    price = models.DecimalField(max_digits=18, decimal_places=2)
    seq = models.PositiveBigIntegerField()
    ts = models.DateTimeField(help_text="When the source produced this price.")
    source_cursor = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(price__gt=0), name="price_positive")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price} (#{self.seq})"


class PricePoint(models.Model):
    """One recorded tick; trimmed to the most recent ``EXCHANGE_HISTORY_KEEP`` per asset."""

    symbol = models.CharField(max_length=16)
    price = models.DecimalField(max_digits=18, decimal_places=2)
    seq = models.PositiveBigIntegerField()
    ts = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["symbol", "seq"], name="price_point_unique_seq"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="price_point_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price} (#{self.seq})"


class Account(models.Model):
    """A trader's cash and identity; exactly one row is the house (the exchange itself).

    The house is the counterparty of every trade and the issuer of every
    account's starting cash, so its balances mirror everyone else's: over all
    accounts including the house, cash and every asset always sum to zero.
    Only the house may go negative.
    """

    name = models.CharField(max_length=64, unique=True)
    cash = models.DecimalField(max_digits=20, decimal_places=2)
    starting_cash = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    is_house = models.BooleanField(default=False, editable=False)
    # sha256 of the API token: tokens carry 256 random bits, so a fast hash is enough.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cash__gte=0) | models.Q(is_house=True), name="account_cash_not_negative"
            ),
            models.CheckConstraint(condition=models.Q(starting_cash__gte=0), name="account_starting_cash"),
            models.UniqueConstraint(fields=["is_house"], condition=models.Q(is_house=True), name="one_house"),
        ]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """How many units of one asset an account holds.

    ``is_house`` repeats the owner's flag because a check constraint cannot
    look across tables, and the house's positions are short by design.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="positions")
    symbol = models.CharField(max_length=16)
    quantity = models.BigIntegerField(default=0)
    is_house = models.BooleanField(default=False, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique_symbol"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0) | models.Q(is_house=True),
                name="position_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.quantity} {self.symbol}"


class Trade(models.Model):
    """One executed market order against the house. Append-only: never updated or deleted."""

    BUY = "buy"
    SELL = "sell"
    SIDE_CHOICES = [(BUY, "buy"), (SELL, "sell")]

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="trades")
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=SIDE_CHOICES)
    quantity = models.PositiveBigIntegerField()
    price = models.DecimalField(max_digits=18, decimal_places=2)
    notional = models.DecimalField(max_digits=20, decimal_places=2, help_text="quantity times price")
    ts = models.DateTimeField(default=timezone.now)

    # Not stored: ``place_order`` sets it when it returns an earlier trade for a repeated key.
    replayed: bool = False

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="trade_quantity_positive"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="trade_price_positive"),
            models.CheckConstraint(condition=models.Q(notional__gt=0), name="trade_notional_positive"),
            models.CheckConstraint(condition=models.Q(side__in=["buy", "sell"]), name="trade_side_valid"),
        ]
        indexes = [
            models.Index(fields=["account", "-id"], name="trade_by_account"),
            models.Index(fields=["symbol", "-id"], name="trade_by_symbol"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.account} {self.side} {self.quantity} {self.symbol} at {self.price}"


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` that produced a trade, remembered with its request's fingerprint.

    Written in the same transaction as the trade, unique per account: a key
    exists exactly when its order executed. Rejected orders leave no key.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    trade = models.OneToOneField(Trade, on_delete=models.PROTECT, related_name="idempotency_key")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.key}"
