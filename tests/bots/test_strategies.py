"""The built-in strategies on crafted price sequences: pure, no exchange needed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from bots.strategies import (
    BUY,
    SELL,
    STRATEGIES,
    Breakout,
    Hamster,
    Investor,
    MarketMaker,
    Order,
    Strategy,
    Trade,
    UnknownStrategy,
    build_strategy,
    load_strategy,
    strategy_label,
)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


def feed(strategy: Strategy, prices: Sequence[int | str], symbol: str = "BTC") -> list[Order]:
    """Feed prices of one asset; every order fills at the price it was given for."""
    return feed_many(strategy, [(symbol, price) for price in prices])


def feed_many(strategy: Strategy, points: Sequence[tuple[str, int | str]]) -> list[Order]:
    placed = []
    for symbol, raw in points:
        price = D(raw)
        for order in strategy.on_price(symbol, price):
            placed.append(order)
            strategy.on_fill(Trade(order.symbol, order.side, order.quantity, price))
    return placed


def test_investor_buys_one_lot_on_a_dip() -> None:
    assert feed(Investor(), [10, 9, 10]) == [Order("BTC", BUY, 1)]


def test_investor_needs_three_prices_before_it_acts() -> None:
    investor = Investor()
    assert list(investor.on_price("BTC", D(10))) == []
    assert list(investor.on_price("BTC", D(9))) == []


def test_investor_sells_the_whole_position_on_a_peak_above_its_highest_buy() -> None:
    # Dips at 9->10 and 8->9 buy two lots (highest buy 10); the peak 12 > 11 sells both.
    orders = feed(Investor(), [10, 9, 10, 8, 9, 12, 11])
    assert orders == [Order("BTC", BUY, 1), Order("BTC", BUY, 1), Order("BTC", SELL, 2)]


@pytest.mark.parametrize("after_peak", [20, 19])
def test_investor_holds_on_a_peak_not_above_its_highest_buy(after_peak: int) -> None:
    # The dip 21, 19, 20 buys at 20; the peak 20, 22, p2 ends at or below 20: hold.
    assert feed(Investor(), [21, 19, 20, 22, after_peak]) == [Order("BTC", BUY, 1)]


def test_investor_does_nothing_on_a_peak_without_a_position() -> None:
    assert feed(Investor(), [1, 5, 3]) == []


@pytest.mark.parametrize(
    "prices",
    [
        [10, 10, 10, 10],
        [10, 10, 11, 11],
        [9, 10, 10, 9],  # a plateau is not a peak: comparisons are strict
        [11, 10, 10, 11],  # nor is a flat bottom a dip
        [1, 2, 3, 4, 5],
        [5, 4, 3, 2, 1],
    ],
)
@pytest.mark.parametrize("strategy", [Investor, Hamster])
def test_flat_and_monotonic_prices_make_no_orders(strategy: type[Strategy], prices: list[int]) -> None:
    assert feed(strategy(), prices) == []


def test_the_highest_buy_price_is_the_fill_price_not_the_seen_price() -> None:
    investor = Investor()
    for price in (10, 9, 10):
        orders = investor.on_price("BTC", D(price))
    assert orders == (Order("BTC", BUY, 1),)
    investor.on_fill(Trade("BTC", BUY, 1, D("10.50")))  # the market moved before the fill
    assert investor.highest_buy == {"BTC": D("10.50")}
    # A peak at 10.40 is above the price seen but below the price paid: hold.
    assert feed(investor, ["10.60", "10.40"]) == []


def test_the_highest_buy_price_is_the_highest_of_several_buys() -> None:
    investor = Investor()
    feed(investor, [10, 9, 10, 11, 12, 8, 9])  # buys at 10 and at 9
    assert investor.positions == {"BTC": 2}
    assert investor.highest_buy == {"BTC": D(10)}


def test_selling_out_forgets_the_highest_buy_price() -> None:
    investor = Investor()
    feed(investor, [10, 9, 10, 12, 11])
    assert investor.positions == {}
    assert investor.highest_buy == {}


def test_a_rejected_buy_changes_no_bookkeeping() -> None:
    investor = Investor()
    for price in (10, 9, 10):
        orders = investor.on_price("BTC", D(price))
    investor.on_reject(orders[0], "insufficient_funds", "cash is short")
    assert investor.positions == {}
    assert investor.highest_buy == {}
    assert feed(investor, [12, 11]) == []  # nothing held, nothing to sell


def test_assets_are_tracked_separately() -> None:
    points = [("BTC", 10), ("META", 5), ("BTC", 9), ("META", 6), ("BTC", 10), ("META", 5)]
    investor = Investor()
    # BTC dips (10, 9, 10): buy. META peaks (5, 6, 5) with nothing held: no order.
    assert feed_many(investor, points) == [Order("BTC", BUY, 1)]
    assert investor.positions == {"BTC": 1}
    # The interleaving did not mix windows: a BTC dip right after the META peak.
    assert feed_many(investor, [("META", 4), ("META", 5)]) == [Order("META", BUY, 1)]
    assert investor.highest_buy == {"BTC": D(10), "META": D(5)}


def test_the_lot_size_is_configurable() -> None:
    assert feed(Investor(quantity=3), [10, 9, 10, 9, 10, 12, 11]) == [
        Order("BTC", BUY, 3),
        Order("BTC", BUY, 3),
        Order("BTC", SELL, 6),
    ]


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_a_lot_size_must_be_a_positive_whole_number(quantity: object) -> None:
    with pytest.raises(ValueError, match="quantity"):
        Investor(quantity=quantity)  # type: ignore[arg-type]


def test_hamster_buys_one_lot_on_a_peak() -> None:
    assert feed(Hamster(), [1, 5, 3]) == [Order("BTC", BUY, 1)]


def test_hamster_panic_sells_everything_on_a_dip_below_its_highest_buy() -> None:
    # Peaks buy at 4 and at 6 (highest 6); the dip ending at 3 < 6 sells both.
    orders = feed(Hamster(), [1, 5, 4, 7, 6, 2, 3])
    assert orders == [Order("BTC", BUY, 1), Order("BTC", BUY, 1), Order("BTC", SELL, 2)]


def test_hamster_holds_on_a_dip_not_below_its_highest_buy() -> None:
    # Bought at 4 on the peak; the dip ends at 5, above 4: keep.
    assert feed(Hamster(), [1, 5, 4, 3, 5]) == [Order("BTC", BUY, 1)]


def test_hamster_does_nothing_on_a_dip_without_a_position() -> None:
    assert feed(Hamster(), [5, 1, 3]) == []


def test_holdings_from_before_the_start_wait_for_a_known_buy_price() -> None:
    investor = Investor()
    investor.on_start({"BTC": 2, "META": 0})
    assert investor.positions == {"BTC": 2}
    assert feed(investor, [1, 5, 3]) == []  # a peak, but no buy price to beat
    # After its own buy at 4 it knows a price, and sells the whole position.
    assert feed(investor, [4, 6, 5]) == [Order("BTC", BUY, 1), Order("BTC", SELL, 3)]


def test_built_ins_are_registered_by_name() -> None:
    assert {
        "investor": Investor,
        "hamster": Hamster,
        "market_maker": MarketMaker,
        "breakout": Breakout,
    } == STRATEGIES
    assert load_strategy("hamster") is Hamster
    assert isinstance(build_strategy("investor", quantity=2), Investor)


@pytest.mark.parametrize("path", ["bots.strategies:Hamster", "bots.strategies.Hamster"])
def test_a_strategy_class_loads_by_its_path(path: str) -> None:
    assert load_strategy(path) is Hamster
    assert strategy_label(path) == "Hamster"


@pytest.mark.parametrize(
    "name", ["gambler", "no.such.module:Thing", "bots.strategies:Nothing", "bots.strategies:Order"]
)
def test_an_unknown_or_wrong_strategy_is_refused_with_a_reason(name: str) -> None:
    with pytest.raises(UnknownStrategy):
        load_strategy(name)
