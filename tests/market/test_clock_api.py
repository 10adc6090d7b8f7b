"""``/api/admin/clock`` and ``/api/admin/scenario``: operators only; ``/api/clock`` for everyone."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from market.errors import NoPrice
from market.orders import place_order
from sources.models import Clock, ClockChange
from tests.market.books import make_account, set_price, set_prices

pytestmark = pytest.mark.django_db

JSON = "application/json"
OPERATOR = "operator-secret-0123456789"


@pytest.fixture(autouse=True)
def _operator_token(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EXCHANGE_OPERATOR_TOKEN = OPERATOR


def change(client: Client, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/api/admin/clock", data=json.dumps(body), content_type=JSON, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_everyone_may_read_the_clock() -> None:
    body = Client().get("/api/clock").json()
    assert (body["state"], body["speed"]) == ("running", 1.0)
    assert [asset["symbol"] for asset in body["assets"]] == ["BTC", "TCSG", "META"]


@pytest.mark.parametrize(
    "who", ["nobody", "a bot", "a wrong token", "a person", "a token without the setting"]
)
def test_anyone_but_an_operator_is_refused_403_and_nothing_changes(who: str, settings) -> None:  # type: ignore[no-untyped-def]
    client, headers = Client(), {}
    if who == "a bot":
        headers = bearer(make_account("bot")[1])
    elif who == "a wrong token":
        headers = bearer(OPERATOR + "x")
    elif who == "a person":
        client.force_login(get_user_model().objects.create_user("ann", password="pw-123456-long"))
    elif who == "a token without the setting":
        settings.EXCHANGE_OPERATOR_TOKEN = ""
        headers = bearer("")
    for response in (
        client.get("/api/admin/clock", headers=headers),
        change(client, {"action": "pause"}, **headers),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert Clock.objects.filter(state="paused").count() == 0


def test_the_operator_token_pauses_steps_speeds_and_resumes() -> None:
    client, headers = Client(), bearer(OPERATOR)
    assert change(client, {"action": "pause"}, **headers).json()["state"] == "paused"
    body = change(client, {"action": "step", "ticks": 4}, **headers).json()
    assert body["state"] == "stepping"
    assert {asset["step_until"] for asset in body["assets"]} == {4}
    assert change(client, {"action": "speed", "speed": 5}, **headers).json()["speed"] == 5.0
    assert change(client, {"action": "resume"}, **headers).json()["state"] == "running"
    assert client.get("/api/admin/clock", headers=headers).json()["state"] == "running"


def test_a_staff_session_operates_with_its_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    staff = get_user_model().objects.create_user("op", password="pw-123456-long", is_staff=True)
    client.force_login(staff)
    assert client.get("/api/admin/clock").status_code == 200
    refused = change(client, {"action": "pause"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "csrf_failed")
    client.get("/")  # sets the CSRF cookie
    ok = change(client, {"action": "pause"}, **{"X-CSRFToken": client.cookies["csrftoken"].value})
    assert (ok.status_code, ok.json()["state"]) == (200, "paused")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "step"}, "invalid_clock"),
        ({"action": "step", "ticks": 0}, "invalid_request"),
        ({"action": "speed", "speed": 0}, "invalid_request"),
        ({"action": "speed", "speed": 1000}, "invalid_request"),
        ({"action": "rewind"}, "invalid_request"),
        ({"action": "pause", "extra": 1}, "invalid_request"),
    ],
)
def test_a_wrong_change_is_400_in_the_error_format(body: dict[str, Any], code: str) -> None:
    response = change(Client(), body, **bearer(OPERATOR))
    assert response.status_code == 400
    assert response.json()["error"]["code"] in (code, "validation_error", "invalid_field")
    assert Clock.objects.filter(state="stepping").count() == 0


def test_the_operator_applies_a_scenario_to_one_asset() -> None:
    client = Client()
    response = client.post(
        "/api/admin/scenario", data=json.dumps({"name": "crash", "symbol": "META"}), content_type=JSON,
        headers=bearer(OPERATOR),
    )  # fmt: skip
    scenarios = {asset["symbol"]: asset["scenario"] for asset in response.json()["assets"]}
    assert scenarios == {"BTC": "default", "TCSG": "default", "META": "crash"}
    unknown = client.post(
        "/api/admin/scenario",
        data=json.dumps({"name": "meltdown"}),
        content_type=JSON,
        headers=bearer(OPERATOR),
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_scenario")


def test_orders_fill_at_a_frozen_price_however_long_the_clock_is_paused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EXCHANGE_PRICE_MAX_AGE = 5
    set_prices()
    alice = make_account("alice")[0]
    now = timezone.now()
    # Running until an hour ago, paused since; the last tick came a second before the pause.
    ClockChange.objects.create(
        at=now - timedelta(hours=2), market_seconds=0, state="running", speed=1, action="x"
    )
    Clock.objects.update_or_create(
        pk=1, defaults={"state": "paused", "changed_at": now - timedelta(hours=1), "market_seconds": 3600.0}
    )
    set_price("META", "500.00", age=3601)
    assert place_order(account=alice, symbol="META", side="buy", quantity=1).status == "filled"
    # Ticked 11 s of running time before the pause: stale, paused or not.
    set_price("BTC", "30000.00", age=3611)
    with pytest.raises(NoPrice):
        place_order(account=alice, symbol="BTC", side="buy", quantity=1)
