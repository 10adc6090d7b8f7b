"""Who may operate the exchange over HTTP (faults, the clock): a staff session, or the operator token.

The operator token is ``EXCHANGE_OPERATOR_TOKEN`` (unset: no token works),
sent as ``Authorization: Bearer <token>`` and compared in constant time. A
staff session is the dashboard's or the admin's login, with Django's CSRF
check on requests that change something.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from ninja.utils import check_csrf

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def is_operator(request: HttpRequest) -> bool:
    """Whether this request comes from an operator: the operator token, or a staff session (with CSRF)."""
    expected = settings.EXCHANGE_OPERATOR_TOKEN
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        # A token, when sent, decides alone: a wrong one is never saved by a session cookie.
        return bool(
            expected
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), expected.encode())
        )
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    return request.method in SAFE_METHODS or check_csrf(request) is None
