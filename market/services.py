"""Every state change of the market: record ticks, trim old data, and the ledger.

Ledger services: open accounts and issue their tokens, place market orders
exactly once against the house, and audit the books from the trade history.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django_eventstream.models import Event, EventCounter

from market.errors import (
    AccountInUse,
    IdempotencyConflict,
    InvalidQuantity,
    InvalidSide,
    NoPrice,
    PersonsAccount,
    UnknownSymbol,
)
from market.events import publish_price, publish_trade
from market.fills import CENT, MAX_ORDER_QUANTITY, SIDES, fill
from market.models import Account, IdempotencyKey, Position, Price, PricePoint, Trade
from market.selectors import trade_json
from sources.catalog import symbols as all_symbols
from sources.ticks import Tick, format_money

logger = logging.getLogger(__name__)
trade_logger = logging.getLogger("market.trades")

HOUSE_NAME = "exchange"
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def record_price(*, tick: Tick, cursor: str | None) -> bool:
    """Store a source's tick as the latest price and broadcast it once.

    Idempotent by ``seq``: a tick at or below the recorded ``seq`` (a replay
    after a reconnect, or a second engine) changes nothing but the cursor.
    Returns whether the tick was new.
    """
    with transaction.atomic():
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
    return True


def trim_history(*, keep: int) -> int:
    """Keep the newest ``keep`` price points per asset; returns how many went."""
    removed = 0
    for symbol, newest in PricePoint.objects.values_list("symbol").annotate(newest=Max("seq")):
        count, _ = PricePoint.objects.filter(symbol=symbol, seq__lte=newest - keep).delete()
        removed += count
    return removed


def trim_stored_events(*, keep: int) -> int:
    """Keep the newest ``keep`` stored stream events per channel.

    A client resuming from a trimmed id gets django-eventstream's
    ``stream-reset`` event: visible, never silent.
    """
    removed = 0
    for channel, current in EventCounter.objects.values_list("name", "value"):
        count, _ = Event.objects.filter(channel=channel, eid__lte=current - keep).delete()
        removed += count
    return removed


# --- Accounts and tokens ---------------------------------------------------------


def hash_token(token: str) -> str:
    """What is stored of a token: its sha256 (tokens are 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def house_account() -> Account:
    """The exchange's own account: counterparty of every trade, issuer of starting cash."""
    house = Account.objects.filter(is_house=True).first()
    if house is not None:
        return house
    try:
        with transaction.atomic():
            return Account.objects.create(name=HOUSE_NAME, cash=Decimal("0.00"), is_house=True)
    except IntegrityError:
        return Account.objects.get(is_house=True)


def open_account(*, name: str, cash: Decimal | None = None, user: Any = None) -> Account:
    """Create the account ``name`` funded by the house; an existing account is returned unchanged.

    ``cash`` defaults to ``EXCHANGE_STARTING_CASH``. The house pays it, so the
    books stay balanced from the first moment.
    """
    if not ACCOUNT_NAME.match(name) or name == HOUSE_NAME:
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
    ``PersonsAccount``. ``cash`` applies only when the account is new.
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


def revoke_token(*, name: str) -> bool:
    """Invalidate the token of ``name`` at once; returns whether there was one."""
    return bool(
        Account.objects.filter(name=name, is_house=False).exclude(token_hash=None).update(token_hash=None)
    )


def account_for_user(*, user: Any) -> Account:
    """The account of a logged-in Django user, opened on first use and named after the username.

    A name already taken by another account (a bot's, say) is never handed to
    the user: the user's account then gets a name with their id appended.
    """
    existing = Account.objects.filter(user=user).first()
    if existing is not None:
        return existing
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", user.get_username())[:50].lstrip("_.-") or "user"
    for name in (base, f"{base}-{user.pk}"):
        if name == HOUSE_NAME or Account.objects.filter(name=name).exists():
            continue
        account = open_account(name=name)
        if account.user_id is None and not account.trades.exists():
            Account.objects.filter(pk=account.pk, user=None).update(user=user)
            account.refresh_from_db()
        if account.user_id == user.pk:
            return account
    raise ValueError(f"no free account name for user {user.get_username()!r}")


# --- Orders ------------------------------------------------------------------------


def order_fingerprint(*, symbol: str, side: str, quantity: int) -> str:
    """A digest of what an order asks for, to tell a replay from a different order under one key."""
    body = json.dumps({"symbol": symbol, "side": side, "quantity": quantity}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _fresh_price(symbol: str) -> Decimal:
    row = Price.objects.filter(symbol=symbol).first()
    if row is None:
        raise NoPrice(f"there is no price for {symbol} yet")
    age = timezone.now() - row.ts
    if age > timedelta(seconds=settings.EXCHANGE_PRICE_MAX_AGE):
        raise NoPrice(
            f"the latest {symbol} price is {age.total_seconds():.0f}s old; orders wait for a fresh one"
        )
    return row.price


def _locked_position(account: Account, symbol: str) -> Position:
    """The account's position row, locked; a new row is only built here, saved by the caller on success."""
    position = Position.objects.select_for_update().filter(account=account, symbol=symbol).first()
    return position or Position(account=account, symbol=symbol, quantity=0, is_house=account.is_house)


def _replay(account: Account, key: str, fingerprint: str) -> Trade | None:
    remembered = (
        IdempotencyKey.objects.select_related("trade__account").filter(account=account, key=key).first()
    )
    if remembered is None:
        return None
    if remembered.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used for a different order (trade #{remembered.trade_id})"
        )
    trade = remembered.trade
    trade.replayed = True
    return trade


def place_order(
    *,
    account: Account,
    symbol: str,
    side: str,
    quantity: int,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
) -> Trade:
    """Execute a market order at the latest price against the house, atomically; returns the trade.

    One transaction locks the account, its position and the house (in that
    order, everywhere, so concurrent orders queue instead of deadlocking),
    applies ``market.fills.fill`` and records the trade; its ``trade`` event is
    published and its log line written only once that commits.

    With ``idempotency_key`` the order executes at most once per account: a
    repeat with the same fingerprint returns the original trade with
    ``trade.replayed`` set to True (the API answers it exactly as the first
    time); a repeat with a different fingerprint raises ``IdempotencyConflict``.
    ``request_fingerprint`` defaults to one computed from symbol, side and quantity.

    Raises an ``OrderRejected`` subclass (unknown_symbol, invalid_side,
    invalid_quantity, insufficient_funds, insufficient_position, no_price,
    idempotency_conflict); a rejected order changes nothing and leaves no key.
    """
    if symbol not in all_symbols():
        raise UnknownSymbol(f"unknown symbol {symbol!r}; known: {', '.join(all_symbols())}")
    if side not in SIDES:
        raise InvalidSide(f"side must be 'buy' or 'sell', not {side!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_ORDER_QUANTITY}")
    if account.is_house:
        raise ValueError("the house does not place orders")
    fingerprint = request_fingerprint or order_fingerprint(symbol=symbol, side=side, quantity=quantity)
    try:
        with _sqlite_writer():
            trade = _execute(account, symbol, side, quantity, idempotency_key, fingerprint)
    except IntegrityError:
        # Only a concurrent request with the same key can get here (the account
        # lock serialises everything else); its trade is the answer.
        if idempotency_key is None:
            raise
        replayed = _replay(account, idempotency_key, fingerprint)
        if replayed is None:
            raise
        return replayed
    if not trade.replayed:
        verb = "bought" if trade.side == Trade.BUY else "sold"
        transaction.on_commit(
            lambda: trade_logger.info(
                "%s %s %d %s at %s (trade #%d)",
                trade.account.name,
                verb,
                trade.quantity,
                trade.symbol,
                format_money(trade.price),
                trade.pk,
            )
        )
    return trade


# SQLite has one writer at a time, and a writer that finds the database locked
# retries by sleeping (up to 100 ms a time), which makes the latency tail long.
# Within one process, order transactions queue on this lock instead, and are
# handed the database as soon as the previous one commits.
_SQLITE_WRITE_LOCK = threading.Lock()


@contextmanager
def _sqlite_writer() -> Iterator[None]:
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with _SQLITE_WRITE_LOCK:
        yield


def _execute(
    account: Account, symbol: str, side: str, quantity: int, key: str | None, fingerprint: str
) -> Trade:
    house_id = house_account().pk
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if key is not None:
            replayed = _replay(locked, key, fingerprint)
            if replayed is not None:
                return replayed
        price = _fresh_price(symbol)
        position = _locked_position(locked, symbol)
        filled = fill(cash=locked.cash, position=position.quantity, side=side, quantity=quantity, price=price)

        cash_delta = filled.cash - locked.cash
        units_delta = filled.position - position.quantity
        locked.cash = filled.cash
        locked.save(update_fields=["cash"])
        position.quantity = filled.position
        position.save()
        trade = Trade.objects.create(
            account=locked,
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            notional=filled.notional,
        )
        if key is not None:
            IdempotencyKey.objects.create(account=locked, key=key, fingerprint=fingerprint, trade=trade)
        # The house takes the other side: what the account gains, the house
        # gives. Every order goes through the house's rows (and its symbol's
        # event counter), so they are touched last, by relative updates, to
        # hold their locks only until the commit that follows.
        _move_house(house_id, symbol, cash=-cash_delta, units=-units_delta)
        publish_trade(trade_json(trade))
    account.cash = locked.cash
    return trade


def _move_house(house_id: int, symbol: str, *, cash: Decimal, units: int) -> None:
    Account.objects.filter(pk=house_id).update(cash=F("cash") + cash)
    moved = Position.objects.filter(account_id=house_id, symbol=symbol).update(quantity=F("quantity") + units)
    if not moved:
        # The house's first trade in this asset (get_or_create copes with a race).
        Position.objects.get_or_create(
            account_id=house_id, symbol=symbol, defaults={"quantity": 0, "is_house": True}
        )
        Position.objects.filter(account_id=house_id, symbol=symbol).update(quantity=F("quantity") + units)
