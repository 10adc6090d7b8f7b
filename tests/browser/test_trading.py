"""Trading on the book from the dashboard: orders, ladder, fills, equity, the token and the private stream.

The server quotes with a spread (``SPREAD_BPS``), so accounts can trade with
each other, and walks from a known seed (``EXCHANGE_SEED``, as every test
server): the tests compute the coming prices and place a limit order where
the house's quote will cross it a few ticks later, so it rests first and then
fills on a tick, predictably.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from sources.catalog import source_specs
from tests.browser.support import TICK_INTERVAL, ConsoleErrors
from tests.browser.test_dashboard import WAIT_MS, money, open_dashboard, sign_up
from tests.servers import ServerProcess, base_env

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SPREAD_BPS = 100
# Ticks the order has to reach the book before the house's quote may cross it, then ticks to wait for that.
GUARD_TICKS = 15
WITHIN_TICKS = 60
RESTART_WAIT_MS = 40_000


def spread_server(directory: Path) -> ServerProcess:
    return ServerProcess(directory, EXCHANGE_TICK_INTERVAL=TICK_INTERVAL, EXCHANGE_SPREAD_BPS=str(SPREAD_BPS))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = spread_server(tmp_path_factory.mktemp("trading")).start()
    yield process
    process.kill()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, whose walk the test predicts from the first ticks on."""
    process = spread_server(tmp_path).start()
    yield process
    process.kill()


@pytest.fixture(scope="module")
def bot(server: ServerProcess) -> Callable[[str], str]:
    tokens: dict[str, str] = {}

    def token(name: str) -> str:
        if name not in tokens:
            tokens[name] = server.manage("createbot", name).stdout.split()[-1]
        return tokens[name]

    return token


