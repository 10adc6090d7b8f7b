"""Injected faults: the seeded draws (pure), and each fault through the API on one account only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from market import fault_injection, faults
from market.faults import FaultPlan, InvalidFaultPlan, decide
from market.models import AccountFaults, Order
from market.selectors import audit_ledger
from tests.market.books import ledger_snapshot, make_account, set_prices

JSON = "application/json"


# --- The draws --------------------------------------------------------------------------


def test_the_same_seed_draws_the_same_faults_request_for_request() -> None:
    plan = FaultPlan(reject=0.3, lose_response=0.3, partial=0.3, stale=0.3, seed=42)
    first = [decide(plan, n) for n in range(1, 200)]
    assert first == [decide(plan, n) for n in range(1, 200)]
    assert first != [
        decide(FaultPlan(reject=0.3, lose_response=0.3, partial=0.3, stale=0.3, seed=43), n)
        for n in range(1, 200)
    ]


def test_each_fault_is_drawn_about_as_often_as_its_probability() -> None:
    plan = FaultPlan(reject=0.2, lose_response=0.5, partial=0.1, stale=0.9, seed=1)
    decisions = [decide(plan, n) for n in range(1, 5001)]
    share = {
        "reject": sum(d.reject is not None for d in decisions) / 5000,
        "lose": sum(d.lose_response for d in decisions) / 5000,
        "partial": sum(d.partial for d in decisions) / 5000,
        "stale": sum(d.stale for d in decisions) / 5000,
    }
    assert share == pytest.approx({"reject": 0.2, "lose": 0.5, "partial": 0.1, "stale": 0.9}, abs=0.03)
    assert {d.reject for d in decisions} == {None, 503, 429}


def test_a_fault_draw_does_not_depend_on_the_other_faults_settings() -> None:
    alone = [decide(FaultPlan(reject=0.3, seed=5), n).reject for n in range(1, 100)]
    together = [decide(FaultPlan(reject=0.3, stale=1.0, delay_ms=5, seed=5), n).reject for n in range(1, 100)]
    assert alone == together


@pytest.mark.parametrize(
    "changes",
    [
        {"reject": 1.5},
        {"stale": -0.1},
        {"delay_ms": -1},
        {"delay_ms": 1.5},
        {"drop_stream_after": 0},
        {"seed": "x"},
    ],
)
def test_a_plan_out_of_range_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidFaultPlan):
        FaultPlan(**changes)


def test_a_partial_fault_fills_half_rounded_down() -> None:
    assert [faults.partial_quantity(q) for q in (1, 2, 3, 10)] == [0, 1, 1, 5]


# --- Through the API ---------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(transaction=True)


@pytest.fixture
def accounts() -> dict[str, str]:
    set_prices()
    return {name: make_account(name)[1] for name in ("faulty", "healthy")}


def order(client: Client, token: str, *, key: str, quantity: int = 1, **extra: Any):  # type: ignore[no-untyped-def]
    body = {"symbol": "META", "side": "buy", "quantity": quantity, **extra}
    return client.post(
        "/api/orders",
        data=json.dumps(body),
        content_type=JSON,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


def plan(name: str, **settings: Any) -> None:
    from market.models import Account

    fault_injection.set_faults(account=Account.objects.get(name=name), plan=FaultPlan(**settings))


@pytestmark_db
def test_a_rejection_is_a_503_or_429_with_retry_after_and_changes_nothing(accounts: dict[str, str]) -> None:
    plan("faulty", reject=1.0, seed=3)
    client = Client()
    before = ledger_snapshot()
    statuses = set()
    for n in range(8):
        response = order(client, accounts["faulty"], key=f"k{n}")
        statuses.add(response.status_code)
        assert response["Retry-After"] == "1"
        assert response["X-Exchange-Fault"] == "reject"
        assert response.json()["error"]["code"] in ("unavailable", "rate_limited")
    assert statuses == {503, 429}
    assert ledger_snapshot() == before
    healthy = order(client, accounts["healthy"], key="h1")
    assert healthy.status_code == 201
    assert "X-Exchange-Fault" not in healthy


@pytestmark_db
def test_a_stale_refusal_is_409_no_price_and_a_retry_of_an_executed_order_is_never_refused(
    accounts: dict[str, str],
) -> None:
    client = Client()
    placed = order(client, accounts["faulty"], key="done")
    assert placed.status_code == 201
    plan("faulty", stale=1.0)
    refused = order(client, accounts["faulty"], key="new")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "no_price")
    assert refused["X-Exchange-Fault"] == "stale"
    replayed = order(client, accounts["faulty"], key="done")
    assert replayed.status_code == 201
    assert replayed.json() == placed.json()
    assert Order.objects.filter(account__name="faulty").count() == 1


@pytestmark_db
def test_a_partial_fault_fills_half_a_market_order_and_cancels_the_rest(accounts: dict[str, str]) -> None:
    plan("faulty", partial=1.0)
    client = Client()
    response = order(client, accounts["faulty"], key="p", quantity=5)
    body = response.json()
    assert response.status_code == 201, body
    assert response["X-Exchange-Fault"] == "partial"
    assert (body["quantity"], body["filled_quantity"], body["status"]) == (5, 2, "canceled")
    limit = order(client, accounts["faulty"], key="rests", quantity=4, type="limit", limit_price="400.00")
    assert limit.json()["status"] == "open"  # a resting gtc order is never cut
    assert "X-Exchange-Fault" not in limit
    assert audit_ledger() == []
    assert order(client, accounts["healthy"], key="h", quantity=5).json()["filled_quantity"] == 5


@pytestmark_db
def test_a_lost_answer_is_marked_for_the_asgi_layer_after_the_order_committed(
    accounts: dict[str, str],
) -> None:
    plan("faulty", lose_response=1.0)
    response = order(Client(), accounts["faulty"], key="lost")
    assert response.status_code == 201
    assert response["X-Exchange-Fault"] == "lose-response"
    assert Order.objects.filter(account__name="faulty", filled_quantity=1).count() == 1


@pytestmark_db
def test_every_request_of_the_account_advances_its_plan_and_setting_it_again_starts_over(
    accounts: dict[str, str],
) -> None:
    plan("faulty", reject=0.5, seed=9)
    client = Client()
    headers = {"Authorization": f"Bearer {accounts['faulty']}"}
    first = [client.get("/api/accounts/me", headers=headers).status_code for _ in range(10)]
    assert AccountFaults.objects.get().requests == 10
    plan("faulty", reject=0.5, seed=9)
    again = [client.get("/api/accounts/me", headers=headers).status_code for _ in range(10)]
    assert first == again
    expected = [decide(FaultPlan(reject=0.5, seed=9), n).reject or 200 for n in range(1, 11)]
    assert first == expected


@pytestmark_db
def test_the_faults_command_sets_lists_and_clears(
    accounts: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("faults", "faulty", "--reject", "0.2", "--delay-ms", "5", "--seed", "4")
    call_command("faults", "--list")
    out = capsys.readouterr().out
    assert "faulty: reject=0.2 delay_ms=5 seed=4 (0 requests seen)" in out
    call_command("faults", "faulty", "--clear")
    assert not AccountFaults.objects.exists()
    with pytest.raises(CommandError, match="probability"):
        call_command("faults", "faulty", "--stale", "2")
    with pytest.raises(CommandError, match="no account"):
        call_command("faults", "nobody", "--stale", "0.1")


@pytestmark_db
def test_only_an_operator_may_set_faults_over_http(accounts: dict[str, str], settings: Any) -> None:
    settings.EXCHANGE_OPERATOR_TOKEN = "operator-secret"
    client = Client()
    body = json.dumps({"reject": 0.5, "seed": 2})
    for headers in (
        {},
        {"Authorization": f"Bearer {accounts['healthy']}"},
        {"Authorization": "Bearer wrong"},
    ):
        response = client.put("/api/admin/faults/faulty", data=body, content_type=JSON, headers=headers)
        assert response.status_code == 403, headers
    assert not AccountFaults.objects.exists()
    operator = {"Authorization": "Bearer operator-secret"}
    response = client.put("/api/admin/faults/faulty", data=body, content_type=JSON, headers=operator)
    assert response.status_code == 200
    assert response.json()["reject"] == 0.5
    listed = client.get("/api/admin/faults", headers=operator).json()["faults"]
    assert [row["account"] for row in listed] == ["faulty"]
    bad = client.put(
        "/api/admin/faults/faulty", data=json.dumps({"reject": 2}), content_type=JSON, headers=operator
    )
    assert bad.status_code == 400
    assert (
        client.put("/api/admin/faults/nobody", data=body, content_type=JSON, headers=operator).status_code
        == 404
    )
    assert client.delete("/api/admin/faults/faulty", headers=operator).json() == {
        "account": "faulty",
        "cleared": True,
    }
    assert not AccountFaults.objects.exists()


@pytestmark_db
def test_a_staff_session_may_operate_with_its_csrf_token(accounts: dict[str, str]) -> None:
    get_user_model().objects.create_user("op", password="pw-123456789", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.login(username="op", password="pw-123456789")
    assert client.get("/api/admin/faults").status_code == 200
    body = json.dumps({"stale": 1.0})
    assert client.put("/api/admin/faults/faulty", data=body, content_type=JSON).status_code == 403
    client.get("/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.put(
        "/api/admin/faults/faulty", data=body, content_type=JSON, headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 200
