/*
 * The live dashboard's entry module: it builds the panels (one chart per
 * asset, the tape, the leaderboard, the order form), feeds them the market's
 * snapshot and stream, and batches their rendering.
 *
 * It is an ordinary client of the public API: it loads a snapshot (recent
 * trades, price history, accounts), then follows the market stream from the
 * snapshot's cursor (see stream.js). A new panel is a module in panels/,
 * built here, given the events it shows, and rendered from render().
 *
 * Imports are relative, so they resolve against each module's own URL under
 * any STATIC_URL. A hashing static storage must rewrite them too: Django's
 * ManifestStaticFilesStorage does so only with
 * `support_js_module_import_aggregation = True`.
 */

import { ExchangeApi } from "./api.js";
import { colorFor } from "./format.js";
import { AssetChart } from "./panels/charts.js";
import { Leaderboard } from "./panels/leaderboard.js";
import { OrderForm } from "./panels/order-form.js";
import { Tape } from "./panels/tape.js";
import { ConnectionStatus, MarketFeed } from "./stream.js";

const RENDER_INTERVAL_MS = 150;

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const api = new ExchangeApi(config.urls.api);

// --- Rendering: at most one pass per interval, of the parts that changed -----
let dirty = { quotes: true, tape: true, board: true };
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
  if (parts.tape) tape.render();
  // Prices revalue the board, so new quotes redraw it too.
  if (parts.board || parts.quotes) {
    leaderboard.render();
    if (orderForm) orderForm.showAccount(leaderboard.row(config.account));
  }
}

// --- Panels ------------------------------------------------------------------
const charts = new Map();

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
}
const form = document.querySelector("[data-testid=order-form]");
const orderForm = form
  ? new OrderForm(form, document.querySelector("[data-testid=my-account]"), {
      url: config.urls.trade,
      latestPrice,
      onOrder: () => leaderboard.refreshSoon(),
    })
  : null;

// --- Market events -----------------------------------------------------------
function addPrice(price) {
  const chart = charts.get(price.symbol);
  if (chart) chart.addPrice(price);
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
  for (const chart of charts.values()) chart.showRecentOnce();
}

const feed = new MarketFeed({
  api,
  streamUrl: config.urls.stream,
  symbols: config.assets.map((asset) => asset.symbol),
  tradesLimit: config.tradesLimit,
  historyLimit: config.historyLimit,
  status: new ConnectionStatus(document.querySelector("[data-testid=connection]")),
  apply: applySnapshot,
  events: { price: addPrice, trade: (trade) => addTrade(trade) },
});

// --- Start -------------------------------------------------------------------
leaderboard.keepFresh();
feed.start();

// Read-only introspection for people debugging in the console and for the browser tests.
window.exchangeDashboard = Object.freeze({
  markers: (symbol) => (charts.has(symbol) ? charts.get(symbol).markedTrades() : []),
  points: (symbol) => (charts.has(symbol) ? charts.get(symbol).points.length : 0),
  /** Pairs of neighbouring chart points whose seqs are not consecutive: ticks the page missed. */
  seqGaps: (symbol) => (charts.has(symbol) ? charts.get(symbol).seqGaps() : []),
  cursor: () => feed.cursor,
  /** Where a trade's marker sits, in viewport pixels (null when it is off the chart). */
  markerPosition: (tradeId) => {
    for (const chart of charts.values()) {
      const position = chart.markerPosition(tradeId);
      if (position !== undefined) return position;
    }
    return null;
  },
});
