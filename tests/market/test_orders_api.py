"""POST /api/orders and the trading reads over HTTP: every rejection has its code and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client

from market import orders, services
from market.models import Trade
from tests.market.books import ledger_snapshot, make_account, set_price, set_prices

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"symbol": "META", "side": "buy", "quantity": 1}
JSON = "application/json"


@pytest.fixture
def token() -> str:
    set_prices()
    account, token = make_account("alice")
    orders.place_order(account=account, symbol="META", side="buy", quantity=2, idempotency_key="earlier")
    return token


def post_order(
    client: Client,
    body: Any,
    *,
    token: str | None,
    content_type: str = JSON,
    key: str | None = None,
    raw: bool = False,
):
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    data = body if raw else json.dumps(body)
    return client.post("/api/orders", data=data, content_type=content_type, headers=headers)


def with_(**changes: Any) -> dict[str, Any]:
    return {**ORDER, **changes}


def without(field: str) -> dict[str, Any]:
    return {key: value for key, value in ORDER.items() if key != field}


HUGE = 10**30
REJECTIONS = [
    # (case, body, raw, content type, expected status, expected code)
    ("unknown symbol", with_(symbol="DOGE"), False, JSON, 400, "unknown_symbol"),
    ("lower-case symbol", with_(symbol="meta"), False, JSON, 400, "unknown_symbol"),
    ("symbol not a string", with_(symbol=7), False, JSON, 400, "unknown_symbol"),
    ("unknown side", with_(side="hold"), False, JSON, 400, "invalid_side"),
    ("upper-case side", with_(side="BUY"), False, JSON, 400, "invalid_side"),
    ("zero quantity", with_(quantity=0), False, JSON, 400, "invalid_quantity"),
    ("negative quantity", with_(quantity=-3), False, JSON, 400, "invalid_quantity"),
    ("fractional quantity", with_(quantity=1.5), False, JSON, 400, "invalid_quantity"),
    ("whole float quantity", with_(quantity=1.0), False, JSON, 400, "invalid_quantity"),
    ("string quantity", with_(quantity="1"), False, JSON, 400, "invalid_quantity"),
    ("boolean quantity", with_(quantity=True), False, JSON, 400, "invalid_quantity"),
    ("null quantity", with_(quantity=None), False, JSON, 400, "invalid_quantity"),
    ("huge quantity", with_(quantity=HUGE), False, JSON, 400, "invalid_quantity"),
    ("quantity above the maximum", with_(quantity=1_000_001), False, JSON, 400, "invalid_quantity"),
    (
        "NaN quantity",
        '{"symbol": "META", "side": "buy", "quantity": NaN}',
        True,
        JSON,
        400,
        "invalid_quantity",
    ),
    (
        "Infinity quantity",
        '{"symbol": "META", "side": "buy", "quantity": Infinity}',
        True,
        JSON,
        400,
        "invalid_quantity",
    ),
    (
        "overflowing quantity",
        '{"symbol": "META", "side": "buy", "quantity": 1e999}',
        True,
        JSON,
        400,
        "invalid_quantity",
    ),
    ("missing symbol", without("symbol"), False, JSON, 400, "invalid_request"),
    ("missing side", without("side"), False, JSON, 400, "invalid_request"),
    ("missing quantity", without("quantity"), False, JSON, 400, "invalid_request"),
    ("client sets the price", with_(price="0.01"), False, JSON, 400, "invalid_request"),
    ("client sets the account", with_(account="bob"), False, JSON, 400, "invalid_request"),
    ("client sets cash", with_(cash="1000000.00"), False, JSON, 400, "invalid_request"),
    ("body is a list", [ORDER], False, JSON, 400, "invalid_request"),
    ("body is a string", "BTC", False, JSON, 400, "invalid_request"),
    ("empty body", "", True, JSON, 400, "invalid_request"),
    ("malformed JSON", '{"symbol": "META", "side": ', True, JSON, 400, "malformed_json"),
    (
        "duplicate keys",
        '{"symbol": "META", "side": "buy", "quantity": 1, "quantity": 1}',
        True,
        JSON,
        400,
        "malformed_json",
    ),
    ("wrong content type", ORDER, False, "text/plain", 415, "unsupported_media_type"),
    (
        "form content type",
        "symbol=META&side=buy&quantity=1",
        True,
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    ("over-large body", with_(pad="x" * 20_000), False, JSON, 413, "payload_too_large"),
    ("insufficient funds", with_(quantity=500), False, JSON, 409, "insufficient_funds"),
    ("insufficient position", with_(side="sell", quantity=3), False, JSON, 409, "insufficient_position"),
    ("key reused for another order", "conflict", False, JSON, 409, "idempotency_conflict"),
]


@pytest.mark.parametrize(
    ("body", "raw", "content_type", "status", "code"),
    [case[1:] for case in REJECTIONS],
    ids=[case[0] for case in REJECTIONS],
)
def test_a_rejected_order_has_its_code_and_changes_nothing(
    token: str, body: Any, raw: bool, content_type: str, status: int, code: str
) -> None:
    client = Client()
    key = "earlier" if body == "conflict" else "fresh-key"
    if body == "conflict":
        body = with_(quantity=5)
    before = ledger_snapshot()
    response = post_order(client, body, token=token, content_type=content_type, key=key, raw=raw)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert response.json()["error"]["message"]
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Basic YWxpY2U6cHc=",
        "Token x",
        "Bearer " + "x" * 5000,
    ],
)
def test_a_missing_or_wrong_token_is_401_and_changes_nothing(token: str, authorization: str | None) -> None:
    before = ledger_snapshot()
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = Client().post("/api/orders", data=json.dumps(ORDER), content_type=JSON, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert ledger_snapshot() == before


def test_a_rotated_token_stops_working_at_once(token: str) -> None:
    services.issue_token(name="alice")
    assert post_order(Client(), ORDER, token=token).status_code == 401


def test_the_token_api_ignores_session_cookies(token: str) -> None:
    user = get_user_model().objects.create_user("alice-user", password="pw-long-enough-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = ledger_snapshot()
    assert post_order(client, ORDER, token=None).status_code == 401
    assert client.get("/api/accounts/me").status_code == 401
    assert ledger_snapshot() == before


def test_token_requests_need_no_csrf_token(token: str) -> None:
    response = post_order(Client(enforce_csrf_checks=True), ORDER, token=token)
    assert response.status_code == 201


def test_an_order_answers_201_with_the_order_and_its_fills(token: str) -> None:
    response = post_order(Client(), with_(quantity=3), token=token)
    assert response.status_code == 201
    trade = Trade.objects.latest("id")
    body = response.json()
    assert body == {
        "id": trade.buy_order_id,
        "account": "alice",
        "symbol": "META",
        "side": "buy",
        "type": "market",
        "quantity": 3,
        "limit_price": None,
        "stop_price": None,
        "time_in_force": "gtc",
        "status": "filled",
        "filled_quantity": 3,
        "average_price": "500.00",
        "fees": "0.00",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "fills": [
            {
                "trade_id": trade.pk,
                "price": "500.00",
                "quantity": 3,
                "fee": "0.00",
                "liquidity": "taker",
                "ts": body["fills"][0]["ts"],
            }
        ],
    }
    assert body["created_at"].endswith("Z")


def test_a_replay_answers_exactly_like_the_original(token: str) -> None:
    client = Client()
    first = post_order(client, ORDER, token=token, key="abc")
    set_price("META", "505.00")
    again = post_order(client, ORDER, token=token, key="abc")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Trade.objects.count() == 2


def test_an_invalid_request_does_not_use_up_its_key(token: str) -> None:
    client = Client()
    assert post_order(client, with_(quantity=0), token=token, key="k").status_code == 400
    assert post_order(client, with_(quantity=500), token=token, key="k").status_code == 409
    assert post_order(client, ORDER, token=token, key="k").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_idempotency_key_must_be_1_to_255_characters(token: str, key: str) -> None:
    before = ledger_snapshot()
    response = post_order(Client(), ORDER, token=token, key=key)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_request")
    assert ledger_snapshot() == before


def test_orders_without_a_fresh_price_are_no_price(token: str) -> None:
    set_price("TCSG", "3000.00", age=600)
    before = ledger_snapshot()
    response = post_order(Client(), with_(symbol="TCSG"), token=token)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "no_price")
    assert ledger_snapshot() == before


def test_too_many_orders_are_429_with_retry_after_and_change_nothing(token: str, settings) -> None:
    settings.EXCHANGE_ORDER_RATE = 2
    client = Client()
    assert [post_order(client, ORDER, token=token).status_code for _ in range(2)] == [201, 201]
    before = ledger_snapshot()
    response = post_order(client, ORDER, token=token)
    assert (response.status_code, response.json()["error"]["code"]) == (429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    assert ledger_snapshot() == before
    other = make_account("bob")[1]
    assert post_order(client, ORDER, token=other).status_code == 201


def test_a_locked_database_is_503_with_retry_after(token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(**kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(orders, "place_order", locked)
    response = post_order(Client(), ORDER, token=token)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "busy")
    assert response.headers["Retry-After"] == "1"


def test_me_is_the_callers_account(token: str) -> None:
    response = Client().get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "name": "alice",
        "cash": "99000.00",
        "positions": {"META": 2},
        "equity": "100000.00",
        "pnl": "0.00",
        "trades": 1,
        "available_cash": "99000.00",
        "available_positions": {"META": 2},
        "cursor": response.json()["cursor"],
    }


def test_the_leaderboard_and_the_tape_carry_a_stream_cursor(token: str) -> None:
    client = Client()
    board = client.get("/api/accounts").json()
    assert board["cursor"].startswith("market-BTC:")
    assert [row["name"] for row in board["accounts"]] == ["alice"]
    tape = client.get("/api/trades", {"symbol": "META", "account": "alice", "limit": 5}).json()
    assert tape["cursor"].startswith("market-META:")
    assert [trade["quantity"] for trade in tape["trades"]] == [2]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"symbol": "DOGE"}, "unknown_symbol"),
        ({"limit": 0}, "invalid_request"),
        ({"limit": "x"}, "invalid_request"),
    ],
)
def test_bad_trade_queries_are_400(query: dict[str, Any], code: str) -> None:
    response = Client().get("/api/trades", query)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_the_schema_documents_the_bearer_scheme_and_the_order_body() -> None:
    schema = Client().get("/api/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert any(scheme == {"type": "http", "scheme": "bearer"} for scheme in schemes.values())
    order = schema["components"]["schemas"]["OrderIn"]
    assert order["additionalProperties"] is False
    assert set(order["required"]) == {"symbol", "side", "quantity"}
    assert Client().get("/api/docs").status_code == 200


def test_a_token_acts_on_its_own_account_only(token: str) -> None:
    bob_token = make_account("bob")[1]
    client = Client()
    placed = post_order(client, with_(quantity=4), token=bob_token, key="earlier")
    assert (placed.status_code, placed.json()["account"]) == (201, "bob")
    assert (
        client.get("/api/accounts/me", headers={"Authorization": f"Bearer {bob_token}"}).json()["name"]
        == "bob"
    )
    alice = client.get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (alice["cash"], alice["positions"], alice["trades"]) == ("99000.00", {"META": 2}, 1)
