"""``session export``'s records: the clock's and the scenarios' changes among the prices, in time order."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from market import services
from market.sessions import session_records
from sources import clock
from sources.ticks import Tick

pytestmark = pytest.mark.django_db


def record_price(seq: int) -> None:
    tick = Tick(symbol="META", price=Decimal("500.00") + seq, seq=seq, ts=timezone.now())
    services.record_price(tick=tick, cursor=None)


def test_clock_and_scenario_changes_are_exported_in_time_order_with_the_prices() -> None:
    record_price(1)
    clock.pause_clock()
    clock.apply_scenario(name="crash", symbol="META")
    clock.step_clock(ticks=2)
    record_price(2)
    clock.set_clock_speed(speed=2)
    records = [r for r in session_records() if r["type"] in ("clock", "price")]
    assert [(r["type"], r.get("action") or r["seq"]) for r in records] == [
        ("price", 1),
        ("clock", "pause"),
        ("clock", "scenario crash META"),
        ("clock", "step 2"),
        ("price", 2),
        ("clock", "speed 2"),
    ]
    assert [(r["state"], r["speed"]) for r in records if r["type"] == "clock"] == [
        ("paused", 1.0),
        ("paused", 1.0),
        ("stepping", 1.0),
        ("stepping", 2.0),
    ]
    assert all(r["at"].endswith("Z") for r in records if r["type"] == "clock")


def test_the_period_bounds_the_clock_changes_too(capsys: pytest.CaptureFixture[str]) -> None:
    clock.pause_clock()
    later = timezone.now() + timedelta(microseconds=1)
    clock.resume_clock()
    call_command("session", "export", "--since", later.isoformat())
    lines = capsys.readouterr().out.splitlines()
    actions = [r["action"] for r in map(json.loads, lines) if r["type"] == "clock"]
    assert actions == ["resume"]
