"""The signed-in person's own endpoints: account, orders, cancels, equity history and the API token."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from market.models import Account, Order
from market.orders import place_order
from market.services import account_for_user, issue_token
from tests.dashboard.test_views import page_config
from tests.market.books import ledger_snapshot, make_account, set_prices

pytestmark = pytest.mark.django_db


@pytest.fixture
def person() -> User:
    return User.objects.create_user("carol", password="a-long-enough-password")


@pytest.fixture
def mine(person: User) -> Account:
    set_prices()
    return account_for_user(user=person)


@pytest.fixture
def logged_in(client: Client, person: User) -> Client:
    client.force_login(person)
    return client


def resting_buy(account: Account, price: str = "29000.00", quantity: int = 1) -> Order:
    return place_order(
        account=account, symbol="BTC", side="buy", quantity=quantity, type="limit", limit_price=price
    )


def csrf_client(person: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    client.get("/")
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/trade/account"),
        ("get", "/trade/orders"),
        ("get", "/trade/history"),
        ("post", "/trade/orders/1/cancel"),
        ("post", "/trade/orders/cancel-all"),
        ("post", "/trade/token"),
    ],
)
def test_it_answers_401_to_a_visitor_and_ignores_tokens(client: Client, method: str, path: str) -> None:
    token = issue_token(name="bot")
    response = getattr(client, method)(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"


def test_the_page_gives_a_signed_in_person_their_endpoints(logged_in: Client, mine: Account) -> None:
    config = page_config(logged_in.get("/"))
    assert config["urls"] == {
        "api": "/api/",
        "stream": "/market/stream/",
        "trade": "/trade/",
        "account": "/trade/account",
        "accountStream": "/api/accounts/me/stream/",
        "orders": "/trade/orders",
        "cancelAll": "/trade/orders/cancel-all",
        "history": "/trade/history",
        "token": "/trade/token",
    }
    assert config["hasToken"] is False


def test_the_account_snapshot_carries_the_private_stream_s_cursor(logged_in: Client, mine: Account) -> None:
    resting_buy(mine)
    body = logged_in.get("/trade/account").json()
    assert body["name"] == "carol"
    assert body["cursor"]
    assert body["cash"] == "100000.00"
    assert body["available_cash"] == "71000.00"


def test_it_lists_only_the_person_s_orders_by_status(logged_in: Client, mine: Account) -> None:
    other, _ = make_account("bob")
    theirs = resting_buy(other)
    open_one = resting_buy(mine, "28000.00")
    filled = place_order(account=mine, symbol="META", side="buy", quantity=1)
    every = logged_in.get("/trade/orders").json()
    assert [order["id"] for order in every["orders"]] == [filled.pk, open_one.pk]
    assert every["cursor"]
    opened = logged_in.get("/trade/orders?status=open").json()["orders"]
    assert [order["id"] for order in opened] == [open_one.pk]
    closed = logged_in.get("/trade/orders?status=closed").json()["orders"]
    assert [(order["id"], order["status"], len(order["fills"])) for order in closed] == [
        (filled.pk, "filled", 1)
    ]
    assert theirs.pk not in [order["id"] for order in every["orders"]]
    assert logged_in.get("/trade/orders?status=mine").status_code == 400


def test_a_person_cancels_their_open_order_with_the_csrf_token(person: User, mine: Account) -> None:
    order = resting_buy(mine)
    client = csrf_client(person)
    refused = client.post(f"/trade/orders/{order.pk}/cancel")
    assert refused.status_code == 403
    assert Order.objects.get(pk=order.pk).status == "open"
    response = client.post(
        f"/trade/orders/{order.pk}/cancel", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (order.pk, "canceled")
    mine.refresh_from_db()
    assert mine.reserved_cash == 0


def test_canceling_someone_else_s_order_is_not_found_and_changes_nothing(
    logged_in: Client, mine: Account
) -> None:
    other, _ = make_account("bob")
    theirs = resting_buy(other)
    before = ledger_snapshot()
    response = logged_in.post(f"/trade/orders/{theirs.pk}/cancel")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "order_not_found")
    assert ledger_snapshot() == before


def test_canceling_a_closed_order_is_a_conflict(logged_in: Client, mine: Account) -> None:
    order = resting_buy(mine)
    assert logged_in.post(f"/trade/orders/{order.pk}/cancel").status_code == 200
    again = logged_in.post(f"/trade/orders/{order.pk}/cancel")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_cancelable")


def test_cancel_all_cancels_only_the_person_s_open_orders(logged_in: Client, mine: Account) -> None:
    other, _ = make_account("bob")
    theirs = resting_buy(other)
    ids = [resting_buy(mine, price).pk for price in ("28000.00", "27000.00")]
    response = logged_in.post("/trade/orders/cancel-all")
    assert sorted(response.json()["canceled"]) == ids
    assert Order.objects.get(pk=theirs.pk).status == "open"


def test_the_history_lists_equity_points_oldest_first(logged_in: Client, mine: Account) -> None:
    place_order(account=mine, symbol="META", side="buy", quantity=2)
    body = logged_in.get("/trade/history").json()
    points = body["points"]
    assert points, "a fill records a point"
    assert set(points[-1]) == {"ts", "cash", "equity"}
    assert points[-1]["cash"] == "99000.00"
    assert [point["ts"] for point in points] == sorted(point["ts"] for point in points)
    assert logged_in.get("/trade/history?limit=0").status_code == 400


def test_a_person_creates_then_rotates_the_token_of_their_own_account(
    person: User, mine: Account, client: Client
) -> None:
    browser = csrf_client(person)
    csrf = browser.cookies["csrftoken"].value
    assert browser.post("/trade/token").status_code == 403
    first = browser.post("/trade/token", HTTP_X_CSRFTOKEN=csrf)
    assert first.status_code == 201
    assert first["Cache-Control"] == "no-store"
    assert first.json()["account"] == "carol"
    token = first.json()["token"]
    assert len(token) >= 43
    me: dict[str, Any] = client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert me["name"] == "carol"
    assert page_config(browser.get("/"))["hasToken"] is True

    second = browser.post("/trade/token", HTTP_X_CSRFTOKEN=csrf).json()["token"]
    assert second != token
    assert client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {second}").json()["name"] == "carol"


def test_a_person_named_like_a_bot_never_gets_the_bot_s_token(client: Client) -> None:
    bot_token = issue_token(name="frank")
    person = User.objects.create_user("frank", password="a-long-enough-password")
    client.force_login(person)
    token = client.post("/trade/token").json()["token"]
    mine = client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()["name"]
    assert mine != "frank"
    assert client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {bot_token}").json()["name"] == "frank"
