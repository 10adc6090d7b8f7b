/*
 * The signed-in person's equity curve: the points of their equity history
 * (`{ts, cash, equity}`, oldest first, one after each change of their
 * balances) and, live, a point after every `balance` event of the private
 * stream and, while they hold assets, at most every few seconds as prices
 * move, valued at the latest streamed prices.
 */

import { money, seconds } from "../format.js";

const POINTS_KEPT = 2000;
const REVALUE_MS = 5000;

export class EquityChart {
  /** `root`: the chart's element; `value()`: the equity now at the latest prices, or null. */
  constructor(root, { value }) {
    const LWC = window.LightweightCharts;
    this.value = value;
    this.points = [];
    this.lastRevalue = 0;
    this.chart = LWC.createChart(root, {
      autoSize: true,
      layout: { background: { type: "solid", color: "transparent" }, textColor: "#848e9c", fontSize: 10, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: "rgba(43, 49, 57, 0.55)" } },
      rightPriceScale: { borderColor: "#2b3139" },
      timeScale: { borderColor: "#2b3139", timeVisible: true, secondsVisible: false },
      localization: { priceFormatter: money },
      handleScroll: false,
      handleScale: false,
    });
    this.series = this.chart.addSeries(LWC.LineSeries, {
      color: "#f0b90b",
      lineWidth: 2,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    });
  }

  add(time, equity) {
    const last = this.points[this.points.length - 1];
    // Times must rise strictly; points closer than the clock resolution are nudged apart.
    const point = { time: last && time <= last.time ? last.time + 0.001 : time, value: equity };
    this.points.push(point);
    if (this.points.length > POINTS_KEPT * 1.25) {
      this.points = this.points.slice(-POINTS_KEPT);
      this.series.setData(this.points);
    } else {
      this.series.update(point);
    }
  }

  /** The history from the server, replacing what was drawn. */
  load(points) {
    this.points = [];
    for (const point of points) {
      const last = this.points[this.points.length - 1];
      const time = seconds(point.ts);
      this.points.push({ time: last && time <= last.time ? last.time + 0.001 : time, value: Number(point.equity) });
    }
    this.series.setData(this.points);
    this.chart.timeScale().fitContent();
  }

  /** A balance changed: a point now. */
  balanceChanged() {
    const equity = this.value();
    if (equity === null) return;
    this.lastRevalue = Date.now();
    this.add(Date.now() / 1000, equity);
  }

  /** Prices moved: a point now and then, while the equity depends on them. */
  pricesMoved(holdsAssets) {
    if (!holdsAssets || Date.now() - this.lastRevalue < REVALUE_MS) return;
    this.balanceChanged();
  }

  latest() {
    const last = this.points[this.points.length - 1];
    return last ? last.value : null;
  }
}
