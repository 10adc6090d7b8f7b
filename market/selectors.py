"""Read queries of the market, shaped for the API and the streams."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from market.events import stream_cursor
from market.models import Price, PricePoint
from sources.catalog import symbols as all_symbols
from sources.ticks import format_money, format_ts


def price_json(row: Price | PricePoint) -> dict[str, Any]:
    return {"symbol": row.symbol, "price": format_money(row.price), "seq": row.seq, "ts": format_ts(row.ts)}


def latest_prices(symbols: Iterable[str] | None = None) -> dict[str, Any]:
    """The latest price per asset, with the stream cursor taken before reading.

    Cursor first: an event published meanwhile is then at worst delivered both
    in the snapshot and on the stream (same ``seq``), never missed.
    """
    wanted = list(symbols) if symbols is not None else all_symbols()
    cursor = stream_cursor(wanted)
    rows = Price.objects.filter(symbol__in=wanted)
    by_symbol = {row.symbol: price_json(row) for row in rows}
    return {"cursor": cursor, "prices": [by_symbol[s] for s in wanted if s in by_symbol]}


def price_history(symbol: str, *, limit: int) -> dict[str, Any]:
    """Recent prices of one asset, oldest first, with the stream cursor."""
    cursor = stream_cursor([symbol])
    rows = list(PricePoint.objects.filter(symbol=symbol).order_by("-seq")[:limit])
    rows.reverse()
    return {"symbol": symbol, "cursor": cursor, "prices": [price_json(row) for row in rows]}
