"""The live dashboard in a real headless Chromium against a real exchange server."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.support import TICK_INTERVAL, ConsoleErrors
from tests.servers import ROOT, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SYMBOLS = ("BTC", "TCSG", "META")
WAIT_MS = 15_000
MONEY = re.compile(r"^\d{1,3}(,\d{3})*\.\d{2}$")
SCREENSHOT = ROOT / "docs" / "dashboard.png"


def money(value: str) -> str:
    """A decimal string as the page shows it: thousands separators, two places."""
    return f"{float(value):,.2f}"


@pytest.fixture(scope="module")
def bot(server: ServerProcess) -> Callable[[str], str]:
    """``bot(name)``: the API token of a bot account, created on first use."""
    tokens: dict[str, str] = {}

    def token(name: str) -> str:
        if name not in tokens:
            tokens[name] = server.manage("createbot", name).stdout.split()[-1]
        return tokens[name]

    return token


def place(server: ServerProcess, token: str, symbol: str, side: str, quantity: int) -> dict[str, Any]:
    response = server.post(
        "/api/orders",
        json={"symbol": symbol, "side": side, "quantity": quantity},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    # A market order under the default settings fills at once, in one trade with the house.
    (fill,) = response.json()["fills"]
    return {"id": fill["trade_id"], "price": fill["price"]}


def open_dashboard(page: Page, server: ServerProcess, path: str = "/") -> None:
    page.goto(server.url + path)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)


def points(page: Page, symbol: str) -> int:
    count: int = page.evaluate("symbol => window.exchangeDashboard.points(symbol)", symbol)
    return count


def wait_for_marker(page: Page, symbol: str, trade_id: int) -> None:
    page.wait_for_function(
        "([symbol, id]) => window.exchangeDashboard.markers(symbol).some(t => t.id === id)",
        arg=[symbol, trade_id],
        timeout=WAIT_MS,
    )


def sign_up(page: Page, server: ServerProcess, name: str) -> None:
    page.goto(server.url + "/accounts/signup/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill("correct-horse-battery")
    page.get_by_label("Password confirmation").fill("correct-horse-battery")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(server.url + "/", timeout=WAIT_MS)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)


def test_charts_render_and_prices_change_live(
    page: Page, server: ServerProcess, console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    for symbol in SYMBOLS:
        expect(page.get_by_test_id(f"chart-{symbol}").locator("canvas").first).to_be_visible()
        expect(page.get_by_test_id(f"price-{symbol}")).to_have_text(MONEY, timeout=WAIT_MS)
    # TradingView's attribution, which the chart library's licence asks for.
    expect(page.locator("a[href*='tradingview.com']").first).to_be_attached()
    before = {symbol: points(page, symbol) for symbol in SYMBOLS}
    assert all(before.values()), "the charts were backfilled from the price history"
    page.wait_for_function(
        "before => Object.entries(before).every(([s, n]) => window.exchangeDashboard.points(s) > n + 3)",
        arg=before,
        timeout=WAIT_MS,
    )
    latest = server.get("/api/prices").json()["prices"][0]
    expect(page.get_by_test_id(f"price-{latest['symbol']}")).to_have_text(MONEY)


def test_a_trade_from_the_api_reaches_chart_tape_and_leaderboard_and_survives_a_reload(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    trade = place(server, bot("alice"), "BTC", "buy", 2)

    row = page.locator(f"[data-testid=tape] tr[data-trade-id='{trade['id']}']")
    expect(row).to_contain_text("alice", timeout=WAIT_MS)
    expect(row).to_contain_text("BUY")
    expect(row).to_contain_text(money(trade["price"]))
    wait_for_marker(page, "BTC", trade["id"])
    leader = page.locator("[data-testid=leaderboard] tr[data-account='alice']")
    expect(leader).to_contain_text("2 BTC", timeout=WAIT_MS)

    page.reload()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("alice")
    wait_for_marker(page, "BTC", trade["id"])
    expect(leader).to_contain_text("2 BTC")
    # Snapshot plus stream: the trade is shown once, however it arrived.
    page.wait_for_timeout(1000)
    expect(row).to_have_count(1)
    markers = page.evaluate(
        "id => window.exchangeDashboard.markers('BTC').filter(t => t.id === id)", trade["id"]
    )
    assert len(markers) == 1


def test_hovering_a_marker_names_who_traded_what(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    trade = place(server, bot("bob"), "META", "buy", 7)
    wait_for_marker(page, "META", trade["id"])
    tooltip = page.get_by_test_id("asset-META").get_by_role("tooltip")
    # The chart scrolls with every tick, so aim again until the pointer lands on the marker.
    for _ in range(20):
        position = page.evaluate("id => window.exchangeDashboard.markerPosition(id)", trade["id"])
        assert position is not None
        page.mouse.move(position["x"], position["y"])
        if tooltip.is_visible():
            break
    expect(tooltip).to_contain_text(f"bob bought 7 META @ {money(trade['price'])}")


def test_a_person_signs_up_trades_and_sees_the_exchange_s_refusal(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    name = "carol"
    sign_up(page, server, name)
    expect(page.get_by_test_id("user-name")).to_have_text(name)

    form = page.get_by_test_id("order-form")
    form.get_by_text("META", exact=True).click()
    page.get_by_test_id("order-quantity").fill("3")
    page.get_by_test_id("buy").click()
    result = page.get_by_test_id("order-result")
    expect(result).to_have_text(re.compile(r"^Bought 3 META at [\d,]+\.\d\d$"), timeout=WAIT_MS)
    expect(result).to_have_attribute("data-state", "ok")
    mine = page.locator(f"[data-testid=leaderboard] tr[data-account='{name}']")
    expect(mine).to_contain_text("3 META", timeout=WAIT_MS)
    expect(mine).to_contain_text("you")
    expect(page.get_by_test_id("my-account")).to_contain_text("3 META")

    # What the exchange says to anyone selling what they do not hold.
    refusal = server.post(
        "/api/orders",
        json={"symbol": "BTC", "side": "sell", "quantity": 50},
        headers={"Authorization": f"Bearer {bot('erin')}"},
    )
    assert refusal.status_code == 409
    console.expect_refusal()
    form.get_by_text("BTC", exact=True).click()
    page.get_by_test_id("order-quantity").fill("50")
    page.get_by_test_id("sell").click()
    expect(result).to_have_text(refusal.json()["error"]["message"], timeout=WAIT_MS)
    expect(result).to_have_attribute("data-state", "error")
    expect(mine).to_contain_text("3 META")
    expect(mine).not_to_contain_text("BTC")


def test_a_stream_reset_reloads_the_snapshot_so_nothing_is_missing(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors
) -> None:
    """The server no longer keeps the page's cursor: it says so, and the page fills the gap."""
    missed = place(server, bot("frank"), "TCSG", "buy", 1)
    cursor = server.get("/api/prices").json()["cursor"]
    answered: dict[str, int] = {"trades": 0, "stream": 0}

    def snapshot_without_the_trade(route: Route) -> None:
        answered["trades"] += 1
        if answered["trades"] > 1:
            route.continue_()
            return
        route.fulfill(json={"cursor": cursor, "trades": []})

    def reset_then_real_stream(route: Route) -> None:
        answered["stream"] += 1
        if answered["stream"] > 1:
            route.continue_()
            return
        channels = json.dumps({"channels": [f"market-{symbol}" for symbol in SYMBOLS]})
        route.fulfill(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
            body=f"event: stream-reset\nid: {cursor}\ndata: {channels}\n\n",
        )

    page.route("**/api/trades?*", snapshot_without_the_trade)
    page.route("**/market/stream/**", reset_then_real_stream)
    page.goto(server.url + "/")
    row = page.locator(f"[data-testid=tape] tr[data-trade-id='{missed['id']}']")
    expect(row).to_contain_text("frank", timeout=WAIT_MS)
    expect(row).to_have_count(1)
    assert answered["trades"] >= 2
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)