def api_order(server: ServerProcess, token: str, **order: Any) -> dict[str, Any]:
    response = server.post("/api/orders", json=order, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def house_ask(price: Decimal) -> Decimal:
    return (price * (20000 + SPREAD_BPS) / 20000).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def coming_dip(server: ServerProcess) -> tuple[str, Decimal]:
    """An asset and a limit buy price that no ask reaches for GUARD_TICKS ticks and one reaches soon after."""
    seed = base_env()["EXCHANGE_SEED"]
    best: tuple[int, str, Decimal] | None = None
    for latest in server.get("/api/prices").json()["prices"]:
        seq = latest["seq"]
        path = source_specs()[latest["symbol"]].new_walk(seed).prices(seq + GUARD_TICKS + WITHIN_TICKS)
        assert path[seq - 1] == Decimal(latest["price"]), "the test computes the server's walk"
        asks = [house_ask(price) for price in path[seq - 1 :]]
        floor = min(asks[: GUARD_TICKS + 1])
        for ahead in range(GUARD_TICKS + 1, len(asks)):
            if asks[ahead] < floor:
                if best is None or ahead < best[0]:
                    best = (ahead, latest["symbol"], asks[ahead])
                break
    assert best is not None, "no asset dips within the window; widen WITHIN_TICKS"
    return best[1], best[2]


def place_from_form(page: Page, symbol: str, side: str, order_type: str, limit_price: str) -> int:
    form = page.get_by_test_id("order-form")
    form.get_by_text(symbol, exact=True).click()
    page.get_by_test_id("order-type").select_option(order_type)
    page.get_by_test_id("order-limit-price").fill(limit_price)
    page.get_by_test_id("order-quantity").fill("1")
    page.get_by_test_id(side).click()
    result = page.get_by_test_id("order-result")
    expect(result).to_have_text(re.compile(r"^Order #\d+ is open$"), timeout=WAIT_MS)
    return int(re.findall(r"\d+", result.inner_text())[0])


def open_order_row(page: Page, order_id: int) -> Any:
    return page.locator(f"[data-testid=open-orders] tr[data-order-id='{order_id}']")


def test_a_resting_limit_order_shows_in_the_book_fills_on_a_tick_and_another_is_canceled(
    page: Page, own_server: ServerProcess, console: ConsoleErrors
) -> None:
    server = own_server
    sign_up(page, server, "rita")
    expect(page.get_by_test_id("private-connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    symbol, limit = coming_dip(server)
    resting = place_from_form(page, symbol, "buy", "limit", str(limit))
    expect(open_order_row(page, resting)).to_contain_text(money(str(limit)), timeout=WAIT_MS)
    expect(
        page.get_by_test_id(f"book-{symbol}").locator(f"li[data-side=bid][data-price='{limit}']")
    ).to_be_visible(timeout=WAIT_MS)
    equity_before = len(page.evaluate("window.exchangeDashboard.equityPoints()"))

    low = (limit / 2).quantize(Decimal("0.01"))
    other = place_from_form(page, symbol, "buy", "limit", str(low))
    expect(open_order_row(page, other)).to_be_visible(timeout=WAIT_MS)
    open_order_row(page, other).get_by_role("button", name="Cancel").click()
    expect(open_order_row(page, other)).to_have_count(0, timeout=WAIT_MS)
    canceled = server.get(f"/api/book/{symbol}").json()["bids"]
    assert str(low) not in [level["price"] for level in canceled]

    # The house's quote reaches the limit a few ticks on: the order fills there, as the maker.
    fill = page.locator(f"[data-testid=fills] tr[data-order-id='{resting}']")
    expect(fill).to_contain_text(money(str(limit)), timeout=WAIT_MS + 20_000)
    expect(fill).to_contain_text("maker")
    expect(open_order_row(page, resting)).to_have_count(0, timeout=WAIT_MS)
    expect(
        page.get_by_test_id(f"book-{symbol}").locator(f"li[data-side=bid][data-price='{limit}']")
    ).to_have_count(0, timeout=WAIT_MS)
    page.wait_for_function(
        "n => window.exchangeDashboard.equityPoints().length > n", arg=equity_before, timeout=WAIT_MS
    )
    states = {o["id"]: o["status"] for o in page.evaluate("window.exchangeDashboard.myOrders()")}
    assert (states[resting], states[other]) == ("filled", "canceled")
    expect(page.get_by_test_id("my-account")).to_contain_text(f"1 {symbol}")


def test_both_sides_of_a_trade_between_accounts_are_marked(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    seller, buyer = bot("sam"), bot("tess")
    api_order(server, seller, symbol="BTC", side="buy", quantity=1)
    price = server.get("/api/prices").json()["prices"]
    source = next(p["price"] for p in price if p["symbol"] == "BTC")
    # Inside the house's spread: it rests, and the next market buy takes it before the house's ask.
    api_order(server, seller, symbol="BTC", side="sell", quantity=1, type="limit", limit_price=source)
    taken = api_order(server, buyer, symbol="BTC", side="buy", quantity=1)
    (fill,) = taken["fills"]
    assert fill["price"] == source
    page.wait_for_function(
        "id => window.exchangeDashboard.markerLegs('BTC').filter(l => l.id === id).length === 2",
        arg=fill["trade_id"],
        timeout=WAIT_MS,
    )
    legs = page.evaluate(
        "id => window.exchangeDashboard.markerLegs('BTC').filter(l => l.id === id)", fill["trade_id"]
    )
    assert sorted((leg["side"], leg["account"]) for leg in legs) == [("buy", "tess"), ("sell", "sam")]
    row = page.locator(f"[data-testid=tape] tr[data-trade-id='{fill['trade_id']}']")
    expect(row).to_contain_text("tess")
    expect(row).to_contain_text("sam")


def test_markers_cluster_when_trades_pile_up(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    token = bot("busy")
    trades = [api_order(server, token, symbol="META", side="buy", quantity=1)["fills"][0] for _ in range(40)]
    page.wait_for_function(
        "id => window.exchangeDashboard.markers('META').some(t => t.id === id)",
        arg=trades[-1]["trade_id"],
        timeout=WAIT_MS,
    )
    labels = page.evaluate("window.exchangeDashboard.markerLabels('META')")
    assert sum(label["count"] for label in labels) >= 40
    assert len(labels) < 40, "trades a few ticks apart share a marker"
    assert any(label["count"] > 1 and label["text"].endswith("\u00d7") for label in labels)


def test_the_header_and_the_price_axis_show_the_same_latest_price_when_scrolled_back(
    page: Page, server: ServerProcess, console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    page.wait_for_function("() => window.exchangeDashboard.points('META') > 60", timeout=WAIT_MS)
    chart = page.get_by_test_id("chart-META")
    box = chart.bounding_box()
    assert box is not None
    # Drag the chart back in time, as a person looking at the past does.
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    for _ in range(5):
        header = page.get_by_test_id("price-META").inner_text()
        labelled = page.evaluate("window.exchangeDashboard.axisPrices('META')")
        # Ticks keep coming: a render may fall between the two reads, so read again.
        if labelled == [float(header.replace(",", ""))]:
            break
        page.wait_for_timeout(100)
    assert labelled == [float(header.replace(",", ""))]


def test_the_leaderboard_says_it_is_loading_not_empty_while_it_loads(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    bot("uma")
    held: list[Route] = []
    # Hold the first answer only: the later refreshes go through.
    page.route("**/api/accounts", lambda route: route.continue_() if held else held.append(route))
    with page.expect_request(lambda request: request.url.endswith("/api/accounts"), timeout=WAIT_MS):
        page.goto(server.url + "/")
    expect(page.get_by_test_id("leaderboard-loading")).to_be_visible()
    expect(page.get_by_test_id("leaderboard-empty")).to_be_hidden()
    assert held, "the page is waiting for the accounts"
    held[0].continue_()
    expect(page.locator("[data-testid=leaderboard] tr[data-account='uma']")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("leaderboard-loading")).to_be_hidden()
    expect(page.get_by_test_id("leaderboard-empty")).to_be_hidden()


def test_on_a_phone_the_leaderboard_shows_p_and_l_without_a_sideways_scroll(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    name = "a-rather-long-account-name"
    token = bot(name)
    for symbol in ("BTC", "TCSG", "META"):
        api_order(server, token, symbol=symbol, side="buy", quantity=1)
    page.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(page, server)
    row = page.locator(f"[data-testid=leaderboard] tr[data-account='{name}']")
    expect(row).to_be_visible(timeout=WAIT_MS)
    # One read in the page: the board re-renders with every tick.
    right, overflows = page.evaluate(
        """name => {
            const row = `[data-testid=leaderboard] tr[data-account="${name}"]`;
            const cell = document.querySelector(`${row} td.pnl`);
            cell.scrollIntoView();
            const wrap = cell.closest(".table-wrap");
            return [cell.getBoundingClientRect().right, wrap.scrollWidth > wrap.clientWidth];
        }""",
        name,
    )
    assert right <= 390
    assert not overflows


def test_the_private_stream_resumes_after_a_server_restart_with_no_order_event_missed(
    page: Page, tmp_path: Path, console: ConsoleErrors
) -> None:
    env = {"EXCHANGE_TICK_INTERVAL": TICK_INTERVAL}
    first = ServerProcess(tmp_path, **env).start()
    try:
        sign_up(page, first, "vera")
        expect(page.get_by_test_id("private-connection")).to_have_attribute(
            "data-state", "live", timeout=WAIT_MS
        )
        page.get_by_test_id("token-button").click()
        expect(page.get_by_test_id("token-message")).to_contain_text("shown only once", timeout=WAIT_MS)
        token = page.get_by_test_id("token-value").inner_text()
        assert (
            first.get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"}).json()["name"]
            == "vera"
        )
        before = api_order(
            first, token, symbol="BTC", side="buy", quantity=1, type="limit", limit_price="1000.00"
        )
        expect(open_order_row(page, before["id"])).to_be_visible(timeout=WAIT_MS)
        console.expect_broken_streams()
        first.stop()
        expect(page.get_by_test_id("private-connection")).to_have_attribute(
            "data-state", "reconnecting", timeout=WAIT_MS
        )
    finally:
        first.kill()

    # Keep the page away from the new server's private stream until the changes are made.
    held = {"on": True}

    def hold(route: Route) -> None:
        if held["on"]:
            route.abort()
        else:
            route.continue_()

    page.route("**/api/accounts/me/stream/**", hold)
    second = ServerProcess(tmp_path, database_url=first.database_url, port=first.port, **env).start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        canceled = second.delete(f"/api/orders/{before['id']}", headers=auth)
        assert canceled.status_code == 200, canceled.text
        after = api_order(
            second, token, symbol="META", side="buy", quantity=1, type="limit", limit_price="1.00"
        )
        held["on"] = False
        expect(open_order_row(page, after["id"])).to_be_visible(timeout=RESTART_WAIT_MS)
        expect(open_order_row(page, before["id"])).to_have_count(0)
        expect(page.get_by_test_id("private-connection")).to_have_attribute("data-state", "live")
        # From the stream alone: the page did not reload its snapshot to catch up.
        assert page.evaluate("window.exchangeDashboard.accountSnapshots()") == 1
    finally:
        second.kill()
