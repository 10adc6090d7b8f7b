"""The market's wire shapes, each defined once: price, trade, account.

Each shape is one pydantic model, and the function that shapes a row builds
that model, so the REST API's schemas, the selectors and the stream events
cannot drift apart: a field the model does not define is refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from market.models import Account, Price, PricePoint, Trade
from sources.ticks import Tick, format_money, format_ts


class PriceOut(BaseModel):
    """A price: the source's tick as the market recorded it (``price`` events, ``/api/prices``)."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(examples=["BTC"])
    price: str = Field(examples=["64210.50"])
    seq: int
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


class TradeOut(BaseModel):
    """A trade (``trade`` events, ``/api/trades``, the answer to an order)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    account: str
    symbol: str
    side: Literal["buy", "sell"]
    quantity: int
    price: str = Field(examples=["64210.50"])
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


class AccountOut(BaseModel):
    """An account as a leaderboard row (``/api/accounts``, ``/api/accounts/me``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cash: str = Field(examples=["99700.00"])
    positions: dict[str, int] = Field(examples=[{"BTC": 2}])
    equity: str
    pnl: str
    trades: int


def price_json(row: Price | PricePoint | Tick) -> dict[str, object]:
    return PriceOut(
        symbol=row.symbol, price=format_money(row.price), seq=row.seq, ts=format_ts(row.ts)
    ).model_dump()


def trade_json(trade: Trade) -> dict[str, object]:
    return TradeOut(
        id=trade.pk,
        account=trade.account.name,
        symbol=trade.symbol,
        side=trade.side,  # type: ignore[arg-type]
        quantity=trade.quantity,
        price=format_money(trade.price),
        ts=format_ts(trade.ts),
    ).model_dump()


def account_json(
    account: Account, *, positions: dict[str, int], equity: Decimal, trades: int
) -> dict[str, object]:
    return AccountOut(
        name=account.name,
        cash=format_money(account.cash),
        positions={symbol: positions[symbol] for symbol in sorted(positions)},
        equity=format_money(equity),
        pnl=format_money(equity - account.starting_cash),
        trades=trades,
    ).model_dump()
