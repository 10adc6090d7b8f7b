"""Every state change of the market: record ticks, trim old prices, and the ledger.

Ledger services: open accounts and issue their tokens (orders and the book
are ``market.orders``'s).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from market.errors import AccountInUse, PersonsAccount
from market.events import publish_price
from market.fills import CENT
from market.house import HOUSE_NAME, house_account
from market.models import Account, EquityPoint, Price, PricePoint
from market.orders import lock_book, on_tick
from sources.ticks import Tick
from streams.publishing import publishing_batch

logger = logging.getLogger(__name__)
trade_logger = logging.getLogger("market.trades")

# Matched with ``fullmatch``: ``$`` alone would accept a trailing newline.
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Trailing characters that do not make a name different to a reader.
NAME_TRAILERS = "_.-"


def record_price(*, tick: Tick, cursor: str | None) -> bool:
    """Store a source's tick as the latest price and broadcast it once.

    Idempotent by ``seq``: a tick at or below the recorded ``seq`` (a replay
    after a reconnect, or a second engine) changes nothing but the cursor.
    Returns whether the tick was new.
    """
    with transaction.atomic(), publishing_batch():
        # The book's row first: every change of an asset's book locks it before anything else.
        book = lock_book(tick.symbol)
        latest = Price.objects.select_for_update().filter(symbol=tick.symbol).first()
        if latest is not None and tick.seq <= latest.seq:
            if cursor and cursor != latest.source_cursor:
                latest.source_cursor = cursor
                latest.save(update_fields=["source_cursor", "updated_at"])
            return False
        if latest is not None and tick.seq != latest.seq + 1:
            logger.warning(
                "%s: ticks %d..%d never reached the market", tick.symbol, latest.seq + 1, tick.seq - 1
            )
        Price.objects.update_or_create(
            symbol=tick.symbol,
            defaults={"price": tick.price, "seq": tick.seq, "ts": tick.ts, "source_cursor": cursor or ""},
        )
        PricePoint.objects.create(symbol=tick.symbol, price=tick.price, seq=tick.seq, ts=tick.ts)
        publish_price(tick.to_json())
        try:
            with transaction.atomic():
                on_tick(book_row=book, price=tick.price, seq=tick.seq, ts=tick.ts)
        except IntegrityError:
            # A broken invariant of the book must not freeze the asset's prices (the feed
            # would retry this tick for ever): the price is recorded, the book skips the tick.
            logger.exception(
                "%s: the book could not take tick %d; its price is recorded", tick.symbol, tick.seq
            )
    return True


def trim_history(*, keep: int) -> int:
    """Keep the newest ``keep`` price points per asset and history points per account; returns the removed."""
    removed = 0
    for symbol, newest in PricePoint.objects.values_list("symbol").annotate(newest=Max("seq")):
        count, _ = PricePoint.objects.filter(symbol=symbol, seq__lte=newest - keep).delete()
        removed += count
    for account_id in EquityPoint.objects.values_list("account_id", flat=True).distinct():
        kept = EquityPoint.objects.filter(account_id=account_id).order_by("-id").values_list("id", flat=True)
        cutoff = list(kept[keep : keep + 1])
        if cutoff:
            count, _ = EquityPoint.objects.filter(account_id=account_id, id__lte=cutoff[0]).delete()
            removed += count
    return removed


# --- Accounts and tokens ---------------------------------------------------------


def hash_token(token: str) -> str:
    """What is stored of a token: its sha256 (tokens are 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_account(*, name: str, cash: Decimal | None = None, user: Any = None) -> Account:
    """Create the account ``name`` funded by the house; an existing account is returned unchanged.

    ``cash`` defaults to ``EXCHANGE_STARTING_CASH``. The house pays it, so the
    books stay balanced from the first moment.
    """
    if not ACCOUNT_NAME.fullmatch(name) or _looks_like(name, HOUSE_NAME):
        raise ValueError(
            f"account name {name!r} must be 1-64 letters, digits, '_', '.' or '-', and not {HOUSE_NAME!r}"
        )
    starting = (settings.EXCHANGE_STARTING_CASH if cash is None else Decimal(cash)).quantize(CENT)
    if not starting.is_finite() or starting < 0:
        raise ValueError("starting cash must be a finite amount of at least 0")
    house = house_account()
    try:
        with transaction.atomic():
            existing = Account.objects.filter(name=name).first()
            if existing is not None:
                return existing
            lookalike = _lookalike_of(name)
            if lookalike is not None:
                raise ValueError(f"account name {name!r} is too like the existing account {lookalike!r}")
            house = Account.objects.select_for_update().get(pk=house.pk)
            house.cash -= starting
            house.save(update_fields=["cash"])
            return Account.objects.create(name=name, cash=starting, starting_cash=starting, user=user)
    except IntegrityError:
        # Another process opened it at the same moment.
        return Account.objects.get(name=name)


def issue_token(*, name: str, cash: Decimal | None = None, replace: bool = True) -> str:
    """A new API token for the bot account ``name`` (opened if missing); returns the plaintext once.

    Only the token's hash is stored, and the previous token of that account
    stops working at once (rotation); with ``replace=False`` an account that
    already has a token is refused with ``AccountInUse`` instead. A person's
    account (one with a dashboard user) never gets a token here:
    ``PersonsAccount`` (a person rotates their own with ``rotate_token``).
    ``cash`` applies only when the account is new.
    """
    account = open_account(name=name, cash=cash)
    token = secrets.token_urlsafe(32)
    # One conditional update: two processes provisioning at once cannot both win.
    target = Account.objects.filter(pk=account.pk, user=None)
    if not replace:
        target = target.filter(token_hash=None)
    if target.update(token_hash=hash_token(token), token_issued_at=timezone.now()):
        return token
    if Account.objects.filter(pk=account.pk, user=None).exists():
        raise AccountInUse(f"account {name!r} already has a token in use")
    raise PersonsAccount(f"account {name!r} belongs to a person who signed up on the dashboard")


def rotate_token(*, account: Account) -> str:
    """A new API token for this very account (a person's, from the dashboard); returns the plaintext once.

    Found by the account itself, never by name, so a person's token can only
    be their own account's. The previous token stops working at once.
    """
    if account.is_house:
        raise ValueError("the house has no API token")
    token = secrets.token_urlsafe(32)
    Account.objects.filter(pk=account.pk).update(token_hash=hash_token(token), token_issued_at=timezone.now())
    return token


def revoke_token(*, name: str) -> bool:
    """Invalidate the token of ``name`` at once; returns whether there was one."""
    return bool(
        Account.objects.filter(name=name, is_house=False).exclude(token_hash=None).update(token_hash=None)
    )


def _looks_like(name: str, other: str) -> bool:
    """Whether two names read alike: the same but for letter case and trailing punctuation."""
    return name.rstrip(NAME_TRAILERS).casefold() == other.rstrip(NAME_TRAILERS).casefold()


def _lookalike_of(name: str) -> str | None:
    """Another account's name that reads like ``name`` (``Bob`` or ``bob.`` beside ``bob``), if any."""
    stem = re.escape(name.rstrip(NAME_TRAILERS))
    pattern = f"^{stem}[{re.escape(NAME_TRAILERS)}]*$"
    other = Account.objects.filter(name__iregex=pattern).exclude(name=name).values_list("name", flat=True)
    return next(iter(other), None)


def _name_is_free(name: str) -> bool:
    return not (
        _looks_like(name, HOUSE_NAME)
        or Account.objects.filter(name=name).exists()
        or _lookalike_of(name) is not None
    )


def account_for_user(*, user: Any) -> Account:
    """The account of a logged-in Django user, opened on first use and named after the username.

    A name already taken by another account (a bot's, say), or one that reads
    like it, is never handed to the user: the user's account then gets their
    id appended, and if someone took that name too (it can be guessed), a
    random suffix. So it always finds a name.
    """
    existing = Account.objects.filter(user=user).first()
    if existing is not None:
        return existing
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", user.get_username())[:40].lstrip(NAME_TRAILERS) or "user"
    guessable = [base, f"{base}-{user.pk}"]
    for attempt in range(12):
        name = guessable[attempt] if attempt < len(guessable) else f"{base}-{user.pk}-{secrets.token_hex(4)}"
        if not _name_is_free(name):
            continue
        try:
            account = open_account(name=name)
        except ValueError:
            continue  # a lookalike opened meanwhile
        if account.user_id is None and not account.purchases.exists() and not account.sales.exists():
            Account.objects.filter(pk=account.pk, user=None).update(user=user)
            account.refresh_from_db()
        if account.user_id == user.pk:
            return account
    raise ValueError(f"no free account name for user {user.get_username()!r}")
