"""Injecting an account's faults (``market.faults``) into its own requests and streams, and nowhere else.

Three pieces, each as small as its job:

- ``FaultInjectionMiddleware`` (Django): a request with a bearer token looks
  up its account, with the account's fault plan joined, once; the view's
  authentication reuses that account (``market.auth.account_of_token``), so
  faults cost no query of their own; a request without a token costs a
  header read. For an
  account with a plan it advances the plan's request counter, draws the
  request's faults, rejects or delays the request, marks the answer, and
  cuts the account's streams.
- Two hooks of the order service (``market.orders``), for what only it can
  do: refuse an order as on a stale price after its ``Idempotency-Key`` was
  found unused (a retry of an executed order is never refused), and fill a
  market or ioc order partly.
- ``LoseAnswers`` (ASGI, outermost): an order whose answer is marked lost
  has committed; its answer is dropped and the connection closed.

Every injected fault is logged (logger ``market.faults``) and named in the
answer's ``X-Exchange-Fault`` header, where an answer reaches the client.
None touches the ledger: rejections and stale refusals happen before the
order does anything, a partial fill is an ordinary fill of fewer units, and
a lost answer loses only bytes on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from market import faults
from market.errors import NoPrice
from market.faults import Decision, FaultPlan
from market.matching import CANCELED, FILLED, IOC, MARKET
from market.models import Account, AccountFaults
from web.errors import error_response

logger = logging.getLogger("market.faults")

FAULT_HEADER = "X-Exchange-Fault"
ORDERS_PATH = "/api/orders"


# --- Plans: set, clear, list ------------------------------------------------------------


def plan_of(row: AccountFaults) -> FaultPlan:
    return FaultPlan(
        reject=row.reject,
        delay_ms=row.delay_ms,
        lose_response=row.lose_response,
        partial=row.partial,
        stale=row.stale,
        drop_stream_after=row.drop_stream_after,
        seed=row.seed,
    )


def set_faults(*, account: Account, plan: FaultPlan) -> AccountFaults:
    """Give ``account`` this plan, replacing any earlier one; it starts over at the account's next request."""
    if account.is_house:
        raise ValueError("the house makes no requests")
    row, _ = AccountFaults.objects.update_or_create(
        account=account, defaults={**plan.to_json(), "requests": 0, "updated_at": timezone.now()}
    )
    logger.info("faults of %s set: %s", account.name, plan.describe())
    return row


def clear_faults(*, account: Account) -> bool:
    """End the account's faults; False when it had none."""
    deleted, _ = AccountFaults.objects.filter(account=account).delete()
    if deleted:
        logger.info("faults of %s cleared", account.name)
    return bool(deleted)


def fault_rows() -> list[AccountFaults]:
    """Every account's plan, by account name."""
    return list(AccountFaults.objects.select_related("account").order_by("account__name"))


def plan_json(row: AccountFaults) -> dict[str, Any]:
    return {"account": row.account.name, **plan_of(row).to_json(), "requests": row.requests}


# --- The current request's faults, for the order service's hooks -------------------------


@dataclass
class Injected:
    """The faults drawn for the request being served, and those that actually applied to it."""

    account: str
    decision: Decision
    applied: list[str] = field(default_factory=list)

    def apply(self, kind: str, detail: str) -> None:
        self.applied.append(kind)
        logger.warning(
            "injected fault %s on %s's request #%d: %s", kind, self.account, self.decision.request, detail
        )


_current: ContextVar[Injected | None] = ContextVar("exchange_injected_faults", default=None)


def refuse_as_stale(symbol: str) -> None:
    """Order-service hook: raise ``NoPrice`` when this request draws a ``stale`` fault."""
    injected = _current.get()
    if injected is not None and injected.decision.stale:
        injected.apply(faults.STALE, f"an order in {symbol} refused as on a stale price")
        raise NoPrice(f"the latest {symbol} price is stale; orders wait for a fresh one")


def fill_quantity(*, type: str, time_in_force: str, quantity: int) -> int:
    """Order-service hook: the units a market or ioc order may fill (fewer under a ``partial`` fault)."""
    injected = _current.get()
    if injected is None or not injected.decision.partial or not (type == MARKET or time_in_force == IOC):
        return quantity
    allowed = faults.partial_quantity(quantity)
    injected.apply(faults.PARTIAL, f"an order of {quantity} may fill {allowed}")
    return allowed


def restore_quantity(order: Any, quantity: int) -> None:
    """Order-service hook: a partly filled order keeps the quantity asked for; its unfilled rest canceled."""
    if order.quantity != quantity:
        order.quantity = quantity
        if order.status == FILLED:
            order.status = CANCELED


