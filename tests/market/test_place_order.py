"""The ledger's services: orders against the house, exactly once, never negative, audited."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, transaction

from market.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    InsufficientPosition,
    InvalidQuantity,
    InvalidSide,
    NoPrice,
    UnknownSymbol,
)
from market.models import Account, IdempotencyKey, Position, Trade
from market.orders import place_order
from market.selectors import account_json, audit_ledger, leaderboard, recent_trades
from market.services import account_for_user, hash_token, issue_token, revoke_token
from market.wire import trade_json
from streams.storage import stored_events
from tests.market.books import ledger_snapshot, make_account, set_price, set_prices

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice() -> Account:
    set_prices()
    return make_account("alice")[0]


def position(account: Account, symbol: str) -> int:
    row = Position.objects.filter(account=account, symbol=symbol).first()
    return row.quantity if row else 0


def test_a_buy_moves_cash_to_the_house_and_units_to_the_buyer(alice: Account) -> None:
    order = place_order(account=alice, symbol="META", side="buy", quantity=3)
    alice.refresh_from_db()
    house = Account.objects.get(is_house=True)
    assert (order.status, order.notional, order.replayed) == ("filled", Decimal("1500.00"), False)
    trade = Trade.objects.get()
    assert (trade.price, trade.buyer, trade.seller) == (Decimal("500.00"), alice, house)
    assert trade.taker_side == "buy"
    assert alice.cash == Decimal("98500.00")
    assert position(alice, "META") == 3
    assert position(house, "META") == -3
    assert house.cash == Decimal("-98500.00")
    assert audit_ledger() == []


def test_buying_then_selling_at_one_price_returns_the_exact_cash(alice: Account) -> None:
    set_price("TCSG", "2999.99")
    for _ in range(7):
        place_order(account=alice, symbol="TCSG", side="buy", quantity=3)
    place_order(account=alice, symbol="TCSG", side="sell", quantity=21)
    alice.refresh_from_db()
    assert alice.cash == Decimal("100000.00")
    assert position(alice, "TCSG") == 0
    assert audit_ledger() == []


def test_every_trade_is_published_once_committed_and_logged_in_one_line(
    alice: Account, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="market.trades"):
        place_order(account=alice, symbol="BTC", side="buy", quantity=2)
    trade = Trade.objects.get()
    (stored,) = stored_events(channel="market-BTC", event_type="trade")
    data = stored.data
    # django-eventstream stores the event's JSON text as a JSON string.
    while isinstance(data, str):
        data = json.loads(data)
    assert data == trade_json(trade)
    assert data["buyer"] == "alice"
    assert data["seller"] == "exchange"
    assert f"alice bought 2 BTC from exchange at 30000.00 (trade #{trade.pk})" in caplog.messages


def test_a_trade_that_rolls_back_is_never_published(alice: Account) -> None:
    def trade_then_fail() -> None:
        with transaction.atomic():
            place_order(account=alice, symbol="BTC", side="buy", quantity=1)
            raise RuntimeError("the surrounding work failed")

    with pytest.raises(RuntimeError):
        trade_then_fail()
    assert not stored_events(event_type="trade")
    assert Trade.objects.count() == 0
    assert audit_ledger() == []


@pytest.mark.parametrize(
    ("order", "error"),
    [
        ({"symbol": "DOGE", "side": "buy", "quantity": 1}, UnknownSymbol),
        ({"symbol": "btc", "side": "buy", "quantity": 1}, UnknownSymbol),
        ({"symbol": "BTC", "side": "hold", "quantity": 1}, InvalidSide),
        ({"symbol": "BTC", "side": "buy", "quantity": 0}, InvalidQuantity),
        ({"symbol": "BTC", "side": "buy", "quantity": -1}, InvalidQuantity),
        ({"symbol": "BTC", "side": "buy", "quantity": True}, InvalidQuantity),
        ({"symbol": "BTC", "side": "buy", "quantity": 1_000_001}, InvalidQuantity),
        ({"symbol": "BTC", "side": "buy", "quantity": 4}, InsufficientFunds),
        ({"symbol": "BTC", "side": "sell", "quantity": 1}, InsufficientPosition),
    ],
)
def test_a_rejected_order_changes_nothing(alice: Account, order: dict, error: type[Exception]) -> None:
    place_order(account=alice, symbol="META", side="buy", quantity=1, idempotency_key="earlier")
    before = ledger_snapshot()
    with pytest.raises(error):
        place_order(account=alice, idempotency_key="k", **order)
    assert ledger_snapshot() == before
    assert not stored_events(channel="market-BTC", event_type="trade")


def test_orders_are_refused_without_a_price(alice: Account) -> None:
    set_price("BTC", "30000.00", age=3600)
    before = ledger_snapshot()
    with pytest.raises(NoPrice, match="old"):
        place_order(account=alice, symbol="BTC", side="buy", quantity=1)
    assert ledger_snapshot() == before


def test_orders_are_refused_on_a_stale_price(alice: Account, settings) -> None:
    settings.EXCHANGE_PRICE_MAX_AGE = 5
    set_price("META", "500.00", age=6)
    with pytest.raises(NoPrice):
        place_order(account=alice, symbol="META", side="buy", quantity=1)
    set_price("META", "500.00", age=1)
    place_order(account=alice, symbol="META", side="buy", quantity=1)


def test_a_repeated_key_returns_the_original_trade_and_executes_once(alice: Account) -> None:
    first = place_order(account=alice, symbol="META", side="buy", quantity=2, idempotency_key="k1")
    set_price("META", "510.00")
    again = place_order(account=alice, symbol="META", side="buy", quantity=2, idempotency_key="k1")
    assert (again.pk, again.average_price, again.replayed) == (first.pk, Decimal("500.00"), True)
    assert Trade.objects.count() == 1
    assert position(alice, "META") == 2


def test_a_replay_succeeds_even_when_the_price_has_gone_stale(alice: Account) -> None:
    first = place_order(account=alice, symbol="META", side="buy", quantity=2, idempotency_key="k1")
    set_price("META", "500.00", age=3600)
    assert (
        place_order(account=alice, symbol="META", side="buy", quantity=2, idempotency_key="k1").pk == first.pk
    )


def test_a_key_reused_for_a_different_order_is_a_conflict(alice: Account) -> None:
    place_order(account=alice, symbol="META", side="buy", quantity=2, idempotency_key="k1")
    before = ledger_snapshot()
    with pytest.raises(IdempotencyConflict):
        place_order(account=alice, symbol="META", side="buy", quantity=3, idempotency_key="k1")
    assert ledger_snapshot() == before


def test_keys_are_scoped_per_account(alice: Account) -> None:
    bob = make_account("bob")[0]
    mine = place_order(account=alice, symbol="META", side="buy", quantity=1, idempotency_key="same")
    theirs = place_order(account=bob, symbol="META", side="buy", quantity=5, idempotency_key="same")
    assert mine.pk != theirs.pk
    assert not theirs.replayed


def test_a_rejected_order_leaves_its_key_free(alice: Account) -> None:
    with pytest.raises(InsufficientFunds):
        place_order(account=alice, symbol="BTC", side="buy", quantity=10, idempotency_key="retry-me")
    assert not IdempotencyKey.objects.exists()
    trade = place_order(account=alice, symbol="BTC", side="buy", quantity=1, idempotency_key="retry-me")
    assert not trade.replayed


def test_the_database_refuses_negative_cash_and_positions(alice: Account) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=alice.pk).update(cash=Decimal("-0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(account=alice, symbol="BTC", quantity=-1)
    house = Account.objects.get(is_house=True)
    fill = {"symbol": "BTC", "buyer": alice, "seller": house, "taker_side": "buy", "notional": 1}
    with pytest.raises(IntegrityError), transaction.atomic():
        Trade.objects.create(quantity=0, price=1, **fill)
    with pytest.raises(IntegrityError), transaction.atomic():
        Trade.objects.create(quantity=1, price=0, **fill)
    with pytest.raises(IntegrityError), transaction.atomic():
        Trade.objects.create(quantity=1, price=1, **{**fill, "seller": alice})
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=alice.pk).update(reserved_cash=alice.cash + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(account=alice, symbol="META", quantity=1, reserved=2)


def test_the_database_refuses_to_change_a_trade(alice: Account) -> None:
    place_order(account=alice, symbol="META", side="buy", quantity=1)
    trade = Trade.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Trade.objects.filter(pk=trade.pk).update(quantity=2)
    assert Trade.objects.get(pk=trade.pk).quantity == 1


def test_the_audit_notices_a_balance_the_trades_do_not_explain(alice: Account) -> None:
    place_order(account=alice, symbol="META", side="buy", quantity=1)
    Account.objects.filter(pk=alice.pk).update(cash=Decimal("99999.00"))
    problems = audit_ledger()
    assert any("alice: cash is 99999.00" in problem for problem in problems)
    assert any("sums to" in problem for problem in problems)


def test_a_token_is_stored_only_as_its_hash_and_rotation_revokes_the_old_one() -> None:
    first = issue_token(name="bot")
    second = issue_token(name="bot")
    account = Account.objects.get(name="bot")
    assert len(first) >= 43
    assert first != second
    assert account.token_hash == hash_token(second)
    assert first not in str(Account.objects.values_list())
    assert Account.objects.filter(name="bot").count() == 1
    assert revoke_token(name="bot")
    assert Account.objects.get(name="bot").token_hash is None


def test_new_accounts_are_funded_by_the_house_so_the_books_balance(settings) -> None:
    settings.EXCHANGE_STARTING_CASH = Decimal("2500.00")
    issue_token(name="a")
    issue_token(name="b", cash=Decimal("10.50"))
    assert Account.objects.get(name="a").cash == Decimal("2500.00")
    assert Account.objects.get(name="b").starting_cash == Decimal("10.50")
    assert Account.objects.get(is_house=True).cash == Decimal("-2510.50")
    assert audit_ledger() == []


@pytest.mark.parametrize("name", ["", "exchange", "has space", "x" * 65, "-dash-first"])
def test_bad_account_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="account name"):
        issue_token(name=name)


def test_a_user_gets_their_own_account_never_a_bots() -> None:
    make_account("carol")
    user = get_user_model().objects.create_user("carol", password="pw-long-enough-1")
    account = account_for_user(user=user)
    assert account.name == f"carol-{user.pk}"
    assert account_for_user(user=user).pk == account.pk
    other = get_user_model().objects.create_user("dave", password="pw-long-enough-1")
    assert account_for_user(user=other).name == "dave"


def test_the_leaderboard_values_holdings_at_the_latest_prices(alice: Account) -> None:
    bob = make_account("bob")[0]
    place_order(account=alice, symbol="META", side="buy", quantity=10)
    set_price("META", "550.25")
    place_order(account=bob, symbol="META", side="buy", quantity=1)
    board = leaderboard()
    assert board["cursor"].startswith("market-BTC:")
    assert [row["name"] for row in board["accounts"]] == ["alice", "bob"]
    assert board["accounts"][0] == {
        "name": "alice",
        "cash": "95000.00",
        "positions": {"META": 10},
        "equity": "100502.50",
        "pnl": "502.50",
        "trades": 1,
    }
    assert account_json(bob)["pnl"] == "0.00"


def test_recent_trades_come_newest_first_and_filter_by_account_and_symbol(alice: Account) -> None:
    bob = make_account("bob")[0]
    # Each market order here fills in one trade; the tape lists trades.
    a1 = place_order(account=alice, symbol="META", side="buy", quantity=1).placed_trades[0]
    b1 = place_order(account=bob, symbol="TCSG", side="buy", quantity=1).placed_trades[0]
    a2 = place_order(account=alice, symbol="TCSG", side="buy", quantity=1).placed_trades[0]
    ids = [t["id"] for t in recent_trades(limit=10)["trades"]]
    assert ids == [a2.pk, b1.pk, a1.pk]
    assert [t["id"] for t in recent_trades(limit=10, account="alice")["trades"]] == [a2.pk, a1.pk]
    assert [t["id"] for t in recent_trades(limit=10, account=bob, symbol="TCSG")["trades"]] == [b1.pk]
    assert [t["id"] for t in recent_trades(limit=1)["trades"]] == [a2.pk]
    assert recent_trades(limit=1, symbol="META")["cursor"].startswith("market-META:")


def test_createbot_prints_the_token_as_its_last_word(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("createbot", "investor", "--cash", "1234.5")
    token = capsys.readouterr().out.split()[-1]
    account = Account.objects.get(name="investor")
    assert account.token_hash == hash_token(token)
    assert account.cash == Decimal("1234.50")
    call_command("createbot", "investor")
    assert capsys.readouterr().out.split()[-1] != token


def test_createbot_revoke_disables_the_token_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("createbot", "investor")
    call_command("createbot", "investor", "--revoke")
    assert Account.objects.get(name="investor").token_hash is None
    with pytest.raises(CommandError, match="no token"):
        call_command("createbot", "investor", "--revoke")
