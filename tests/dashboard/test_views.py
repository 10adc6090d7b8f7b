"""The dashboard's views: the page, sign-up, and orders placed by a logged-in person."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from market.errors import OrderRejected
from market.models import Account, IdempotencyKey, Position, Price, Trade
from market.orders import place_order
from market.services import account_for_user, issue_token

pytestmark = pytest.mark.django_db

PRICES = {"BTC": "30000.00", "TCSG": "3000.00", "META": "500.00"}


@pytest.fixture
def prices() -> None:
    for seq, (symbol, price) in enumerate(PRICES.items(), start=1):
        Price.objects.create(symbol=symbol, price=Decimal(price), seq=seq, ts=timezone.now())


@pytest.fixture
def person() -> User:
    return User.objects.create_user("carol", password="a-long-enough-password")


@pytest.fixture
def logged_in(client: Client, person: User) -> Client:
    client.force_login(person)
    return client


def page_config(response: Any) -> dict[str, Any]:
    html = response.content.decode()
    start = html.index('<script id="dashboard-config" type="application/json">')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def books() -> dict[str, Any]:
    """Everything an order may change."""
    return {
        "cash": sorted(Account.objects.values_list("name", "cash")),
        "positions": sorted(Position.objects.values_list("account__name", "symbol", "quantity")),
        "trades": Trade.objects.count(),
        "keys": IdempotencyKey.objects.count(),
    }


def order(client: Client, **fields: Any) -> Any:
    data = {"symbol": "BTC", "side": "buy", "quantity": "1", **fields}
    return client.post("/trade/", data, HTTP_ACCEPT="application/json")


def test_the_dashboard_renders_a_chart_per_asset_for_anyone(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for symbol in PRICES:
        assert f'data-testid="chart-{symbol}"' in html
    assert "vendor/lightweight-charts/lightweight-charts.standalone.production.js" in html
    assert 'data-testid="order-form"' not in html
    config = page_config(response)
    assert config["account"] is None
    assert [asset["symbol"] for asset in config["assets"]] == list(PRICES)
    assert config["urls"] == {"api": "/api/", "stream": "/market/stream/", "trade": "/trade/"}
    assert config["hasToken"] is False


def test_a_logged_in_person_sees_the_order_form_for_their_own_account(logged_in: Client) -> None:
    response = logged_in.get("/")
    assert 'data-testid="order-form"' in response.content.decode()
    assert page_config(response)["account"] == "carol"


def test_trading_requires_a_login(client: Client, prices: None) -> None:
    before = books()
    response = order(client)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"
    assert books() == before


def test_trading_requires_the_csrf_token(person: User, prices: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    before = books()
    response = order(client)
    assert response.status_code == 403
    assert books() == before


def test_trading_with_the_csrf_token_from_the_page_works(person: User, prices: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/trade/", {"symbol": "BTC", "side": "buy", "quantity": "1"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_a_person_buys_for_their_own_account(logged_in: Client, prices: None) -> None:
    response = order(logged_in, quantity="2")
    assert response.status_code == 201
    placed = response.json()
    assert placed["account"] == "carol"
    assert (placed["symbol"], placed["side"], placed["filled_quantity"], placed["average_price"]) == (
        "BTC",
        "buy",
        2,
        "30000.00",
    )
    assert placed["status"] == "filled"
    account = Account.objects.get(name="carol")
    assert account.cash == account.starting_cash - Decimal("60000.00")
    assert Position.objects.get(account=account, symbol="BTC").quantity == 2


def test_a_refused_order_shows_the_exchange_s_message_and_changes_nothing(
    logged_in: Client, person: User, prices: None
) -> None:
    account = account_for_user(user=person)
    with pytest.raises(OrderRejected) as refused:
        place_order(account=account, symbol="BTC", side="sell", quantity=1)
    before = books()
    response = order(logged_in, side="sell", quantity="1")
    assert response.status_code == refused.value.status == 409
    assert response.json()["error"] == {"code": "insufficient_position", "message": refused.value.message}
    assert books() == before


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"symbol": "DOGE"}, "unknown_symbol"),
        ({"side": "hold"}, "invalid_side"),
        ({"quantity": "0"}, "invalid_quantity"),
        ({"quantity": "1000"}, "insufficient_funds"),
    ],
)
def test_each_rejection_keeps_the_exchange_s_code(
    logged_in: Client, person: User, prices: None, fields: dict[str, str], code: str
) -> None:
    account_for_user(user=person)
    before = books()
    response = order(logged_in, **fields)
    assert response.status_code in (400, 409)
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert books() == before


def test_an_order_without_a_fresh_price_is_refused(logged_in: Client) -> None:
    response = order(logged_in)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_price"


def test_a_quantity_that_is_not_a_whole_number_is_a_400(logged_in: Client, prices: None) -> None:
    response = order(logged_in, quantity="1.5")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_quantity",
        "message": "quantity: Input should be a valid integer",
    }
    assert Trade.objects.count() == 0


@pytest.mark.parametrize("quantity", ["1.0", " 1 ", "\u0661", "+1", "1e0", "", "0", "-1", "1000001"])
def test_a_quantity_the_api_refuses_is_refused_here_with_the_same_code(
    logged_in: Client, prices: None, quantity: str
) -> None:
    response = order(logged_in, quantity=quantity)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_quantity")
    assert Trade.objects.count() == 0


def test_an_unknown_side_is_refused_with_the_api_s_code(logged_in: Client, prices: None) -> None:
    response = order(logged_in, side="hold")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_side")
    assert Trade.objects.count() == 0


def test_a_replayed_submission_is_marked_as_a_replay(logged_in: Client, prices: None) -> None:
    first = order(logged_in, idempotency_key="k-2")
    again = order(logged_in, idempotency_key="k-2")
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"


def test_an_idempotency_key_may_be_as_long_as_the_api_s(logged_in: Client, prices: None) -> None:
    assert order(logged_in, idempotency_key="k" * 255).status_code == 201
    too_long = order(logged_in, idempotency_key="k" * 256)
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "invalid_request")
    assert Trade.objects.count() == 1


def test_a_repeated_submission_executes_once(logged_in: Client, prices: None) -> None:
    first = order(logged_in, idempotency_key="k-1")
    second = order(logged_in, idempotency_key="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Trade.objects.count() == 1


def test_the_order_endpoint_only_accepts_post(logged_in: Client) -> None:
    assert logged_in.get("/trade/").status_code == 405


def test_a_bot_cannot_trade_through_the_session_endpoint_with_its_token(client: Client, prices: None) -> None:
    token = issue_token(name="bot")
    response = client.post(
        "/trade/", {"symbol": "BTC", "side": "buy", "quantity": "1"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 401
    assert Trade.objects.count() == 0


def test_signing_up_logs_in_and_opens_an_account_on_the_leaderboard(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "dave", "password1": "correct-horse-battery", "password2": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response.url == "/"
    page = client.get("/")
    assert page_config(page)["account"] == "dave"
    board = client.get("/api/accounts").json()["accounts"]
    assert "dave" in [row["name"] for row in board]


def test_signing_up_with_mismatched_passwords_shows_the_error(client: Client) -> None:
    response = client.post(
        "/accounts/signup/", {"username": "erin", "password1": "one-password-1", "password2": "another-one-2"}
    )
    assert response.status_code == 200
    assert "password fields didn" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_the_login_page_renders(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_logging_in_leads_back_to_the_dashboard(client: Client, person: User) -> None:
    response = client.post("/accounts/login/", {"username": "carol", "password": "a-long-enough-password"})
    assert response.status_code == 302
    assert response.url == "/"


def test_orders_beyond_the_account_s_rate_are_refused_with_retry_after(
    logged_in: Client, prices: None, settings: Any
) -> None:
    settings.EXCHANGE_ORDER_RATE = 1
    cache.clear()
    assert order(logged_in).status_code == 201
    refused = order(logged_in)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert Trade.objects.count() == 1


def test_logging_out_takes_a_post_and_leads_back_to_the_dashboard(logged_in: Client) -> None:
    response = logged_in.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.url == "/"
    assert page_config(logged_in.get("/"))["account"] is None


def test_a_person_named_like_a_bot_gets_an_account_of_their_own(client: Client, prices: None) -> None:
    issue_token(name="frank")
    client.post(
        "/accounts/signup/",
        {"username": "frank", "password1": "correct-horse-battery", "password2": "correct-horse-battery"},
    )
    account = page_config(client.get("/"))["account"]
    assert account not in (None, "frank")
    assert order(client).json()["account"] == account
    assert Trade.objects.filter(buyer__name="frank").count() == 0
