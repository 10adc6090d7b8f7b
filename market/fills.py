"""How a market order fills: pure rules shared by the exchange and the backtest.

No Django, no I/O. The exchange is the counterparty: a buy of ``quantity`` at
``price`` costs exactly ``quantity * price`` in cash and adds ``quantity`` to
the position; a sell does the opposite. Money is ``Decimal`` with two places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from market.errors import InsufficientFunds, InsufficientPosition, InvalidQuantity, InvalidSide

BUY = "buy"
SELL = "sell"
SIDES = (BUY, SELL)
CENT = Decimal("0.01")
# The largest quantity one order may carry (per-order maximum).
MAX_ORDER_QUANTITY = 1_000_000


@dataclass(frozen=True)
class Fill:
    """The balances after an order: cash and the position in the traded asset."""

    cash: Decimal
    position: int
    notional: Decimal


def fill(*, cash: Decimal, position: int, side: str, quantity: int, price: Decimal) -> Fill:
    """Apply one market order at ``price``; raises an ``OrderRejected`` subclass if it cannot fill."""
    if side not in SIDES:
        raise InvalidSide(f"side must be 'buy' or 'sell', not {side!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_ORDER_QUANTITY}")
    notional = (price * quantity).quantize(CENT)
    if side == BUY:
        if notional > cash:
            raise InsufficientFunds(f"buying {quantity} at {price} needs {notional}; cash is {cash}")
        return Fill(cash=cash - notional, position=position + quantity, notional=notional)
    if quantity > position:
        raise InsufficientPosition(f"cannot sell {quantity}; the position is {position}")
    return Fill(cash=cash + notional, position=position - quantity, notional=notional)
