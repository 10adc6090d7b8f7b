"""The venue against a brute-force model and its invariants, over random sequences (Hypothesis).

Random place / cancel / tick sequences over three accounts: the fills are the
ones a naive "pick the best maker, again and again" model finds (price, then
time, accounts before the house, never against one's own order, fok all or
nothing, ioc and market never rest), and after every step cash, units and
fees are conserved, nothing is negative and the reservations are exactly what
the open orders need.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.errors import OrderRejected
from market.matching import (
    BUY,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    STOP,
    STOP_LIMIT,
    ZERO,
    Fees,
    house_quote,
    reserved_cash,
)
from market.venue import HOUSE, Venue

ACCOUNTS = (1, 2, 3)
SYMBOL = "BTC"
prices = st.integers(min_value=9_000, max_value=11_000).map(lambda cents: Decimal(cents) / 100)
orders = st.fixed_dictionaries(
    {
        "op": st.just("place"),
        "account": st.sampled_from(ACCOUNTS),
        "side": st.sampled_from((BUY, SELL)),
        "quantity": st.integers(min_value=1, max_value=8),
        "type": st.sampled_from((MARKET, LIMIT, LIMIT, LIMIT, STOP, STOP_LIMIT)),
        "limit_price": prices,
        "stop_price": prices,
        "time_in_force": st.sampled_from((GTC, GTC, IOC, FOK)),
    }
)
cancels = st.fixed_dictionaries(
    {"op": st.just("cancel"), "account": st.sampled_from(ACCOUNTS), "order": st.integers(1, 40)}
)
ticks = st.fixed_dictionaries({"op": st.just("tick"), "price": prices})
steps = st.lists(st.one_of(orders, orders, cancels, ticks), min_size=1, max_size=40)
configs = st.fixed_dictionaries(
    {
        "spread_bps": st.sampled_from((0, 0, 50, 200)),
        "house_depth": st.sampled_from((None, 0, 1, 3)),
        "maker": st.sampled_from((0, 10)),
        "taker": st.sampled_from((0, 25)),
    }
)


class Model:
    """A naive book: every step scans all live orders for the best maker."""

    def __init__(self, spread_bps: int, depth: int | None) -> None:
        self.spread_bps = spread_bps
        self.depth = depth
        self.live: dict[int, dict] = {}  # order id -> {"account","side","price","left"}
        self.quote = None

    def tick(self, price: Decimal) -> list[tuple]:
        self.quote = house_quote(price, spread_bps=self.spread_bps, depth=self.depth)
        bid_left, ask_left = self.quote.bid_depth, self.quote.ask_depth
        trades = []
        for side in (BUY, SELL):
            while True:
                left = ask_left if side == BUY else bid_left
                if left == 0:
                    break
                crossing = [
                    (order_id, o)
                    for order_id, o in self.live.items()
                    if o["side"] == side
                    and (o["price"] >= self.quote.ask if side == BUY else o["price"] <= self.quote.bid)
                ]
                if not crossing:
                    break
                order_id, o = min(crossing, key=lambda item: (_rank(side, item[1]["price"]), item[0]))
                take = o["left"] if left is None else min(o["left"], left)
                trades.append((o["price"], take, order_id))
                self._shrink(order_id, take)
                if left is not None:
                    if side == BUY:
                        ask_left = left - take
                    else:
                        bid_left = left - take
        self.quote = type(self.quote)(self.quote.bid, self.quote.ask, bid_left, ask_left)
        return trades

    def place(self, order_id: int, account: int, side: str, quantity: int, limit, tif: str) -> list[tuple]:
        plan, left = [], quantity
        live = {k: dict(v) for k, v in self.live.items()}
        house_left = self.quote.ask_depth if side == BUY else self.quote.bid_depth
        house_price = self.quote.ask if side == BUY else self.quote.bid
        stopped = False
        while left:
            candidates = [
                (_rank(side, o["price"], sell_side=True), 0, k, o["price"])
                for k, o in live.items()
                if o["side"] != side and o["left"]
            ]
            if house_left != 0:
                candidates.append((_rank(side, house_price, sell_side=True), 1, 0, house_price))
            if not candidates:
                break
            _, is_house, maker, price = min(candidates)
            if limit is not None and (price > limit if side == BUY else price < limit):
                break
            if not is_house and live[maker]["account"] == account:
                stopped = True
                break
            available = house_left if is_house else live[maker]["left"]
            take = left if available is None else min(left, available)
            plan.append((price, take, None if is_house else maker))
            left -= take
            if is_house:
                house_left = None if house_left is None else house_left - take
            else:
                live[maker]["left"] -= take
        if tif == FOK and left:
            return []
        for _price, take, maker in plan:
            if maker is not None:
                self._shrink(maker, take)
        if side == BUY:
            self.quote = type(self.quote)(self.quote.bid, self.quote.ask, self.quote.bid_depth, house_left)
        else:
            self.quote = type(self.quote)(self.quote.bid, self.quote.ask, house_left, self.quote.ask_depth)
        if left and limit is not None and tif == GTC and not stopped:
            self.live[order_id] = {"account": account, "side": side, "price": limit, "left": left}
        return plan

    def _shrink(self, order_id: int, take: int) -> None:
        self.live[order_id]["left"] -= take
        if not self.live[order_id]["left"]:
            del self.live[order_id]


def _rank(side: str, price: Decimal, *, sell_side: bool = False) -> Decimal:
    """Sort key, best first: for resting buys (or the asks a buy takes) by price order."""
    if sell_side:
        return price if side == BUY else -price
    return -price if side == BUY else price


def check_invariants(venue: Venue) -> None:
    wallets = venue.wallets
    assert sum(w.cash for w in wallets.values()) == 0
    assert sum(w.units.get(SYMBOL, 0) for w in wallets.values()) == 0
    for account in ACCOUNTS:
        wallet = wallets[account]
        assert wallet.cash >= 0
        assert wallet.units.get(SYMBOL, 0) >= 0
        assert wallet.available_cash >= 0
        assert wallet.available_units(SYMBOL) >= 0
        resting = [r for r in (*venue.book(SYMBOL).bids, *venue.book(SYMBOL).asks) if r.account == account]
        need_cash = sum(
            (reserved_cash(r.price, r.remaining, r.maker_fee_bps) for r in resting if r.side == BUY), ZERO
        )
        need_units = sum(r.remaining for r in resting if r.side == SELL)
        assert wallet.reserved_cash == need_cash
        assert wallet.reserved_units.get(SYMBOL, 0) == need_units
    for order in venue.orders.values():
        assert 0 <= order.filled_quantity <= order.quantity
        if order.time_in_force == FOK and order.type in (MARKET, LIMIT):
            assert order.filled_quantity in (0, order.quantity)
    assert all(t.buyer != t.seller for t in venue.trades)
    # The audit: every balance follows from the starting cash and the trades, fees included.
    for account in (*ACCOUNTS, HOUSE):
        cash = Decimal("-3000.00") if account is HOUSE else Decimal("1000.00")
        units = 0
        for t in venue.trades:
            if t.buyer == account:
                cash -= t.notional + t.buyer_fee
                units += t.quantity
            if t.seller == account:
                cash += t.notional - t.seller_fee
                units -= t.quantity
            if account is HOUSE:
                cash += t.maker_fee + t.taker_fee
        assert wallets[account].cash == cash
        assert wallets[account].units.get(SYMBOL, 0) == units


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, sequence=steps)
def test_the_venue_keeps_its_invariants(config, sequence):
    venue = Venue(
        fees=Fees(maker_bps=config["maker"], taker_bps=config["taker"]),
        spread_bps=config["spread_bps"],
        house_depth=config["house_depth"],
    )
    for account in ACCOUNTS:
        venue.open_account(account, Decimal("1000.00"))
    venue.tick(SYMBOL, Decimal("100.00"))
    for step in sequence:
        try:
            if step["op"] == "tick":
                venue.tick(SYMBOL, step["price"])
            elif step["op"] == "cancel":
                venue.cancel(account=step["account"], order_id=step["order"])
            else:
                venue.place(**_order_arguments(step))
        except OrderRejected:
            pass
        check_invariants(venue)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, sequence=steps)
def test_fills_follow_price_then_time_as_a_naive_model_finds_them(config, sequence):
    venue = Venue(spread_bps=config["spread_bps"], house_depth=config["house_depth"])
    model = Model(config["spread_bps"], config["house_depth"])
    for account in ACCOUNTS:
        venue.open_account(account, Decimal("5000.00"))
        venue.wallets[account].units[SYMBOL] = 20
    venue.tick(SYMBOL, Decimal("100.00"))
    model.tick(Decimal("100.00"))
    for step in sequence:
        if step["op"] == "tick":
            fills = venue.tick(SYMBOL, step["price"])
            expected = model.tick(step["price"])
            assert [(f.price, f.quantity, f.maker_order) for f in fills] == expected
        elif step["op"] == "cancel":
            try:
                venue.cancel(account=step["account"], order_id=step["order"])
            except OrderRejected:
                continue
            model.live.pop(step["order"], None)
        elif step["type"] in (MARKET, LIMIT):  # the model has no stops
            try:
                order = venue.place(**_order_arguments(step))
            except OrderRejected:
                continue
            limit = step["limit_price"] if step["type"] == LIMIT else None
            expected = model.place(
                order.id, step["account"], step["side"], step["quantity"], limit, step["time_in_force"]
            )
            assert [(f.price, f.quantity, f.maker_order) for f in order.fills] == expected


def _order_arguments(step: dict) -> dict:
    arguments = {key: step[key] for key in ("account", "side", "quantity", "type", "time_in_force")}
    arguments["symbol"] = SYMBOL
    if step["type"] in (LIMIT, STOP_LIMIT):
        arguments["limit_price"] = step["limit_price"]
    if step["type"] in (STOP, STOP_LIMIT):
        arguments["stop_price"] = step["stop_price"]
    return arguments


class GenericVenue(Venue):
    """The venue without its shortcut for market orders only the house can fill."""

    def _house_only(self, order, book):
        return False


def _state(venue: Venue) -> str:
    # ``repr`` shows each Decimal's exponent too: the shortcut must not change even that.
    return repr((venue.wallets, venue.orders, venue.trades, venue.books, venue._next_id))


market_heavy = st.lists(
    st.one_of(orders, orders.map(lambda o: {**o, "type": MARKET}), cancels, ticks), max_size=40
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, sequence=market_heavy, cash=st.sampled_from(("1000.00", "150", "40.5")))
def test_the_house_only_shortcut_changes_nothing(config, sequence, cash):
    venues = [
        kind(
            fees=Fees(maker_bps=config["maker"], taker_bps=config["taker"]),
            spread_bps=config["spread_bps"],
            house_depth=config["house_depth"],
        )
        for kind in (Venue, GenericVenue)
    ]
    for venue in venues:
        for account in ACCOUNTS:
            venue.open_account(account, Decimal(cash))
            venue.wallets[account].units[SYMBOL] = 3
        venue.tick(SYMBOL, Decimal("100.00"))
    for step in sequence:
        outcomes = []
        for venue in venues:
            try:
                if step["op"] == "tick":
                    outcome = repr(venue.tick(SYMBOL, step["price"]))
                elif step["op"] == "cancel":
                    outcome = repr(venue.cancel(account=step["account"], order_id=step["order"]))
                else:
                    outcome = repr(venue.place(**_order_arguments(step)))
            except OrderRejected as exc:
                outcome = f"{type(exc).__name__}: {exc.message}"
            outcomes.append((outcome, _state(venue)))
        assert outcomes[0] == outcomes[1]
