from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from market.models import Price, PricePoint
from market.services import record_price, trim_history
from sources.ticks import Tick
from streams.storage import stored_events, trim_stored_events

pytestmark = pytest.mark.django_db(transaction=True)


def tick(seq: int, symbol: str = "BTC", price: str = "100.00") -> Tick:
    return Tick(symbol=symbol, price=Decimal(price), seq=seq, ts=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_new_tick_becomes_the_latest_price_and_is_broadcast() -> None:
    assert record_price(tick=tick(1, price="101.50"), cursor="source-BTC:1")
    latest = Price.objects.get(symbol="BTC")
    assert (latest.price, latest.seq, latest.source_cursor) == (Decimal("101.50"), 1, "source-BTC:1")
    assert PricePoint.objects.filter(symbol="BTC").count() == 1
    assert len(stored_events(channel="market-BTC", event_type="price")) == 1


def test_a_replayed_tick_is_taken_once() -> None:
    record_price(tick=tick(1), cursor="source-BTC:1")
    record_price(tick=tick(2), cursor="source-BTC:2")
    assert not record_price(tick=tick(2), cursor="source-BTC:3")
    assert not record_price(tick=tick(1), cursor="source-BTC:3")
    assert PricePoint.objects.filter(symbol="BTC").count() == 2
    assert len(stored_events(channel="market-BTC", event_type="price")) == 2
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
    assert [event.id for event in stored_events(channel="market-BTC")] == [
        6,
        7,
    ]


def test_the_price_event_is_stored_by_the_transaction_that_records_the_price() -> None:
    # Stored before the commit, by the same transaction: a crash between the
    # commit and the live announcement cannot lose it for resuming clients.
    with transaction.atomic():
        record_price(tick=tick(1), cursor=None)
        assert len(stored_events(channel="market-BTC", event_type="price")) == 1
        transaction.set_rollback(True)
    assert len(stored_events(channel="market-BTC", event_type="price")) == 0
