"""The exchange's one JSON error format: ``{"error": {"code", "message"}}``.

Every app renders its errors through ``error_response`` so that clients can
rely on one shape and on stable codes.
"""

from __future__ import annotations

from django.http import JsonResponse


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, headers=headers)
