"""What a source keeps so that its walk and its sequence survive a restart."""

from django.db import models


class SourceState(models.Model):
    """The last tick a source emitted, and the walk state to continue from it."""

    symbol = models.CharField(max_length=16, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    walk = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.symbol} at seq {self.seq}"
