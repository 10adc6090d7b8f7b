"""The bots' HTTP client of the exchange's REST API (orders, cancels, account, price snapshot).

The only bots module that uses ``requests``. Each call makes one attempt and
sorts the outcome into a result or one of three exceptions, so the runner
decides what to retry: ``OrderRefused`` (a definite answer: retrying the same
order cannot help), ``RetryLater`` (429/503 with ``Retry-After``) and
``Unreachable`` (no answer or a 5xx: the order may or may not have executed, so
it is retried with the same ``Idempotency-Key``). The market stream itself
and the account's private stream are read by ``streams.client.StreamReader``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import requests

# Connect fast, but leave the server time to answer an order under load.
TIMEOUT = (5.0, 15.0)
# A Retry-After we cannot read, or a silly one, becomes this many seconds.
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 30.0


class ClientError(Exception):
    """Base of the client's outcomes other than success."""


class OrderRefused(ClientError):
    """The exchange answered with a definite error (4xx other than 429)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class RetryLater(ClientError):
    """The exchange asked us to come back later (429 rate limit, 503 busy)."""

    def __init__(self, status: int, code: str, message: str, retry_after: float) -> None:
        super().__init__(f"{code}: {message} (retry after {retry_after:g} s)")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class Unreachable(ClientError):
    """No usable answer: connection refused or lost, timeout, or a 5xx."""


class Exchange(Protocol):
    """What the runner needs from the exchange; tests pass a fake."""

    stream_url: str
    account_stream_url: str
    stream_headers: dict[str, str]

    def prices(self) -> dict[str, Any]: ...

    def account(self) -> dict[str, Any]: ...

    def place_order(
        self, *, symbol: str, side: str, quantity: int, key: str, **fields: Any
    ) -> dict[str, Any]: ...

    def cancel_order(self, order_id: int) -> dict[str, Any]: ...

    def cancel_all(self, symbol: str | None = None) -> dict[str, Any]: ...

    def order(self, order_id: int) -> dict[str, Any]: ...

    def open_orders(self, symbol: str | None = None) -> dict[str, Any]: ...


def parse_retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header (seconds form), bounded."""
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER
    if seconds != seconds or seconds < 0:  # NaN or negative
        seconds = DEFAULT_RETRY_AFTER
    return min(seconds, MAX_RETRY_AFTER)


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}", response.text[:200] or response.reason or ""


class ExchangeClient:
    """The REST API of one exchange deployment, as one account (``token``)."""

    def __init__(self, base_url: str, token: str, *, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()
        self.stream_url = f"{self.base_url}/market/stream/"
        self.account_stream_url = f"{self.base_url}/api/accounts/me/stream/"
        # The private stream is read with these; with the token the market stream is this
        # account's own too (its per-client stream limit, and the faults injected into its streams).
        self.stream_headers = {"Authorization": f"Bearer {token}"}

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        try:
            response = self.session.request(
                method, self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise Unreachable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        status = response.status_code
        if status in (429, 503):
            code, message = _error_of(response)
            raise RetryLater(status, code, message, parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise Unreachable(f"{method} {path}: the server answered {status}")
        if status >= 400:
            raise OrderRefused(status, *_error_of(response))
        try:
            return response.json()
        except ValueError as exc:
            raise Unreachable(f"{method} {path}: the answer is not JSON") from exc

    def prices(self) -> dict[str, Any]:
        """``GET /api/prices``: ``{"cursor", "prices": [...]}``."""
        result: dict[str, Any] = self._request("GET", "/api/prices")
        return result

    def account(self) -> dict[str, Any]:
        """``GET /api/accounts/me``: name, cash, positions, equity, pnl."""
        result: dict[str, Any] = self._request("GET", "/api/accounts/me")
        return result

    def place_order(
        self, *, symbol: str, side: str, quantity: int, key: str, **fields: Any
    ) -> dict[str, Any]:
        """``POST /api/orders`` once with ``Idempotency-Key: key``; the order on success.

        ``fields`` are the API's other order fields (``type``, ``limit_price``,
        ``stop_price``, ``time_in_force``); those that are ``None`` are left out,
        so a market order's body is the first stage's.
        """
        body: dict[str, Any] = {"symbol": symbol, "side": side, "quantity": quantity}
        body.update({name: value for name, value in fields.items() if value is not None})
        result: dict[str, Any] = self._request(
            "POST",
            "/api/orders",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        return result

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        """``DELETE /api/orders/<id>``: the canceled order (409 ``not_cancelable`` if closed)."""
        result: dict[str, Any] = self._request("DELETE", f"/api/orders/{int(order_id)}")
        return result

    def cancel_all(self, symbol: str | None = None) -> dict[str, Any]:
        """``DELETE /api/orders[?symbol=]``: ``{"canceled": [ids]}``."""
        params = {"symbol": symbol} if symbol else {}
        result: dict[str, Any] = self._request("DELETE", "/api/orders", params=params)
        return result

    def order(self, order_id: int) -> dict[str, Any]:
        """``GET /api/orders/<id>``: one of the account's orders as it is now."""
        result: dict[str, Any] = self._request("GET", f"/api/orders/{int(order_id)}")
        return result

    def open_orders(self, symbol: str | None = None) -> dict[str, Any]:
        """``GET /api/orders?status=open``: ``{"cursor", "orders"}``, the account's open orders."""
        params: dict[str, Any] = {"status": "open", "limit": 500}
        if symbol:
            params["symbol"] = symbol
        result: dict[str, Any] = self._request("GET", "/api/orders", params=params)
        return result
