"""The bots' REST client: how each kind of answer is sorted, without a network."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from bots.client import ExchangeClient, OrderRefused, RetryLater, Unreachable, parse_retry_after


class FakeResponse:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.reason = "reason"

    def json(self) -> Any:
        return json.loads(self.text)


class FakeSession:
    def __init__(self, answer: FakeResponse | Exception) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        self.requests.append({"method": method, "url": url, **kwargs})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def client(answer: FakeResponse | Exception) -> tuple[ExchangeClient, FakeSession]:
    session = FakeSession(answer)
    return ExchangeClient("http://exchange.test/", "tok", session=session), session  # type: ignore[arg-type]


def error(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{code} happened"}}


def test_an_order_is_posted_as_json_with_the_token_and_the_key() -> None:
    trade = {"id": 1, "symbol": "BTC", "side": "buy", "quantity": 2, "price": "10.00"}
    exchange, session = client(FakeResponse(201, trade))
    assert exchange.place_order(symbol="BTC", side="buy", quantity=2, key="k-1") == trade
    sent = session.requests[0]
    assert (sent["method"], sent["url"]) == ("POST", "http://exchange.test/api/orders")
    assert sent["headers"]["Authorization"] == "Bearer tok"
    assert sent["headers"]["Idempotency-Key"] == "k-1"
    assert json.loads(sent["data"]) == {"symbol": "BTC", "side": "buy", "quantity": 2}
    assert exchange.stream_url == "http://exchange.test/market/stream/"


@pytest.mark.parametrize(
    ("status", "code"), [(409, "insufficient_funds"), (400, "unknown_symbol"), (401, "unauthorized")]
)
def test_a_definite_error_is_refused_with_its_code(status: int, code: str) -> None:
    exchange, _ = client(FakeResponse(status, error(code)))
    with pytest.raises(OrderRefused) as refused:
        exchange.place_order(symbol="BTC", side="buy", quantity=1, key="k")
    assert (refused.value.status, refused.value.code) == (status, code)


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (503, "busy")])
def test_rate_limits_and_a_busy_server_say_when_to_retry(status: int, code: str) -> None:
    exchange, _ = client(FakeResponse(status, error(code), {"Retry-After": "3"}))
    with pytest.raises(RetryLater) as later:
        exchange.place_order(symbol="BTC", side="buy", quantity=1, key="k")
    assert (later.value.code, later.value.retry_after) == (code, 3.0)


@pytest.mark.parametrize(
    "answer",
    [
        requests.ConnectionError("refused"),
        requests.ReadTimeout("timed out"),
        FakeResponse(500, "<html>oops</html>"),
        FakeResponse(502, "bad gateway"),
        FakeResponse(201, "not json"),
    ],
)
def test_no_usable_answer_means_unreachable(answer: FakeResponse | Exception) -> None:
    exchange, _ = client(answer)
    with pytest.raises(Unreachable):
        exchange.place_order(symbol="BTC", side="buy", quantity=1, key="k")


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), ("0.5", 0.5), (None, 1.0), ("soon", 1.0), ("-4", 1.0), ("nan", 1.0), ("9999", 30.0)],
)
def test_retry_after_is_read_and_bounded(header: str | None, seconds: float) -> None:
    assert parse_retry_after(header) == seconds
