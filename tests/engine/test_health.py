"""``/healthz``: 200 only when the database, the engine and every asset's price are healthy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from engine import health
from engine.engine import Engine
from market.models import Price
from tests.market.books import set_price, set_prices

pytestmark = pytest.mark.django_db


class FakeEngine(Engine):
    def __init__(self, states: dict[str, str], *, stopped: bool = False) -> None:
        super().__init__(run_sources=False, run_feeds=False)
        self.states = states
        self.stopped = stopped

    def worker_states(self) -> dict[str, str]:
        return self.states


@pytest.fixture
def embedded(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the check as a serving process with its own engine, whose state the test sets."""
    settings.EXCHANGE_ENGINE = "embedded"

    def use(engine: Engine | None) -> None:
        monkeypatch.setattr("engine.engine._current", engine)

    return use


def test_it_is_ok_with_a_fresh_price_for_every_asset() -> None:
    set_prices()
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"status": "ok"}
    assert body["engine"] == {"status": "ok", "mode": "off"}
    assert set(body["prices"]["assets"]) == {"BTC", "TCSG", "META"}
    assert {asset["status"] for asset in body["prices"]["assets"].values()} == {"ok"}
    assert response["Cache-Control"] == "no-store"


def test_it_fails_on_a_stale_price_and_names_the_asset(settings: Any) -> None:
    settings.EXCHANGE_PRICE_MAX_AGE = 15
    set_prices()
    set_price("META", "500.00", age=40)
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["prices"]["status"] == "unhealthy"
    assert body["prices"]["assets"]["META"]["status"] == "stale"
    assert body["prices"]["assets"]["META"]["age"] >= 40
    assert body["prices"]["assets"]["BTC"]["status"] == "ok"
    assert body["error"] == {"code": "unhealthy", "message": "Unhealthy: prices."}
    assert response["Retry-After"]


def test_a_missing_price_is_pending_while_the_server_is_young_then_missing() -> None:
    set_price("BTC", "30000.00")
    now = timezone.now()
    young = health.check_health(now=now, since=now - timedelta(seconds=1))
    assert young.healthy
    assert young.body["prices"]["assets"]["META"] == {"status": "pending", "age": None}
    old = health.check_health(now=now, since=now - timedelta(hours=1))
    assert not old.healthy
    assert old.body["prices"]["assets"]["META"] == {"status": "missing", "age": None}


def test_it_fails_while_the_database_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError('connection to server at "db.internal", port 5432 failed')

    monkeypatch.setattr(Price.objects, "values_list", unreachable)
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"status": "unhealthy", "error": "not reachable"}
    assert body["prices"]["status"] == "unhealthy"
    assert "db.internal" not in response.content.decode()  # the reason is logged, not shown
    assert body["error"]["message"] == "Unhealthy: database, prices."


def test_it_fails_while_an_engine_worker_waits_to_restart(embedded: Any) -> None:
    set_prices()
    embedded(FakeEngine({"source-BTC": "running", "feed-BTC": "restarting"}))
    response = Client().get("/healthz")
    assert response.status_code == 503
    engine = response.json()["engine"]
    assert engine == {
        "status": "unhealthy",
        "mode": "embedded",
        "workers": {"source-BTC": "running", "feed-BTC": "restarting"},
    }


@pytest.mark.parametrize(
    "engine",
    [None, FakeEngine({"source-BTC": "stopped"}, stopped=True), FakeEngine({"source-BTC": "dead"})],
    ids=["not-started", "stopped", "dead-thread"],
)
def test_it_fails_when_the_embedded_engine_is_not_running(embedded: Any, engine: Engine | None) -> None:
    set_prices()
    embedded(engine)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["engine"]["status"] == "unhealthy"


def test_it_is_ok_with_every_embedded_worker_running(embedded: Any) -> None:
    set_prices()
    embedded(FakeEngine({"source-BTC": "running", "janitor": "running"}))
    assert Client().get("/healthz").status_code == 200


def test_head_answers_as_get_does_without_a_body(settings: Any) -> None:
    set_prices()
    ok = Client().head("/healthz")
    assert ok.status_code == 200
    assert ok.content == b""
    assert ok["Content-Type"] == "application/json"
    settings.EXCHANGE_PRICE_MAX_AGE = 0.1
    set_price("BTC", "30000.00", age=60)
    failing = Client().head("/healthz")
    assert failing.status_code == 503
    assert failing.content == b""


def test_it_costs_two_queries(django_assert_num_queries: Any) -> None:
    set_prices()
    # The latest price of each asset, and the market clock their ages count in.
    with django_assert_num_queries(2):
        assert Client().get("/healthz").status_code == 200


def test_other_methods_are_a_json_405() -> None:
    response = Client().post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert {method.strip() for method in response["Allow"].split(",")} == {"GET", "HEAD"}
