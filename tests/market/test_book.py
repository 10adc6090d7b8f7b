"""The book over HTTP: limit and stop orders rest, ticks fill them, accounts meet, cancels release.

Each test drives the API with Django's test client and moves prices through
``record_price``, as the feed does, then checks the order objects, the
balances and the audit from the trade history.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from market.models import Account, Book, Order, Trade
from market.selectors import audit_ledger
from market.services import record_price
from sources.ticks import Tick
from streams.storage import stored_events
from tests.market.books import ledger_snapshot, make_account

pytestmark = pytest.mark.django_db(transaction=True)

SEQS: dict[str, int] = {}


def tick(symbol: str, price: str) -> None:
    """A new source price, recorded as the market's feed records it."""
    SEQS[symbol] = SEQS.get(symbol, 0) + 1
    seq = max(
        SEQS[symbol], (Book.objects.filter(symbol=symbol).values_list("seq", flat=True).first() or 0) + 1
    )
    SEQS[symbol] = seq
    record_price(tick=Tick(symbol=symbol, price=Decimal(price), seq=seq, ts=timezone.now()), cursor=None)


class Trader:
    """One account's side of the API."""

    def __init__(self, name: str, cash: str | None = None) -> None:
        self.account, self.token = make_account(name, cash=cash)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def order(self, **fields: Any) -> Any:
        return self.client.post(
            "/api/orders", json.dumps(fields), content_type="application/json", headers=self.headers
        )

    def place(self, **fields: Any) -> dict[str, Any]:
        response = self.order(**fields)
        assert response.status_code == 201, response.content
        return response.json()

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers)

    def cancel(self, order_id: int) -> Any:
        return self.client.delete(f"/api/orders/{order_id}", headers=self.headers)

    def me(self) -> dict[str, Any]:
        return self.get("/api/accounts/me").json()


@pytest.fixture
def market() -> None:
    SEQS.clear()
    tick("BTC", "100.00")
    tick("META", "500.00")


def test_a_limit_buy_below_the_price_rests_and_reserves_its_cash(market: None) -> None:
    alice = Trader("alice")
    order = alice.place(symbol="BTC", side="buy", quantity=3, type="limit", limit_price="99.50")
    assert (order["status"], order["filled_quantity"], order["fills"]) == ("open", 0, [])
    assert (order["limit_price"], order["time_in_force"]) == ("99.50", "gtc")
    me = alice.me()
    assert (me["cash"], me["available_cash"]) == ("100000.00", "99701.50")
    book = Client().get("/api/book/BTC").json()
    assert book["bids"] == [{"price": "99.50", "quantity": 3, "orders": 1}]
    assert book["asks"] == []
    assert book["house"] == {"bid": "100.00", "ask": "100.00", "depth": None, "spread_bps": 0}
    assert book["source_price"] == "100.00"
    assert alice.get("/api/orders?status=open").json()["orders"][0]["id"] == order["id"]
    assert audit_ledger() == []


def test_a_tick_whose_quote_crosses_a_resting_order_fills_it_at_its_price(market: None) -> None:
    alice = Trader("alice")
    order = alice.place(symbol="BTC", side="buy", quantity=3, type="limit", limit_price="99.50")
    tick("BTC", "99.70")
    assert alice.get(f"/api/orders/{order['id']}").json()["status"] == "open"
    tick("BTC", "98.00")
    filled = alice.get(f"/api/orders/{order['id']}").json()
    assert (filled["status"], filled["filled_quantity"], filled["average_price"]) == ("filled", 3, "99.50")
    assert [(f["price"], f["liquidity"]) for f in filled["fills"]] == [("99.50", "maker")]
    me = alice.me()
    assert (me["cash"], me["available_cash"], me["positions"]) == ("99701.50", "99701.50", {"BTC": 3})
    trade = Trade.objects.get()
    assert (trade.buyer.name, trade.seller.name, trade.taker_side) == ("alice", "exchange", "sell")
    assert audit_ledger() == []


