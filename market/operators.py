"""Who may operate the exchange (its clock, scenarios, faults): a staff session or the operator token.

The operator token is ``EXCHANGE_OPERATOR_TOKEN``, sent as ``Authorization:
Bearer <token>`` and compared in constant time; with the setting empty only
staff sessions operate. A token, when sent, decides alone (a wrong one is
never saved by a cookie), and a staff session's unsafe requests pass Django's
CSRF check, as the dashboard's forms do. Everyone else is refused with 403.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja.utils import check_csrf

from web.errors import error_response

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def operator_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request comes from an operator; otherwise the 403 to answer with."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and is_operator_token(token.strip()):
            return None
        return _forbidden()
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return _forbidden()
    if request.method not in SAFE_METHODS:
        return check_csrf(request)
    return None


def is_operator(request: HttpRequest) -> bool:
    """Whether this request comes from an operator (``operator_refusal`` without the answer)."""
    return operator_refusal(request) is None


def is_operator_token(token: str) -> bool:
    configured = settings.EXCHANGE_OPERATOR_TOKEN
    return bool(configured) and hmac.compare_digest(token.encode(), configured.encode())


def _forbidden() -> HttpResponse:
    return error_response(
        403,
        "forbidden",
        "Operators only: a staff session, or Authorization: Bearer <EXCHANGE_OPERATOR_TOKEN>.",
    )
