/*
 * The chart panel of one asset: its price history drawn with lightweight-charts
 * (`window.LightweightCharts`, the library's standalone build, loaded by the
 * page before the modules), a marker per trade with a tooltip naming who
 * traded, and the quote in the panel's header.
 *
 * The chart keeps the asset's recent prices; the rest of the page reads the
 * latest one from here.
 */

import { clockFormat, colorFor, element, money, seconds, signedMoney, signedPercent, trend, whole } from "../format.js";

const UP = "#0ecb81";
const DOWN = "#f6465d";
const TEXT = "#848e9c";
const GRID = "rgba(43, 49, 57, 0.55)";
const BORDER = "#2b3139";
const MARKERS_KEPT = 300;
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
      priceLineStyle: LWC.LineStyle.Dotted,
    });
    this.markersApi = LWC.createSeriesMarkers(this.series, []);
    this.points = [];
    this.markers = [];
    this.colorTrend = null;
    this.priceEl = panel.querySelector(".price");
    this.changeEl = panel.querySelector(".change");
    this.tooltip = panel.querySelector(".chart-tooltip");
    this.lastRendered = null;
    this.fitted = false;
    this.paintSeries("flat");
    this.chart.subscribeCrosshairMove((param) => this.showTooltip(param));
  }

  paintSeries(direction) {
    if (this.colorTrend === direction) return;
    this.colorTrend = direction;
    const color = direction === "down" ? DOWN : UP;
    this.series.applyOptions({
      lineColor: color,
      topColor: direction === "down" ? "rgba(246, 70, 93, 0.28)" : "rgba(14, 203, 129, 0.28)",
      bottomColor: "rgba(22, 26, 30, 0)",
      priceLineColor: color,
    });
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

  markerFor(trade) {
    const point = this.pointForTrade(trade);
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

  /** A new trade of this asset: its marker, if the chart has a point for it. */
  addTrade(trade) {
    const marker = this.markerFor(trade);
    if (!marker) return;
    this.markers.push(marker);
    this.publishMarkers();
  }

  rebuildMarkers() {
    this.markers = [];
    for (const trade of this.tradesOf(this.symbol)) {
      const marker = this.markerFor(trade);
      if (marker) this.markers.push(marker);
    }
    this.publishMarkers();
  }

  publishMarkers() {
    this.markers.sort((a, b) => a.time - b.time || Number(a.id) - Number(b.id));
    if (this.markers.length > MARKERS_KEPT) this.markers = this.markers.slice(-MARKERS_KEPT);
    this.markersApi.setMarkers(this.markers.map(({ trade, ...marker }) => marker));
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
      const y = this.series.priceToCoordinate(Number(marker.trade.price));
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
          document.createTextNode(
            `${whole(t.quantity)} ${t.symbol} @ ${money(Number(t.price))} ${t.side === "buy" ? "from" : "to"} ` +
              (t.side === "buy" ? t.seller : t.buyer),
          ),
        );
        return line;
      }),
    );
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
    this.priceEl.dataset.tick = previous ? trend(last.value - previous.value) : "flat";
    this.changeEl.textContent = `${signedMoney(change)} (${signedPercent(percent)})`;
    this.changeEl.dataset.trend = trend(change);
    this.changeEl.title = `Change since ${clockFormat.format(new Date(first.time * 1000))}`;
    this.paintSeries(change < 0 ? "down" : "up");
    this.lastRendered = last.seq;
  }

  // --- Read-only introspection (window.exchangeDashboard) ---------------------

  /** Copies of the trades that have a marker on the chart. */
  markedTrades() {
    return this.markers.map((m) => ({ ...m.trade }));
  }

  /** Pairs of neighbouring chart points whose seqs are not consecutive: ticks the page missed. */
  seqGaps() {
    const seqs = this.points.map((p) => p.seq);
    return seqs.slice(1).flatMap((seq, i) => (seq === seqs[i] + 1 ? [] : [[seqs[i], seq]]));
  }

  /** Where a trade's marker sits, in viewport pixels; null when it is off the chart, undefined without a marker. */
  markerPosition(tradeId) {
    const marker = this.markers.find((m) => m.trade.id === tradeId);
    if (!marker) return undefined;
    const x = this.chart.timeScale().timeToCoordinate(marker.time);
    const y = this.series.priceToCoordinate(Number(marker.trade.price));
    if (x === null || y === null) return null;
    const box = this.panel.querySelector(".chart").getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  }
}