def test_a_finite_house_depth_fills_in_parts_tick_by_tick(market: None, settings: Any) -> None:
    settings.EXCHANGE_HOUSE_DEPTH = 2
    tick("BTC", "100.00")
    alice = Trader("alice")
    market_buy = alice.place(symbol="BTC", side="buy", quantity=5)
    assert (market_buy["status"], market_buy["filled_quantity"]) == ("canceled", 2)
    resting = alice.place(symbol="BTC", side="buy", quantity=5, type="limit", limit_price="101.00")
    assert (resting["status"], resting["filled_quantity"]) == ("open", 0)  # this tick's depth is used up
    tick("BTC", "100.50")
    assert alice.get(f"/api/orders/{resting['id']}").json()["filled_quantity"] == 2
    tick("BTC", "100.50")
    tick("BTC", "100.50")
    done = alice.get(f"/api/orders/{resting['id']}").json()
    assert (done["status"], done["filled_quantity"], done["average_price"]) == ("filled", 5, "101.00")
    assert audit_ledger() == []


def test_accounts_meet_in_the_book_and_the_tape_says_who_bought_from_whom(
    market: None, settings: Any
) -> None:
    settings.EXCHANGE_SPREAD_BPS = 200  # the house: 99.00 / 101.00
    settings.EXCHANGE_MAKER_FEE_BPS = 10
    settings.EXCHANGE_TAKER_FEE_BPS = 20
    tick("BTC", "100.00")
    alice, bob = Trader("alice"), Trader("bob")
    alice.place(symbol="BTC", side="buy", quantity=4)  # at the house's ask
    ask = alice.place(symbol="BTC", side="sell", quantity=4, type="limit", limit_price="100.50")
    assert alice.me()["available_positions"] == {"BTC": 0}
    take = bob.place(
        symbol="BTC", side="buy", quantity=3, type="limit", limit_price="100.90", time_in_force="ioc"
    )
    assert (take["status"], take["average_price"]) == ("filled", "100.50")
    assert take["fills"][0]["fee"] == "0.60"  # 20 bps of 301.50, rounded half up
    maker = alice.get(f"/api/orders/{ask['id']}").json()
    assert (maker["status"], maker["filled_quantity"], maker["fees"]) == ("partially_filled", 3, "0.30")
    tape = Client().get("/api/trades?account=bob").json()["trades"]
    assert [(t["buyer"], t["seller"], t["taker_side"], t["price"]) for t in tape] == [
        ("bob", "alice", "buy", "100.50")
    ]
    assert len(Client().get("/api/trades?account=alice").json()["trades"]) == 2
    assert audit_ledger() == []
    total = sum(Account.objects.values_list("cash", flat=True), Decimal(0))
    assert total == 0


def test_an_account_never_trades_with_itself(market: None, settings: Any) -> None:
    settings.EXCHANGE_SPREAD_BPS = 200
    tick("BTC", "100.00")
    alice = Trader("alice")
    alice.place(symbol="BTC", side="buy", quantity=2)
    alice.place(symbol="BTC", side="sell", quantity=2, type="limit", limit_price="100.50")
    mine = alice.place(symbol="BTC", side="buy", quantity=2, type="limit", limit_price="100.80")
    assert (mine["status"], mine["filled_quantity"]) == ("canceled", 0)
    assert not Trade.objects.filter(buyer__name="alice", seller__name="alice").exists()
    assert audit_ledger() == []


def test_fok_fills_all_or_nothing(market: None, settings: Any) -> None:
    settings.EXCHANGE_HOUSE_DEPTH = 3
    tick("BTC", "100.00")
    alice = Trader("alice")
    nothing = alice.place(symbol="BTC", side="buy", quantity=4, time_in_force="fok")
    assert (nothing["status"], nothing["filled_quantity"]) == ("canceled", 0)
    everything = alice.place(symbol="BTC", side="buy", quantity=3, time_in_force="fok")
    assert (everything["status"], everything["filled_quantity"]) == ("filled", 3)


def test_a_stop_waits_for_its_price_then_sells(market: None) -> None:
    alice = Trader("alice")
    alice.place(symbol="META", side="buy", quantity=2)
    stop = alice.place(symbol="META", side="sell", quantity=2, type="stop", stop_price="480.00")
    assert stop["status"] == "open"
    assert alice.me()["available_positions"] == {"META": 2}  # a waiting stop reserves nothing
    tick("META", "485.00")
    assert alice.get(f"/api/orders/{stop['id']}").json()["status"] == "open"
    tick("META", "479.00")
    fired = alice.get(f"/api/orders/{stop['id']}").json()
    assert (fired["status"], fired["average_price"]) == ("filled", "479.00")
    assert alice.me()["positions"] == {}
    assert audit_ledger() == []


