/*
 * The leaderboard: every account's cash, holdings, equity, P&L and trades,
 * ranked by P&L. The figures come from the API; equity and P&L are revalued
 * at the latest streamed prices between fetches, so the board moves with the
 * market.
 */

import { accountCell, element, holdingsCell, money, signedMoney, trend, whole } from "../format.js";

const ACCOUNTS_MIN_INTERVAL_MS = 1000;
const ACCOUNTS_REFRESH_MS = 15000;

export class Leaderboard {
  /**
   * `root`: the board's `<table>`; `empty`: the line shown once the accounts
   * are loaded and there are none; `loading`: the line shown until then; `api`: an ExchangeApi; `you`: the person's account name or null;
   * `latestPrice(symbol)`: a price or null; `onChange()`: new figures arrived.
   */
  constructor(root, empty, loading, { api, you, latestPrice, onChange }) {
    this.body = root.querySelector("tbody");
    this.empty = empty;
    this.loading = loading;
    this.loaded = false;
    this.api = api;
    this.you = you;
    this.latestPrice = latestPrice;
    this.onChange = onChange;
    this.accounts = [];
    this.rows = [];
    this.inFlight = false;
    this.lastFetch = 0;
    this.timer = null;
  }

  async load() {
    this.inFlight = true;
    this.lastFetch = Date.now();
    try {
      const data = await this.api.accounts();
      this.accounts = data.accounts;
      this.loaded = true;
      this.onChange();
    } finally {
      this.inFlight = false;
    }
  }

  /** Refetch the leaderboard after trades, at most once a second. */
  refreshSoon() {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastFetch + ACCOUNTS_MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(async () => {
      this.timer = null;
      if (this.inFlight) {
        this.refreshSoon();
        return;
      }
      try {
        await this.load();
      } catch (error) {
        console.warn("leaderboard refresh failed, retrying", error);
        this.refreshSoon();
      }
    }, wait);
  }

  /** Refetch now and then even without trades: other pages' orders change the board too. */
  keepFresh() {
    setInterval(() => this.refreshSoon(), ACCOUNTS_REFRESH_MS);
  }

  names() {
    return this.accounts.map((account) => account.name);
  }

  /** Equity and P&L at the latest streamed prices, from the server's last figures. */
  valued(account) {
    let equity = Number(account.cash);
    let stale = false;
    for (const [symbol, quantity] of Object.entries(account.positions || {})) {
      const price = this.latestPrice(symbol);
      if (price === null) stale = true;
      else equity += price * quantity;
    }
    if (stale) equity = Number(account.equity);
    const pnl = Number(account.pnl) + (equity - Number(account.equity));
    return { ...account, equityNow: equity, pnlNow: pnl };
  }

  /** An account as last rendered, revalued (`equityNow`, `pnlNow`); undefined when unknown. */
  row(name) {
    return this.rows.find((account) => account.name === name);
  }

  render() {
    this.rows = this.accounts
      .map((account) => this.valued(account))
      .sort((a, b) => b.pnlNow - a.pnlNow || a.name.localeCompare(b.name));
    // "No accounts yet" only once the exchange said so, never while it is still being asked.
    this.loading.hidden = this.loaded;
    this.empty.hidden = !this.loaded || this.rows.length > 0;
    this.body.replaceChildren(
      ...this.rows.map((account, index) => {
        const isYou = account.name === this.you;
        const row = element("tr", isYou ? "you" : "");
        row.dataset.account = account.name;
        row.append(
          element("td", "rank muted num", String(index + 1)),
          accountCell(account.name, isYou),
          element("td", "num r wide", money(Number(account.cash))),
          holdingsCell(account.positions),
          element("td", "num r wide", money(account.equityNow)),
          element("td", `num r pnl ${trend(account.pnlNow)}`, signedMoney(account.pnlNow)),
          element("td", "num r wide", whole(account.trades)),
        );
        return row;
      }),
    );
  }
}
