"""The security headers of every response: a Content-Security-Policy and a Permissions-Policy.

The policy is the one place that says what a page of the exchange may load
and run. Scripts come only from the exchange's own origin, and no inline
script runs (no ``'unsafe-inline'``, no hash or nonce is needed: the dashboard
and the API docs load their scripts as files, and their configuration as
``<script type="application/json">``, which is data, not code), so a script
injected into a page is refused by the browser. Styles allow inline
``style`` attributes, which the chart library and Swagger UI set; styles cannot
run code. Django's ``SecurityMiddleware`` adds the rest (nosniff,
Referrer-Policy, Cross-Origin-Opener-Policy), ``XFrameOptionsMiddleware`` the
framing ban for older browsers.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Powerful browser features the exchange never uses, off for its pages and anything they embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    """Adds ``Content-Security-Policy`` and ``Permissions-Policy`` to every response that lacks them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