def test_a_triggered_stop_that_is_no_longer_covered_is_rejected(market: None) -> None:
    alice = Trader("alice")
    alice.place(symbol="META", side="buy", quantity=1)
    stop = alice.place(symbol="META", side="sell", quantity=1, type="stop", stop_price="480.00")
    alice.place(symbol="META", side="sell", quantity=1)
    tick("META", "470.00")
    assert alice.get(f"/api/orders/{stop['id']}").json()["status"] == "rejected"
    assert audit_ledger() == []


def test_cancel_releases_the_reservation_once_and_only_for_the_owner(market: None) -> None:
    alice, bob = Trader("alice"), Trader("bob")
    order = alice.place(symbol="BTC", side="buy", quantity=10, type="limit", limit_price="90.00")
    other = bob.cancel(order["id"])
    assert (other.status_code, other.json()["error"]["code"]) == (404, "order_not_found")
    assert bob.get(f"/api/orders/{order['id']}").status_code == 404
    canceled = alice.cancel(order["id"])
    assert (canceled.status_code, canceled.json()["status"]) == (200, "canceled")
    assert alice.me()["available_cash"] == "100000.00"
    again = alice.cancel(order["id"])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_cancelable")
    assert audit_ledger() == []


def test_cancel_all_cancels_the_open_orders_of_one_asset(market: None) -> None:
    alice = Trader("alice")
    a = alice.place(symbol="BTC", side="buy", quantity=1, type="limit", limit_price="90.00")
    b = alice.place(symbol="BTC", side="buy", quantity=1, type="limit", limit_price="91.00")
    c = alice.place(symbol="META", side="buy", quantity=1, type="limit", limit_price="400.00")
    response = alice.client.delete("/api/orders?symbol=BTC", headers=alice.headers)
    assert sorted(response.json()["canceled"]) == sorted([a["id"], b["id"]])
    assert [o["id"] for o in alice.get("/api/orders?status=open").json()["orders"]] == [c["id"]]
    closed = alice.get("/api/orders?status=closed").json()["orders"]
    assert {o["id"] for o in closed} >= {a["id"], b["id"]}
    assert audit_ledger() == []


def test_an_order_beyond_what_is_available_is_refused_and_changes_nothing(market: None) -> None:
    alice = Trader("alice")
    alice.place(symbol="META", side="buy", quantity=2)
    alice.place(symbol="META", side="sell", quantity=2, type="limit", limit_price="600.00")
    before = ledger_snapshot()
    sell = alice.order(symbol="META", side="sell", quantity=1)
    assert (sell.status_code, sell.json()["error"]["code"]) == (409, "insufficient_position")
    buy = alice.order(symbol="BTC", side="buy", quantity=991, type="limit", limit_price="100.00")
    assert (buy.status_code, buy.json()["error"]["code"]) == (409, "insufficient_funds")
    assert ledger_snapshot() == before


