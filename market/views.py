"""HTTP adapters of the market that are not JSON API: the stream and the health check."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from market.events import market_channel
from sources.catalog import symbols as all_symbols
from streams.serving import serve_stream, stream_view
from web.errors import error_response


def parse_symbols(raw: str | None) -> list[str]:
    """``BTC,META`` -> ``["BTC", "META"]``; every known symbol when absent.

    Raises ``ValueError`` naming what is wrong, for a 400 the client can read.
    """
    known = all_symbols()
    if raw is None:
        return known
    wanted = [part.strip() for part in raw.split(",")]
    if not all(wanted):
        raise ValueError("symbols must be a comma-separated list such as BTC,META")
    unknown = [symbol for symbol in wanted if symbol not in known]
    if unknown:
        raise ValueError(f"unknown symbol(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(wanted))


@stream_view
@require_GET
async def market_stream(request: HttpRequest) -> HttpResponseBase:
    try:
        wanted = parse_symbols(request.GET.get("symbols"))
    except ValueError as exc:
        return error_response(400, "unknown_symbol", str(exc))
    return await serve_stream(request, [market_channel(symbol) for symbol in wanted])


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        connection.ensure_connection()
    except DatabaseError:
        return error_response(503, "unavailable", "The database is not reachable.")
    return JsonResponse({"status": "ok"})
