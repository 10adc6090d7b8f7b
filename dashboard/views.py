"""HTTP adapters of the dashboard: the page, sign-up, and orders of the logged-in person.

The page itself is static HTML plus ``static/dashboard/dashboard.js``, which
reads the public API and the market stream like any other client. Only the
order endpoint is the dashboard's own: it authenticates with the session
(CSRF-protected), never with a token, and calls the same service as the API.
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
from django.views.decorators.http import require_http_methods, require_POST
from pydantic import ValidationError

from market import orders
from market.errors import OrderRejected
from market.order_input import order_from_form
from market.ratelimit import OrderRateThrottle
from market.responses import (
    REPLAYED_HEADER,
    rate_limited_response,
    rejection_response,
    validation_error_response,
)
from market.selectors import shaped_order
from market.services import account_for_user
from sources.catalog import source_specs
from web.errors import database_error_response, error_response

logger = logging.getLogger(__name__)
_order_rate = OrderRateThrottle()

# How much the page backfills on load.
HISTORY_LIMIT = 500
TRADES_LIMIT = 100


def page_config(request: HttpRequest) -> dict[str, Any]:
    """What the page's script needs: assets, where to read, who is trading."""
    account = account_for_user(user=request.user).name if request.user.is_authenticated else None
    return {
        "assets": [{"symbol": spec.symbol, "name": spec.name} for spec in source_specs().values()],
        "urls": {
            "api": reverse("api:api-root"),
            "stream": reverse("market:stream"),
            "trade": reverse("dashboard:trade"),
        },
        "account": account,
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