def test_open_orders_per_account_are_capped(market: None, settings: Any) -> None:
    settings.EXCHANGE_MAX_OPEN_ORDERS = 2
    alice = Trader("alice")
    for price in ("90.00", "91.00"):
        alice.place(symbol="BTC", side="buy", quantity=1, type="limit", limit_price=price)
    before = ledger_snapshot()
    third = alice.order(symbol="BTC", side="buy", quantity=1, type="limit", limit_price="92.00")
    assert (third.status_code, third.json()["error"]["code"]) == (409, "too_many_open_orders")
    assert ledger_snapshot() == before
    assert alice.order(symbol="BTC", side="buy", quantity=1).status_code == 201  # a market order never rests


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"type": "limit", "limit_price": "0"}, "invalid_price"),
        ({"type": "limit", "limit_price": "-1.00"}, "invalid_price"),
        ({"type": "limit", "limit_price": "1.005"}, "invalid_price"),
        ({"type": "limit", "limit_price": "NaN"}, "invalid_price"),
        ({"type": "limit", "limit_price": "Infinity"}, "invalid_price"),
        ({"type": "limit", "limit_price": "1e3"}, "invalid_price"),
        ({"type": "limit", "limit_price": "abc"}, "invalid_price"),
        ({"type": "limit", "limit_price": 100}, "invalid_price"),
        ({"type": "limit", "limit_price": " 100"}, "invalid_price"),
        ({"type": "limit"}, "invalid_price"),
        ({"limit_price": "100.00"}, "invalid_price"),
        ({"type": "stop"}, "invalid_price"),
        ({"type": "stop", "stop_price": "90.00", "limit_price": "90.00"}, "invalid_price"),
        ({"type": "iceberg"}, "invalid_type"),
        ({"time_in_force": "day"}, "invalid_time_in_force"),
        ({"type": "limit", "limit_price": "99999999999.00"}, "invalid_price"),
    ],
)
def test_every_bad_order_field_has_its_code_and_changes_nothing(
    market: None, fields: dict[str, Any], code: str
) -> None:
    alice = Trader("alice")
    before = ledger_snapshot()
    response = alice.order(symbol="BTC", side="buy", quantity=1, **fields)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert ledger_snapshot() == before


def test_a_book_event_follows_a_tick_that_changed_the_levels(market: None) -> None:
    alice = Trader("alice")
    alice.place(symbol="BTC", side="buy", quantity=2, type="limit", limit_price="95.00")
    assert stored_events(channel="market-BTC", event_type="book") == []
    tick("BTC", "100.10")
    (event,) = stored_events(channel="market-BTC", event_type="book")
    data = event.data
    while isinstance(data, str):
        data = json.loads(data)
    assert data["bids"] == [{"price": "95.00", "quantity": 2, "orders": 1}]
    assert data["asks"] == []
    tick("BTC", "100.20")
    assert len(stored_events(channel="market-BTC", event_type="book")) == 1  # unchanged: no event


def test_orders_of_one_account_stay_private(market: None) -> None:
    alice, bob = Trader("alice"), Trader("bob")
    alice.place(symbol="BTC", side="buy", quantity=1, type="limit", limit_price="90.00")
    assert bob.get("/api/orders").json()["orders"] == []
    assert Client().get("/api/orders").status_code == 401
    assert Order.objects.count() == 1


def test_a_reset_cancels_open_orders_and_restores_the_starting_cash_with_the_audit_whole(
    market: None,
) -> None:
    alice = Trader("alice")
    alice.place(symbol="META", side="buy", quantity=3)
    resting = alice.place(symbol="BTC", side="buy", quantity=1, type="limit", limit_price="50.00")
    tick("META", "520.00")
    response = alice.client.post("/api/accounts/me/reset", headers=alice.headers)
    assert response.status_code == 200, response.content
    me = response.json()
    assert (me["cash"], me["available_cash"], me["positions"]) == ("100000.00", "100000.00", {})
    assert alice.get(f"/api/orders/{resting['id']}").json()["status"] == "canceled"
    assert (
        Client().get("/api/trades?account=alice").json()["trades"][0]["buyer"] == "alice"
    )  # not on the tape
    assert len(Client().get("/api/trades?account=alice").json()["trades"]) == 1
    assert audit_ledger() == []
    total = sum(Account.objects.values_list("cash", flat=True), Decimal(0))
    assert total == 0
    events = [e.type for e in stored_events(channel=f"account-{alice.account.pk}", event_type=None)]
    assert events[-2:] == ["order", "balance"]


def test_the_history_has_a_point_after_each_change_of_the_balances(market: None) -> None:
    alice = Trader("alice")
    alice.place(symbol="META", side="buy", quantity=2)
    alice.place(symbol="META", side="sell", quantity=1)
    points = alice.get("/api/accounts/me/history?limit=10").json()["points"]
    assert [p["cash"] for p in points] == ["99000.00", "99500.00"]
    assert [p["equity"] for p in points] == ["100000.00", "100000.00"]
    assert alice.get("/api/accounts/me/history?limit=1").json()["points"][0]["cash"] == "99500.00"
