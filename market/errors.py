"""The market's domain errors: each rejection has a stable code and an HTTP status.

Raised by services and pure rules alike, and turned into the JSON error format
in one place (``market.api``), so a client can rely on the codes.
"""

from __future__ import annotations


class OrderRejected(Exception):
    """An order the exchange refuses; nothing was changed."""

    code = "order_rejected"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSymbol(OrderRejected):
    code = "unknown_symbol"


class InvalidSide(OrderRejected):
    code = "invalid_side"


class InvalidQuantity(OrderRejected):
    code = "invalid_quantity"


class InsufficientFunds(OrderRejected):
    code = "insufficient_funds"
    status = 409


class InsufficientPosition(OrderRejected):
    code = "insufficient_position"
    status = 409


class NoPrice(OrderRejected):
    code = "no_price"
    status = 409


class IdempotencyConflict(OrderRejected):
    code = "idempotency_conflict"
    status = 409


class InvalidPrice(OrderRejected):
    code = "invalid_price"


class InvalidType(OrderRejected):
    code = "invalid_type"


class InvalidTimeInForce(OrderRejected):
    code = "invalid_time_in_force"


class TooManyOpenOrders(OrderRejected):
    code = "too_many_open_orders"
    status = 409


class OrderNotFound(OrderRejected):
    code = "order_not_found"
    status = 404


class NotCancelable(OrderRejected):
    code = "not_cancelable"
    status = 409


class AccountRefused(ValueError):
    """A token the exchange will not issue for this account; nothing was changed."""


class PersonsAccount(AccountRefused):
    """The account belongs to a person (signed up on the dashboard): bots never get its token."""


class AccountInUse(AccountRefused):
    """The account already has a token, held by someone else: issuing one would stop their bot."""
