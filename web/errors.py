"""The exchange's one JSON error format: ``{"error": {"code", "message"}}``.

Every app renders its errors through ``error_response`` so that clients can
rely on one shape and on stable codes. A database that is busy or unreachable
is answered here too, the same way for every door (API and dashboard).
"""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying when the database is busy.
BUSY_RETRY_AFTER = "1"
# Database errors that mean "too much at once" rather than "down": SQLite's
# lock timeout, PostgreSQL's connection limit.
BUSY_SIGNS = ("database is locked", "too many clients")


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, headers=headers)


def database_error_response(exc: OperationalError) -> JsonResponse:
    """503 with ``Retry-After``: busy (see ``BUSY_SIGNS``) or unreachable, the request changed nothing."""
    locked = any(sign in str(exc).lower() for sign in BUSY_SIGNS)
    logger.warning("database %s: %s", "busy" if locked else "unavailable", exc)
    return error_response(
        503,
        "busy" if locked else "unavailable",
        "The database is busy; retry shortly." if locked else "The database is unavailable; retry shortly.",
        headers={"Retry-After": BUSY_RETRY_AFTER},
    )
