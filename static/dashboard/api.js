/*
 * The exchange's public REST API, as the page reads it: JSON over GET, one
 * method per resource. Writes go through the dashboard's own endpoints (see
 * the order form), never through here.
 */

export class ExchangeApi {
  /** `base` is the API's root path, ending in a slash (`config.urls.api`). */
  constructor(base) {
    this.base = base;
  }

  async get(path) {
    const url = `${this.base}${path}`;
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  /** The latest trades, newest first, and the market stream's cursor at that moment. */
  trades(limit) {
    return this.get(`trades?limit=${limit}`);
  }

  history(symbol, limit) {
    return this.get(`prices/${encodeURIComponent(symbol)}/history?limit=${limit}`);
  }

  accounts() {
    return this.get("accounts");
  }
}
