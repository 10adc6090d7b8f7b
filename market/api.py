"""The exchange's REST API (django-ninja): validated input, OpenAPI schema, docs.

Every error leaves as ``{"error": {"code", "message"}}`` (see
``exchange_site.errors``); the handlers here map ninja's own errors onto it,
with the specific code of the field at fault where there is one.
Order bodies are parsed strictly: JSON only, no duplicate keys, no unknown
fields, and a quantity that is a JSON integer (not a string, float or boolean).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import Header, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from exchange_site.errors import error_response
from market import selectors, services
from market.api_docs import OfflineSwagger
from market.auth import token_auth
from market.errors import OrderRejected
from market.fills import MAX_ORDER_QUANTITY
from market.models import Account
from market.openapi import ExchangeAPI
from market.ratelimit import OrderRateThrottle
from sources.catalog import symbols as all_symbols

logger = logging.getLogger(__name__)

JSON_TYPES = ("application/json",)
# Where a field is known, its validation error gets that field's own code.
FIELD_CODES = {"quantity": "invalid_quantity", "side": "invalid_side", "symbol": "unknown_symbol"}
# Seconds a client should wait before retrying when the database is busy.
BUSY_RETRY_AFTER = "1"
# Database errors that mean "too much at once" rather than "down": SQLite's
# lock timeout, PostgreSQL's connection limit.
BUSY_SIGNS = ("database is locked", "too many clients")


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


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


def _error_code(error: dict[str, Any]) -> str:
    if error.get("type") in ("missing", "extra_forbidden"):
        return "invalid_request"
    fields = [part for part in error.get("loc", ()) if isinstance(part, str)]
    return FIELD_CODES.get(fields[-1], "invalid_request") if fields else "invalid_request"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Missing or unknown fields first: they say the body's shape is wrong.
    errors = sorted(exc.errors, key=lambda error: _error_code(error) != "invalid_request")
    first = errors[0] if errors else {}
    where = ".".join(
        str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header", "order")
    )
    detail = first.get("msg", "invalid input")
    return error_response(400, _error_code(first), f"{where}: {detail}" if where else detail)


@api.exception_handler(OrderRejected)
def _order_rejected(request: HttpRequest, exc: OrderRejected) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(413, "payload_too_large", f"the request body is larger than {limit} bytes")


@api.exception_handler(OperationalError)
def _database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # Busy (see BUSY_SIGNS) or unreachable: either way the request changed
    # nothing and may be retried.
    locked = any(sign in str(exc).lower() for sign in BUSY_SIGNS)
    logger.warning("database %s: %s", "busy" if locked else "unavailable", exc)
    return error_response(
        503,
        "busy" if locked else "unavailable",
        "The database is busy; retry shortly." if locked else "The database is unavailable; retry shortly.",
        headers={"Retry-After": BUSY_RETRY_AFTER},
    )


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # django-ninja adds Retry-After from the throttle's wait.
    return error_response(
        429, "rate_limited", f"too many orders; at most {settings.EXCHANGE_ORDER_RATE:g} per second"
    )


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


class PriceOut(Schema):
    symbol: str = Field(examples=["BTC"])
    price: str = Field(examples=["64210.50"])
    seq: int
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


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


# Documents the known symbols; the service still checks them at run time.
SYMBOL_ENUM: dict[str, Any] = {"enum": all_symbols()}
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", min_length=1, max_length=255)


class OrderIn(Schema):
    """A market order. Unknown fields are refused: a client never sets account, cash or price."""

    model_config = ConfigDict(extra="forbid")

    symbol: StrictStr = Field(max_length=16, json_schema_extra=SYMBOL_ENUM, examples=["BTC"])
    side: Literal["buy", "sell"]
    quantity: StrictInt = Field(ge=1, le=MAX_ORDER_QUANTITY, description="whole units", examples=[1])


class TradeOut(Schema):
    id: int
    account: str
    symbol: str
    side: Literal["buy", "sell"]
    quantity: int
    price: str = Field(examples=["64210.50"])
    ts: str = Field(examples=["2026-11-25T14:43:27.123456Z"])


class TradesOut(Schema):
    cursor: str = Field(description="The market stream's Last-Event-ID at the time of this snapshot.")
    trades: list[TradeOut]


class TradesQuery(Schema):
    account: str | None = Field(None, max_length=64)
    symbol: str | None = Field(None, max_length=16)
    limit: int = Field(100, ge=1, le=500)


class AccountOut(Schema):
    name: str
    cash: str = Field(examples=["99700.00"])
    positions: dict[str, int] = Field(examples=[{"BTC": 2}])
    equity: str
    pnl: str
    trades: int


class LeaderboardOut(Schema):
    cursor: str
    accounts: list[AccountOut]


ORDER_ERRORS = {code: ErrorOut for code in (400, 401, 409, 413, 415, 429, 503)}


@api.post(
    "/orders",
    auth=token_auth,
    throttle=[OrderRateThrottle()],
    response={201: TradeOut, **ORDER_ERRORS},
    tags=["trading"],
    summary="Place a market order at the latest price",
    description=(
        "Executes at once against the exchange, or is rejected with nothing changed. "
        "With an `Idempotency-Key` header (up to 255 characters, per account) the order executes "
        "at most once: a repeat returns the original response, with `Idempotent-Replayed: true`; "
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
    trade = services.place_order(
        account=account,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        idempotency_key=idempotency_key,
    )
    if trade.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, selectors.trade_json(trade))


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
    response={200: AccountOut, 401: ErrorOut},
    tags=["trading"],
    summary="The caller's account",
)
def my_account(request: HttpRequest) -> dict[str, Any]:
    return selectors.account_json(request.auth)  # type: ignore[attr-defined]


def known_order_symbol(symbol: str) -> str:
    if symbol not in all_symbols():
        raise ApiError(
            400, "unknown_symbol", f"Unknown symbol {symbol!r}; known: {', '.join(all_symbols())}."
        )
    return symbol
