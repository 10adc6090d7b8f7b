/*
 * The market stream client: a REST snapshot first, then the SSE stream from
 * the snapshot's cursor, so nothing published in between is missed; the
 * reconnection and the live/reconnecting indicator; a fresh snapshot whenever
 * the server cannot resume from the page's cursor.
 *
 * Events seen twice (in the snapshot and on the stream, or after a reconnect)
 * reach the handlers twice: the panels drop them by price `seq` and trade `id`.
 */

const LABELS = { connecting: "Connecting\u2026", live: "Live", reconnecting: "Reconnecting\u2026" };

/** The connection indicator in the top bar (`data-state`: connecting, live or reconnecting). */
export class ConnectionStatus {
  constructor(root) {
    this.root = root;
  }

  set(state) {
    if (this.root.dataset.state === state) return;
    this.root.dataset.state = state;
    this.root.querySelector(".connection-label").textContent = LABELS[state];
  }
}

/**
 * The market stream with reconnection from the last event id.
 *
 * While the connection drops, the browser's own EventSource retries with
 * the Last-Event-ID header; when it gives up (an HTTP error, e.g. while the
 * server restarts) we reopen it ourselves with `?lastEventId=` after a
 * capped, jittered backoff.
 */
export class ResumableStream {
  /**
   * `events`: a handler per event type, called with the event's parsed data;
   * `reset()`: the server could not resume from the cursor and goes on from
   * now; `restart()`: the server cannot serve this stream, start over.
   * The account's stream resumes the same way and can reuse this class.
   */
  constructor(url, { events, reset, restart }, status) {
    this.url = url;
    this.events = events;
    this.reset = reset;
    this.restart = restart;
    this.status = status;
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
      this.status.set("live");
    };
    source.onerror = () => {
      if (source !== this.source) return;
      this.status.set("reconnecting");
      if (source.readyState === EventSource.CLOSED) this.retry();
    };
    for (const [type, handle] of Object.entries(this.events)) {
      source.addEventListener(type, (event) => {
        if (source !== this.source) return;
        if (event.lastEventId) this.cursor = event.lastEventId;
        handle(JSON.parse(event.data));
      });
    }
    source.addEventListener("stream-reset", (event) => {
      if (event.lastEventId) this.cursor = event.lastEventId;
      this.reset();
    });
    source.addEventListener("stream-error", () => {
      // The server cannot resume this stream at all: start over from a snapshot.
      source.close();
      this.source = null;
      this.status.set("reconnecting");
      this.restart();
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

/**
 * The snapshot and the stream together: `start()` loads the snapshot and
 * follows the stream from its cursor, retrying until the exchange answers.
 *
 * `apply({ trades, histories })` hands the snapshot to the panels (it may
 * load more, such as the accounts, before it resolves); `events` has a
 * handler per market event type (`price`, `trade`), as ResumableStream's.
 */
export class MarketFeed {
  constructor({ api, streamUrl, symbols, tradesLimit, historyLimit, status, apply, events }) {
    this.api = api;
    this.symbols = symbols;
    this.tradesLimit = tradesLimit;
    this.historyLimit = historyLimit;
    this.status = status;
    this.apply = apply;
    this.startAttempt = 0;
    this.stream = new ResumableStream(
      streamUrl,
      {
        events,
        // The cursor was too old to resume: the stream goes on from now, and a
        // fresh snapshot fills whatever was skipped.
        reset: () => this.resync(),
        restart: () => this.start(),
      },
      status,
    );
  }

  /**
   * Load trades and price histories, apply them; returns the cursor to stream from.
   *
   * The trades' cursor is read first, so it is at or before every other
   * snapshot's: streaming from it can repeat an event (dropped by seq or id)
   * but never skip one.
   */
  async loadSnapshot() {
    const recent = await this.api.trades(this.tradesLimit);
    const histories = await Promise.all(this.symbols.map((symbol) => this.api.history(symbol, this.historyLimit)));
    await this.apply({ trades: recent.trades, histories });
    return recent.cursor;
  }

  async start() {
    try {
      const cursor = await this.loadSnapshot();
      this.startAttempt = 0;
      this.stream.open(cursor);
    } catch (error) {
      this.status.set("reconnecting");
      console.warn("loading the market failed, retrying", error);
      this.startAttempt += 1;
      setTimeout(() => this.start(), Math.min(15000, 1000 * this.startAttempt));
    }
  }

  async resync() {
    try {
      await this.loadSnapshot();
    } catch (error) {
      console.warn("resync failed, retrying", error);
      setTimeout(() => this.resync(), 2000);
    }
  }

  get cursor() {
    return this.stream.cursor;
  }
}
