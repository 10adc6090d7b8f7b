"""The ceiling of the hot-paths benchmark: one bare Django view, nothing else.

    python -m uvicorn benchmarks.bare_site:application --port 8200

An ``async def`` view that returns a small JSON object through ``JsonResponse``:
no middleware, no database, no apps. Served by the same uvicorn (and the same
HTTP protocol class) as the exchange, it is what Django on this machine does
per request at best; benchmarks/hot_paths.py reports every path as a ratio to it.
"""

from __future__ import annotations

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bare-benchmark-only",  # noqa: S106  (signs nothing: no sessions, no cookies)
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
    # Read by the HTTP protocol class the exchange is served with (web/http_protocol.py).
    EXCHANGE_MAX_HEADER_BYTES=16_384,
    EXCHANGE_REQUEST_TIMEOUT=10.0,
)

from django.core.asgi import get_asgi_application  # noqa: E402  (needs the settings above)
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


async def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("", ok)]

application = get_asgi_application()
