/*
 * The chart panel of one asset: its price history drawn with lightweight-charts
 * (`window.LightweightCharts`, the library's standalone build, loaded by the
 * page before the modules), markers for the trades with a tooltip naming who
 * traded, and the quote in the panel's header.
 *
 * A trade between two accounts gets a marker for each side (the buyer's
 * arrow up, the seller's down); a trade with the house only its account's.
 * When markers pile up they are clustered: the trades of one side within a
 * few bars (more bars the wider the visible window) share one marker with
 * their count, and single markers lose their labels once many are visible.
 *
 * The chart keeps the asset's recent prices; the rest of the page reads the
 * latest one from here.
 */

import { clockFormat, colorFor, element, money, seconds, signedMoney, signedPercent, trend, whole } from "../format.js";
import { HOUSE } from "./tape.js";

const UP = "#0ecb81";
const DOWN = "#f6465d";
const TEXT = "#848e9c";
const GRID = "rgba(43, 49, 57, 0.55)";
const BORDER = "#2b3139";
const LEGS_KEPT = 600;
// At most this many marker columns across the visible window; beyond, neighbours cluster.
const CLUSTER_COLUMNS = 48;
// Above this many markers in view, single markers drop their "B2" labels.
const LABELLED_MAX = 24;
const MIXED = "#b7bdc6";
const POINTS_KEPT = 4000;
const VISIBLE_TICKS = 240;

/** Chart times must rise strictly; ticks closer than the clock resolution get nudged apart. */
function chartTime(ts, previous) {
  const time = seconds(ts);
  return previous && time <= previous.time ? previous.time + 0.001 : time;
}

