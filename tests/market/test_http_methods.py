"""HEAD answers like GET on the API's paths; writes to read-only paths and CSRF failures are JSON errors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

GET_PATHS = [
    "/healthz",
    "/api/prices",
    "/api/prices/BTC/history",
    "/api/trades",
    "/api/accounts",
    "/sources/",
]


@pytest.mark.parametrize("path", GET_PATHS)
def test_head_answers_like_get_without_a_body(client: Client, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    # With no prices the health check turns 503 once the process is older than a price's max age;
    # HEAD must answer as GET either way.
    assert head.status_code == got.status_code
    assert got.status_code in ((200, 503) if path == "/healthz" else (200,))
    assert head["Content-Type"] == got["Content-Type"]
    assert got["Content-Type"].startswith("application/json")
    assert head.content == b""
    assert int(head["Content-Length"]) == len(got.content)


def test_head_of_an_unknown_api_path_is_still_a_json_404(client: Client) -> None:
    response = client.head("/api/nowhere")
    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize("path", ["/healthz", "/sources/", "/market/stream/", "/sources/BTC/stream/"])
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_writes_to_read_only_paths_are_405_in_json_not_a_csrf_page(path: str, method: str) -> None:
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_a_csrf_failure_on_the_order_form_is_a_json_error() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("carol"))
    response = client.post("/trade/", {"symbol": "BTC", "side": "buy", "quantity": "1"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_a_csrf_failure_on_an_html_form_stays_a_page() -> None:
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
