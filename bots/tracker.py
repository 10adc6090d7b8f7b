"""The strategy's orders as the exchange reports them, turned into callbacks exactly once.

Pure logic, no Django and no I/O, shared by the live runner and the backtest
so both tell a strategy the same things in the same order. Reports of one
order come from several places (the answer to placing it, the private
stream, a replay of that stream after a reconnect, a REST read): a report is
applied only when it moves the order forward (more filled, or from live to
closed), so none is missed and none repeated, whatever the order in which
duplicates arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bots.strategies import CANCELED, CENT, LIVE, MAKER, MARKET, REJECTED, Order, OrderUpdate, Trade

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class FillReport:
    """One fill of an order: its price and units, and this account's fee and role in it."""

    price: Decimal
    quantity: int
    fee: Decimal
    liquidity: str


@dataclass(frozen=True)
class OrderReport:
    """An order as the exchange reports it (the API's order object)."""

    id: int
    symbol: str
    side: str
    type: str
    quantity: int
    status: str
    filled_quantity: int
    average_price: Decimal | None
    fees: Decimal
    fills: tuple[FillReport, ...] = ()
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = "gtc"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderReport:
        def price(value: Any) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return cls(
            id=int(data["id"]),
            symbol=str(data["symbol"]),
            side=str(data["side"]),
            type=str(data.get("type") or MARKET),
            quantity=int(data["quantity"]),
            status=str(data["status"]),
            filled_quantity=int(data.get("filled_quantity") or 0),
            average_price=price(data.get("average_price")),
            fees=Decimal(str(data.get("fees") or "0.00")),
            fills=tuple(
                FillReport(
                    price=Decimal(str(f["price"])),
                    quantity=int(f["quantity"]),
                    fee=Decimal(str(f.get("fee") or "0.00")),
                    liquidity=str(f.get("liquidity") or ""),
                )
                for f in data.get("fills") or ()
            ),
            limit_price=price(data.get("limit_price")),
            stop_price=price(data.get("stop_price")),
            time_in_force=str(data.get("time_in_force") or "gtc"),
        )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


@dataclass
class Tracked:
    """What the strategy has been told of one order so far."""

    request: Order
    symbol: str
    status: str = ""
    filled: int = 0
    fills_seen: int = 0
    notional_seen: Decimal = ZERO


@dataclass(frozen=True)
class Change:
    """One callback's worth: the update, its new fill (if any), and whether it counts as a rejection."""

    update: OrderUpdate
    rejected: bool = False


def _mean(notional: Decimal, quantity: int) -> Decimal:
    return (notional / quantity).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class OrderTracker:
    """The orders one strategy placed, by exchange id, and the refs it gave them."""

    orders: dict[int, Tracked] = field(default_factory=dict)
    refs: dict[str, int] = field(default_factory=dict)
    # Every order ever placed and its units, for the fill ratio.
    placed_units: int = 0

    def placed(self, request: Order, report: OrderReport) -> list[Change]:
        """A new order's first report (the answer to placing it)."""
        self.orders[report.id] = Tracked(request=request, symbol=report.symbol)
        if request.ref is not None:
            self.refs[request.ref] = report.id
        self.placed_units += report.quantity
        return self.observe(report)

    def id_of(self, ref: str) -> int | None:
        return self.refs.get(ref)

    def known(self, order_id: int) -> Tracked | None:
        return self.orders.get(order_id)

    def live(self, symbol: str | None = None) -> list[int]:
        """The ids of the orders believed open (resting or waiting for a stop), oldest first."""
        return [
            order_id
            for order_id, tracked in self.orders.items()
            if tracked.status in LIVE and (symbol is None or tracked.symbol == symbol)
        ]

    def is_current(self, report: OrderReport) -> bool:
        """Whether the strategy has been told everything ``report`` says."""
        tracked = self.orders.get(report.id)
        return tracked is None or not _advances(tracked, report)

    def observe(self, report: OrderReport) -> list[Change]:
        """Apply a report of one of our orders; the changes to tell the strategy (none if stale)."""
        tracked = self.orders.get(report.id)
        if tracked is None or not _advances(tracked, report):
            return []
        trade = None
        delta = report.filled_quantity - tracked.filled
        if delta > 0:
            trade = self._new_fill(tracked, report, delta)
        tracked.status = report.status
        tracked.filled = report.filled_quantity
        if not report.is_live:
            # Closed: nothing more will come; its ref may be reused by nobody.
            tracked.fills_seen = len(report.fills)
        update = OrderUpdate(
            order=tracked.request,
            order_id=report.id,
            status=report.status,
            filled_quantity=report.filled_quantity,
            average_price=report.average_price,
            fees=report.fees,
            fill=trade,
        )
        rejected = is_refusal(report.status, report.filled_quantity, tracked.request)
        return [Change(update=update, rejected=rejected)]

    def _new_fill(self, tracked: Tracked, report: OrderReport, delta: int) -> Trade:
        new = report.fills[tracked.fills_seen :]
        if sum(f.quantity for f in new) == delta and new:
            notional = sum((f.price * f.quantity for f in new), ZERO)
            fee = sum((f.fee for f in new), ZERO)
            roles = {f.liquidity for f in new}
            liquidity = roles.pop() if len(roles) == 1 else "mixed"
        else:
            # The report's fills do not add up (a truncated list): derive the part from the totals.
            total = (report.average_price or ZERO) * report.filled_quantity
            notional = total - tracked.notional_seen
            fee = ZERO
            liquidity = "mixed"
        tracked.fills_seen = len(report.fills)
        tracked.notional_seen += notional
        return Trade(
            symbol=report.symbol,
            side=report.side,
            quantity=delta,
            price=_mean(notional, delta),
            fee=fee,
            liquidity=liquidity if liquidity else MAKER,
            ref=tracked.request.ref,
        )


def is_refusal(status: str, filled: int, request: Order) -> bool:
    """Whether an order's end counts as a refusal: a market, ioc or fok order (or a triggered
    stop) that filled nothing, as the first stage's strategies knew it; a canceled resting
    order is not one."""
    if filled or status not in (CANCELED, REJECTED):
        return False
    return status == REJECTED or request.type == MARKET or request.time_in_force != "gtc"


def _advances(tracked: Tracked, report: OrderReport) -> bool:
    if report.filled_quantity != tracked.filled:
        return report.filled_quantity > tracked.filled
    if not tracked.status:
        return True
    return tracked.status in LIVE and report.status != tracked.status


def deliver(
    changes: Iterable[Change],
    *,
    on_fill: Callable[[Trade], Any],
    on_order: Callable[[OrderUpdate], Any],
    on_reject: Callable[[Order, str, str], Any],
) -> None:
    """Tell the strategy: the new fill first, then the change, then a refusal where it is one."""
    for change in changes:
        update = change.update
        if update.fill is not None:
            on_fill(update.fill)
        on_order(update)
        if change.rejected:
            on_reject(update.order, update.status, "nothing filled")