export class AssetChart {
  /**
   * `panel`: the asset's `.chart-panel`; `tradesOf(symbol)`: the known trades
   * of an asset, oldest first, to place markers from; `onPrices()`: called
   * when prices were added (the quote and what depends on prices need a render).
   */
  constructor(panel, asset, { tradesOf, onPrices }) {
    const LWC = window.LightweightCharts;
    this.symbol = asset.symbol;
    this.name = asset.name;
    this.panel = panel;
    this.tradesOf = tradesOf;
    this.onPrices = onPrices;
    this.chart = LWC.createChart(panel.querySelector(".chart"), {
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
    this.series = this.chart.addSeries(LWC.AreaSeries, {
      lineWidth: 2,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
      // The series' own last-value label shows the last *visible* point, which
      // differs from the latest price as soon as the chart is scrolled back:
      // the axis labels the latest price with a price line instead, set with
      // the header in renderQuote(), so both always read the same.
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.latestLine = this.series.createPriceLine({
      price: 0,
      lineStyle: LWC.LineStyle.Dotted,
      lineWidth: 1,
      axisLabelVisible: false,
      lineVisible: false,
    });
    this.markersApi = LWC.createSeriesMarkers(this.series, []);
    this.points = [];
    // One leg per side of a trade an account took part in; markers are built from them.
    this.legs = [];
    this.markers = [];
    this.clusterBars = 1;
    this.colorTrend = null;
    this.priceEl = panel.querySelector(".price");
    this.changeEl = panel.querySelector(".change");
    this.tooltip = panel.querySelector(".chart-tooltip");
    this.lastRendered = null;
    this.fitted = false;
    this.paintSeries("flat");
    this.chart.subscribeCrosshairMove((param) => this.showTooltip(param));
    // Zooming changes how many bars a marker column spans.
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => this.rescaleClusters(range));
  }

  rescaleClusters(range) {
    if (!range) return;
    const bars = Math.max(1, Math.ceil((range.to - range.from) / CLUSTER_COLUMNS));
    if (bars === this.clusterBars) return;
    this.clusterBars = bars;
    this.publishMarkers();
  }

  paintSeries(direction) {
    if (this.colorTrend === direction) return;
    this.colorTrend = direction;
    const color = direction === "down" ? DOWN : UP;
    this.series.applyOptions({
      lineColor: color,
      topColor: direction === "down" ? "rgba(246, 70, 93, 0.28)" : "rgba(14, 203, 129, 0.28)",
      bottomColor: "rgba(22, 26, 30, 0)",
    });
    this.latestLine.applyOptions({ color });
  }

  lastPoint() {
    return this.points[this.points.length - 1];
  }

  /** The latest price, or null before the first one. */
  latestPrice() {
    const last = this.lastPoint();
    return last ? last.value : null;
  }

  /** Merge a batch of prices (a snapshot) into what the chart already has. */
  mergePrices(prices) {
    const bySeq = new Map(this.points.map((p) => [p.seq, p]));
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
      point.time = chartTime(point.ts, previous);
      previous = point;
    }
    this.points = sorted;
    this.series.setData(sorted.map((p) => ({ time: p.time, value: p.value })));
    this.rebuildMarkers();
    this.onPrices();
  }

  /** One price from the stream: appended unless already seen. */
  addPrice(price) {
    const last = this.lastPoint();
    if (last && price.seq <= last.seq) return;
    const point = { seq: price.seq, ts: price.ts, value: Number(price.price) };
    point.time = chartTime(price.ts, last);
    this.points.push(point);
    this.series.update({ time: point.time, value: point.value });
    if (this.points.length > POINTS_KEPT * 1.25) {
      this.points = this.points.slice(-POINTS_KEPT);
      this.series.setData(this.points.map((p) => ({ time: p.time, value: p.value })));
      this.rebuildMarkers();
    }
    this.onPrices();
  }

  /** Once, when the first prices are in: show a window of recent ticks. */
  showRecentOnce() {
    if (this.fitted || !this.points.length) return;
    // A short history is not stretched past maxBarSpacing, so it fills the
    // chart as ticks arrive.
    const last = this.points.length - 1;
    this.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, last - VISIBLE_TICKS), to: last + 4 });
    this.fitted = true;
  }

  /** The chart point a trade executed on: the latest price at or before it, at its price if possible. */
  pointForTrade(trade) {
    const time = seconds(trade.ts);
    const price = Number(trade.price);
    let fallback = null;
    for (let i = this.points.length - 1; i >= 0; i -= 1) {
      const point = this.points[i];
      if (point.time > time + 0.5) continue;
      if (fallback === null) fallback = point;
      if (point.value === price) return point;
      if (point.time < time - 5) break;
    }
    return fallback;
  }

  /** The sides of a trade that belong to accounts, each on the chart point it executed on. */
  legsFor(trade) {
    const point = this.pointForTrade(trade);
    if (!point) return [];
    const legs = [];
    if (trade.buyer !== HOUSE) legs.push({ trade, point, side: "buy", account: trade.buyer });
    if (trade.seller !== HOUSE) legs.push({ trade, point, side: "sell", account: trade.seller });
    return legs;
  }

  /** A new trade of this asset: its markers, if the chart has a point for it. */
  addTrade(trade) {
    const legs = this.legsFor(trade);
    if (!legs.length) return;
    this.legs.push(...legs);
    this.publishMarkers();
  }

  rebuildMarkers() {
    this.legs = this.tradesOf(this.symbol).flatMap((trade) => this.legsFor(trade));
    this.publishMarkers();
  }

  /** Cluster the legs per side into columns of `clusterBars` ticks and hand them to the chart. */
  publishMarkers() {
    this.legs.sort((a, b) => a.point.seq - b.point.seq || a.trade.id - b.trade.id);
    if (this.legs.length > LEGS_KEPT) this.legs = this.legs.slice(-LEGS_KEPT);
    const columns = new Map();
    for (const leg of this.legs) {
      const key = `${leg.side}:${Math.floor(leg.point.seq / this.clusterBars)}`;
      const column = columns.get(key);
      if (column) column.push(leg);
      else columns.set(key, [leg]);
    }
    const labelled = columns.size <= LABELLED_MAX;
    this.markers = Array.from(columns.values(), (legs) => {
      const last = legs[legs.length - 1];
      const buy = last.side === "buy";
      const accounts = new Set(legs.map((leg) => leg.account));
      const quantity = legs.reduce((sum, leg) => sum + leg.trade.quantity, 0);
      const single = legs.length === 1;
      return {
        id: `${last.side}-${last.trade.id}`,
        time: last.point.time,
        position: buy ? "belowBar" : "aboveBar",
        shape: buy ? "arrowUp" : "arrowDown",
        color: accounts.size === 1 ? colorFor(last.account) : MIXED,
        text: single ? (labelled ? `${buy ? "B" : "S"}${quantity}` : "") : `${legs.length}\u00d7`,
        size: single ? 1 : Math.min(2, 1 + Math.log10(legs.length)),
        price: Number(last.trade.price),
        legs,
      };
    });
    this.markers.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
    this.markersApi.setMarkers(this.markers.map(({ legs, price, ...marker }) => marker));
    this.panel.dataset.markers = String(this.markers.length);
  }

  showTooltip(param) {
    const tip = this.tooltip;
    if (!param.point || !this.markers.length) {
      tip.hidden = true;
      return;
    }
    const scale = this.chart.timeScale();
    const near = this.markers.filter((marker) => {
      const x = scale.timeToCoordinate(marker.time);
      const y = this.series.priceToCoordinate(marker.price);
      return x !== null && y !== null && Math.abs(x - param.point.x) <= 8 && Math.abs(y - param.point.y) <= 28;
    });
    if (!near.length) {
      tip.hidden = true;
      return;
    }
    const legs = near.flatMap((marker) => marker.legs);
    const shown = legs.slice(-4).map((leg) => {
      const t = leg.trade;
      const buy = leg.side === "buy";
      const line = element("div", "tip-line");
      const dot = element("span", "dot");
      dot.style.background = colorFor(leg.account);
      line.append(
        dot,
        element("strong", "", leg.account),
        element("span", buy ? "up" : "down", buy ? " bought " : " sold "),
        document.createTextNode(
          `${whole(t.quantity)} ${t.symbol} @ ${money(Number(t.price))} ${buy ? "from" : "to"} ${buy ? t.seller : t.buyer}`,
        ),
      );
      return line;
    });
    if (legs.length > shown.length) shown.unshift(element("div", "tip-line muted", `and ${legs.length - shown.length} more`));
    tip.replaceChildren(...shown);
    tip.hidden = false;
    const width = this.panel.clientWidth;
    const left = Math.min(param.point.x + 14, width - tip.offsetWidth - 8);
    tip.style.left = `${Math.max(8, left)}px`;
    tip.style.top = `${param.point.y + 40}px`;
  }

  /** The header's latest price and change since the first point shown; the series takes the change's colour. */
  renderQuote() {
    const last = this.lastPoint();
    if (!last || this.lastRendered === last.seq) return;
    const previous = this.points[this.points.length - 2];
    const first = this.points[0];
    const change = last.value - first.value;
    const percent = first.value ? (change / first.value) * 100 : 0;
    this.priceEl.textContent = money(last.value);
    this.latestLine.applyOptions({ price: last.value, axisLabelVisible: true });
    this.priceEl.dataset.tick = previous ? trend(last.value - previous.value) : "flat";
    this.changeEl.textContent = `${signedMoney(change)} (${signedPercent(percent)})`;
    this.changeEl.dataset.trend = trend(change);
    this.changeEl.title = `Change since ${clockFormat.format(new Date(first.time * 1000))}`;
    this.paintSeries(change < 0 ? "down" : "up");
    this.lastRendered = last.seq;
  }

  // --- Read-only introspection (window.exchangeDashboard) ---------------------

  /** Copies of the trades that have a marker on the chart, each once. */
  markedTrades() {
    const trades = new Map(this.legs.map((leg) => [leg.trade.id, leg.trade]));
    return Array.from(trades.values(), (trade) => ({ ...trade }));
  }

  /** The marked sides of trades: `{id, side, account}` per leg. */
  markedLegs() {
    return this.legs.map((leg) => ({ id: leg.trade.id, side: leg.side, account: leg.account }));
  }

  /** What the markers show: `{text, count}` per marker, oldest first. */
  markerLabels() {
    return this.markers.map((marker) => ({ text: marker.text, count: marker.legs.length }));
  }

  /** The prices labelled on the price axis (the chart's own last-value label, if shown, and its price lines). */
  axisPrices() {
    const prices = [];
    if (this.series.options().lastValueVisible) {
      const last = this.series.lastValueData(false);
      if (!last.noData) prices.push(last.price);
    }
    if (this.latestLine.options().axisLabelVisible) prices.push(this.latestLine.options().price);
    return prices;
  }

  /** Pairs of neighbouring chart points whose seqs are not consecutive: ticks the page missed. */
  seqGaps() {
    const seqs = this.points.map((p) => p.seq);
    return seqs.slice(1).flatMap((seq, i) => (seq === seqs[i] + 1 ? [] : [[seqs[i], seq]]));
  }

  /** Where a trade's marker sits, in viewport pixels; null when it is off the chart, undefined without a marker. */
  markerPosition(tradeId) {
    const marker = this.markers.find((m) => m.legs.some((leg) => leg.trade.id === tradeId));
    if (!marker) return undefined;
    const x = this.chart.timeScale().timeToCoordinate(marker.time);
    const y = this.series.priceToCoordinate(marker.price);
    if (x === null || y === null) return null;
    const box = this.panel.querySelector(".chart").getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  }
}
