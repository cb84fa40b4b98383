// The HTTP API as the page uses it: a session that keeps its tokens in sessionStorage (never a cookie),
// refreshes the access token before it expires, and turns every error body into an ApiError.

const STORE = "bizsql.session";
const ENDED = "Your session has ended. Please sign in again.";
const REFRESH_EARLY_S = 120; // refresh this long before the access token expires (a fifth of a short one)

export class ApiError extends Error {
  constructor(status, code, detail, retryAfter) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function errorOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON (a proxy's page): keep the status alone
  }
  const retry = Number(response.headers.get("Retry-After")) || null;
  return new ApiError(response.status, body.error, body.detail, retry);
}

export class Session {
  constructor(onEnded) {
    this.onEnded = onEnded; // called with a reason when the session can no longer be used
    this.state = JSON.parse(sessionStorage.getItem(STORE) || "null");
    this.timer = null;
    this.refreshing = null;
    if (this.state) this.schedule();
  }

  get user() {
    return this.state?.user ?? null;
  }

  save(tokens) {
    const expiresAt = Date.now() + tokens.expires_in * 1000;
    const early = Math.min(REFRESH_EARLY_S, tokens.expires_in / 5) * 1000;
    this.state = { access: tokens.access_token, refresh: tokens.refresh_token, expiresAt, early, user: tokens.user };
    sessionStorage.setItem(STORE, JSON.stringify(this.state));
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = Math.max(1_000, this.state.expiresAt - Date.now() - this.state.early);
    this.timer = setTimeout(() => this.refresh().catch(() => {}), wait);
  }

  async login(username, password) {
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (!response.ok) throw await errorOf(response);
    this.save(await response.json());
  }

  async refresh() {
    // one refresh at a time: a refresh token works once, and a second use signs the user out everywhere
    this.refreshing ??= this.#refreshOnce().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  async #refreshOnce() {
    const token = this.state?.refresh;
    if (!token) throw new ApiError(401, "unauthorized", "not signed in");
    const response = await fetch("/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    });
    if (!response.ok) {
      const error = await errorOf(response);
      if (response.status === 401) this.end(ENDED);
      throw error;
    }
    this.save(await response.json());
  }

  async logout() {
    const access = this.state?.access;
    this.clear();
    if (access) {
      await fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${access}` } }).catch(
        () => {},
      );
    }
  }

  clear() {
    clearTimeout(this.timer);
    this.state = null;
    sessionStorage.removeItem(STORE);
  }

  end(reason) {
    this.clear();
    this.onEnded(reason);
  }

  // fetch with the access token; a 401 refreshes once and tries again, then ends the session
  async fetch(path, options = {}) {
    if (!this.state) throw new ApiError(401, "unauthorized", "not signed in");
    if (Date.now() > this.state.expiresAt - 10_000) await this.refresh();
    let response = await fetch(path, this.#withToken(options));
    if (response.status === 401) {
      try {
        await this.refresh();
      } catch {
        this.end(ENDED);
        throw new ApiError(401, "unauthorized", "Your session has ended.");
      }
      response = await fetch(path, this.#withToken(options));
      if (response.status === 401) {
        this.end(ENDED);
        throw await errorOf(response);
      }
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async json(path, options = {}) {
    const response = await this.fetch(path, options);
    return response.status === 204 ? null : response.json();
  }

  #withToken(options) {
    return { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${this.state.access}` } };
  }
}

// Server-Sent Events from a POST (EventSource can only GET): yields {event, data} with data parsed as JSON
export async function* streamEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const parsed = parseBlock(block);
      if (parsed) yield parsed;
    }
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // a ping
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}
