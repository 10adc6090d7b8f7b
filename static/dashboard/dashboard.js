/*
 * The live dashboard: one chart per asset with trade markers, the tape, the
 * leaderboard and the order form.
 *
 * It is an ordinary client of the public API: it loads a snapshot (recent
 * trades, price history, accounts), then follows the market stream from the
 * snapshot's cursor, so nothing published in between is missed. Events seen
 * twice (in the snapshot and on the stream, or after a reconnect) are dropped
 * by their price `seq` per asset and their trade `id`.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const LWC = window.LightweightCharts;

  const UP = "#0ecb81";
  const DOWN = "#f6465d";
  const TEXT = "#848e9c";
  const GRID = "rgba(43, 49, 57, 0.55)";
  const BORDER = "#2b3139";
  const TAPE_ROWS = 60;
  const MARKERS_KEPT = 300;
  const TRADES_KEPT = 2000;
  const POINTS_KEPT = 4000;
  const VISIBLE_TICKS = 240;
  const ACCOUNTS_MIN_INTERVAL_MS = 1000;
  const ACCOUNTS_REFRESH_MS = 15000;
  const RENDER_INTERVAL_MS = 150;

  // --- Formatting -------------------------------------------------------------
  const moneyFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const wholeFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const clockFormat = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  const money = (value) => moneyFormat.format(value);
  const whole = (value) => wholeFormat.format(value);
  const sign = (value) => (value > 0 ? "+" : value < 0 ? "\u2212" : "");
  const signedMoney = (value) => sign(value) + moneyFormat.format(Math.abs(value));
  const signedPercent = (value) => sign(value) + moneyFormat.format(Math.abs(value)) + "%";
  const trend = (value) => (value > 0 ? "up" : value < 0 ? "down" : "flat");
  const seconds = (ts) => Date.parse(ts) / 1000;

  // Distinct colours that are neither the up green nor the down red.
  const PALETTE = ["#f0b90b", "#3b82f6", "#c084fc", "#22d3ee", "#fb923c", "#f472b6", "#e5e7eb", "#c08457"];
  const accountColors = new Map();

  function nameHash(name) {
    let hash = 2166136261;
    for (let i = 0; i < name.length; i += 1) {
      hash ^= name.charCodeAt(i);
      hash = Math.imul(hash, 16777619) >>> 0;
    }
    return hash;
  }

  /**
   * One colour per account, kept for the life of the page: the name's own
   * palette slot, or the next free one, so the accounts on screen differ.
   */
  function colorFor(name) {
    let color = accountColors.get(name);
    if (color === undefined) {
      const taken = new Set(accountColors.values());
      const start = nameHash(name) % PALETTE.length;
      color = PALETTE[start];
      for (let i = 0; i < PALETTE.length; i += 1) {
        const candidate = PALETTE[(start + i) % PALETTE.length];
        if (!taken.has(candidate)) {
          color = candidate;
          break;
        }
      }
      accountColors.set(name, color);
    }
    return color;
  }

  function randomKey() {
    // crypto.getRandomValues works outside secure contexts too (plain http on a LAN).
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function getJSON(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  // --- State ---------------------------------------------------------------------
  const assets = new Map();
  const trades = new Map();
  let accounts = [];
  let dirty = { quotes: true, tape: true, board: true };
  let renderTimer = null;

  function scheduleRender(part) {
    dirty[part] = true;
    if (renderTimer === null) renderTimer = setTimeout(render, RENDER_INTERVAL_MS);
  }

  // --- Charts --------------------------------------------------------------------
  function setUpAsset(asset) {
    const panel = document.querySelector(`.chart-panel[data-symbol="${asset.symbol}"]`);
    const container = panel.querySelector(".chart");
    const chart = LWC.createChart(container, {
      autoSize: true,
      layout: {
        background: { type: "solid", color: "transparent" },
        textColor: TEXT,
        fontFamily: getComputedStyle(document.body).fontFamily,
        fontSize: 11,
      },
      grid: { vertLines: { color: GRID }, horzLines: { color: GRID } },
      rightPriceScale: { borderColor: BORDER, scaleMargins: { top: 0.15, bottom: 0.12 } },
      timeScale: {
        borderColor: BORDER,
        timeVisible: true,
        secondsVisible: true,
        rightOffset: 4,
        maxBarSpacing: 6,
      },
      crosshair: { mode: LWC.CrosshairMode.Magnet },
      localization: { priceFormatter: money },
      handleScroll: { vertTouchDrag: false },
    });
    const series = chart.addSeries(LWC.AreaSeries, {
      lineWidth: 2,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
      priceLineStyle: LWC.LineStyle.Dotted,
    });
    const state = {
      symbol: asset.symbol,
      name: asset.name,
      panel,
      chart,
      series,
      markersApi: LWC.createSeriesMarkers(series, []),
      points: [],
      markers: [],
      markerTrades: new Map(),
      colorTrend: null,
      priceEl: panel.querySelector(".price"),
      changeEl: panel.querySelector(".change"),
      tooltip: panel.querySelector(".chart-tooltip"),
      lastRendered: null,
    };
    paintSeries(state, "flat");
    chart.subscribeCrosshairMove((param) => showTooltip(state, param));
    assets.set(asset.symbol, state);
  }

  function paintSeries(state, direction) {
    if (state.colorTrend === direction) return;
    state.colorTrend = direction;
    const color = direction === "down" ? DOWN : UP;
    state.series.applyOptions({
      lineColor: color,
      topColor: direction === "down" ? "rgba(246, 70, 93, 0.28)" : "rgba(14, 203, 129, 0.28)",
      bottomColor: "rgba(22, 26, 30, 0)",
      priceLineColor: color,
    });
  }

  const lastPoint = (state) => state.points[state.points.length - 1];

  /** Chart times must rise strictly; ticks closer than the clock resolution get nudged apart. */
  function chartTime(state, ts, previous) {
    const time = seconds(ts);
    return previous && time <= previous.time ? previous.time + 0.001 : time;
  }

  /** Merge a batch of prices (a snapshot) into what the chart already has. */
  function mergePrices(state, prices) {
    const bySeq = new Map(state.points.map((p) => [p.seq, p]));
    let added = 0;
    for (const price of prices) {
      if (!bySeq.has(price.seq)) {
        bySeq.set(price.seq, { seq: price.seq, ts: price.ts, value: Number(price.price) });
        added += 1;
      }
    }
    if (!added) return;
    const sorted = Array.from(bySeq.values()).sort((a, b) => a.seq - b.seq).slice(-POINTS_KEPT);
    let previous = null;
    for (const point of sorted) {
      point.time = chartTime(state, point.ts, previous);
      previous = point;
    }
    state.points = sorted;
    state.series.setData(sorted.map((p) => ({ time: p.time, value: p.value })));
    rebuildMarkers(state);
    scheduleRender("quotes");
    scheduleRender("board");
  }

  /** One price from the stream: appended unless already seen. */
  function addPrice(price) {
    const state = assets.get(price.symbol);
    if (!state) return;
    const last = lastPoint(state);
    if (last && price.seq <= last.seq) return;
    const point = { seq: price.seq, ts: price.ts, value: Number(price.price) };
    point.time = chartTime(state, price.ts, last);
    state.points.push(point);
    state.series.update({ time: point.time, value: point.value });
    if (state.points.length > POINTS_KEPT * 1.25) {
      state.points = state.points.slice(-POINTS_KEPT);
      state.series.setData(state.points.map((p) => ({ time: p.time, value: p.value })));
      rebuildMarkers(state);
    }
    scheduleRender("quotes");
    scheduleRender("board");
  }

  /** The chart point a trade executed on: the latest price at or before it, at its price if possible. */
  function pointForTrade(state, trade) {
    const time = seconds(trade.ts);
    const price = Number(trade.price);
    let fallback = null;
    for (let i = state.points.length - 1; i >= 0; i -= 1) {
      const point = state.points[i];
      if (point.time > time + 0.5) continue;
      if (fallback === null) fallback = point;
      if (point.value === price) return point;
      if (point.time < time - 5) break;
    }
    return fallback;
  }

  function markerFor(state, trade) {
    const point = pointForTrade(state, trade);
    if (!point) return null;
    const buy = trade.side === "buy";
    return {
      id: String(trade.id),
      time: point.time,
      position: buy ? "belowBar" : "aboveBar",
      shape: buy ? "arrowUp" : "arrowDown",
      color: colorFor(trade.account),
      text: `${buy ? "B" : "S"}${trade.quantity}`,
      size: 1,
      trade,
    };
  }

  function rebuildMarkers(state) {
    state.markers = [];
    const forAsset = Array.from(trades.values())
      .filter((t) => t.symbol === state.symbol)
      .sort((a, b) => a.id - b.id);
    for (const trade of forAsset) {
      const marker = markerFor(state, trade);
      if (marker) state.markers.push(marker);
    }
    publishMarkers(state);
  }

  function publishMarkers(state) {
    state.markers.sort((a, b) => a.time - b.time || Number(a.id) - Number(b.id));
    if (state.markers.length > MARKERS_KEPT) state.markers = state.markers.slice(-MARKERS_KEPT);
    state.markersApi.setMarkers(state.markers.map(({ trade, ...marker }) => marker));
    state.panel.dataset.markers = String(state.markers.length);
  }

  function showTooltip(state, param) {
    const tip = state.tooltip;
    if (!param.point || !state.markers.length) {
      tip.hidden = true;
      return;
    }
    const scale = state.chart.timeScale();
    const near = state.markers.filter((marker) => {
      const x = scale.timeToCoordinate(marker.time);
      const y = state.series.priceToCoordinate(Number(marker.trade.price));
      return x !== null && y !== null && Math.abs(x - param.point.x) <= 8 && Math.abs(y - param.point.y) <= 28;
    });
    if (!near.length) {
      tip.hidden = true;
      return;
    }
    tip.replaceChildren(
      ...near.slice(-4).map((marker) => {
        const t = marker.trade;
        const line = element("div", "tip-line");
        const dot = element("span", "dot");
        dot.style.background = marker.color;
        line.append(
          dot,
          element("strong", "", t.account),
          element("span", t.side === "buy" ? "up" : "down", t.side === "buy" ? " bought " : " sold "),
          document.createTextNode(`${whole(t.quantity)} ${t.symbol} @ ${money(Number(t.price))}`),
        );
        return line;
      }),
    );
    tip.hidden = false;
    const width = state.panel.clientWidth;
    const left = Math.min(param.point.x + 14, width - tip.offsetWidth - 8);
    tip.style.left = `${Math.max(8, left)}px`;
    tip.style.top = `${param.point.y + 40}px`;
  }

  // --- Trades ---------------------------------------------------------------------
  // Trades below this id were let go to bound memory on a page left open for
  // days; one arriving again is a repeat, not news.
  let oldestKeptTrade = 0;

  function forgetOldTrades() {
    const ids = Array.from(trades.keys()).sort((a, b) => a - b);
    oldestKeptTrade = ids[ids.length - TRADES_KEPT];
    for (const id of ids) {
      if (id >= oldestKeptTrade) break;
      trades.delete(id);
    }
  }

  function addTrade(trade, { fromSnapshot = false } = {}) {
    if (trades.has(trade.id) || trade.id < oldestKeptTrade) return false;
    trades.set(trade.id, trade);
    if (trades.size > TRADES_KEPT * 1.25) forgetOldTrades();
    const state = assets.get(trade.symbol);
    if (state) {
      const marker = markerFor(state, trade);
      if (marker) {
        state.markers.push(marker);
        publishMarkers(state);
      }
    }
    if (!fromSnapshot) {
      trade.fresh = true;
      refreshAccountsSoon();
    }
    scheduleRender("tape");
    return true;
  }

  // --- Accounts -------------------------------------------------------------------
  let accountsInFlight = false;
  let accountsLastFetch = 0;
  let accountsTimer = null;

  async function loadAccounts() {
    accountsInFlight = true;
    accountsLastFetch = Date.now();
    try {
      const data = await getJSON(`${config.urls.api}accounts`);
      accounts = data.accounts;
      scheduleRender("board");
    } finally {
      accountsInFlight = false;
    }
  }

  /** Refetch the leaderboard after trades, at most once a second. */
  function refreshAccountsSoon() {
    if (accountsTimer !== null) return;
    const wait = Math.max(0, accountsLastFetch + ACCOUNTS_MIN_INTERVAL_MS - Date.now());
    accountsTimer = setTimeout(async () => {
      accountsTimer = null;
      if (accountsInFlight) {
        refreshAccountsSoon();
        return;
      }
      try {
        await loadAccounts();
      } catch (error) {
        console.warn("leaderboard refresh failed, retrying", error);
        refreshAccountsSoon();
      }
    }, wait);
  }

  function latestPrice(symbol) {
    const state = assets.get(symbol);
    const last = state && lastPoint(state);
    return last ? last.value : null;
  }

  /** Equity and P&L at the latest streamed prices, from the server's last figures. */
  function valued(account) {
    let equity = Number(account.cash);
    let stale = false;
    for (const [symbol, quantity] of Object.entries(account.positions || {})) {
      const price = latestPrice(symbol);
      if (price === null) stale = true;
      else equity += price * quantity;
    }
    if (stale) equity = Number(account.equity);
    const pnl = Number(account.pnl) + (equity - Number(account.equity));
    return { ...account, equityNow: equity, pnlNow: pnl };
  }

  function heldPositions(positions) {
    return Object.entries(positions || {}).filter(([, quantity]) => quantity > 0);
  }

  function holdingsText(positions) {
    const held = heldPositions(positions);
    return held.length ? held.map(([symbol, quantity]) => `${whole(quantity)} ${symbol}`).join(" · ") : "\u2014";
  }

  function holdingsCell(positions) {
    const cell = element("td", "holdings");
    const held = heldPositions(positions);
    if (!held.length) cell.textContent = "\u2014";
    for (const [symbol, quantity] of held) {
      const chip = element("span", "holding");
      chip.append(element("b", "", whole(quantity)), document.createTextNode(` ${symbol}`));
      cell.append(chip);
    }
    return cell;
  }

  // --- Rendering --------------------------------------------------------------------
  function render() {
    renderTimer = null;
    const parts = dirty;
    dirty = {};
    if (parts.quotes) renderQuotes();
    if (parts.tape) renderTape();
    if (parts.board || parts.quotes) renderBoard();
  }

  function renderQuotes() {
    for (const state of assets.values()) {
      const last = lastPoint(state);
      if (!last || state.lastRendered === last.seq) continue;
      const previous = state.points[state.points.length - 2];
      const first = state.points[0];
      const change = last.value - first.value;
      const percent = first.value ? (change / first.value) * 100 : 0;
      state.priceEl.textContent = money(last.value);
      state.priceEl.dataset.tick = previous ? trend(last.value - previous.value) : "flat";
      state.changeEl.textContent = `${signedMoney(change)} (${signedPercent(percent)})`;
      state.changeEl.dataset.trend = trend(change);
      state.changeEl.title = `Change since ${clockFormat.format(new Date(first.time * 1000))}`;
      paintSeries(state, change < 0 ? "down" : "up");
      state.lastRendered = last.seq;
    }
    updateEstimate();
  }

  const tapeBody = document.querySelector("[data-testid=tape] tbody");
  const tapeEmpty = document.querySelector("[data-testid=tape-empty]");

  function renderTape() {
    const newest = Array.from(trades.values())
      .sort((a, b) => b.id - a.id)
      .slice(0, TAPE_ROWS);
    tapeEmpty.hidden = newest.length > 0;
    tapeBody.replaceChildren(
      ...newest.map((trade) => {
        const row = element("tr", trade.fresh ? "fresh" : "");
        trade.fresh = false;
        row.dataset.tradeId = trade.id;
        row.append(
          element("td", "num muted", clockFormat.format(new Date(trade.ts))),
          accountCell(trade.account),
          element("td", `side ${trade.side === "buy" ? "up" : "down"}`, trade.side.toUpperCase()),
          element("td", "", trade.symbol),
          element("td", "num r", whole(trade.quantity)),
          element("td", "num r", money(Number(trade.price))),
        );
        return row;
      }),
    );
  }

  function accountCell(name, isYou) {
    const cell = element("td", "account");
    const dot = element("span", "dot");
    dot.style.background = colorFor(name);
    cell.append(dot, element("span", "account-name", name));
    if (isYou) cell.append(element("span", "badge", "you"));
    return cell;
  }

  const boardBody = document.querySelector("[data-testid=leaderboard] tbody");
  const boardEmpty = document.querySelector("[data-testid=leaderboard-empty]");
  const mine = document.querySelector("[data-testid=my-account]");

  function renderBoard() {
    const rows = accounts.map(valued).sort((a, b) => b.pnlNow - a.pnlNow || a.name.localeCompare(b.name));
    boardEmpty.hidden = rows.length > 0;
    boardBody.replaceChildren(
      ...rows.map((account, index) => {
        const isYou = account.name === config.account;
        const row = element("tr", isYou ? "you" : "");
        row.dataset.account = account.name;
        row.append(
          element("td", "rank muted num", String(index + 1)),
          accountCell(account.name, isYou),
          element("td", "num r", money(Number(account.cash))),
          holdingsCell(account.positions),
          element("td", "num r", money(account.equityNow)),
          element("td", `num r ${trend(account.pnlNow)}`, signedMoney(account.pnlNow)),
          element("td", "num r", whole(account.trades)),
        );
        return row;
      }),
    );
    if (mine) {
      const me = rows.find((account) => account.name === config.account);
      if (me) {
        mine.querySelector("[data-field=cash]").textContent = money(Number(me.cash));
        mine.querySelector("[data-field=equity]").textContent = money(me.equityNow);
        const pnl = mine.querySelector("[data-field=pnl]");
        pnl.textContent = signedMoney(me.pnlNow);
        pnl.dataset.trend = trend(me.pnlNow);
        mine.querySelector("[data-field=holdings]").textContent = holdingsText(me.positions);
      }
    }
  }

  // --- Connection state -------------------------------------------------------------
  const connection = document.querySelector("[data-testid=connection]");
  const LABELS = { connecting: "Connecting\u2026", live: "Live", reconnecting: "Reconnecting\u2026" };

  function setConnection(state) {
    if (connection.dataset.state === state) return;
    connection.dataset.state = state;
    connection.querySelector(".connection-label").textContent = LABELS[state];
  }

  // --- Snapshot and stream ------------------------------------------------------------
  /**
   * Load trades, history and accounts; returns the cursor to stream from.
   *
   * The trades' cursor is read first, so it is at or before every other
   * snapshot's: streaming from it can repeat an event (dropped by seq or id)
   * but never skip one.
   */
  async function loadSnapshot() {
    const recent = await getJSON(`${config.urls.api}trades?limit=${config.tradesLimit}`);
    const histories = await Promise.all(
      config.assets.map((asset) =>
        getJSON(`${config.urls.api}prices/${encodeURIComponent(asset.symbol)}/history?limit=${config.historyLimit}`),
      ),
    );
    await loadAccounts();
    // Colours go to the accounts in name order, so every page that sees the
    // same accounts colours them alike.
    accounts.map((account) => account.name).sort().forEach(colorFor);
    for (const history of histories) {
      const state = assets.get(history.symbol);
      if (state) mergePrices(state, history.prices);
    }
    for (const trade of recent.trades) addTrade(trade, { fromSnapshot: true });
    for (const state of assets.values()) {
      if (!state.fitted && state.points.length) {
        // A window of recent ticks; a short history is not stretched past
        // maxBarSpacing, so it fills the chart as ticks arrive.
        const last = state.points.length - 1;
        state.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, last - VISIBLE_TICKS), to: last + 4 });
        state.fitted = true;
      }
    }
    return recent.cursor;
  }

  /**
   * The market stream with reconnection from the last event id.
   *
   * While the connection drops, the browser's own EventSource retries with
   * the Last-Event-ID header; when it gives up (an HTTP error, e.g. while the
   * server restarts) we reopen it ourselves with `?lastEventId=` after a
   * capped, jittered backoff.
   */
  class MarketStream {
    constructor(url, handlers) {
      this.url = url;
      this.handlers = handlers;
      this.cursor = null;
      this.source = null;
      this.attempt = 0;
    }

    open(cursor) {
      this.cursor = cursor;
      this.connect();
    }

    connect() {
      const url = this.cursor ? `${this.url}?lastEventId=${encodeURIComponent(this.cursor)}` : this.url;
      const source = new EventSource(url);
      this.source = source;
      source.onopen = () => {
        this.attempt = 0;
        setConnection("live");
      };
      source.onerror = () => {
        if (source !== this.source) return;
        setConnection("reconnecting");
        if (source.readyState === EventSource.CLOSED) this.retry();
      };
      for (const type of ["price", "trade"]) {
        source.addEventListener(type, (event) => {
          if (source !== this.source) return;
          if (event.lastEventId) this.cursor = event.lastEventId;
          this.handlers[type](JSON.parse(event.data));
        });
      }
      source.addEventListener("stream-reset", (event) => {
        if (event.lastEventId) this.cursor = event.lastEventId;
        this.handlers.reset();
      });
      source.addEventListener("stream-error", () => {
        // The server cannot resume this stream at all: start over from a snapshot.
        source.close();
        this.source = null;
        setConnection("reconnecting");
        this.handlers.restart();
      });
    }

    retry() {
      if (this.source) this.source.close();
      this.source = null;
      const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    }
  }

  const stream = new MarketStream(config.urls.stream, {
    price: addPrice,
    trade: addTrade,
    // The cursor was too old to resume: the stream goes on from now, and a
    // fresh snapshot fills whatever was skipped.
    reset: () => resync(),
    restart: () => start(),
  });

  async function resync() {
    try {
      await loadSnapshot();
    } catch (error) {
      console.warn("resync failed, retrying", error);
      setTimeout(resync, 2000);
    }
  }

  let startAttempt = 0;

  async function start() {
    try {
      const cursor = await loadSnapshot();
      startAttempt = 0;
      stream.open(cursor);
    } catch (error) {
      setConnection("reconnecting");
      console.warn("loading the market failed, retrying", error);
      startAttempt += 1;
      setTimeout(start, Math.min(15000, 1000 * startAttempt));
    }
  }

  // --- Order form ---------------------------------------------------------------------
  const form = document.querySelector("[data-testid=order-form]");
  const estimate = document.querySelector("[data-testid=order-estimate]");

  function updateEstimate() {
    if (!form) return;
    const symbol = new FormData(form).get("symbol");
    const quantity = Number(form.elements.quantity.value);
    const price = latestPrice(symbol);
    estimate.textContent =
      price !== null && Number.isInteger(quantity) && quantity > 0
        ? `\u2248 ${money(price * quantity)} at ${money(price)}`
        : "";
  }

  if (form) {
    const result = form.querySelector("[data-testid=order-result]");
    const buttons = form.querySelectorAll("button[type=submit]");
    form.addEventListener("input", updateEstimate);
    form.addEventListener("change", updateEstimate);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const side = event.submitter ? event.submitter.value : "buy";
      const body = new FormData(form);
      body.set("side", side);
      body.set("idempotency_key", randomKey());
      buttons.forEach((button) => (button.disabled = true));
      result.textContent = "Sending\u2026";
      result.dataset.state = "pending";
      try {
        const response = await fetch(config.urls.trade, {
          method: "POST",
          body,
          headers: { Accept: "application/json", "X-CSRFToken": body.get("csrfmiddlewaretoken") },
          credentials: "same-origin",
        });
        const isJSON = (response.headers.get("Content-Type") || "").includes("application/json");
        const data = isJSON ? await response.json() : null;
        if (response.ok && data) {
          addTrade(data);
          refreshAccountsSoon();
          result.dataset.state = "ok";
          result.textContent = `${data.side === "buy" ? "Bought" : "Sold"} ${whole(data.quantity)} ${
            data.symbol
          } at ${money(Number(data.price))}`;
        } else {
          result.dataset.state = "error";
          result.textContent =
            data && data.error
              ? data.error.message
              : response.status === 403
                ? "Your session has expired: reload the page and log in again."
                : `The exchange answered HTTP ${response.status}.`;
        }
      } catch (error) {
        result.dataset.state = "error";
        result.textContent = "The exchange is not reachable. Try again in a moment.";
      } finally {
        buttons.forEach((button) => (button.disabled = false));
      }
    });
  }

  // --- Start ---------------------------------------------------------------------------
  config.assets.forEach(setUpAsset);
  setInterval(refreshAccountsSoon, ACCOUNTS_REFRESH_MS);
  start();

  // Read-only introspection for people debugging in the console and for the browser tests.
  window.exchangeDashboard = Object.freeze({
    markers: (symbol) => (assets.get(symbol) ? assets.get(symbol).markers.map((m) => ({ ...m.trade })) : []),
    points: (symbol) => (assets.get(symbol) ? assets.get(symbol).points.length : 0),
    /** Pairs of neighbouring chart points whose seqs are not consecutive: ticks the page missed. */
    seqGaps: (symbol) => {
      const seqs = assets.get(symbol) ? assets.get(symbol).points.map((p) => p.seq) : [];
      return seqs.slice(1).flatMap((seq, i) => (seq === seqs[i] + 1 ? [] : [[seqs[i], seq]]));
    },
    cursor: () => stream.cursor,
    /** Where a trade's marker sits, in viewport pixels (null when it is off the chart). */
    markerPosition: (tradeId) => {
      for (const state of assets.values()) {
        const marker = state.markers.find((m) => m.trade.id === tradeId);
        if (!marker) continue;
        const x = state.chart.timeScale().timeToCoordinate(marker.time);
        const y = state.series.priceToCoordinate(Number(marker.trade.price));
        if (x === null || y === null) return null;
        const box = state.panel.querySelector(".chart").getBoundingClientRect();
        return { x: box.left + x, y: box.top + y };
      }
      return null;
    },
  });
})();
