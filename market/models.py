"""The market's data: prices and their history, the ledger (accounts, positions, trades), orders, books."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from market import matching


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
    # What the account's resting buy orders hold of its cash (never negative, never above the cash).
    reserved_cash = models.DecimalField(max_digits=20, decimal_places=2, default=0)
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
            models.CheckConstraint(
                condition=models.Q(reserved_cash__gte=0)
                & (models.Q(cash__gte=models.F("reserved_cash")) | models.Q(is_house=True)),
                name="account_reserved_cash_covered",
            ),
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
    # Units the account's resting sell orders hold.
    reserved = models.BigIntegerField(default=0)
    is_house = models.BooleanField(default=False, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique_symbol"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0) | models.Q(is_house=True),
                name="position_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(reserved__gte=0)
                & (models.Q(quantity__gte=models.F("reserved")) | models.Q(is_house=True)),
                name="position_reserved_covered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.quantity} {self.symbol}"


class Order(models.Model):
    """An account's order and its life: resting in the book, waiting for its stop, filled or closed.

    ``filled_quantity``, ``notional`` and ``fees`` sum the order's fills;
    ``resting`` is true while the order sits in its asset's book (it then
    reserves what it may spend), ``triggered`` once a stop's price was crossed.
    """

    SIDE_CHOICES = [(side, side) for side in matching.SIDES]
    TYPE_CHOICES = [(kind, kind) for kind in matching.ORDER_TYPES]
    TIF_CHOICES = [(tif, tif) for tif in matching.TIMES_IN_FORCE]
    STATUS_CHOICES = [(status, status) for status in matching.STATUSES]

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders")
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=SIDE_CHOICES)
    type = models.CharField(max_length=10, choices=TYPE_CHOICES, default=matching.MARKET)
    quantity = models.PositiveBigIntegerField()
    limit_price = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    time_in_force = models.CharField(max_length=3, choices=TIF_CHOICES, default=matching.GTC)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    filled_quantity = models.PositiveBigIntegerField(default=0)
    notional = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    fees = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    # The maker fee in force when the order was placed: what its resting fills pay and reserve.
    maker_fee_bps = models.PositiveIntegerField(default=0)
    resting = models.BooleanField(default=False)
    triggered = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    # Not stored: ``place_order`` sets ``replayed`` when it answers a repeated key with the
    # original order, and ``placed_trades`` to the fills it made just now.
    replayed: bool = False
    placed_trades: list[Trade] | None = None

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(filled_quantity__lte=models.F("quantity")), name="order_not_overfilled"
            ),
            models.CheckConstraint(
                condition=models.Q(limit_price__isnull=True) | models.Q(limit_price__gt=0),
                name="order_limit_price_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(stop_price__isnull=True) | models.Q(stop_price__gt=0),
                name="order_stop_price_positive",
            ),
        ]
        indexes = [
            # The book: one asset's resting orders of one side, by price then time.
            models.Index(
                fields=["symbol", "side", "limit_price", "id"],
                name="order_book",
                condition=models.Q(resting=True),
            ),
            # Stops waiting for their price.
            models.Index(
                fields=["symbol", "id"],
                name="order_waiting_stops",
                condition=models.Q(status__in=matching.LIVE_STATUSES, resting=False),
            ),
            models.Index(fields=["account", "-id"], name="order_by_account"),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} {self.account} {self.type} {self.side} {self.quantity} {self.symbol} ({self.status})"
        )

    @property
    def average_price(self) -> Decimal | None:
        return matching.average_price(self.notional, self.filled_quantity)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity


class Trade(models.Model):
    """One fill between a buyer and a seller (either may be the house). Append-only: never updated or deleted.

    ``taker_side`` is the side of the order that took liquidity; the other
    side's order was resting (or was the house's quote).
    """

    SIDE_CHOICES = Order.SIDE_CHOICES

    symbol = models.CharField(max_length=16)
    price = models.DecimalField(max_digits=18, decimal_places=2)
    quantity = models.PositiveBigIntegerField()
    notional = models.DecimalField(max_digits=20, decimal_places=2, help_text="quantity times price")
    buyer = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="purchases")
    seller = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="sales")
    taker_side = models.CharField(max_length=4, choices=SIDE_CHOICES)
    buy_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="buy_fills"
    )
    sell_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="sell_fills"
    )
    buyer_fee = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    seller_fee = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    ts = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="trade_quantity_positive"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="trade_price_positive"),
            models.CheckConstraint(condition=models.Q(notional__gt=0), name="trade_notional_positive"),
            models.CheckConstraint(
                condition=models.Q(taker_side__in=matching.SIDES), name="trade_taker_side_valid"
            ),
            models.CheckConstraint(condition=~models.Q(buyer=models.F("seller")), name="trade_no_self_trade"),
            models.CheckConstraint(
                condition=models.Q(buyer_fee__gte=0, seller_fee__gte=0), name="trade_fees_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-id"], name="trade_by_buyer"),
            models.Index(fields=["seller", "-id"], name="trade_by_seller"),
            models.Index(fields=["symbol", "-id"], name="trade_by_symbol"),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} {self.buyer} bought {self.quantity} {self.symbol} from {self.seller} at {self.price}"
        )


class Book(models.Model):
    """One asset's book: the row every change of that book locks, and the house's quote this tick.

    Matching is serialised per asset by locking this row. ``bid_depth`` and
    ``ask_depth`` are what the house still offers until the next tick (null:
    unlimited); ``levels`` is what the last ``book`` event showed.
    """

    symbol = models.CharField(max_length=16, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0, help_text="The tick the quote belongs to.")
    # The house's account: every order's counterparty or market maker, kept here to spare a query.
    house = models.ForeignKey(Account, null=True, on_delete=models.PROTECT, related_name="+")
    # That tick's source price and time, as ``Price`` has them: an order reads them with the lock.
    price = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    ts = models.DateTimeField(null=True)
    bid = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    ask = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    bid_depth = models.BigIntegerField(null=True)
    ask_depth = models.BigIntegerField(null=True)
    levels = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.symbol} book {self.bid} / {self.ask} (#{self.seq})"


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` that placed an order, remembered with its request's fingerprint.

    Written in the same transaction as the order, unique per account: a key
    exists exactly when its order was accepted. Refused orders leave no key.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="idempotency_key")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.key}"


class LedgerEntry(models.Model):
    """A balance change that is not a trade (an account's reset), so the audit still explains every balance.

    ``cash`` and ``units`` are what the account received (the house gave the
    opposite). Append-only, like trades.
    """

    RESET = "reset"
    KIND_CHOICES = [(RESET, "reset")]

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    cash = models.DecimalField(max_digits=20, decimal_places=2)
    units = models.JSONField(default=dict, help_text="units received per symbol")
    ts = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.account} {self.kind} {self.cash} {self.units}"


class EquityPoint(models.Model):
    """An account's cash and equity at one moment, for its history chart; trimmed per account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="equity_points")
    ts = models.DateTimeField(default=timezone.now)
    cash = models.DecimalField(max_digits=20, decimal_places=2)
    equity = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["account", "-id"], name="equity_by_account")]

    def __str__(self) -> str:
        return f"{self.account} {self.equity} at {self.ts}"


class AccountFaults(models.Model):
    """An account's injected faults (``market.faults``), and how many of its requests they have seen.

    ``requests`` is the position of the plan's seeded draws: request ``n``
    after the plan was set draws from ``seed`` and ``n``. Setting a plan again
    starts it over; deleting the row ends the faults.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="faults")
    reject = models.FloatField(default=0)
    delay_ms = models.PositiveIntegerField(default=0)
    lose_response = models.FloatField(default=0)
    partial = models.FloatField(default=0)
    stale = models.FloatField(default=0)
    drop_stream_after = models.FloatField(null=True, blank=True)
    seed = models.BigIntegerField(default=0)
    requests = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "account faults"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reject__gte=0, reject__lte=1)
                & models.Q(lose_response__gte=0, lose_response__lte=1)
                & models.Q(partial__gte=0, partial__lte=1)
                & models.Q(stale__gte=0, stale__lte=1),
                name="fault_probabilities_0_to_1",
            ),
        ]

    def __str__(self) -> str:
        return f"faults of {self.account}"
