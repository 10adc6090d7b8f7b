"""The exchange's REST API (django-ninja): validated input, OpenAPI schema, docs.

Every error leaves as ``{"error": {"code", "message"}}`` (see ``web.errors``);
the handlers here map ninja's own errors onto it through ``market.responses``,
which the dashboard uses too, with the specific code of the field at fault
where there is one.
Order bodies are parsed strictly: JSON only, no duplicate keys, no unknown
fields, and a quantity that is a JSON integer (not a string, float or boolean).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import Header, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from pydantic import Field

from market import orders, selectors
from market.api_docs import OfflineSwagger
from market.auth import token_auth
from market.clock_api import router as clock_router
from market.errors import OrderNotFound, OrderRejected
from market.fault_api import router as fault_router
from market.models import Account
from market.openapi import ExchangeAPI
from market.order_input import IDEMPOTENCY_KEY_MAX_LENGTH, OrderIn
from market.ratelimit import OrderRateThrottle
from market.responses import (
    REPLAYED_HEADER,
    rate_limited_response,
    rejection_response,
    validation_error_response,
)
from market.wire import AccountOut, EquityPointOut, LevelOut, MyAccountOut, OrderOut, PriceOut, TradeOut
from sources.catalog import symbols as all_symbols
from web.errors import database_error_response, error_response

JSON_TYPES = ("application/json",)


class ApiError(Exception):
    """An error with a stable code, rendered in the one error format."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    duplicates = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    if duplicates:
        raise ApiError(400, "malformed_json", f"duplicate key(s) in the JSON body: {', '.join(duplicates)}")
    return dict(pairs)


class StrictJsonParser(Parser):
    """Request bodies: ``application/json`` only, within the size cap, without duplicate keys."""

    def parse_body(self, request: HttpRequest) -> Any:
        if request.content_type not in JSON_TYPES:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"send JSON with Content-Type: application/json, not {request.content_type!r}",
            )
        if len(request.body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestDataTooBig("the request body is too large")
        try:
            return json.loads(request.body, object_pairs_hook=_reject_duplicate_keys)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc


api = ExchangeAPI(
    title="Exchange API",
    version="1.0.0",
    description=(
        "A simulated stock exchange for trading bots. Money and prices are decimal strings. "
        "Orders need `Authorization: Bearer <token>` (from `manage.py createbot NAME`)."
    ),
    urls_namespace="api",
    parser=StrictJsonParser(),
    docs=OfflineSwagger(),
)
api.add_router("/", clock_router)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return validation_error_response(exc.errors)


@api.exception_handler(OrderRejected)
def _order_rejected(request: HttpRequest, exc: OrderRejected) -> HttpResponse:
    return rejection_response(exc)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(413, "payload_too_large", f"the request body is larger than {limit} bytes")


@api.exception_handler(OperationalError)
def _database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    return database_error_response(exc)


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return rate_limited_response(exc.wait)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401,
        "unauthorized",
        "A valid token is required: Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps body parse failures; ours carry their own code.
    if isinstance(exc.__cause__, ApiError):
        return _api_error(request, exc.__cause__)
    if isinstance(exc.__cause__, RequestDataTooBig):
        return _too_big(request, exc.__cause__)
    return error_response(exc.status_code, "http_error", str(exc))


class ErrorDetail(Schema):
    code: str = Field(examples=["insufficient_funds"])
    message: str


class ErrorOut(Schema):
    error: ErrorDetail


class PricesOut(Schema):
    cursor: str = Field(description="The market stream's Last-Event-ID at the time of this snapshot.")
    prices: list[PriceOut]


class HistoryOut(Schema):
    symbol: str
    cursor: str
    prices: list[PriceOut]


class HistoryQuery(Schema):
    limit: int = Field(500, ge=1, le=5000)


def known_symbol(symbol: str) -> str:
    if symbol not in all_symbols():
        raise ApiError(
            404, "unknown_symbol", f"Unknown symbol {symbol!r}; known: {', '.join(all_symbols())}."
        )
    return symbol


@api.get("/prices", response=PricesOut, tags=["prices"], summary="Latest price per symbol")
def prices(request: HttpRequest) -> dict[str, Any]:
    return selectors.latest_prices()


@api.get(
    "/prices/{symbol}/history",
    response={200: HistoryOut, 400: ErrorOut, 404: ErrorOut},
    tags=["prices"],
    summary="Recent prices of one symbol, oldest first",
)
def price_history(request: HttpRequest, symbol: str, query: Query[HistoryQuery]) -> dict[str, Any]:
    return selectors.price_history(known_symbol(symbol), limit=query.limit)


# --- Trading -------------------------------------------------------------------------


IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)


