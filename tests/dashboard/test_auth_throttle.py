"""Sign-ups and log-ins are throttled per client address; weak passwords are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from market.models import Account

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple-42"


def log_in(client: Client, path: str = "/accounts/login/", **extra: str) -> int:
    response = client.post(path, {"username": "mallory", "password": "guess"}, **extra)
    return int(response.status_code)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
@override_settings(EXCHANGE_AUTH_RATE=3)
def test_log_ins_past_the_rate_are_429_with_retry_after(client: Client, path: str) -> None:
    assert [log_in(client, path) for _ in range(3)] == [200, 200, 200]
    response = client.post(path, {"username": "mallory", "password": "guess"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


@override_settings(EXCHANGE_AUTH_RATE=3)
def test_the_limit_is_per_client_address(client: Client) -> None:
    for _ in range(3):
        log_in(client)
    assert log_in(client) == 429
    assert log_in(client, REMOTE_ADDR="10.0.0.2") == 200


@override_settings(EXCHANGE_AUTH_RATE=2)
def test_sign_ups_share_the_limit_so_starting_cash_cannot_be_minted_without_limit() -> None:
    # A new client (no session) per sign-up, as a script minting accounts would.
    codes = [
        Client()
        .post("/accounts/signup/", {"username": f"sock{n}", "password1": PASSWORD, "password2": PASSWORD})
        .status_code
        for n in range(4)
    ]
    assert codes == [302, 302, 429, 429]
    assert Account.objects.filter(name__startswith="sock").count() == 2


def test_the_default_rate_is_ten_a_minute(client: Client) -> None:
    assert [log_in(client) for _ in range(11)] == [200] * 10 + [429]


def test_reading_the_forms_is_not_counted(client: Client) -> None:
    for _ in range(12):
        assert client.get("/accounts/login/").status_code == 200


@pytest.mark.parametrize("password", ["1", "password", "12345678", "87654321"])
def test_weak_passwords_are_refused_at_sign_up(client: Client, password: str) -> None:
    response = client.post(
        "/accounts/signup/", {"username": "bobbob", "password1": password, "password2": password}
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="bobbob").exists()
