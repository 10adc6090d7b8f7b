"""NUL characters in a URL's path or query are refused with a 400 in the JSON error format.

No name, symbol, cursor or key of the exchange contains one, and PostgreSQL
cannot store or compare text with one (psycopg raises ``DataError``), so
``/api/trades?account=%00`` would otherwise be a 500. Refused here, once, for
every path and parameter, before any view or query sees them. Form fields
already refuse them (Django's ``ProhibitNullCharactersValidator``), and JSON
bodies meet the API's own validation.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from web.errors import error_response

NUL = "\x00"


class NullCharactersMiddleware:
    """Answers 400 ``invalid_request`` when the path or a query parameter contains a NUL character."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or any(
            NUL in key or NUL in value for key, values in request.GET.lists() for value in values
        ):
            return error_response(400, "invalid_request", "The URL contains a NUL character.")
        return self.get_response(request)