def test_visitors_are_offered_a_login_instead_of_the_order_form(
    page: Page, server: ServerProcess, console: ConsoleErrors
) -> None:
    open_dashboard(page, server)
    expect(page.get_by_test_id("order-form")).to_have_count(0)
    page.get_by_role("link", name="or log in").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_the_dashboard_fits_a_phone(page: Page, server: ServerProcess, console: ConsoleErrors) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(page, server)
    for symbol in SYMBOLS:
        expect(page.get_by_test_id(f"chart-{symbol}").locator("canvas").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    boxes = [page.get_by_test_id(f"asset-{symbol}").bounding_box() for symbol in SYMBOLS]
    assert all(box is not None and box["width"] <= 390 for box in boxes)


def test_the_stream_resumes_from_the_last_event_after_a_server_restart(
    page: Page, tmp_path: Path, console: ConsoleErrors
) -> None:
    first = ServerProcess(tmp_path, EXCHANGE_TICK_INTERVAL=TICK_INTERVAL).start()
    try:
        open_dashboard(page, first)
        page.wait_for_function("() => window.exchangeDashboard.points('BTC') > 5", timeout=WAIT_MS)
        console.expect_broken_streams()
        first.stop()
        expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-state", "reconnecting", timeout=WAIT_MS
        )
        seen = points(page, "BTC")
    finally:
        first.kill()
    second = ServerProcess(
        tmp_path,
        database_url=first.database_url,
        port=first.port,
        **{"EXCHANGE_TICK_INTERVAL": TICK_INTERVAL},
    ).start()
    try:
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        # A function, not an expression: the page's CSP forbids the eval an expression needs.
        page.wait_for_function(
            "least => window.exchangeDashboard.points('BTC') > least", arg=seen + 5, timeout=WAIT_MS
        )
        # Every tick in between arrived, each once: the chart's seqs are consecutive.
        assert page.evaluate("window.exchangeDashboard.seqGaps('BTC')") == []
    finally:
        second.kill()


