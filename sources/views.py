"""HTTP adapters of the sources: the list, and one SSE stream per source."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_eventstream import get_current_event_id

from sources.catalog import source_specs
from sources.events import source_channel
from streams.serving import serve_stream, stream_view
from web.errors import error_response


@require_GET
def source_list(request: HttpRequest) -> JsonResponse:
    """Every source with its stream URL and the stream's current cursor.

    A client that connects with ``cursor`` as its Last-Event-ID gets every tick
    after this response, with no gap; one that connects without a cursor can
    miss the ticks of its first instant (docs/streams.md).
    """
    return JsonResponse(
        {
            "sources": [
                {
                    "symbol": spec.symbol,
                    "name": spec.name,
                    "stream": request.build_absolute_uri(reverse("sources:stream", args=[spec.symbol])),
                    "cursor": get_current_event_id([source_channel(spec.symbol)]),
                }
                for spec in source_specs().values()
            ]
        }
    )


@stream_view
@require_GET
async def source_stream(request: HttpRequest, symbol: str) -> HttpResponseBase:
    if symbol not in source_specs():
        return error_response(404, "unknown_symbol", f"No source for symbol {symbol!r}.")
    return await serve_stream(request, [source_channel(symbol)])
