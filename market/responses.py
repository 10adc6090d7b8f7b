"""The market's outcomes on HTTP, written once for both doors (the API and the dashboard).

Rejections keep their stable code and status, rate limits answer 429 with
``Retry-After``, and invalid input names the field at fault with that field's
own code where it has one. The format itself is ``web.errors``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import JsonResponse

from market.errors import OrderRejected
from web.errors import error_response

# Set on an order's answer when it is the replay of an earlier one with the same key.
REPLAYED_HEADER = "Idempotent-Replayed"
# Where a field is known, its validation error gets that field's own code.
FIELD_CODES = {
    "quantity": "invalid_quantity",
    "side": "invalid_side",
    "symbol": "unknown_symbol",
    "type": "invalid_type",
    "time_in_force": "invalid_time_in_force",
    "limit_price": "invalid_price",
    "stop_price": "invalid_price",
}
# Parts of an error's location that name where the input came from, not the field.
LOCATION_PARTS = ("body", "query", "path", "header", "order")


def rejection_response(exc: OrderRejected) -> JsonResponse:
    return error_response(exc.status, exc.code, exc.message)


def rate_limited_response(wait: float | None) -> JsonResponse:
    return error_response(
        429,
        "rate_limited",
        f"too many orders; at most {settings.EXCHANGE_ORDER_RATE:g} per second",
        headers={"Retry-After": str(math.ceil(wait or 1))},
    )


def _error_code(error: Mapping[str, Any]) -> str:
    if error.get("type") in ("missing", "extra_forbidden"):
        return "invalid_request"
    fields = [part for part in error.get("loc", ()) if isinstance(part, str)]
    return FIELD_CODES.get(fields[-1], "invalid_request") if fields else "invalid_request"


def validation_error_response(errors: Iterable[Mapping[str, Any]]) -> JsonResponse:
    """400 for the first of pydantic's errors: missing or unknown fields first (the shape is wrong)."""
    ordered = sorted(errors, key=lambda error: _error_code(error) != "invalid_request")
    first: Mapping[str, Any] = ordered[0] if ordered else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in LOCATION_PARTS)
    detail = first.get("msg", "invalid input")
    return error_response(400, _error_code(first), f"{where}: {detail}" if where else detail)
