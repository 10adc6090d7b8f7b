"""The health check's HTTP adapter: ``GET``/``HEAD /healthz``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from engine.health import check_health
from web.errors import BUSY_RETRY_AFTER


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part is healthy, else 503 naming the parts that are not."""
    health = check_health()
    body = dict(health.body)
    status = 200
    headers = {"Cache-Control": "no-store"}
    if not health.healthy:
        status = 503
        parts = health.unhealthy_parts()
        body["error"] = {"code": "unhealthy", "message": f"Unhealthy: {', '.join(parts)}."}
        headers["Retry-After"] = BUSY_RETRY_AFTER
    response = JsonResponse(body, status=status, headers=headers)
    if request.method == "HEAD":
        # The same status and headers as GET, without the body (health checkers use HEAD).
        response.content = b""
    return response
