"""HTTP adapters of the market that are not JSON API: the market stream (health: ``engine.views``)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from market.auth import token_auth
from market.channels import READER_PREFIX, StreamReader
from market.events import account_channel, market_channel
from market.models import Account
from sources.catalog import symbols as all_symbols
from streams.serving import proxied_reader, serve_stream, stream_view
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


@stream_view
@require_GET
async def account_stream(request: HttpRequest) -> HttpResponseBase:
    """The caller's private stream: ``order`` and ``balance`` events of its own account only.

    A bearer token (bots) or the dashboard's session; neither is 401 before any stream starts.
    The stream reads as that account (``market.channels``), so the library itself refuses
    any other account's channel.
    """
    account = await sync_to_async(_stream_account)(request)
    if account is None:
        return error_response(
            401, "unauthorized", "Send Authorization: Bearer <token>, or sign in on the dashboard."
        )
    return await serve_stream(request, [account_channel(account.pk)], reader=StreamReader(account.pk))


def _stream_account(request: HttpRequest) -> Account | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        # A token, when sent, decides alone (as on the API): a wrong one is never saved by a cookie.
        if scheme.lower() != "bearer":
            return None
        return token_auth.authenticate(request, token)
    if request.user.is_authenticated:
        return Account.objects.filter(user=request.user, is_house=False).first()
    # A GRIP proxy following the stream it holds: the reader its first answer named.
    reader = proxied_reader(request) or ""
    number = reader.removeprefix(READER_PREFIX)
    if reader.startswith(READER_PREFIX) and number.isdigit():
        return Account.objects.filter(pk=int(number), is_house=False).first()
    return None
