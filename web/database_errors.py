"""A database that cannot be reached makes the JSON paths answer 503 ``unavailable``, not a 500 page.

The API (django-ninja) maps database errors itself; this covers the other
JSON views (the sources' list, for one) that read the database without a
handler of their own. Only errors that mean "cannot talk to the database
now" (``OperationalError``, ``InterfaceError``) become 503 with
``Retry-After``; a bug still surfaces as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from web.errors import error_response

logger = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/market/", "/sources/", "/healthz", "/trade/")
RETRY_AFTER = "1"


class DatabaseUnavailableMiddleware:
    """Turns an unreachable database under the JSON paths into 503 ``unavailable`` with ``Retry-After``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if not request.path.startswith(JSON_PREFIXES):
            return None
        logger.warning("%s %s: the database is unavailable (%s)", request.method, request.path, exception)
        return error_response(
            503,
            "unavailable",
            "The database is unavailable; retry shortly.",
            headers={"Retry-After": RETRY_AFTER},
        )
