"""HTTP adapters of the dashboard: the page, sign-up, and the logged-in person's trading.

The page itself is static HTML plus ``static/dashboard/dashboard.js``, which
reads the public API and the market stream like any other client. What
belongs to the person (placing and canceling orders, their account, orders,
history and API token) goes through the dashboard's own endpoints under
``/trade/``: they authenticate with the session (state changes are POSTs with
Django's CSRF check), never with a token, and call the same services and
selectors as the token API, which in turn ignores sessions. The private
stream (``/api/accounts/me/stream/``) takes the session itself.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from market import orders, selectors
from market.errors import OrderRejected
from market.models import Account
from market.order_input import order_from_form
from market.ratelimit import OrderRateThrottle
from market.responses import (
    REPLAYED_HEADER,
    rate_limited_response,
    rejection_response,
    validation_error_response,
)
from market.selectors import shaped_order
from market.services import account_for_user, rotate_token
from sources.catalog import source_specs
from web.errors import database_error_response, error_response

logger = logging.getLogger(__name__)
_order_rate = OrderRateThrottle()

# How much the page backfills on load.
HISTORY_LIMIT = 500
TRADES_LIMIT = 100
# The person's orders and equity points the page loads; the stream adds the rest.
ORDERS_LIMIT = 100
EQUITY_LIMIT = 1000
ORDER_STATUSES = ("open", "closed", "all")


def page_config(request: HttpRequest) -> dict[str, Any]:
    """What the page's script needs: assets, where to read, who is trading."""
    account = account_for_user(user=request.user) if request.user.is_authenticated else None
    urls = {
        "api": reverse("api:api-root"),
        "stream": reverse("market:stream"),
        "trade": reverse("dashboard:trade"),
    }
    if account is not None:
        urls.update(
            account=reverse("dashboard:account"),
            accountStream=reverse("account-stream"),
            orders=reverse("dashboard:orders"),
            cancelAll=reverse("dashboard:cancel-all"),
            history=reverse("dashboard:history"),
            token=reverse("dashboard:token"),
        )
    return {
        "assets": [{"symbol": spec.symbol, "name": spec.name} for spec in source_specs().values()],
        "urls": urls,
        "account": account.name if account is not None else None,
        "hasToken": account is not None and account.token_hash is not None,
        "ordersLimit": ORDERS_LIMIT,
        "historyLimit": HISTORY_LIMIT,
        "tradesLimit": TRADES_LIMIT,
    }


@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    config = page_config(request)
    return render(request, "dashboard/index.html", {"config": config, "assets": config["assets"]})


@require_POST
def trade(request: HttpRequest) -> JsonResponse:
    """Place a market order for the logged-in person's own account.

    201 with the order, or the exchange's error format with its code, status
    and message, which the page shows as it is.
    """
    if not request.user.is_authenticated:
        return error_response(401, "login_required", "Log in to trade.")
    try:
        order = order_from_form(request.POST)
    except ValidationError as exc:
        # The API's validation and its error codes: one set of rules for both doors.
        return validation_error_response(exc.errors())
    try:
        account = account_for_user(user=request.user)
        # The same per-account bucket as orders placed with a token.
        request.auth = account  # type: ignore[attr-defined]
        if not _order_rate.allow_request(request):
            return rate_limited_response(_order_rate.wait())
        executed = orders.place_order(
            account=account,
            symbol=order.symbol,
            side=order.side,
            quantity=order.quantity,
            type=order.type,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            time_in_force=order.time_in_force,
            idempotency_key=order.idempotency_key,
        )
    except OrderRejected as exc:
        return rejection_response(exc)
    except OperationalError as exc:
        return database_error_response(exc)
    response = JsonResponse(shaped_order(executed), status=201)
    if executed.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create a person's login and their trading account, then log them in."""
    if request.user.is_authenticated:
        return redirect("dashboard:index")
    form: UserCreationForm[User] = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # One transaction: a login without its account is never saved.
            with transaction.atomic():
                user = form.save()
                account_for_user(user=user)
        except ValueError as exc:
            logger.warning("sign-up of %r refused: %s", form.cleaned_data.get("username"), exc)
            form.add_error(None, "No trading account could be opened for this name; choose another.")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard:index")
    starting_cash = f"{settings.EXCHANGE_STARTING_CASH:,.2f}"
    return render(request, "registration/signup.html", {"form": form, "starting_cash": starting_cash})


def _login_required() -> JsonResponse:
    return error_response(401, "login_required", "Log in to trade.")


def _person(request: HttpRequest) -> Account | None:
    """The signed-in person's account; None for a visitor (a token never counts here)."""
    if not request.user.is_authenticated:
        return None
    return account_for_user(user=request.user)


@require_GET
def account(request: HttpRequest) -> JsonResponse:
    """The person's account as ``/api/accounts/me`` shows it, with the private stream's ``cursor``."""
    mine = _person(request)
    if mine is None:
        return _login_required()
    return JsonResponse(selectors.account_json(mine))


@require_GET
def my_orders(request: HttpRequest) -> JsonResponse:
    """The person's orders, newest first (``?status=open|closed|all``), as ``GET /api/orders``."""
    mine = _person(request)
    if mine is None:
        return _login_required()
    status = request.GET.get("status", "all")
    if status not in ORDER_STATUSES:
        return error_response(400, "invalid_request", "status must be open, closed or all.")
    return JsonResponse(selectors.account_orders(account=mine, status=status, limit=ORDERS_LIMIT))


@require_POST
def cancel_order(request: HttpRequest, order_id: int) -> JsonResponse:
    """Cancel one of the person's open orders: 200 with the order, or the API's 404/409."""
    mine = _person(request)
    if mine is None:
        return _login_required()
    try:
        canceled = orders.cancel_order(account=mine, order_id=order_id)
    except OrderRejected as exc:
        return rejection_response(exc)
    except OperationalError as exc:
        return database_error_response(exc)
    canceled.account = mine
    return JsonResponse(shaped_order(canceled))


@require_POST
def cancel_all(request: HttpRequest) -> JsonResponse:
    """Cancel every open order of the person: ``{"canceled": [ids]}``."""
    mine = _person(request)
    if mine is None:
        return _login_required()
    try:
        canceled = orders.cancel_all(account=mine)
    except OperationalError as exc:
        return database_error_response(exc)
    return JsonResponse({"canceled": canceled})


@require_GET
def history(request: HttpRequest) -> JsonResponse:
    """The person's cash and equity over time, oldest first, as ``GET /api/accounts/me/history``."""
    mine = _person(request)
    if mine is None:
        return _login_required()
    raw = request.GET.get("limit", str(EQUITY_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= EQUITY_LIMIT:
        return error_response(
            400, "invalid_request", f"limit must be a whole number from 1 to {EQUITY_LIMIT}."
        )
    return JsonResponse(selectors.account_history(account=mine, limit=int(raw)))


@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """Create or rotate the API token of the person's own account; the answer is the only time it shows.

    The previous token stops working at once. With it the person can point
    ``runbot`` (or any client) at their account.
    """
    mine = _person(request)
    if mine is None:
        return _login_required()
    plaintext = rotate_token(account=mine)
    logger.info("API token of %s rotated from the dashboard", mine.name)
    response = JsonResponse({"account": mine.name, "token": plaintext}, status=201)
    # Shown once: no cache or history may keep it.
    response["Cache-Control"] = "no-store"
    return response
