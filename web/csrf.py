"""The CSRF failure view: the JSON error format where clients read JSON, Django's page elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.csrf import csrf_failure as html_csrf_failure

from web.errors import error_response

# The API and the dashboard's order endpoint, which the page's script reads as JSON.
JSON_PREFIXES = ("/api/", "/trade/", "/market/", "/sources/", "/healthz")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith(JSON_PREFIXES):
        return error_response(
            403, "csrf_failed", f"CSRF check failed ({reason}); reload the page and try again."
        )
    return html_csrf_failure(request, reason=reason)
