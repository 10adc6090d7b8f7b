"""HTTP adapters of the market that are not JSON API: the market stream (health: ``engine.views``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from market.auth import token_auth
from market.channels import READER_ATTRIBUTE, StreamReader
from market.events import account_channel, market_channel
from market.models import Account
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


@require_GET
def account_stream(request: HttpRequest) -> HttpResponse:
    """The caller's private stream: ``order`` and ``balance`` events of its own account only.

    A bearer token (bots) or the dashboard's session; neither is 401 before any stream starts.
    """
    account = _stream_account(request)
    if account is None:
        return error_response(
            401, "unauthorized", "Send Authorization: Bearer <token>, or sign in on the dashboard."
        )
    reader = request.user if request.user.is_authenticated else StreamReader(account.pk)
    setattr(reader, READER_ATTRIBUTE, account.pk)
    request.user = reader  # type: ignore[assignment]
    return serve_stream(request, [account_channel(account.pk)])


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
    return None
