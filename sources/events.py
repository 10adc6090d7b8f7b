"""Everything the sources publish over SSE: one channel per source, event ``tick``.

A tick is stored in the transaction that advances its source and announced
once that commits, so a tick that the clock's lock rolled back never reaches a client.
"""

from __future__ import annotations

from typing import Any

from streams.publishing import publish_on_commit

TICK_EVENT = "tick"


def source_channel(symbol: str) -> str:
    return f"source-{symbol}"


def publish_tick(tick: dict[str, Any]) -> None:
    publish_on_commit(source_channel(tick["symbol"]), TICK_EVENT, tick)
