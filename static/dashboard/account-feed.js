/*
 * The signed-in person's private feed: a snapshot of their account, orders
 * and equity history from the dashboard's session endpoints, then their
 * private stream (`/api/accounts/me/stream/`, authenticated by the session
 * cookie that EventSource sends on the same origin) from the account
 * snapshot's cursor, so no `order` or `balance` event falls in between.
 *
 * It reconnects like the market stream (ResumableStream); a `stream-reset`
 * (the cursor is no longer kept) loads the snapshot again. Nothing is
 * polled: after the snapshot, every change arrives as an event.
 */

import { ResumableStream } from "./stream.js";

const EQUITY_POINTS = 1000;

export class AccountFeed {
  /**
   * `api`: a PersonApi; `streamUrl`: the private stream; `status`: a
   * ConnectionStatus-like indicator; `apply({ account, orders, equity })`:
   * the snapshot for the panels; `onOrder(order)`, `onBalance(balance)`: the
   * stream's events.
   */
  constructor({ api, streamUrl, status, apply, onOrder, onBalance }) {
    this.api = api;
    this.apply = apply;
    this.status = status;
    this.snapshots = 0;
    this.startAttempt = 0;
    this.stream = new ResumableStream(
      streamUrl,
      {
        events: { order: onOrder, balance: onBalance },
        reset: () => this.resync(),
        restart: () => this.start(),
      },
      status,
    );
  }

  /**
   * The account first: its cursor is then at or before what the orders and
   * the history show, so streaming from it may repeat a change (the panels
   * keep the newest state of each order) but never skips one.
   */
  async loadSnapshot() {
    const account = await this.api.account();
    const [orders, equity] = await Promise.all([this.api.orders("all"), this.api.equityHistory(EQUITY_POINTS)]);
    this.snapshots += 1;
    this.apply({ account, orders: orders.orders, equity: equity.points });
    return account.cursor;
  }

  async start() {
    try {
      const cursor = await this.loadSnapshot();
      this.startAttempt = 0;
      this.stream.open(cursor);
    } catch (error) {
      this.status.set("reconnecting");
      console.warn("loading your account failed, retrying", error);
      this.startAttempt += 1;
      setTimeout(() => this.start(), Math.min(15000, 1000 * this.startAttempt));
    }
  }

  async resync() {
    try {
      await this.loadSnapshot();
    } catch (error) {
      console.warn("reloading your account failed, retrying", error);
      setTimeout(() => this.resync(), 2000);
    }
  }

  get cursor() {
    return this.stream.cursor;
  }
}
