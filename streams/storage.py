"""The stored events that make every stream resumable: reading them back, and bounding them."""

from __future__ import annotations

from dataclasses import dataclass

from django_eventstream.models import Event, EventCounter


@dataclass(frozen=True)
class StoredEvent:
    """One stored event: its channel, id within the channel, type and encoded data."""

    channel: str
    id: int
    type: str
    data: str


def stored_events(*, channel: str | None = None, event_type: str | None = None) -> list[StoredEvent]:
    """The events kept for resuming clients, oldest first, optionally of one channel and type."""
    rows = Event.objects.order_by("channel", "eid")
    if channel is not None:
        rows = rows.filter(channel=channel)
    if event_type is not None:
        rows = rows.filter(type=event_type)
    return [
        StoredEvent(channel=ch, id=eid, type=kind, data=data)
        for ch, eid, kind, data in rows.values_list("channel", "eid", "type", "data")
    ]


def trim_stored_events(*, keep: int) -> int:
    """Keep the newest ``keep`` stored stream events per channel; returns how many went.

    A client resuming from a trimmed id gets django-eventstream's
    ``stream-reset`` event: visible, never silent.
    """
    removed = 0
    for channel, current in EventCounter.objects.values_list("name", "value"):
        count, _ = Event.objects.filter(channel=channel, eid__lte=current - keep).delete()
        removed += count
    return removed
