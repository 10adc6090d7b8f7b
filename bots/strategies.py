"""Trading strategies: the ``Strategy`` interface and the built-in investor and hamster.

Pure logic, no Django and no I/O, so one strategy object runs the same way
under the live runner (``manage.py runbot``) and in the backtest. A strategy
sees one price at a time and answers with the orders it wants; whoever runs it
places those orders and then tells it what happened (``on_fill`` or
``on_reject``), so its bookkeeping follows the account, not its wishes.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

BUY = "buy"
SELL = "sell"
# Returned when a strategy wants nothing: shared, so the hot path allocates nothing.
NO_ORDERS: tuple[Order, ...] = ()


@dataclass(frozen=True)
class Order:
    """An order a strategy wants placed: a market order for ``quantity`` units."""

    symbol: str
    side: str
    quantity: int


@dataclass(frozen=True)
class Trade:
    """An order as it was executed: the price is the exchange's, not the strategy's guess."""

    symbol: str
    side: str
    quantity: int
    price: Decimal


class Strategy:
    """The interface every strategy implements; subclass it and override ``on_price``.

    - ``on_start(positions)``: once, before the first price, with the units the
      account already holds (a restarted bot keeps its account).
    - ``on_price(symbol, price)``: every new price of every followed asset, in
      order, each once; returns the orders to place now (usually none).
    - ``on_fill(trade)`` / ``on_reject(order, code, message)``: the outcome of
      each order it returned, before the next price arrives.

    ``quantity`` is the lot size (``--quantity``).
    """

    #: One line for ``runbot --help``.
    summary: ClassVar[str] = "a trading strategy"

    def __init__(self, *, quantity: int = 1) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError("quantity must be a whole number of at least 1")
        self.quantity = quantity

    def on_start(self, positions: Mapping[str, int]) -> None:
        """Learn what the account already holds; the default ignores it."""

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Order]:
        raise NotImplementedError

    def on_fill(self, trade: Trade) -> None:
        """An order was executed; the default ignores it."""

    def on_reject(self, order: Order, code: str, message: str) -> None:
        """An order was refused (``code`` as in the API's errors); the default ignores it."""


class ThreePriceStrategy(Strategy):
    """Shared machinery of the original's bots: the last three prices per asset
    (p0, p1, p2, oldest first), the position it holds and its highest buy price.

    A peak is ``p0 < p1 > p2`` and a dip ``p0 > p1 < p2``, both strict, so flat
    stretches are neither. The highest buy price is the highest price paid for
    the units held now: it is forgotten when the position is sold out, and it is
    unknown (``None``) for units held from before the start, so the sell rules,
    which compare with it, wait until the strategy has bought something itself.
    """

    def __init__(self, *, quantity: int = 1) -> None:
        super().__init__(quantity=quantity)
        # symbol -> [p1, p2]: the two previous prices; p0 is shifted out on each price.
        self._window: dict[str, list[Decimal | None]] = {}
        self.positions: dict[str, int] = {}
        self.highest_buy: dict[str, Decimal] = {}

    def on_start(self, positions: Mapping[str, int]) -> None:
        self.positions = {symbol: units for symbol, units in positions.items() if units > 0}

    def on_price(self, symbol: str, price: Decimal) -> Sequence[Order]:
        window = self._window.get(symbol)
        if window is None:
            self._window[symbol] = [None, price]
            return NO_ORDERS
        p0, p1 = window
        window[0] = p1
        window[1] = price
        if p0 is None or p1 is None:
            return NO_ORDERS
        if p0 < p1 > price:
            return self.on_peak(symbol, price)
        if p0 > p1 < price:
            return self.on_dip(symbol, price)
        return NO_ORDERS

    def on_peak(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return NO_ORDERS

    def on_dip(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return NO_ORDERS

    def on_fill(self, trade: Trade) -> None:
        held = self.positions.get(trade.symbol, 0)
        if trade.side == BUY:
            self.positions[trade.symbol] = held + trade.quantity
            highest = self.highest_buy.get(trade.symbol)
            if highest is None or trade.price > highest:
                self.highest_buy[trade.symbol] = trade.price
            return
        left = held - trade.quantity
        if left > 0:
            self.positions[trade.symbol] = left
        else:
            self.positions.pop(trade.symbol, None)
            self.highest_buy.pop(trade.symbol, None)

    def buy_lot(self, symbol: str) -> Sequence[Order]:
        return (Order(symbol, BUY, self.quantity),)

    def sell_all(self, symbol: str) -> Sequence[Order]:
        return (Order(symbol, SELL, self.positions[symbol]),)


class Investor(ThreePriceStrategy):
    """Buys the dips, sells the peaks at a profit (the original's investor).

    - On a dip (p0 > p1 < p2): buy one lot; remember the highest buy price.
    - On a peak (p0 < p1 > p2): if it holds the asset and p2 is above its
      highest buy price, sell the whole position.
    """

    summary = "buys one lot on a dip; on a peak above its highest buy price sells everything"

    def on_dip(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return self.buy_lot(symbol)

    def on_peak(self, symbol: str, price: Decimal) -> Sequence[Order]:
        highest = self.highest_buy.get(symbol)
        if highest is not None and price > highest and self.positions.get(symbol, 0) > 0:
            return self.sell_all(symbol)
        return NO_ORDERS


class Hamster(ThreePriceStrategy):
    """The investor's mirror image (the original's hamster): buys high, panics low.

    - On a peak (p0 < p1 > p2): buy one lot; remember the highest buy price.
    - On a dip (p0 > p1 < p2): if it holds the asset and p2 is below its
      highest buy price, sell the whole position (a panic sale at a loss).
    """

    summary = "buys one lot on a peak; on a dip below its highest buy price sells everything"

    def on_peak(self, symbol: str, price: Decimal) -> Sequence[Order]:
        return self.buy_lot(symbol)

    def on_dip(self, symbol: str, price: Decimal) -> Sequence[Order]:
        highest = self.highest_buy.get(symbol)
        if highest is not None and price < highest and self.positions.get(symbol, 0) > 0:
            return self.sell_all(symbol)
        return NO_ORDERS


#: The built-in strategies by the name ``runbot`` and ``backtest`` accept.
STRATEGIES: dict[str, type[Strategy]] = {"investor": Investor, "hamster": Hamster}


class UnknownStrategy(ValueError):
    """A strategy name that is neither built in nor an importable Strategy class."""


def load_strategy(name: str) -> type[Strategy]:
    """A strategy class by built-in name, ``package.module:ClassName`` or ``package.module.ClassName``."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    if ":" in name:
        module_name, _, class_name = name.partition(":")
    elif "." in name:
        module_name, _, class_name = name.rpartition(".")
    else:
        raise UnknownStrategy(
            f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)} or module.path:ClassName"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownStrategy(f"cannot import {module_name!r} for strategy {name!r}: {exc}") from exc
    found: Any = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise UnknownStrategy(f"{name!r} is not a subclass of bots.strategies.Strategy")
    return found


def build_strategy(name: str, *, quantity: int = 1) -> Strategy:
    """A fresh strategy object by name (see ``load_strategy``) with lot size ``quantity``."""
    return load_strategy(name)(quantity=quantity)


def strategy_label(name: str) -> str:
    """A short name for logs and account names: ``investor``, or ``MyStrategy`` for a path."""
    if name in STRATEGIES:
        return name
    return name.replace(":", ".").rsplit(".", 1)[-1]
