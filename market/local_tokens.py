"""Tokens kept on this machine, so a bot started by hand never rotates the token of a running one.

``runbot NAME`` without ``--token`` and ``createbot NAME`` keep the token they
get in ``EXCHANGE_STATE_DIR/tokens/<database>/NAME`` (directory 0700, file
0600; the state dir is git-ignored). The database holds only the token's
hash, as always; the file is what lets a second ``runbot NAME`` reuse the token
that the first one is trading with. ``<database>`` is a digest of the
database's identity, so SQLite for ``make run`` and PostgreSQL for
``make scale`` keep apart the tokens of their same-named accounts.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.db import connection

from market.models import Account
from market.services import ACCOUNT_NAME, hash_token, issue_token


def database_key() -> str:
    """A short digest naming the database this process uses."""
    db = connection.settings_dict
    identity = "|".join(str(db.get(part) or "") for part in ("ENGINE", "HOST", "PORT", "NAME"))
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def kept_token_path(name: str) -> Path:
    if not ACCOUNT_NAME.fullmatch(name):
        raise ValueError(f"account name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    return Path(settings.EXCHANGE_STATE_DIR) / "tokens" / database_key() / name


def keep_token(*, name: str, token: str) -> Path:
    """Store ``token`` as the kept token of ``name``, readable by this user only; returns the file."""
    path = kept_token_path(name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    partial.replace(path)
    return path


def kept_token(name: str) -> str | None:
    """The kept token of ``name`` if it is still that bot account's token, else None."""
    try:
        token = kept_token_path(name).read_text().strip()
    except FileNotFoundError:
        return None
    valid = Account.objects.filter(
        name=name, token_hash=hash_token(token), user=None, is_house=False
    ).exists()
    return token if token and valid else None


def bot_token(*, name: str) -> tuple[str, bool]:
    """A token for bot ``name`` that stops no running bot: ``(token, issued)``.

    The kept token while it is still the account's; else a new one, when the
    account is new or has no token. Raises ``AccountInUse`` when the account's
    token is held elsewhere (``createbot`` on another machine, say), and
    ``PersonsAccount`` for a person's account.
    """
    token = kept_token(name)
    if token is not None:
        return token, False
    token = issue_token(name=name, replace=False)
    keep_token(name=name, token=token)
    return token, True
