/*
 * The live dashboard's entry module: it builds the panels (one chart and one
 * book per asset, the tape, the leaderboard and, for a signed-in person, the
 * order form, their orders and fills, equity curve and API token), feeds them
 * the market's snapshot and stream and the person's private feed, and batches
 * their rendering.
 *
 * It is an ordinary client of the public API: it loads a snapshot (recent
 * trades, price history, books, accounts), then follows the market stream
 * from the snapshot's cursor (see stream.js); the person's own figures come
 * from their private stream the same way (account-feed.js). A new panel is a
 * module in panels/, built here, given the events it shows, and rendered from
 * render().
 *
 * Imports are relative, so they resolve against each module's own URL under
 * any STATIC_URL. A hashing static storage must rewrite them too: Django's
 * ManifestStaticFilesStorage does so only with
 * `support_js_module_import_aggregation = True`.
 */

import { AccountFeed } from "./account-feed.js";
import { ExchangeApi, PersonApi } from "./api.js";
import { colorFor } from "./format.js";
import { BOOK_DEPTH, BookLadder } from "./panels/book.js";
import { AssetChart } from "./panels/charts.js";
import { EquityChart } from "./panels/equity.js";
import { Leaderboard } from "./panels/leaderboard.js";
import { MyOrders } from "./panels/my-orders.js";
import { OrderForm } from "./panels/order-form.js";
import { Tape } from "./panels/tape.js";
import { TokenPanel } from "./panels/token.js";
import { ConnectionStatus, MarketFeed } from "./stream.js";

const RENDER_INTERVAL_MS = 150;

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const api = new ExchangeApi(config.urls.api);

// --- Rendering: at most one pass per interval, of the parts that changed -----
let dirty = { quotes: true, tape: true, board: true, books: true, mine: true };
let renderTimer = null;

function scheduleRender(part) {
  dirty[part] = true;
  if (renderTimer === null) renderTimer = setTimeout(render, RENDER_INTERVAL_MS);
}

function render() {
  renderTimer = null;
  const parts = dirty;
  dirty = {};
  if (parts.quotes) {
    for (const chart of charts.values()) chart.renderQuote();
    if (orderForm) orderForm.updateEstimate();
  }
  if (parts.quotes || parts.books) for (const book of books.values()) book.render();
  if (parts.tape) tape.render();
  // Prices revalue the board and the person's equity, so new quotes redraw them too.
  if (parts.board || parts.quotes) leaderboard.render();
  if (me && (parts.mine || parts.quotes)) {
    const valued = valueMine();
    if (valued) orderForm.showAccount(valued);
    if (parts.quotes && valued && equityChart) equityChart.pricesMoved(Object.keys(me.positions).length > 0);
  }
  if (parts.mine && myOrders) myOrders.render();
}

// --- Panels ------------------------------------------------------------------
const charts = new Map();
const books = new Map();

function latestPrice(symbol) {
  const chart = charts.get(symbol);
  return chart ? chart.latestPrice() : null;
}

const tape = new Tape(
  document.querySelector("[data-testid=tape]"),
  document.querySelector("[data-testid=tape-empty]"),
);
const leaderboard = new Leaderboard(
  document.querySelector("[data-testid=leaderboard]"),
  document.querySelector("[data-testid=leaderboard-empty]"),
  document.querySelector("[data-testid=leaderboard-loading]"),
  { api, you: config.account, latestPrice, onChange: () => scheduleRender("board") },
);
for (const asset of config.assets) {
  const panel = document.querySelector(`.chart-panel[data-symbol="${asset.symbol}"]`);
  const chart = new AssetChart(panel, asset, {
    tradesOf: (symbol) => tape.tradesOf(symbol),
    onPrices: () => {
      scheduleRender("quotes");
      scheduleRender("board");
    },
  });
  charts.set(asset.symbol, chart);
  books.set(asset.symbol, new BookLadder(panel.querySelector(".book"), asset.symbol));
}

// --- The signed-in person ------------------------------------------------------
// Their balances as the private stream last told them, and their starting cash
// (equity less P&L on the account snapshot), to value them at the latest prices.
let me = null;
const form = document.querySelector("[data-testid=order-form]");
const csrf = form ? form.elements.csrfmiddlewaretoken.value : null;
const person = form ? new PersonApi(config.urls, csrf) : null;
const tradeResult = form ? form.querySelector("[data-testid=order-result]") : null;

function valueMine() {
  if (!me) return null;
  let equity = Number(me.cash);
  for (const [symbol, quantity] of Object.entries(me.positions)) {
    const price = latestPrice(symbol);
    if (price === null) return null;
    equity += price * quantity;
  }
  return { ...me, equity, pnl: equity - me.startingCash };
}

const orderForm = form
  ? new OrderForm(form, document.querySelector("[data-testid=my-account]"), {
      url: config.urls.trade,
      latestPrice,
      onOrder: (order) => {
        leaderboard.refreshSoon();
        // The stream reports it too; whichever comes first shows it.
        if (myOrders.add(order)) scheduleRender("mine");
      },
    })
  : null;
const myOrders = form
  ? new MyOrders({
      openRoot: document.querySelector("[data-testid=open-orders]"),
      openEmpty: document.querySelector("[data-testid=open-orders-empty]"),
      fillsRoot: document.querySelector("[data-testid=fills]"),
      fillsEmpty: document.querySelector("[data-testid=fills-empty]"),
      cancel: (id) => person.cancel(id),
      onError: (message) => {
        tradeResult.dataset.state = "error";
        tradeResult.textContent = message;
      },
    })
  : null;
