"""Every error of the API and the streams in the one JSON format, including Django's own.

Views render their errors through ``web.errors``; this catches what
answers before a view does: an unknown URL (404) and a method a path does not
take (405, from ``require_GET`` and from django-ninja), which Django and ninja
would otherwise answer in HTML or plain text.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from web.errors import error_response

API_PREFIXES = ("/api/", "/market/", "/sources/", "/healthz")
MESSAGES = {
    404: ("not_found", "There is nothing at this URL."),
    405: ("method_not_allowed", "This URL does not take {method}."),
}


class JsonErrorsMiddleware:
    """Turns HTML or plain-text 404/405 answers under the API's paths into JSON errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code in MESSAGES
            and request.path.startswith(API_PREFIXES)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = MESSAGES[response.status_code]
            replacement = error_response(response.status_code, code, message.format(method=request.method))
            if response.has_header("Allow"):
                replacement["Allow"] = response["Allow"]
            return replacement
        return response
