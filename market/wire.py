"""The market's wire shapes, each defined once: price, trade, account, order, book.

Each shape is one pydantic model, and the function that shapes a row builds
that model, so the REST API's schemas, the selectors and the stream events
cannot drift apart: a field the model does not define is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from market.models import Account, Order, Price, PricePoint, Trade
from sources.clock import ClockStatus
from sources.ticks import Tick, format_money, format_ts


class PriceOut(BaseModel):
    """A price: the source's tick as the market recorded it (``price`` events, ``/api/prices``)."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(examples=["BTC"])
    price: str = Field(examples=["64210.50"])
    seq: int
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


class ClockEventOut(BaseModel):
    """A ``clock`` event: the market clock and one asset's scenario, after a change of either."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(examples=["BTC"])
    state: Literal["running", "paused", "stepping"] = Field(
        description="`paused`: no ticks, orders fill at frozen prices; `stepping`: N ticks, then paused"
    )
    speed: float = Field(description="ticks come `speed` times as often as the configured interval")
    scenario: str = Field(examples=["crash"], description="the asset's scenario; `default` for none")
    seq: int = Field(description="the asset's last tick when the change was seen")
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


class AssetClockOut(BaseModel):
    """One asset as the clock sees it."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    seq: int = Field(description="the asset's last tick")
    scenario: str = Field(description="the asset's scenario; `default` for none")
    scenario_since: int | None = Field(
        description="the seq after which the scenario began; null until its first tick (or for none)"
    )
    step_until: int | None = Field(description="while stepping: the seq at which this asset stops")


class ClockOut(BaseModel):
    """The market clock (``/api/clock``, ``/api/admin/clock``)."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["running", "paused", "stepping"]
    speed: float
    version: int = Field(description="counts the changes of the clock and of the scenarios")
    changed_at: str
    assets: list[AssetClockOut]


class TradeOut(BaseModel):
    """A trade on the tape (``trade`` events, ``/api/trades``): who bought from whom."""

    model_config = ConfigDict(extra="forbid")

    id: int
    symbol: str
    price: str = Field(examples=["64210.50"])
    quantity: int
    buyer: str = Field(description="the buying account; `exchange` is the house")
    seller: str = Field(description="the selling account; `exchange` is the house")
    taker_side: Literal["buy", "sell"] = Field(description="the side of the order that took liquidity")
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


class FillOut(BaseModel):
    """One fill of an order: its trade, with that order's fee and whether it made or took liquidity."""

    model_config = ConfigDict(extra="forbid")

    trade_id: int
    price: str
    quantity: int
    fee: str
    liquidity: Literal["maker", "taker"]
    ts: str


class OrderOut(BaseModel):
    """An order (the answer to placing, reading or canceling it; ``order`` events of the private stream)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    account: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit"]
    quantity: int
    limit_price: str | None
    stop_price: str | None
    time_in_force: Literal["gtc", "ioc", "fok"]
    status: Literal["open", "partially_filled", "filled", "canceled", "rejected"]
    filled_quantity: int
    average_price: str | None = Field(description="filled notional over filled quantity, to the cent")
    fees: str
    created_at: str
    updated_at: str
    fills: list[FillOut]


class BalanceOut(BaseModel):
    """A ``balance`` event of the private stream: cash and units, and what open orders leave available."""

    model_config = ConfigDict(extra="forbid")

    cash: str
    available_cash: str
    positions: dict[str, int]
    available_positions: dict[str, int]


class EquityPointOut(BaseModel):
    """One point of an account's history (``/api/accounts/me/history``)."""

    model_config = ConfigDict(extra="forbid")

    ts: str
    cash: str
    equity: str


class LevelOut(BaseModel):
    """One price of the book: the accounts' resting units there, and how many orders."""

    model_config = ConfigDict(extra="forbid")

    price: str
    quantity: int
    orders: int


