"""Publishing: store an event in the current transaction, announce it once that commits.

No client ever sees an event for a change that rolled back, and a crash
between the commit and the announcement loses nothing: reconnecting clients
read the stored event by their cursor. Each app's ``events.py`` names its
channels and events and calls ``publish_on_commit``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django_eventstream import eventstream
from django_eventstream.event import Event
from django_eventstream.utils import publish_event
from django_eventstream.views import get_listener_manager

from streams.storage import append_events


def _announce(event: Event) -> None:
    """The live half of django-eventstream's ``send_event``, for an event already stored."""
    pub_id = str(event.id)
    # Looked up at call time: the Redis supervision replaces the library's Redis client.
    redis_client = eventstream.redis_client
    if redis_client:
        message = {"channel": event.channel, "event_type": event.type, "data": event.data, "pub_id": pub_id}
        redis_client.publish("events_channel", json.dumps(message))
    else:
        get_listener_manager().add_to_queues(event.channel, event)
    publish_event(event.channel, event.type, event.data, pub_id, str(event.id - 1))


# Events of the ``publishing_batch`` in progress (in this thread or task), stored at its end.
_batch: ContextVar[list[tuple[str, str, str]] | None] = ContextVar("publishing_batch", default=None)


@contextmanager
def publishing_batch() -> Iterator[None]:
    """Store the events published within the block together, when it ends without an error.

    For a change that publishes several events (an order's trade, its order
    and balance events): one storage round instead of one per event. Use it
    inside the transaction the events report; nested blocks join the outer one.
    """
    if _batch.get() is not None:
        yield
        return
    token = _batch.set([])
    try:
        yield
        pending = _batch.get() or []
    finally:
        _batch.reset(token)
    _store(pending)


def publish_on_commit(channel: str, event_type: str, data: dict[str, Any]) -> None:
    """Store the event within the current transaction; announce it to live clients on commit."""
    # django-eventstream stores events JSON-encoded once more than it sends
    # them; encoding here keeps the stored and the live forms identical.
    encoded = json.dumps(data, cls=DjangoJSONEncoder)
    pending = _batch.get()
    if pending is not None:
        pending.append((channel, event_type, encoded))
        return
    _store([(channel, event_type, encoded)])


def _store(events: list[tuple[str, str, str]]) -> None:
    if not events:
        return
    # No savepoint inside the caller's transaction: a failure here fails the whole change anyway.
    with transaction.atomic(savepoint=False):
        stored = append_events(events)
        transaction.on_commit(lambda: _announce_all(stored))


def _announce_all(stored: list[Event]) -> None:
    for event in stored:
        _announce(event)
