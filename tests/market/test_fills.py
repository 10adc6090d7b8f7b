from decimal import Decimal

import pytest

from market.errors import InsufficientFunds, InsufficientPosition, InvalidQuantity, InvalidSide
from market.fills import MAX_ORDER_QUANTITY, fill


def test_a_buy_costs_exactly_quantity_times_price() -> None:
    result = fill(cash=Decimal("1000.00"), position=0, side="buy", quantity=3, price=Decimal("100.10"))
    assert result.cash == Decimal("699.70")
    assert result.position == 3


def test_buying_then_selling_at_one_price_returns_the_exact_cash() -> None:
    bought = fill(
        cash=Decimal("100000.00"), position=0, side="buy", quantity=7, price=Decimal("0.01") * 1234567
    )
    sold = fill(
        cash=bought.cash, position=bought.position, side="sell", quantity=7, price=Decimal("12345.67")
    )
    assert sold.cash == Decimal("100000.00")
    assert sold.position == 0


def test_a_buy_is_rejected_when_cash_is_short() -> None:
    with pytest.raises(InsufficientFunds):
        fill(cash=Decimal("99.99"), position=0, side="buy", quantity=1, price=Decimal("100.00"))


def test_a_sell_is_rejected_when_the_position_is_short() -> None:
    with pytest.raises(InsufficientPosition):
        fill(cash=Decimal("0"), position=1, side="sell", quantity=2, price=Decimal("1.00"))


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5, "1", MAX_ORDER_QUANTITY + 1])
def test_a_quantity_that_is_not_a_whole_number_in_range_is_rejected(quantity: object) -> None:
    with pytest.raises(InvalidQuantity):
        fill(cash=Decimal("1e9"), position=0, side="buy", quantity=quantity, price=Decimal("1.00"))  # type: ignore[arg-type]


def test_an_unknown_side_is_rejected() -> None:
    with pytest.raises(InvalidSide):
        fill(cash=Decimal("10"), position=0, side="short", quantity=1, price=Decimal("1.00"))
