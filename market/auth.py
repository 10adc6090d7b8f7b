"""API authentication: ``Authorization: Bearer <token>``, and nothing else.

The token API never looks at session cookies, so a browser session cannot be
used to place orders cross-site (no CSRF exposure), and a token identifies
exactly one account. Only the token's sha256 is stored; lookup is by that hash.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from market.models import Account
from market.services import hash_token

# Tokens from ``issue_token`` are 43 characters; anything far longer is not one of ours.
MAX_TOKEN_LENGTH = 256


class TokenAuth(HttpBearer):
    """Resolves a bearer token to its account; ``request.auth`` is then the ``Account``."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        return Account.objects.filter(token_hash=hash_token(token), is_house=False).first()


token_auth = TokenAuth()
