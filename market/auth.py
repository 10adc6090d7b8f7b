"""API authentication: ``Authorization: Bearer <token>``, and nothing else.

The token API never looks at session cookies, so a browser session cannot be
used to place orders cross-site (no CSRF exposure), and a token identifies
exactly one account. Only the token's sha256 is stored; lookup is by that hash.
"""

from __future__ import annotations

from django.db.models import F
from django.http import HttpRequest
from ninja.security import HttpBearer

from market.models import Account
from market.services import hash_token

# Tokens from ``issue_token`` are 43 characters; anything far longer is not one of ours.
MAX_TOKEN_LENGTH = 256


def account_of_token(request: HttpRequest, token: str) -> Account | None:
    """The token's account, looked up once per request, or None.

    The fault middleware (``market.fault_injection``) and the view's
    authentication both need it: the one query serves both. The account
    carries ``fault_plan_id``, its injected faults' row id (None without).
    """
    token = token.strip()
    cached = getattr(request, "_token_account", None)
    if cached is not None and cached[0] == token:
        return cached[1]  # type: ignore[no-any-return]
    account = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        account = (
            Account.objects.filter(token_hash=hash_token(token), is_house=False)
            .annotate(fault_plan_id=F("faults__id"))
            .first()
        )
    request._token_account = (token, account)  # type: ignore[attr-defined]
    return account


class TokenAuth(HttpBearer):
    """Resolves a bearer token to its account; ``request.auth`` is then the ``Account``."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        return account_of_token(request, token)


token_auth = TokenAuth()
