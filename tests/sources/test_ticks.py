from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sources.ticks import MalformedTick, Tick


def test_a_tick_round_trips_through_json() -> None:
    tick = Tick(
        symbol="BTC", price=Decimal("64210.5"), seq=3, ts=datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    )
    data = tick.to_json()
    assert data == {"symbol": "BTC", "price": "64210.50", "seq": 3, "ts": "2026-01-02T03:04:05.006000Z"}
    assert Tick.from_json(data) == Tick(symbol="BTC", price=Decimal("64210.50"), seq=3, ts=tick.ts)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"symbol": "BTC", "price": "1.00", "seq": 0, "ts": "2026-01-01T00:00:00Z"},
        {"symbol": "BTC", "price": "-1.00", "seq": 1, "ts": "2026-01-01T00:00:00Z"},
        {"symbol": "BTC", "price": "NaN", "seq": 1, "ts": "2026-01-01T00:00:00Z"},
        {"symbol": "BTC", "price": "1.00", "seq": True, "ts": "2026-01-01T00:00:00Z"},
        {"symbol": "BTC", "price": "1.00", "seq": 1, "ts": "yesterday"},
    ],
)
def test_malformed_ticks_are_refused(data: object) -> None:
    with pytest.raises(MalformedTick):
        Tick.from_json(data)
