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


class Clock(models.Model):
    """The market clock every process obeys: one row (``pk=1``), read by each ticker at each tick.

    ``market_seconds`` is the market time at ``changed_at``; from there it runs
    at ``speed`` unless paused. While ``stepping``, each asset in
    ``step_until`` ticks up to its ``seq`` there, and the tick that completes
    the last of them pauses the clock.
    """

    RUNNING = "running"
    PAUSED = "paused"
    STEPPING = "stepping"
    STATES = [(RUNNING, "running"), (PAUSED, "paused"), (STEPPING, "stepping")]

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    state = models.CharField(max_length=16, choices=STATES, default=RUNNING)
    speed = models.FloatField(default=1.0)
    step_until = models.JSONField(default=dict, blank=True)
    changed_at = models.DateTimeField()
    market_seconds = models.FloatField(default=0.0)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(speed__gt=0), name="clock_speed_positive"),
            models.CheckConstraint(condition=models.Q(id=1), name="clock_single_row"),
        ]

    def __str__(self) -> str:
        return f"clock {self.state} at speed {self.speed:g}"


class ClockChange(models.Model):
    """Every change of the clock or of a scenario, in order: how market time ran, and what happened."""

    at = models.DateTimeField(db_index=True)
    market_seconds = models.FloatField()
    state = models.CharField(max_length=16, choices=Clock.STATES)
    speed = models.FloatField()
    action = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action}"


class AssetScenario(models.Model):
    """The scenario one asset's walk follows; ``start_seq`` is the seq after which it began.

    ``start_seq`` is empty from the moment a scenario is applied until the
    asset's next tick, which is the scenario's first.
    """

    symbol = models.CharField(max_length=16, primary_key=True)
    name = models.CharField(max_length=32)
    start_seq = models.PositiveBigIntegerField(null=True, blank=True)
    applied_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.symbol}: {self.name}"
