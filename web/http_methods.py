"""Methods on the read-only paths: HEAD answers like GET, unsafe methods get a JSON 405.

Health checkers and monitors probe with HEAD; Django's ``require_GET`` and
django-ninja's GET routes refuse it with 405. Here a HEAD to one of the API's
paths is served as a GET and its body dropped (a stream's too: a HEAD never
opens a stream), so the status and headers are exactly GET's.

The health check, the sources and the market's streams take no writes at
all, so a POST (or PUT, DELETE...) there is answered 405 in the JSON error
format at once, before Django's CSRF check would turn it into a 403 HTML
page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from web.errors import error_response

# Paths that answer GET: every API path (django-ninja answers other methods itself).
GET_PREFIXES = ("/api/", "/market/", "/sources/", "/healthz")
# Paths that answer nothing but GET and HEAD.
READ_ONLY_PREFIXES = ("/market/", "/sources/", "/healthz")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class HttpMethodsMiddleware:
    """Serves HEAD as GET without a body, and refuses writes to read-only paths with a JSON 405."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(READ_ONLY_PREFIXES) and request.method not in SAFE_METHODS:
            return error_response(
                405,
                "method_not_allowed",
                f"This URL does not take {request.method}.",
                headers={"Allow": "GET, HEAD"},
            )
        if request.method != "HEAD" or not request.path.startswith(GET_PREFIXES):
            return self.get_response(request)
        request.method = "GET"
        response = self.get_response(request)
        request.method = "HEAD"
        if isinstance(response, StreamingHttpResponse):
            # Never iterated, so the stream never starts (no listener, no database read).
            response.streaming_content = _nothing() if response.is_async else iter(())
        else:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # makes this an async generator that yields nothing
