"""HTTP adapters of the market that are not JSON API: the market stream (health: ``engine.views``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from market.events import market_channel
from sources.catalog import symbols as all_symbols
from streams.serving import serve_stream
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


@require_GET
def market_stream(request: HttpRequest) -> HttpResponse:
    try:
        wanted = parse_symbols(request.GET.get("symbols"))
    except ValueError as exc:
        return error_response(400, "unknown_symbol", str(exc))
    return serve_stream(request, [market_channel(symbol) for symbol in wanted])
