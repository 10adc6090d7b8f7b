"""The exchange's REST API (django-ninja): validated input, OpenAPI schema, docs.

Every error leaves as ``{"error": {"code", "message"}}`` (see
``exchange_site.errors``); the handlers here map ninja's own errors onto it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import Field

from exchange_site.errors import error_response
from market import selectors
from sources.catalog import symbols as all_symbols

api = NinjaAPI(
    title="Exchange API",
    version="1.0.0",
    description="A simulated stock exchange for trading bots. Money and prices are decimal strings.",
    urls_namespace="api",
)


class ApiError(Exception):
    """An error with a stable code, rendered in the one error format."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
    detail = first.get("msg", "invalid input")
    return error_response(400, "invalid_request", f"{where}: {detail}" if where else detail)


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
    return error_response(exc.status_code, "http_error", str(exc))


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
    response={200: HistoryOut},
    tags=["prices"],
    summary="Recent prices of one symbol, oldest first",
)
def price_history(request: HttpRequest, symbol: str, query: Query[HistoryQuery]) -> dict[str, Any]:
    return selectors.price_history(known_symbol(symbol), limit=query.limit)
