"""``/api/admin/faults``: an operator sets, reads and clears accounts' injected faults over HTTP.

The same as ``manage.py faults``; only an operator (``market.operators``) may,
everyone else is 403 ``forbidden``. A plan takes effect at the account's next
request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from market.fault_injection import clear_faults, fault_rows, plan_json, set_faults
from market.faults import FaultPlan
from market.models import Account, AccountFaults
from market.operators import is_operator
from web.errors import error_response

router = Router(tags=["operators"])


class FaultPlanIn(Schema):
    """A fault plan; every field optional (absent: no such fault). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    reject: float = Field(0.0, ge=0, le=1, description="probability of a 503/429 with Retry-After")
    delay_ms: int = Field(0, ge=0, le=60_000, description="every answer this many ms late")
    lose_response: float = Field(0.0, ge=0, le=1, description="probability an order's answer is lost")
    partial: float = Field(0.0, ge=0, le=1, description="probability a market/ioc order fills only half")
    stale: float = Field(0.0, ge=0, le=1, description="probability an order is refused as on a stale price")
    drop_stream_after: float | None = Field(None, gt=0, description="seconds before a stream is cut")
    seed: int = Field(0, description="the plan's draws are reproducible from it")


class FaultPlanOut(Schema):
    account: str
    reject: float
    delay_ms: int
    lose_response: float
    partial: float
    stale: float
    drop_stream_after: float | None
    seed: int
    requests: int = Field(description="the account's requests the plan has seen")


class FaultPlansOut(Schema):
    faults: list[FaultPlanOut]


class ClearedOut(Schema):
    account: str
    cleared: bool


# Every refusal is the one error format; 400, 413 and 415 come from validation and the JSON parser.
ERRORS = {status: dict for status in (400, 403, 404, 413, 415)}


def _forbidden() -> HttpResponse:
    return error_response(
        403, "forbidden", "Operators only: a staff session or Authorization: Bearer <operator token>."
    )


def _account(name: str) -> Account | None:
    return Account.objects.filter(name=name, is_house=False).first()


def _not_found(name: str) -> HttpResponse:
    return error_response(404, "account_not_found", f"there is no account named {name!r}")


@router.get("", response={200: FaultPlansOut, **ERRORS}, summary="Every account's injected faults")
def list_plans(request: HttpRequest) -> Any:
    if not is_operator(request):
        return _forbidden()
    return {"faults": [plan_json(row) for row in fault_rows()]}


@router.get("/{name}", response={200: FaultPlanOut, **ERRORS}, summary="One account's injected faults")
def get_plan(request: HttpRequest, name: str) -> Any:
    if not is_operator(request):
        return _forbidden()
    row = AccountFaults.objects.select_related("account").filter(account__name=name).first()
    if row is None:
        return error_response(404, "not_found", f"account {name!r} has no faults")
    return plan_json(row)


@router.put("/{name}", response={200: FaultPlanOut, **ERRORS}, summary="Set an account's faults")
def put_plan(request: HttpRequest, name: str, plan: FaultPlanIn) -> Any:
    if not is_operator(request):
        return _forbidden()
    account = _account(name)
    if account is None:
        return _not_found(name)
    row = set_faults(account=account, plan=FaultPlan(**plan.model_dump()))
    return plan_json(row)


@router.delete("/{name}", response={200: ClearedOut, **ERRORS}, summary="End an account's faults")
def delete_plan(request: HttpRequest, name: str) -> Any:
    if not is_operator(request):
        return _forbidden()
    account = _account(name)
    if account is None:
        return _not_found(name)
    return {"account": name, "cleared": clear_faults(account=account)}