class TradesOut(Schema):
    cursor: str = Field(description="The market stream's Last-Event-ID at the time of this snapshot.")
    trades: list[TradeOut]


class TradesQuery(Schema):
    account: str | None = Field(None, max_length=64)
    symbol: str | None = Field(None, max_length=16)
    limit: int = Field(100, ge=1, le=500)


class LeaderboardOut(Schema):
    cursor: str
    accounts: list[AccountOut]


ORDER_ERRORS = {code: ErrorOut for code in (400, 401, 404, 409, 413, 415, 429, 503)}


class OrdersOut(Schema):
    cursor: str = Field(description="The market stream's Last-Event-ID at the time of this snapshot.")
    orders: list[OrderOut]


class OrdersQuery(Schema):
    status: Literal["open", "closed", "all"] = "all"
    symbol: str | None = Field(None, max_length=16)
    limit: int = Field(100, ge=1, le=500)


class CancelAllQuery(Schema):
    symbol: str | None = Field(None, max_length=16)


class CanceledOut(Schema):
    canceled: list[int]


class HouseOut(Schema):
    bid: str | None
    ask: str | None
    depth: int | None = Field(description="units per side per tick; null: unlimited")
    spread_bps: int


class BookOut(Schema):
    symbol: str
    cursor: str = Field(description="The market stream's Last-Event-ID at the time of this snapshot.")
    source_price: str | None
    house: HouseOut
    bids: list[LevelOut]
    asks: list[LevelOut]


class BookQuery(Schema):
    depth: int = Field(10, ge=1, le=100)


