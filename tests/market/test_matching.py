"""The book's pure rules: price-time priority, the house's quote, self-trades, fok/ioc, fees, reservations."""

from decimal import Decimal

import pytest

from market.errors import InsufficientFunds, InsufficientPosition, NotCancelable, OrderNotFound
from market.matching import (
    BUY,
    CANCELED,
    FILLED,
    FOK,
    IOC,
    LIMIT,
    OPEN,
    PARTIALLY_FILLED,
    REJECTED,
    SELL,
    STOP,
    STOP_LIMIT,
    Fees,
    Incoming,
    Quote,
    Resting,
    fee,
    house_quote,
    match,
    reserved_cash,
    stop_triggered,
)
from market.venue import Venue

D = Decimal


def venue(**options) -> Venue:
    v = Venue(**options)
    for account in (1, 2, 3):
        v.open_account(account, D("100000.00"))
    v.tick("BTC", D("100.00"))
    return v


def test_house_quote_rounds_the_bid_down_and_the_ask_up():
    quote = house_quote(D("100.01"), spread_bps=15, depth=5)
    assert quote == Quote(bid=D("99.93"), ask=D("100.09"), bid_depth=5, ask_depth=5)
    assert house_quote(D("100.00")) == Quote(bid=D("100.00"), ask=D("100.00"))


def test_fee_rounds_half_up_to_a_cent():
    assert fee(D("100.00"), 5) == D("0.05")
    assert fee(D("10.10"), 5) == D("0.01")  # 0.00505
    assert fee(D("9.90"), 5) == D("0.00")  # 0.00495
    assert fee(D("123.45"), 0) == D("0.00")


def test_a_market_order_fills_at_the_source_price_under_the_defaults():
    v = venue()
    order = v.place(account=1, symbol="BTC", side=BUY, quantity=3)
    assert order.status == FILLED
    assert order.average_price == D("100.00")
    assert v.wallets[1].cash == D("99700.00")
    assert v.wallets[1].units["BTC"] == 3
    assert v.wallets[None].units["BTC"] == -3


def test_price_then_time_and_accounts_before_the_house_at_one_price():
    book = [
        Resting(order_id=1, account=1, side=SELL, price=D("99.00"), remaining=2),
        Resting(order_id=2, account=2, side=SELL, price=D("100.00"), remaining=1),
        Resting(order_id=3, account=1, side=SELL, price=D("100.00"), remaining=1),
    ]
    quote = Quote(bid=D("100.00"), ask=D("100.00"), bid_depth=None, ask_depth=None)
    result = match(Incoming(order_id=9, account=3, side=BUY, quantity=5), book, quote, Fees())
    assert [(f.price, f.quantity, f.maker_order) for f in result.fills] == [
        (D("99.00"), 2, 1),
        (D("100.00"), 1, 2),
        (D("100.00"), 1, 3),
        (D("100.00"), 1, None),
    ]


def test_equal_prices_cross_and_the_trade_is_at_the_makers_price():
    v = venue(spread_bps=200)  # the house: 99.00 / 101.00
    v.place(account=1, symbol="BTC", side=BUY, quantity=1)
    v.place(account=1, symbol="BTC", side=SELL, quantity=1, type=LIMIT, limit_price=D("100.50"))
    buy = v.place(account=2, symbol="BTC", side=BUY, quantity=1, type=LIMIT, limit_price=D("100.50"))
    assert buy.status == FILLED
    assert (buy.fills[0].price, buy.fills[0].seller, buy.fills[0].buyer) == (D("100.50"), 1, 2)


def test_a_limit_buy_that_meets_a_resting_sell_trades_at_the_sell_price():
    v = venue(spread_bps=200)
    v.place(account=1, symbol="BTC", side=BUY, quantity=5)  # at the ask, 101.00
    sell = v.place(account=1, symbol="BTC", side=SELL, quantity=5, type=LIMIT, limit_price=D("100.50"))
    assert sell.status == OPEN
    buy = v.place(account=2, symbol="BTC", side=BUY, quantity=2, type=LIMIT, limit_price=D("100.90"))
    assert buy.status == FILLED
    assert buy.fills[0].price == D("100.50")
    assert sell.status == PARTIALLY_FILLED
    assert v.wallets[1].reserved_units["BTC"] == 3


def test_an_account_never_trades_with_itself_the_newest_order_is_canceled():
    v = venue(spread_bps=200)
    v.place(account=1, symbol="BTC", side=BUY, quantity=5)
    v.place(account=2, symbol="BTC", side=BUY, quantity=5)
    v.place(account=2, symbol="BTC", side=SELL, quantity=1, type=LIMIT, limit_price=D("100.10"))
    own = v.place(account=1, symbol="BTC", side=SELL, quantity=2, type=LIMIT, limit_price=D("100.20"))
    taker = v.place(account=1, symbol="BTC", side=BUY, quantity=5, type=LIMIT, limit_price=D("101.00"))
    # It takes account 2's ask at 100.10, then stops at its own 100.20.
    assert [(f.price, f.quantity) for f in taker.fills] == [(D("100.10"), 1)]
    assert taker.status == CANCELED
    assert own.status == OPEN
    assert own.remaining == 2
    assert all(f.buyer != f.seller for f in v.trades)


def test_fok_fills_all_or_nothing_and_ioc_never_rests():
    v = venue(spread_bps=200, house_depth=3)
    fok = v.place(account=1, symbol="BTC", side=BUY, quantity=4, time_in_force=FOK)
    assert fok.status == CANCELED
    assert fok.filled_quantity == 0
    ioc = v.place(account=1, symbol="BTC", side=BUY, quantity=4, time_in_force=IOC)
    assert ioc.status == CANCELED
    assert ioc.filled_quantity == 3
    limit_ioc = v.place(
        account=2, symbol="BTC", side=BUY, quantity=2, type=LIMIT, limit_price=D("101.00"), time_in_force=IOC
    )
    assert limit_ioc.status == CANCELED
    assert limit_ioc.filled_quantity == 0
    assert v.open_orders(2) == 0
    assert v.wallets[2].reserved_cash == 0