# --- The middleware --------------------------------------------------------------------


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def next_decision(request: HttpRequest, token: str) -> Injected | None:
    """The faults of this token's next request, advancing its plan's counter; None without a plan.

    The token's account is looked up once for the request (``market.auth``),
    its plan's id with it: a request without faults pays no query of its own.
    """
    from market.auth import account_of_token  # market.auth -> services -> orders -> this module

    account = account_of_token(request, token)
    pk = getattr(account, "fault_plan_id", None)
    if account is None or pk is None:
        return None
    with transaction.atomic():
        # One counter per plan, advanced under the row's lock: concurrent requests draw distinct numbers.
        AccountFaults.objects.filter(pk=pk).update(requests=F("requests") + 1)
        row = AccountFaults.objects.select_for_update().filter(pk=pk).first()
    if row is None:
        return None
    return Injected(account=account.name, decision=faults.decide(plan_of(row), row.requests))


class FaultInjectionMiddleware:
    """Applies an account's injected faults to its requests (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _bearer_token(request)
        injected = next_decision(request, token) if token is not None else None
        if injected is None:
            return self.get_response(request)
        decision = injected.decision
        what = f"{request.method} {request.path}"
        if decision.reject is not None:
            injected.apply(faults.REJECT, f"{what} answered {decision.reject}")
            response: HttpResponse = _rejection(decision.reject)
        else:
            reset = _current.set(injected)
            try:
                response = self.get_response(request)
            finally:
                _current.reset(reset)
            is_order = request.method == "POST" and request.path.rstrip("/") == ORDERS_PATH
            if is_order and decision.lose_response and response.status_code == 201:
                injected.apply(faults.LOSE_RESPONSE, f"{what} committed; its answer is dropped")
            after = decision.drop_stream_after
            if after is not None and isinstance(response, StreamingHttpResponse) and response.is_async:
                injected.apply(faults.DROP_STREAM, f"{what} will be cut after {after:g} s")
                response.streaming_content = _dropping(  # type: ignore[assignment]
                    response.streaming_content,  # type: ignore[arg-type]
                    after=after,
                    cut=decision.cut,
                    who=injected.account,
                )
        if decision.delay_ms:
            injected.apply(faults.DELAY, f"{what} answered {decision.delay_ms} ms late")
            time.sleep(decision.delay_ms / 1000)
        if injected.applied:
            response[FAULT_HEADER] = ", ".join(injected.applied)
        return response


def _rejection(status: int) -> HttpResponse:
    headers = {"Retry-After": str(faults.RETRY_AFTER)}
    if status == 429:
        return error_response(429, "rate_limited", "too many requests; slow down", headers=headers)
    return error_response(503, "unavailable", "the exchange is busy; retry shortly", headers=headers)


async def _dropping(
    content: AsyncIterator[bytes], *, after: float, cut: float, who: str
) -> AsyncIterator[bytes]:
    """The stream as it was, until the first chunk sent ``after`` seconds on: part of it, then the end."""
    deadline = time.monotonic() + after
    try:
        async for chunk in content:
            if time.monotonic() < deadline or len(chunk) < 2:
                yield chunk
                continue
            keep = min(max(1, int(len(chunk) * cut)), len(chunk) - 1)
            logger.warning(
                "injected fault drop-stream on %s's stream: cut after %d of %d bytes", who, keep, len(chunk)
            )
            yield chunk[:keep]
            return
    finally:
        close = getattr(content, "aclose", None)
        if close is not None:
            await close()


# --- Lost answers (ASGI) ---------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]
_MARKER = faults.LOSE_RESPONSE.encode()


def _lost(headers: Any) -> bool:
    return any(name.lower() == b"x-exchange-fault" and _MARKER in value for name, value in headers)


class LoseAnswers:
    """Drops the answers marked ``lose-response`` and closes their connections; the outermost ASGI layer.

    Under uvicorn the connection is closed at the socket (the server's ``send``
    is its request cycle, which holds the transport), so the client reads
    nothing at all, as when a venue's connection drops after the commit. Under
    another server, the request fails with an error instead (a 500 or a reset,
    as that server answers an application error): the answer is lost either way.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lost = False

        async def send_unless_lost(message: Message) -> None:
            nonlocal lost
            if message["type"] == "http.response.start" and _lost(message.get("headers", ())):
                lost = True
            if not lost:
                await send(message)

        await self.app(scope, receive, send_unless_lost)
        if lost:
            await _close_connection(send)


async def _close_connection(send: Send) -> None:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("an injected lose-response fault dropped this answer")
    transport.close()
    # The server learns of the closed connection on the loop's next turns and sends nothing more.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