class BookLevelsOut(BaseModel):
    """A ``book`` event: the accounts' top levels of one asset after a tick that changed them."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    seq: int = Field(description="the tick after which the book looked like this")
    bids: list[LevelOut]
    asks: list[LevelOut]


class AccountOut(BaseModel):
    """An account as a leaderboard row (``/api/accounts``, ``/api/accounts/me``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cash: str = Field(examples=["99700.00"])
    positions: dict[str, int] = Field(examples=[{"BTC": 2}])
    equity: str
    pnl: str
    trades: int


class MyAccountOut(AccountOut):
    """The caller's account (``/api/accounts/me``): the row plus what its open orders leave available."""

    available_cash: str = Field(description="cash that open orders do not reserve")
    available_positions: dict[str, int] = Field(description="units that open orders do not reserve")
    cursor: str = Field(description="the private stream's Last-Event-ID at the time of this snapshot")


def price_json(row: Price | PricePoint | Tick) -> dict[str, object]:
    return PriceOut(
        symbol=row.symbol, price=format_money(row.price), seq=row.seq, ts=format_ts(row.ts)
    ).model_dump()


def money_or_none(amount: Decimal | None) -> str | None:
    return None if amount is None else format_money(amount)


def trade_json(trade: Trade) -> dict[str, object]:
    """``buyer_name``/``seller_name`` may be set on the row (the order path knows them) to spare a query."""
    return TradeOut(
        id=trade.pk,
        symbol=trade.symbol,
        price=format_money(trade.price),
        quantity=trade.quantity,
        buyer=getattr(trade, "buyer_name", None) or trade.buyer.name,
        seller=getattr(trade, "seller_name", None) or trade.seller.name,
        taker_side=trade.taker_side,  # type: ignore[arg-type]
        ts=format_ts(trade.ts),
    ).model_dump()


def fill_json(order: Order, trade: Trade) -> dict[str, object]:
    bought = trade.buy_order_id == order.pk
    return FillOut(
        trade_id=trade.pk,
        price=format_money(trade.price),
        quantity=trade.quantity,
        fee=format_money(trade.buyer_fee if bought else trade.seller_fee),
        liquidity="taker" if trade.taker_side == order.side else "maker",
        ts=format_ts(trade.ts),
    ).model_dump()


def order_json(order: Order, fills: Iterable[Trade]) -> dict[str, object]:
    return OrderOut(
        id=order.pk,
        account=order.account.name,
        symbol=order.symbol,
        side=order.side,  # type: ignore[arg-type]
        type=order.type,  # type: ignore[arg-type]
        quantity=order.quantity,
        limit_price=money_or_none(order.limit_price),
        stop_price=money_or_none(order.stop_price),
        time_in_force=order.time_in_force,  # type: ignore[arg-type]
        status=order.status,  # type: ignore[arg-type]
        filled_quantity=order.filled_quantity,
        average_price=money_or_none(order.average_price),
        fees=format_money(order.fees),
        created_at=format_ts(order.created_at),
        updated_at=format_ts(order.updated_at),
        fills=[FillOut(**fill_json(order, trade)) for trade in fills],  # type: ignore[arg-type]
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


def my_account_json(
    account: Account,
    *,
    cursor: str,
    positions: dict[str, int],
    reserved_units: dict[str, int],
    equity: Decimal,
    trades: int,
) -> dict[str, object]:
    row = account_json(account, positions=positions, equity=equity, trades=trades)
    return MyAccountOut(
        **row,  # type: ignore[arg-type]
        available_cash=format_money(account.cash - account.reserved_cash),
        available_positions={
            symbol: positions[symbol] - reserved_units.get(symbol, 0) for symbol in sorted(positions)
        },
        cursor=cursor,
    ).model_dump()


def balance_json(
    *, cash: Decimal, reserved_cash: Decimal, positions: dict[str, int], reserved_units: dict[str, int]
) -> dict[str, object]:
    held = {symbol: units for symbol, units in sorted(positions.items()) if units}
    return BalanceOut(
        cash=format_money(cash),
        available_cash=format_money(cash - reserved_cash),
        positions=held,
        available_positions={symbol: held[symbol] - reserved_units.get(symbol, 0) for symbol in held},
    ).model_dump()


def equity_point_json(*, ts: datetime, cash: Decimal, equity: Decimal) -> dict[str, object]:
    return EquityPointOut(ts=format_ts(ts), cash=format_money(cash), equity=format_money(equity)).model_dump()


def clock_json(status: ClockStatus) -> dict[str, object]:
    return ClockOut(**status.to_json()).model_dump()
