"""Errors Django and django-ninja produce before a view runs still use the JSON format."""

from __future__ import annotations

import pytest
from django.test import Client

from market import ratelimit


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("put", "/api/orders", 405, "method_not_allowed"),
        ("delete", "/api/prices", 405, "method_not_allowed"),
        ("post", "/healthz", 405, "method_not_allowed"),
        ("post", "/market/stream/", 405, "method_not_allowed"),
        ("get", "/api/no-such-thing", 404, "not_found"),
        ("get", "/sources/BTC/nothing/", 404, "not_found"),
    ],
)
@pytest.mark.django_db
def test_an_api_path_answers_errors_in_json(method: str, path: str, status: int, code: str) -> None:
    response = getattr(Client(), method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_a_405_keeps_its_allow_header() -> None:
    response = Client().put("/api/orders")
    assert {"GET", "POST", "DELETE"} <= {method.strip() for method in response["Allow"].split(",")}


@pytest.mark.django_db
def test_pages_outside_the_api_keep_django_s_own_404() -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_the_rate_limit_lets_orders_through_when_the_cache_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: object, **kwargs: object) -> object:
        raise ConnectionError("cache down")

    monkeypatch.setattr(ratelimit.cache, "get", unreachable)
    request = type("Request", (), {"auth": type("Account", (), {"pk": 1})()})()
    throttle = ratelimit.OrderRateThrottle()
    assert throttle.allow_request(request)  # type: ignore[arg-type]
    assert throttle.wait() is None