def test_a_screenshot_of_a_busy_dashboard(
    page: Page, server: ServerProcess, bot: Callable[[str], str], console: ConsoleErrors, tmp_path: Path
) -> None:
    """The README's picture; written to docs/ when UPDATE_SCREENSHOT=1, else only to the test's tmp_path."""
    name = "dana"
    sign_up(page, server, name)
    orders = [
        ("alice", "TCSG", "buy", 5),
        ("bob", "BTC", "buy", 1),
        ("hamster", "META", "buy", 12),
        ("bob", "META", "buy", 9),
        ("alice", "META", "buy", 10),
        ("investor", "BTC", "buy", 1),
        ("bob", "META", "sell", 4),
        ("hamster", "TCSG", "buy", 3),
        ("investor", "TCSG", "buy", 2),
        ("alice", "TCSG", "sell", 2),
        ("hamster", "META", "sell", 6),
        ("investor", "BTC", "sell", 1),
    ]
    last: dict[str, Any] = {}
    for account, symbol, side, quantity in orders:
        last = place(server, bot(account), symbol, side, quantity)
        page.wait_for_timeout(700)
    page.get_by_test_id("order-form").get_by_text("TCSG", exact=True).click()
    page.get_by_test_id("order-quantity").fill("4")
    page.get_by_test_id("buy").click()
    expect(page.get_by_test_id("order-result")).to_have_text(re.compile("^Bought 4 TCSG"), timeout=WAIT_MS)
    expect(page.locator(f"[data-testid=tape] tr[data-trade-id='{last['id']}']")).to_be_visible(
        timeout=WAIT_MS
    )
    for account in {name, *(order[0] for order in orders)}:
        row = page.locator(f"[data-testid=leaderboard] tr[data-account='{account}']")
        expect(row).to_be_visible(timeout=WAIT_MS)
    page.wait_for_timeout(1500)
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
