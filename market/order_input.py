"""One validation of an order's input, for both doors: the API's JSON body and the dashboard's form.

The API validates ``OrderIn`` from JSON (a quantity must be a JSON integer);
the dashboard's form sends text, so ``order_from_form`` turns a quantity made
of ASCII digits only into that integer and hands anything else to the same
validation, which refuses it as the API refuses a string. Both doors then
report errors through ``market.responses.validation_error_response``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from market.fills import MAX_ORDER_QUANTITY
from sources.catalog import symbols as all_symbols

# Per account; a key identifies one order for as long as it is kept.
IDEMPOTENCY_KEY_MAX_LENGTH = 255
# Documents the known symbols; the service still checks them at run time.
SYMBOL_ENUM: dict[str, Any] = {"enum": all_symbols()}
# "1" and "25", never "1.0", " 1 ", "+1" or digits of other scripts (Arabic-Indic one).
WHOLE_NUMBER = re.compile(r"[0-9]+", re.ASCII)


PRICE_FIELD = Field(
    None,
    max_length=20,
    description="a decimal string with at most two places, above 0",
    examples=["64210.50"],
)


class OrderIn(Schema):
    """An order. Unknown fields are refused: a client never sets account, cash or price.

    Prices are strings here; ``market.orders.validate_order`` checks them
    (places, sign, and which type needs which price).
    """

    model_config = ConfigDict(extra="forbid")

    symbol: StrictStr = Field(max_length=16, json_schema_extra=SYMBOL_ENUM, examples=["BTC"])
    side: Literal["buy", "sell"]
    quantity: StrictInt = Field(ge=1, le=MAX_ORDER_QUANTITY, description="whole units", examples=[1])
    type: Literal["market", "limit", "stop", "stop_limit"] = "market"
    limit_price: StrictStr | None = PRICE_FIELD
    stop_price: StrictStr | None = PRICE_FIELD
    time_in_force: Literal["gtc", "ioc", "fok"] = Field("gtc", description="a market order never rests")


class FormOrderIn(OrderIn):
    """The dashboard's order: the API's, with the idempotency key as a field instead of a header."""

    idempotency_key: StrictStr | None = Field(None, min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)


def order_from_form(form: Mapping[str, Any]) -> FormOrderIn:
    """Validate a submitted order form; raises pydantic's ``ValidationError``.

    Only the order's own fields are read (the form also carries its CSRF
    token); an empty idempotency key means none.
    """
    fields = ("symbol", "side", "quantity", "type", "limit_price", "stop_price", "time_in_force")
    # An empty optional field of the form means the field is not given.
    data: dict[str, Any] = {name: form[name] for name in fields if form.get(name) not in (None, "")}
    data.update({name: form[name] for name in ("symbol", "side", "quantity") if name in form})
    quantity = data.get("quantity")
    if isinstance(quantity, str) and WHOLE_NUMBER.fullmatch(quantity):
        data["quantity"] = int(quantity)
    key = form.get("idempotency_key")
    if key:
        data["idempotency_key"] = key
    return FormOrderIn.model_validate(data)
