from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django_eventstream.models import Event

from market.models import Price, PricePoint
from market.services import record_price, trim_history, trim_stored_events
from sources.ticks import Tick

pytestmark = pytest.mark.django_db(transaction=True)


def tick(seq: int, symbol: str = "BTC", price: str = "100.00") -> Tick:
    return Tick(symbol=symbol, price=Decimal(price), seq=seq, ts=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_new_tick_becomes_the_latest_price_and_is_broadcast() -> None:
    assert record_price(tick=tick(1, price="101.50"), cursor="source-BTC:1")
    latest = Price.objects.get(symbol="BTC")
    assert (latest.price, latest.seq, latest.source_cursor) == (Decimal("101.50"), 1, "source-BTC:1")
    assert PricePoint.objects.filter(symbol="BTC").count() == 1
    assert Event.objects.filter(channel="market-BTC", type="price").count() == 1


def test_a_replayed_tick_is_taken_once() -> None:
    record_price(tick=tick(1), cursor="source-BTC:1")
    record_price(tick=tick(2), cursor="source-BTC:2")
    assert not record_price(tick=tick(2), cursor="source-BTC:3")
    assert not record_price(tick=tick(1), cursor="source-BTC:3")
    assert PricePoint.objects.filter(symbol="BTC").count() == 2
    assert Event.objects.filter(channel="market-BTC", type="price").count() == 2
    # The cursor still moves, so the replay is not read a third time.
    assert Price.objects.get(symbol="BTC").source_cursor == "source-BTC:3"


def test_a_gap_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    record_price(tick=tick(1), cursor=None)
    record_price(tick=tick(5), cursor=None)
    assert "ticks 2..4 never reached the market" in caplog.text


def test_history_is_trimmed_per_symbol_to_the_newest() -> None:
    for seq in range(1, 8):
        record_price(tick=tick(seq), cursor=None)
        record_price(tick=tick(seq, symbol="META"), cursor=None)
    assert trim_history(keep=3) == 8
    assert list(PricePoint.objects.filter(symbol="BTC").values_list("seq", flat=True).order_by("seq")) == [
        5,
        6,
        7,
    ]
    assert PricePoint.objects.filter(symbol="META").count() == 3


def test_stored_events_are_trimmed_per_channel_to_the_newest() -> None:
    for seq in range(1, 8):
        record_price(tick=tick(seq), cursor=None)
    trim_stored_events(keep=2)
    assert list(Event.objects.filter(channel="market-BTC").values_list("eid", flat=True).order_by("eid")) == [
        6,
        7,
    ]


def test_the_price_event_is_stored_by_the_transaction_that_records_the_price() -> None:
    # Stored before the commit, by the same transaction: a crash between the
    # commit and the live announcement cannot lose it for resuming clients.
    with transaction.atomic():
        record_price(tick=tick(1), cursor=None)
        assert Event.objects.filter(channel="market-BTC", type="price").count() == 1
        transaction.set_rollback(True)
    assert Event.objects.filter(channel="market-BTC", type="price").count() == 0
