"""The market's data: latest prices and their history."""

from __future__ import annotations

from django.db import models


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
