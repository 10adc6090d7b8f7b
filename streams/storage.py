"""The stored events that make every stream resumable: reading them back, and bounding them."""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from django_eventstream.event import Event as LibraryEvent
from django_eventstream.models import Event, EventCounter
from django_eventstream.storage import EVENT_TIMEOUT


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
    # The library's own age limit, which its storage applies on every append.
    count, _ = Event.objects.filter(
        created__lt=timezone.now() - datetime.timedelta(minutes=EVENT_TIMEOUT)
    ).delete()
    return removed + count


def append_events(events: Sequence[tuple[str, str, str]]) -> list[LibraryEvent]:
    """Store several events at once, as django-eventstream's storage stores one: ``(channel, type, encoded)``.

    The library's ``append_event`` costs about eight queries an event (a
    counter read, a savepoint, a locked counter read, the insert, the counter
    update, and a scan for events past its age limit). Here a batch costs one
    ``UPDATE ... RETURNING`` per channel, which advances its counter by the
    batch's events under the row's lock (channels in name order, so two
    batches never wait on each other crosswise), and one insert of all its
    events; the age limit is applied by ``trim_stored_events``, which the
    engine runs periodically. Ids, stored data and the placeholder event at
    id 0 of a new channel are the library's, so its readers and resuming
    clients see no difference. Must run inside the transaction the events
    report.
    """
    if not events:
        return []
    counts = Counter(channel for channel, _, _ in events)
    now = timezone.now()
    rows: list[Event] = []
    last: dict[str, int] = {}
    for channel in sorted(counts):
        value = _advance(channel, counts[channel], now)
        if value is None:
            EventCounter.objects.get_or_create(name=channel)  # in a savepoint: a racing creator is fine
            value = _advance(channel, counts[channel], now)
            assert value is not None  # the row exists now, and rows are never deleted
        if value == counts[channel]:
            # The library's placeholder, so that a cursor at 0 can be resumed from.
            rows.append(Event(channel=channel, eid=0))
        last[channel] = value - counts[channel]
    stored: list[LibraryEvent] = []
    for channel, event_type, encoded in events:
        last[channel] += 1
        rows.append(Event(channel=channel, type=event_type, data=json.dumps(encoded), eid=last[channel]))
        stored.append(LibraryEvent(channel, event_type, encoded, id=last[channel]))
    Event.objects.bulk_create(rows)
    return stored


# The table's name is the library's model's, not input: only the values are parameters.
_ADVANCE = (
    f"UPDATE {EventCounter._meta.db_table} SET value = value + %s, updated = %s "  # noqa: S608
    "WHERE name = %s RETURNING value"
)


def _advance(channel: str, count: int, now: datetime.datetime) -> int | None:
    """The channel's counter moved ``count`` on, locked until the commit; None if it has no row yet."""
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE, [count, connection.ops.adapt_datetimefield_value(now), channel])
        row = cursor.fetchone()
    return None if row is None else int(row[0])