def test_the_house_depth_is_renewed_each_tick_and_its_quote_sweeps_resting_orders():
    v = venue(house_depth=2)
    bid = v.place(account=1, symbol="BTC", side=BUY, quantity=3, type=LIMIT, limit_price=D("99.00"))
    assert bid.status == OPEN
    assert v.wallets[1].reserved_cash == D("297.00")
    fills = v.tick("BTC", D("98.00"))
    assert [(f.price, f.quantity, f.maker_order, f.taker_account) for f in fills] == [
        (D("99.00"), 2, bid.id, None)
    ]
    assert bid.status == PARTIALLY_FILLED
    v.tick("BTC", D("98.50"))
    assert bid.status == FILLED
    assert v.wallets[1].reserved_cash == 0
    assert v.wallets[1].cash == D("100000.00") - D("297.00")


def test_fees_go_to_the_house_and_a_better_price_releases_the_excess_reservation():
    v = venue(fees=Fees(maker_bps=10, taker_bps=20))
    v.place(account=2, symbol="BTC", side=BUY, quantity=10)
    taker_paid = D("1000.00") + D("2.00")
    assert v.wallets[2].cash == D("100000.00") - taker_paid
    v.place(account=2, symbol="BTC", side=SELL, quantity=4, type=LIMIT, limit_price=D("100.50"))
    bid = v.place(account=1, symbol="BTC", side=BUY, quantity=4, type=LIMIT, limit_price=D("99.00"))
    # 4 x (99.00 + 0.10 maker fee per unit, rounded up) are held.
    assert v.wallets[1].reserved_cash == reserved_cash(D("99.00"), 4, 10) == D("396.40")
    v.tick("BTC", D("98.00"))
    assert bid.status == FILLED
    assert v.wallets[1].reserved_cash == 0
    assert v.wallets[1].cash == D("100000.00") - D("396.00") - D("0.40")
    assert sum(w.cash for w in v.wallets.values()) == 0
    assert v.wallets[None].cash + D("300000.00") - D("1000.00") - D("396.00") == D("2.40")


def test_orders_beyond_what_is_available_are_refused_and_change_nothing():
    v = venue()
    v.place(account=1, symbol="BTC", side=BUY, quantity=5)
    v.place(account=1, symbol="BTC", side=SELL, quantity=3, type=LIMIT, limit_price=D("150.00"))
    with pytest.raises(InsufficientPosition):
        v.place(account=1, symbol="BTC", side=SELL, quantity=3)
    with pytest.raises(InsufficientFunds):
        v.place(account=2, symbol="BTC", side=BUY, quantity=1002, type=LIMIT, limit_price=D("99.90"))
    assert v.open_orders(2) == 0
    assert v.wallets[2].reserved_cash == 0


def test_a_stop_triggers_on_the_source_price_and_a_crossed_one_at_once():
    v = venue()
    v.place(account=1, symbol="BTC", side=BUY, quantity=5)
    stop = v.place(account=1, symbol="BTC", side=SELL, quantity=5, type=STOP, stop_price=D("95.00"))
    assert stop.status == OPEN
    assert v.wallets[1].reserved_units.get("BTC", 0) == 0
    v.tick("BTC", D("96.00"))
    assert stop.status == OPEN
    v.tick("BTC", D("94.00"))
    assert stop.status == FILLED
    assert stop.average_price == D("94.00")
    at_once = v.place(account=2, symbol="BTC", side=BUY, quantity=1, type=STOP, stop_price=D("90.00"))
    assert at_once.status == FILLED
    assert stop_triggered(BUY, D("90.00"), D("90.00"))
    assert not stop_triggered(SELL, D("90.00"), D("90.01"))


def test_a_triggered_stop_that_cannot_be_covered_is_rejected():
    v = venue()
    v.place(account=1, symbol="BTC", side=BUY, quantity=2)
    stop = v.place(account=1, symbol="BTC", side=SELL, quantity=2, type=STOP, stop_price=D("95.00"))
    v.place(account=1, symbol="BTC", side=SELL, quantity=2)  # the units are gone before the stop fires
    v.tick("BTC", D("94.00"))
    assert stop.status == REJECTED
    assert stop.filled_quantity == 0


def test_a_triggered_stop_limit_rests_at_its_limit():
    v = venue()
    stop = v.place(
        account=1,
        symbol="BTC",
        side=BUY,
        quantity=2,
        type=STOP_LIMIT,
        stop_price=D("105.00"),
        limit_price=D("104.00"),
    )
    v.tick("BTC", D("106.00"))
    assert stop.status == OPEN
    assert stop.triggered
    assert v.wallets[1].reserved_cash == D("208.00")
    v.tick("BTC", D("103.00"))
    assert stop.status == FILLED
    assert stop.average_price == D("104.00")


def test_cancel_releases_the_reservation_and_only_the_owner_may_cancel():
    v = venue()
    bid = v.place(account=1, symbol="BTC", side=BUY, quantity=2, type=LIMIT, limit_price=D("90.00"))
    with pytest.raises(OrderNotFound):
        v.cancel(account=2, order_id=bid.id)
    assert v.cancel(account=1, order_id=bid.id).status == CANCELED
    assert v.wallets[1].reserved_cash == 0
    with pytest.raises(NotCancelable):
        v.cancel(account=1, order_id=bid.id)
