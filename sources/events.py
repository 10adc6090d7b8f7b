"""Everything the sources publish over SSE: one channel per source, event ``tick``."""

from __future__ import annotations

from typing import Any

from django_eventstream import send_event

TICK_EVENT = "tick"


def source_channel(symbol: str) -> str:
    return f"source-{symbol}"


def publish_tick(tick: dict[str, Any]) -> None:
    send_event(source_channel(tick["symbol"]), TICK_EVENT, tick, json_encode=True)