const equityChart = form
  ? new EquityChart(document.querySelector("[data-testid=equity-chart]"), {
      value: () => {
        const valued = valueMine();
        return valued ? valued.equity : null;
      },
    })
  : null;
if (form) {
  new TokenPanel(document.querySelector("[data-testid=token-panel]"), {
    rotate: () => person.rotateToken(),
    hasToken: config.hasToken,
  });
}
const privateStatus = form ? new ConnectionStatus(document.querySelector("[data-testid=private-connection]")) : null;

function applyAccount({ account, orders, equity }) {
  me = {
    cash: account.cash,
    available_cash: account.available_cash,
    positions: account.positions,
    available_positions: account.available_positions,
    startingCash: Number(account.equity) - Number(account.pnl),
  };
  myOrders.replaceAll(orders);
  equityChart.load(equity);
  scheduleRender("mine");
}

function onBalance(balance) {
  if (!me) return;
  Object.assign(me, balance);
  // The equity curve's point comes after the render so it values the new balance.
  scheduleRender("mine");
  equityChart.balanceChanged();
  leaderboard.refreshSoon();
}

function onOrder(order) {
  if (myOrders.add(order)) scheduleRender("mine");
}

const accountFeed = form
  ? new AccountFeed({
      api: person,
      streamUrl: config.urls.accountStream,
      status: privateStatus,
      apply: applyAccount,
      onOrder,
      onBalance,
    })
  : null;

// --- Market events -----------------------------------------------------------
function addPrice(price) {
  const chart = charts.get(price.symbol);
  if (chart) chart.addPrice(price);
  const book = books.get(price.symbol);
  if (book) book.setPrice(Number(price.price));
}

function updateBook(levels) {
  const book = books.get(levels.symbol);
  if (!book) return;
  book.update(levels);
  scheduleRender("books");
}

/** A trade seen for the first time goes to the tape and its chart; a repeat is dropped. */
function addTrade(trade, { fromSnapshot = false } = {}) {
  if (!tape.add(trade, { fromSnapshot })) return false;
  const chart = charts.get(trade.symbol);
  if (chart) chart.addTrade(trade);
  if (!fromSnapshot) leaderboard.refreshSoon();
  scheduleRender("tape");
  return true;
}

async function applySnapshot({ trades, histories }) {
  // The books after the histories: each is then at least as new as the last price charted.
  const snapshots = await Promise.all(config.assets.map((asset) => api.book(asset.symbol, BOOK_DEPTH)));
  await leaderboard.load();
  // Colours go to the accounts in name order, so every page that sees the
  // same accounts colours them alike.
  leaderboard.names().sort().forEach((name) => colorFor(name));
  // Prices before trades: a trade's marker sits on a chart point.
  for (const history of histories) {
    const chart = charts.get(history.symbol);
    if (chart) chart.mergePrices(history.prices);
  }
  for (const trade of trades) addTrade(trade, { fromSnapshot: true });
  tape.loaded = true;
  for (const chart of charts.values()) chart.showRecentOnce();
  for (const snapshot of snapshots) {
    const chart = charts.get(snapshot.symbol);
    const last = chart ? chart.lastPoint() : null;
    books.get(snapshot.symbol).applySnapshot(snapshot, last ? last.seq : 0);
  }
  scheduleRender("books");
  scheduleRender("tape");
}

const feed = new MarketFeed({
  api,
  streamUrl: config.urls.stream,
  symbols: config.assets.map((asset) => asset.symbol),
  tradesLimit: config.tradesLimit,
  historyLimit: config.historyLimit,
  status: new ConnectionStatus(document.querySelector("[data-testid=connection]")),
  apply: applySnapshot,
  events: { price: addPrice, trade: (trade) => addTrade(trade), book: updateBook },
});

// --- Start -------------------------------------------------------------------
leaderboard.keepFresh();
feed.start();
if (accountFeed) accountFeed.start();

// Read-only introspection for people debugging in the console and for the browser tests.
window.exchangeDashboard = Object.freeze({
  markers: (symbol) => (charts.has(symbol) ? charts.get(symbol).markedTrades() : []),
  points: (symbol) => (charts.has(symbol) ? charts.get(symbol).points.length : 0),
  /** Pairs of neighbouring chart points whose seqs are not consecutive: ticks the page missed. */
  seqGaps: (symbol) => (charts.has(symbol) ? charts.get(symbol).seqGaps() : []),
  cursor: () => feed.cursor,
  /** Both sides of each marked trade: `{id, side, account}`. */
  markerLegs: (symbol) => (charts.has(symbol) ? charts.get(symbol).markedLegs() : []),
  markerLabels: (symbol) => (charts.has(symbol) ? charts.get(symbol).markerLabels() : []),
  /** The prices the chart's price axis labels: the latest price only. */
  axisPrices: (symbol) => (charts.has(symbol) ? charts.get(symbol).axisPrices() : []),
  book: (symbol) => (books.has(symbol) ? books.get(symbol).levels() : null),
  /** The person's orders as the page knows them, and how often their snapshot was loaded. */
  myOrders: () => (myOrders ? Array.from(myOrders.orders.values(), (order) => ({ ...order })) : []),
  accountSnapshots: () => (accountFeed ? accountFeed.snapshots : 0),
  accountCursor: () => (accountFeed ? accountFeed.cursor : null),
  equityPoints: () => (equityChart ? equityChart.points.map((point) => ({ ...point })) : []),
  /** Where a trade's marker sits, in viewport pixels (null when it is off the chart). */
  markerPosition: (tradeId) => {
    for (const chart of charts.values()) {
      const position = chart.markerPosition(tradeId);
      if (position !== undefined) return position;
    }
    return null;
  },
});
