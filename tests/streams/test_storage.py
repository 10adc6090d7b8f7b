"""Storing a batch of events: ids, placeholders and data as django-eventstream's own storage has them."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django_eventstream.models import Event, EventCounter
from django_eventstream.storage import DjangoModelStorage

from streams.storage import append_events

pytestmark = pytest.mark.django_db


def encoded(n: int) -> str:
    return json.dumps({"n": n})


def test_a_batch_numbers_each_channel_s_events_on_from_its_counter() -> None:
    library = DjangoModelStorage()
    library.append_event("a", "tick", {"n": 0})  # the library's own first event: a's counter is 1
    with transaction.atomic():
        batch = [("a", "tick", encoded(1)), ("b", "tick", encoded(2)), ("a", "tick", encoded(3))]
        stored = append_events(batch)
    assert [(e.channel, e.id) for e in stored] == [("a", 2), ("b", 1), ("a", 3)]
    assert dict(EventCounter.objects.values_list("name", "value")) == {"a": 3, "b": 1}
    # A new channel gets the library's placeholder at id 0, so a cursor at 0 resumes.
    assert list(Event.objects.filter(channel="b").order_by("eid").values_list("eid", "type")) == [
        (0, ""),
        (1, "tick"),
    ]
    # Read back as the library reads: the data is the text the live stream sends (streams.publishing).
    assert [(e.id, e.data) for e in library.get_events("a", 1)] == [(2, encoded(1)), (3, encoded(3))]
    assert [(e.id, e.data) for e in library.get_events("b", 0)] == [(1, encoded(2))]
    # And the library goes on from where the batch left each counter.
    assert library.append_event("a", "tick", {"n": 4}).id == 4


def test_a_batch_that_rolls_back_leaves_no_event_and_no_count() -> None:
    with transaction.atomic():
        append_events([("a", "tick", encoded(1))])

    def failing_change() -> None:
        with transaction.atomic():
            append_events([("a", "tick", encoded(2)), ("a", "tick", encoded(3))])
            raise RuntimeError("the change the events report failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert EventCounter.objects.get(name="a").value == 1
    assert list(Event.objects.filter(channel="a").values_list("eid", flat=True).order_by("eid")) == [0, 1]


def test_an_empty_batch_stores_nothing() -> None:
    assert append_events([]) == []
    assert not Event.objects.exists()
