"""Replaying a recorded session and comparing it with the live account, order for order (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bots.replay import SessionError, compare, read_session, replay, replay_ticks
from bots.strategies import Investor
from sources.catalog import source_specs

START = datetime(2026, 1, 1, tzinfo=UTC)


def iso(step: int) -> str:
    return (START + timedelta(seconds=step)).isoformat().replace("+00:00", "Z")


def session_lines(live: list[dict[str, Any]] | None = None, ticks: int = 300) -> list[str]:
    prices = source_specs()["META"].new_walk("7").prices(ticks)
    records: list[dict[str, Any]] = [
        {"type": "session", "version": 1, "starting_cash": "100000.00", "symbols": ["META"], "venue": {}},
        {"type": "account", "name": "bot", "created_at": iso(0), "starting_cash": "100000.00"},
    ]
    records += [
        {"type": "price", "symbol": "META", "price": str(p), "seq": n, "ts": iso(n)}
        for n, p in enumerate(prices, 1)
    ]
    records += live or []
    return [json.dumps(r) for r in records]


def as_live(decided: list[Any]) -> list[dict[str, Any]]:
    """The replay's orders, written as a live account's would be, each just after its tick."""
    out = []
    for number, order in enumerate(decided, 1):
        out.append(
            {
                "type": "order",
                "id": number,
                "account": "bot",
                "symbol": order.symbol,
                "side": order.side,
                "quantity": order.quantity,
                "filled_quantity": order.filled,
                "average_price": str(order.price),
                "created_at": iso(order.seq)[:-1] + ".5Z",
            }
        )
        buyer, seller = ("bot", "exchange") if order.side == "buy" else ("exchange", "bot")
        out.append(
            {
                "type": "trade",
                "symbol": order.symbol,
                "price": str(order.price),
                "quantity": order.filled,
                "buyer": buyer,
                "seller": seller,
                "buyer_fee": "0.00",
                "seller_fee": "0.00",
            }
        )
    return out


def test_a_session_of_the_same_strategy_replays_order_for_order_with_the_same_pnl() -> None:
    reference = read_session(session_lines())
    first = replay(Investor(), reference.ticks, reference)
    assert len(first.orders) >= 4
    session = read_session(session_lines(as_live(first.orders)))
    ticks = replay_ticks(session, account="bot")
    comparison = compare(session, "bot", replay(Investor(), ticks, session))
    assert comparison.first_difference is None
    assert comparison.live_pnl == comparison.replay_pnl
    assert "the orders match, order for order" in "\n".join(comparison.lines("bot", "investor"))


def test_the_first_order_that_differs_names_its_tick() -> None:
    reference = read_session(session_lines())
    orders = replay(Investor(), reference.ticks, reference).orders
    live = as_live(orders)
    live[4]["side"] = "sell" if live[4]["side"] == "buy" else "buy"  # the third order
    session = read_session(session_lines(live))
    comparison = compare(session, "bot", replay(Investor(), replay_ticks(session, account="bot"), session))
    assert comparison.first_difference == 2
    text = "\n".join(comparison.lines("bot", "investor"))
    assert f"first difference at order 3, tick META #{orders[2].seq}" in text


def test_an_unknown_version_or_a_missing_header_is_refused() -> None:
    with pytest.raises(SessionError, match="version"):
        read_session([json.dumps({"type": "session", "version": 99})])
    with pytest.raises(SessionError, match="first line"):
        read_session([json.dumps({"type": "price"})])


def test_unknown_record_types_are_ignored() -> None:
    lines = [*session_lines(ticks=5), json.dumps({"type": "clock", "state": "paused"})]
    session = read_session(lines)
    assert [t.seq for t in session.ticks] == [1, 2, 3, 4, 5]
    assert all(t.price > Decimal(0) for t in session.ticks)