@api.post(
    "/orders",
    auth=token_auth,
    throttle=[OrderRateThrottle()],
    response={201: OrderOut, **ORDER_ERRORS},
    tags=["trading"],
    summary="Place an order: market, limit, stop or stop-limit",
    description=(
        "Matches at once against the book and the house's quote; a limit order's rest waits in the "
        "book (gtc) or is canceled (ioc; fok is all or nothing); a stop waits for the source price to "
        "cross `stop_price`. Answers with the order; a refused order changes nothing. "
        "With an `Idempotency-Key` header (up to 255 characters, per account) the order is placed "
        "at most once: a repeat returns the original order, with `Idempotent-Replayed: true`; "
        "the same key with a different order is a 409 `idempotency_conflict`."
    ),
)
def place_order(
    request: HttpRequest,
    response: HttpResponse,
    order: OrderIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    account: Account = request.auth  # type: ignore[attr-defined]
    placed = orders.place_order(
        account=account,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        type=order.type,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        time_in_force=order.time_in_force,
        idempotency_key=idempotency_key,
    )
    if placed.replayed:
        response[REPLAYED_HEADER] = "true"
    return Status(201, selectors.shaped_order(placed))


@api.get(
    "/orders",
    auth=token_auth,
    response={200: OrdersOut, 400: ErrorOut, 401: ErrorOut},
    tags=["trading"],
    summary="The caller's orders, newest first (`open` includes partially filled)",
)
def list_orders(request: HttpRequest, query: Query[OrdersQuery]) -> dict[str, Any]:
    if query.symbol is not None:
        known_order_symbol(query.symbol)
    return selectors.account_orders(
        account=request.auth,  # type: ignore[attr-defined]
        status=query.status,
        symbol=query.symbol,
        limit=query.limit,
    )


@api.delete(
    "/orders",
    auth=token_auth,
    response={200: CanceledOut, **ORDER_ERRORS},
    tags=["trading"],
    summary="Cancel every open order (of one asset)",
)
def cancel_all_orders(request: HttpRequest, query: Query[CancelAllQuery]) -> dict[str, Any]:
    if query.symbol is not None:
        known_order_symbol(query.symbol)
    canceled = orders.cancel_all(account=request.auth, symbol=query.symbol)  # type: ignore[attr-defined]
    return {"canceled": canceled}


@api.get(
    "/orders/{order_id}",
    auth=token_auth,
    response={200: OrderOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut},
    tags=["trading"],
    summary="One of the caller's orders",
)
def get_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    found = selectors.account_order(account=request.auth, order_id=order_id)  # type: ignore[attr-defined]
    if found is None:
        raise OrderNotFound(f"no order {order_id} of this account")
    return selectors.shaped_order(found)


@api.delete(
    "/orders/{order_id}",
    auth=token_auth,
    response={200: OrderOut, **ORDER_ERRORS},
    tags=["trading"],
    summary="Cancel one of the caller's open orders",
)
def cancel_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    account: Account = request.auth  # type: ignore[attr-defined]
    canceled = orders.cancel_order(account=account, order_id=order_id)
    canceled.account = account
    return selectors.shaped_order(canceled)


@api.get(
    "/book/{symbol}",
    response={200: BookOut, 400: ErrorOut, 404: ErrorOut},
    tags=["prices"],
    summary="One asset's book: the accounts' resting orders per price, and the house's quote apart",
)
def book(request: HttpRequest, symbol: str, query: Query[BookQuery]) -> dict[str, Any]:
    return selectors.book_json(known_symbol(symbol), depth=query.depth)


@api.get(
    "/trades",
    response={200: TradesOut, 400: ErrorOut},
    tags=["trading"],
    summary="Recent trades, newest first",
)
def trades(request: HttpRequest, query: Query[TradesQuery]) -> dict[str, Any]:
    if query.symbol is not None:
        known_order_symbol(query.symbol)
    return selectors.recent_trades(limit=query.limit, account=query.account, symbol=query.symbol)


@api.get("/accounts", response=LeaderboardOut, tags=["trading"], summary="Leaderboard, best equity first")
def accounts(request: HttpRequest) -> dict[str, Any]:
    return selectors.leaderboard()


@api.get(
    "/accounts/me",
    auth=token_auth,
    response={200: MyAccountOut, 401: ErrorOut},
    tags=["trading"],
    summary="The caller's account, with what its open orders leave available",
)
def my_account(request: HttpRequest) -> dict[str, Any]:
    return selectors.account_json(request.auth)  # type: ignore[attr-defined]


class HistoryPointsOut(Schema):
    points: list[EquityPointOut]


class AccountHistoryQuery(Schema):
    limit: int = Field(500, ge=1, le=5000)


@api.get(
    "/accounts/me/history",
    auth=token_auth,
    response={200: HistoryPointsOut, 400: ErrorOut, 401: ErrorOut},
    tags=["trading"],
    summary="The caller's cash and equity after each change of its balances, oldest first",
)
def my_history(request: HttpRequest, query: Query[AccountHistoryQuery]) -> dict[str, Any]:
    return selectors.account_history(account=request.auth, limit=query.limit)  # type: ignore[attr-defined]


@api.post(
    "/accounts/me/reset",
    auth=token_auth,
    throttle=[OrderRateThrottle()],
    response={200: MyAccountOut, **ORDER_ERRORS},
    tags=["trading"],
    summary="Back to the starting cash with no positions; open orders are canceled",
    description=(
        "Each canceled order sends its `order` event on the private stream, then one `balance` event. "
        "Recorded as a ledger entry (not a trade, not on the tape): the audit still explains every balance."
    ),
)
def reset_my_account(request: HttpRequest) -> dict[str, Any]:
    account: Account = request.auth  # type: ignore[attr-defined]
    orders.reset_account(account=account)
    return selectors.account_json(account)


def known_order_symbol(symbol: str) -> str:
    if symbol not in all_symbols():
        raise ApiError(
            400, "unknown_symbol", f"Unknown symbol {symbol!r}; known: {', '.join(all_symbols())}."
        )
    return symbol


# --- Operators -------------------------------------------------------------------------

api.add_router("/admin/faults", fault_router)
