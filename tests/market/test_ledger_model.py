"""A Hypothesis state machine drives the real ledger and a plain model side by side.

Rules: buys and sells (some with repeated idempotency keys), bad orders and
price moves, including stale prices. After every step the database must match
the model, nothing may be negative, cash and every asset must sum to zero over
all accounts and the house, and the audit from trades must find no drift.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from market.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    InsufficientPosition,
    InvalidQuantity,
    InvalidSide,
    NoPrice,
    OrderRejected,
    UnknownSymbol,
)
from market.models import Account, Position, Trade
from market.orders import place_order
from market.selectors import audit_ledger
from tests.market.books import make_account, set_price

SYMBOLS = ["BTC", "TCSG", "META"]
NAMES = ["ann", "ben"]
START = Decimal("20000.00")
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("40000"), places=2)
keys = st.sampled_from([None, None, "k1", "k2", "k3"])


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a transaction rolled back at teardown: a fresh ledger, fast.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.accounts = {name: make_account(name, cash=str(START))[0] for name in NAMES}
        self.cash = dict.fromkeys(NAMES, START)
        self.units: dict[tuple[str, str], int] = {}
        self.price: dict[str, Decimal] = {}
        self.stale: set[str] = set()
        self.keys: dict[tuple[str, str], tuple[tuple[str, str, int], int]] = {}
        self.trades = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def expected_error(self, name: str, symbol: str, side: str, quantity: int) -> type[OrderRejected] | None:
        if symbol not in self.price or symbol in self.stale:
            return NoPrice
        notional = (self.price[symbol] * quantity).quantize(Decimal("0.01"))
        if side == "buy" and notional > self.cash[name]:
            return InsufficientFunds
        if side == "sell" and quantity > self.units.get((name, symbol), 0):
            return InsufficientPosition
        return None

    @rule(symbol=st.sampled_from(SYMBOLS), price=prices, stale=st.booleans())
    def move_price(self, symbol: str, price: Decimal, stale: bool) -> None:
        set_price(symbol, price, age=3600 if stale else 0)
        self.price[symbol] = price
        (self.stale.add if stale else self.stale.discard)(symbol)

    @rule(
        name=st.sampled_from(NAMES),
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from(["buy", "sell"]),
        quantity=st.integers(min_value=1, max_value=30),
        key=keys,
    )
    def order(self, name: str, symbol: str, side: str, quantity: int, key: str | None) -> None:
        wanted = (symbol, side, quantity)
        remembered = self.keys.get((name, key)) if key else None

        def place() -> Any:
            return place_order(
                account=self.accounts[name], symbol=symbol, side=side, quantity=quantity, idempotency_key=key
            )

        if remembered is not None:
            if remembered[0] == wanted:
                trade = place()
                assert (trade.pk, trade.replayed) == (remembered[1], True)
            else:
                with pytest.raises(IdempotencyConflict):
                    place()
            return
        error = self.expected_error(name, symbol, side, quantity)
        if error is not None:
            with pytest.raises(error):
                place()
            return
        trade = place()
        notional = (self.price[symbol] * quantity).quantize(Decimal("0.01"))
        sign = 1 if side == "buy" else -1
        self.cash[name] -= sign * notional
        self.units[(name, symbol)] = self.units.get((name, symbol), 0) + sign * quantity
        self.trades += 1
        if key:
            self.keys[(name, key)] = (wanted, trade.pk)
        assert (trade.average_price, trade.filled_quantity, trade.replayed) == (
            self.price[symbol],
            quantity,
            False,
        )

    @rule(
        name=st.sampled_from(NAMES),
        bad=st.sampled_from(
            [
                ("DOGE", "buy", 1, UnknownSymbol),
                ("btc", "buy", 1, UnknownSymbol),
                ("BTC", "short", 1, InvalidSide),
                ("BTC", "buy", 0, InvalidQuantity),
                ("BTC", "sell", -2, InvalidQuantity),
                ("BTC", "buy", 10**9, InvalidQuantity),
            ]
        ),
        key=keys,
    )
    def bad_order(self, name: str, bad: tuple[str, str, Any, type[OrderRejected]], key: str | None) -> None:
        symbol, side, quantity, error = bad
        if key and (name, key) in self.keys:
            key = None  # a remembered key would answer with a conflict first; that is the other rule's case
        with pytest.raises(error):
            place_order(
                account=self.accounts[name], symbol=symbol, side=side, quantity=quantity, idempotency_key=key
            )

    @invariant()
    def books_match_the_model(self) -> None:
        for name, account in self.accounts.items():
            account.refresh_from_db()
            assert account.cash == self.cash[name]
        held = {
            (name, symbol): quantity
            for name, symbol, quantity in Position.objects.filter(is_house=False).values_list(
                "account__name", "symbol", "quantity"
            )
            if quantity
        }
        assert held == {key: units for key, units in self.units.items() if units}
        assert Trade.objects.count() == self.trades

    @invariant()
    def nothing_is_negative_nothing_is_created_and_the_audit_agrees(self) -> None:
        assert not Account.objects.filter(is_house=False, cash__lt=0).exists()
        assert not Position.objects.filter(is_house=False, quantity__lt=0).exists()
        assert sum(Account.objects.values_list("cash", flat=True), Decimal(0)) == 0
        for symbol in SYMBOLS:
            assert sum(Position.objects.filter(symbol=symbol).values_list("quantity", flat=True)) == 0
        assert audit_ledger() == []


@pytest.mark.django_db
def test_the_ledger_behaves_like_its_model() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            # Shrinking a ledger run takes minutes; 25 steps read well enough unshrunk.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
