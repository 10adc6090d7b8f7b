"""A recorded session: the prices, orders and trades of a period as JSON lines (``manage.py session export``).

Schema version 1, one JSON object per line, each with a ``type``:

- ``session`` (first line): ``version``, ``exported_at``, ``since``, ``until``
  (ISO 8601 or null), ``symbols``, ``seed``, ``tick_interval``,
  ``starting_cash``, and ``venue`` (``spread_bps``, ``house_depth``,
  ``maker_fee_bps``, ``taker_fee_bps``): what a replay needs to trade on
  the same venue;
- ``account``: ``name``, ``created_at``, ``starting_cash``, for every
  account with an order in the period;
- ``price``: ``symbol``, ``price``, ``seq``, ``ts`` (the market's price
  history, which keeps ``EXCHANGE_HISTORY_KEEP`` prices per asset);
- ``order``: ``id``, ``account``, ``symbol``, ``side``, ``order_type``,
  ``quantity``, ``limit_price``, ``stop_price``, ``time_in_force``,
  ``status``, ``filled_quantity``, ``average_price``, ``fees``,
  ``created_at``, ``updated_at`` (orders placed in the period, as they are now);
- ``trade``: ``id``, ``symbol``, ``price``, ``quantity``, ``buyer``,
  ``seller``, ``taker_side``, ``buy_order``, ``sell_order``, ``buyer_fee``,
  ``seller_fee``, ``ts`` (the house is ``exchange``);
- ``clock``: ``at``, ``action``, ``state``, ``speed``, ``market_seconds``:
  each change of the clock or of a scenario (``pause``, ``speed 2``,
  ``step 5``, ``step done``, ``scenario crash META``, ...), with the clock's
  state after it.

After the ``session`` and ``account`` lines, clock changes, prices, orders
and trades follow in time order (at one instant: clock, price, order, trade).
Money is a decimal string, as on the API. A reader should ignore types it
does not know and refuse a ``version`` it does not know.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from market import matching
from market.house import HOUSE_NAME
from market.models import Account, Order, PricePoint, Trade
from sources.catalog import symbols as all_symbols
from sources.models import ClockChange
from sources.ticks import format_money

VERSION = 1
# Which record comes first at one instant: a clock change, the price an order saw, the order, its trade.
_RANK = {"clock": 0, "price": 1, "order": 2, "trade": 3}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money(amount: Any) -> str | None:
    return None if amount is None else format_money(amount)


def _period(
    queryset: QuerySet[Any], field: str, since: datetime | None, until: datetime | None
) -> QuerySet[Any]:
    if since is not None:
        queryset = queryset.filter(**{f"{field}__gte": since})
    if until is not None:
        queryset = queryset.filter(**{f"{field}__lt": until})
    return queryset


def session_records(
    *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every record of the period ``[since, until)``, in the file's order (see the module's docstring)."""
    yield {
        "type": "session",
        "version": VERSION,
        "exported_at": _iso(timezone.now()),
        "since": _iso(since),
        "until": _iso(until),
        "symbols": all_symbols(),
        "seed": settings.EXCHANGE_SEED,
        "tick_interval": settings.EXCHANGE_TICK_INTERVAL,
        "starting_cash": format_money(settings.EXCHANGE_STARTING_CASH),
        "venue": {
            "spread_bps": settings.EXCHANGE_SPREAD_BPS,
            "house_depth": settings.EXCHANGE_HOUSE_DEPTH,
            "maker_fee_bps": settings.EXCHANGE_MAKER_FEE_BPS,
            "taker_fee_bps": settings.EXCHANGE_TAKER_FEE_BPS,
        },
    }
    orders = _period(Order.objects.select_related("account"), "created_at", since, until).order_by("id")
    traders = Account.objects.filter(pk__in=orders.values("account_id")).order_by("name")
    for account in traders:
        yield {
            "type": "account",
            "name": account.name,
            "created_at": _iso(account.created_at),
            "starting_cash": format_money(account.starting_cash),
        }
    prices = _period(PricePoint.objects.all(), "ts", since, until).order_by("ts", "symbol", "seq")
    trades = _period(Trade.objects.select_related("buyer", "seller"), "ts", since, until).order_by("id")
    changes = _period(ClockChange.objects.all(), "at", since, until).order_by("at", "id")
    streams = (
        ((c.at, _RANK["clock"], c.pk, _clock(c)) for c in changes.iterator()),
        ((p.ts, _RANK["price"], p.pk, _price(p)) for p in prices.iterator()),
        ((o.created_at, _RANK["order"], o.pk, _order(o)) for o in orders.iterator()),
        ((t.ts, _RANK["trade"], t.pk, _trade(t)) for t in trades.iterator()),
    )
    for *_, record in heapq.merge(*streams, key=lambda item: item[:3]):
        yield record


def _clock(change: ClockChange) -> dict[str, Any]:
    return {
        "type": "clock",
        "at": _iso(change.at),
        "action": change.action,
        "state": change.state,
        "speed": change.speed,
        "market_seconds": change.market_seconds,
    }


def _price(point: PricePoint) -> dict[str, Any]:
    return {
        "type": "price",
        "symbol": point.symbol,
        "price": format_money(point.price),
        "seq": point.seq,
        "ts": _iso(point.ts),
    }


def _order(order: Order) -> dict[str, Any]:
    return {
        "type": "order",
        "id": order.pk,
        "account": order.account.name,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": order.type,
        "quantity": order.quantity,
        "limit_price": _money(order.limit_price),
        "stop_price": _money(order.stop_price),
        "time_in_force": order.time_in_force,
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "average_price": _money(matching.average_price(order.notional, order.filled_quantity)),
        "fees": format_money(order.fees),
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
    }


def _trade(trade: Trade) -> dict[str, Any]:
    def name(account: Account) -> str:
        return HOUSE_NAME if account.is_house else account.name

    return {
        "type": "trade",
        "id": trade.pk,
        "symbol": trade.symbol,
        "price": format_money(trade.price),
        "quantity": trade.quantity,
        "buyer": name(trade.buyer),
        "seller": name(trade.seller),
        "taker_side": trade.taker_side,
        "buy_order": trade.buy_order_id,
        "sell_order": trade.sell_order_id,
        "buyer_fee": format_money(trade.buyer_fee),
        "seller_fee": format_money(trade.seller_fee),
        "ts": _iso(trade.ts),
    }
