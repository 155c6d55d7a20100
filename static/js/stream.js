// Browser client for stream protocol v1 (docs/streams.md). A plain ES module: no build step.
//
//   import { StreamConnection, connectionIndicator } from "/static/js/stream.js";
//   const conn = new StreamConnection({
//     streams: ["agent:42"],
//     storageKey: "me-streams",
//     onEvent: (event) => render(event),
//     onResync: (stream) => reloadSnapshot(stream),
//     onState: connectionIndicator(document.getElementById("conn")),
//   });
//   conn.start();
//
// It reconnects with jittered exponential backoff and resumes every stream from the last cursor
// it saw, so a dropped connection, a restarted node or a slow-consumer close loses nothing.

const DEFAULT_PATH = "/ws";
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 15000;
const PING_INTERVAL_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
// Sessions write cursors to sessionStorage at most this often: a busy stream must not turn
// every event into a synchronous storage write.
const PERSIST_DELAY_MS = 200;

// Retrying with the same credentials cannot help after these: 4401 unauthorized (missing,
// expired or revoked credentials), 4403 forbidden origin.
const FATAL_CLOSE_CODES = new Set([4401, 4403]);
// A subscription refused with these codes would be refused again on every reconnect.
const PERMANENT_SUB_ERRORS = new Set(["forbidden", "too_many_subscriptions"]);
// The server's cursor syntax; anything else (e.g. a tampered sessionStorage) is dropped.
const CURSOR_RE = /^[0-9a-z]{1,16}-[0-9]{1,20}-[0-9]{1,20}$/;

export const STATES = Object.freeze(["connecting", "live", "reconnecting", "offline", "closed"]);

function noop() {}

function isCursor(value) {
  return typeof value === "string" && CURSOR_RE.test(value);
}

// Resolves a relative or absolute URL to ws:// or wss:// following the page's own scheme.
export function resolveSocketUrl(url, base) {
  const target = new URL(url || DEFAULT_PATH, base);
  if (target.protocol === "http:") {
    target.protocol = "ws:";
  } else if (target.protocol === "https:") {
    target.protocol = "wss:";
  }
  return target;
}

export class StreamConnection {
  constructor({
    url = DEFAULT_PATH,
    token = null,
    streams = [],
    onEvent = noop,
    onResync = noop,
    onState = noop,
    onError = noop,
    cursors = {},
    storageKey = null,
    minBackoff = MIN_BACKOFF_MS,
    maxBackoff = MAX_BACKOFF_MS,
    pingInterval = PING_INTERVAL_MS,
    pongTimeout = PONG_TIMEOUT_MS,
  } = {}) {
    this.url = url;
    // A string, or a function returning a string or a promise of one: a long-lived page (a TV)
    // fetches a fresh token before each connection instead of dying when the first expires.
    this.token = token;
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.onState = onState;
    this.onError = onError;
    this.storageKey = storageKey;
    this.minBackoff = minBackoff;
    this.maxBackoff = maxBackoff;
    this.pingInterval = pingInterval;
    this.pongTimeout = pongTimeout;

    this.state = null;
    this.connects = 0;
    this._wanted = new Set(streams);
    this._subscribed = new Set();
    this._cursors = new Map();
    this._ws = null;
    this._started = false;
    this._stopped = false;
    this._backoff = minBackoff;
    this._attempt = 0;
    this._retryTimer = null;
    this._pingTimer = null;
    this._pongTimer = null;
    this._persistTimer = null;

    // Explicit cursors win over stored ones: the caller knows which snapshot it rendered.
    for (const [stream, cursor] of Object.entries(this._loadStored())) {
      this._setCursor(stream, cursor);
    }
    for (const [stream, cursor] of Object.entries(cursors || {})) {
      this._setCursor(stream, cursor);
    }

    this._onOnline = () => this._handleOnline();
    this._onOffline = () => this._handleOffline();
    this._onPageHide = () => this._persistNow();
  }

  // --- public API -------------------------------------------------------------------------

  start() {
    if (this._started) {
      return this;
    }
    this._started = true;
    window.addEventListener("online", this._onOnline);
    window.addEventListener("offline", this._onOffline);
    window.addEventListener("pagehide", this._onPageHide);
    if (navigator.onLine === false) {
      this._setState("offline");
    } else {
      this._connect();
    }
    return this;
  }

  subscribe(stream) {
    if (this._wanted.has(stream)) {
      return;
    }
    this._wanted.add(stream);
    if (this._isOpen()) {
      this._sendSub(stream);
    }
  }

  unsubscribe(stream) {
    if (!this._wanted.delete(stream)) {
      return;
    }
    this._subscribed.delete(stream);
    // Not interested any more: a later subscribe starts live instead of replaying the gap.
    this._cursors.delete(stream);
    this._schedulePersist();
    if (this._isOpen()) {
      this._send({ op: "unsub", stream });
    }
  }

  close() {
    const ws = this._detach();
    if (ws) {
      ws.close(1000, "client closed");
    }
    this._finish({ code: 1000, reason: "client closed" });
  }

  // The last cursor seen on ``stream`` (what a reconnect resumes from), or null.
  cursor(stream) {
    return this._cursors.get(stream) || null;
  }

  get streams() {
    return Array.from(this._wanted);
  }

  get subscribed() {
    return Array.from(this._subscribed);
  }

  // Closes the socket as a network failure would, so tests can prove reconnect and resume.
  dropForTest() {
    if (this._ws) {
      this._ws.close(4000, "dropped for test");
    }
  }

  // --- connection lifecycle ---------------------------------------------------------------

  async _connect() {
    if (this._stopped || this._ws) {
      return;
    }
    this._attempt += 1;
    if (this.state !== "reconnecting") {
      this._setState(this.connects === 0 ? "connecting" : "reconnecting", { attempt: this._attempt });
    }
    let target;
    try {
      target = resolveSocketUrl(this.url, window.location.href);
      const token = typeof this.token === "function" ? await this.token() : this.token;
      if (token) {
        target.searchParams.set("token", token);
      }
    } catch (err) {
      // A token provider that fails is treated like a failed connection: retry later.
      this._scheduleReconnect({ reason: String(err && err.message ? err.message : err) });
      return;
    }
    if (this._stopped || this._ws) {
      return;
    }
    let ws;
    try {
      ws = new WebSocket(target.toString());
    } catch (err) {
      // A malformed URL or a page policy forbidding the socket: retrying cannot help.
      this._finish({ reason: String(err && err.message ? err.message : err) });
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._handleOpen(ws);
    ws.onmessage = (message) => this._handleMessage(ws, message);
    ws.onclose = (event) => this._handleClose(ws, event.code, event.reason);
    // Every error is followed by a close event; the close handler decides what happens next.
    ws.onerror = noop;
  }

  _handleOpen(ws) {
    if (ws !== this._ws) {
      return;
    }
    this.connects += 1;
    this._subscribed.clear();
    for (const stream of this._wanted) {
      this._sendSub(stream);
    }
    // The server accepts a socket before it checks credentials (then closes it with 4401), so
    // "live" waits for its first answer; with nothing to subscribe to, a ping asks for one.
    if (this._wanted.size === 0) {
      this._send({ op: "ping" });
    }
    this._startHeartbeat();
  }

  _handleClose(ws, code, reason) {
    if (ws !== this._ws) {
      return;
    }
    this._detach();
    if (this._stopped) {
      return;
    }
    if (FATAL_CLOSE_CODES.has(code)) {
      this._finish({ code, reason });
      return;
    }
    if (navigator.onLine === false) {
      this._setState("offline", { code, reason });
      return;
    }
    this._scheduleReconnect({ code, reason });
  }

  // The end of this connection object: no more reconnects, timers or window listeners.
  _finish(detail) {
    const first = !this._stopped;
    this._stopped = true;
    window.removeEventListener("online", this._onOnline);
    window.removeEventListener("offline", this._onOffline);
    window.removeEventListener("pagehide", this._onPageHide);
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._stopHeartbeat();
    this._persistNow();
    if (first) {
      this._setState("closed", detail);
    }
  }

  // Stops listening to ``this._ws`` and forgets it; returns it so the caller may close it.
  _detach() {
    const ws = this._ws;
    this._ws = null;
    this._subscribed.clear();
    this._stopHeartbeat();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    }
    return ws;
  }

  // A socket that stopped answering: a closing handshake over a dead network can take minutes,
  // so the old socket is abandoned and a new one started right away.
  _abandon(reason) {
    const ws = this._detach();
    if (ws) {
      try {
        ws.close(4000, reason);
      } catch (err) {
        // Already closing: nothing left to do with it.
      }
    }
    if (!this._stopped) {
      this._scheduleReconnect({ reason });
    }
  }

  _scheduleReconnect(detail) {
    clearTimeout(this._retryTimer);
    // +/-50% jitter spreads a crowd of clients dropped at once (node restart) over time.
    const delay = Math.round(this._backoff * (0.5 + Math.random()));
    this._backoff = Math.min(this._backoff * 2, this.maxBackoff);
    this._setState("reconnecting", { ...detail, attempt: this._attempt, delay });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._connect();
    }, delay);
  }

  _handleOnline() {
    if (this._stopped || this._ws) {
      return;
    }
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._backoff = this.minBackoff;
    this._connect();
  }

  _handleOffline() {
    if (this._stopped) {
      return;
    }
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    const ws = this._detach();
    if (ws) {
      ws.close(1000, "offline");
    }
    this._setState("offline");
  }

  // --- heartbeat --------------------------------------------------------------------------

  _startHeartbeat() {
    this._stopHeartbeat();
    this._pingTimer = setInterval(() => {
      if (!this._isOpen()) {
        return;
      }
      this._send({ op: "ping" });
      if (this._pongTimer === null) {
        this._pongTimer = setTimeout(() => this._abandon("no pong"), this.pongTimeout);
      }
    }, this.pingInterval);
  }

  _stopHeartbeat() {
    clearInterval(this._pingTimer);
    clearTimeout(this._pongTimer);
    this._pingTimer = null;
    this._pongTimer = null;
  }

  _alive() {
    // Any frame proves the connection works: a pong queued behind a burst of events is late,
    // not missing. Hearing from the server also ends a reconnect sequence, so the next drop
    // starts again from a short delay (a server that accepts and drops at once is not
    // hammered: it never gets to answer).
    clearTimeout(this._pongTimer);
    this._pongTimer = null;
    this._backoff = this.minBackoff;
    this._attempt = 0;
    if (this.state !== "live") {
      this._setState("live");
    }
  }

  // --- frames -----------------------------------------------------------------------------

  _isOpen() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  _send(frame) {
    this._ws.send(JSON.stringify(frame));
  }

  _sendSub(stream) {
    const frame = { op: "sub", stream };
    const since = this._cursors.get(stream);
    if (since) {
      frame.since = since;
    }
    this._send(frame);
  }

  _handleMessage(ws, message) {
    if (ws !== this._ws) {
      return;
    }
    this._alive();
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch (err) {
      return;
    }
    if (frame === null || typeof frame !== "object") {
      return;
    }
    switch (frame.op) {
      case "event":
        this._handleEvent(frame);
        break;
      case "subscribed":
        this._subscribed.add(frame.stream);
        break;
      case "unsubscribed":
        this._subscribed.delete(frame.stream);
        break;
      case "resync":
        this._cursors.delete(frame.stream);
        this._schedulePersist();
        this._call(this.onResync, frame.stream);
        break;
      case "error":
        if (frame.stream && PERMANENT_SUB_ERRORS.has(frame.code)) {
          this._wanted.delete(frame.stream);
          this._subscribed.delete(frame.stream);
        }
        this._call(this.onError, frame);
        break;
      default:
        // pong and frames added by later protocol versions need nothing here.
        break;
    }
  }

  _handleEvent(frame) {
    const stream = frame.stream;
    if (!this._wanted.has(stream)) {
      return; // in flight when unsubscribe() was called
    }
    // The server already delivers each event once; this guards against a replayed frame
    // racing a live one around a reconnect.
    if (this._cursors.get(stream) === frame.id) {
      return;
    }
    this._setCursor(stream, frame.id);
    this._schedulePersist();
    this._call(this.onEvent, frame);
  }

  _call(fn, ...args) {
    try {
      fn(...args);
    } catch (err) {
      // A failing page handler must not take the connection down with it.
      console.error("stream handler failed", err);
    }
  }

  _setState(state, detail = {}) {
    this.state = state;
    this._call(this.onState, state, detail);
  }

  // --- cursors ----------------------------------------------------------------------------

  _setCursor(stream, cursor) {
    if (isCursor(cursor)) {
      this._cursors.set(stream, cursor);
    }
  }

  _loadStored() {
    if (!this.storageKey) {
      return {};
    }
    try {
      const parsed = JSON.parse(window.sessionStorage.getItem(this.storageKey) || "{}");
      return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch (err) {
      return {}; // storage disabled or corrupt: start live
    }
  }

  _schedulePersist() {
    if (!this.storageKey || this._persistTimer !== null) {
      return;
    }
    this._persistTimer = setTimeout(() => this._persistNow(), PERSIST_DELAY_MS);
  }

  _persistNow() {
    clearTimeout(this._persistTimer);
    this._persistTimer = null;
    if (!this.storageKey) {
      return;
    }
    try {
      window.sessionStorage.setItem(this.storageKey, JSON.stringify(Object.fromEntries(this._cursors)));
    } catch (err) {
      // Storage full or disabled: resuming after a reload is a convenience, not a guarantee.
    }
  }
}

const STATE_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Disconnected",
};

// Returns an onState callback that renders the connection state into ``element`` as a badge:
// text for people, ``conn-<state>`` class for styling, announced politely to screen readers.
export function connectionIndicator(element) {
  element.setAttribute("role", "status");
  element.setAttribute("aria-live", "polite");
  element.classList.add("conn-badge");
  return (state, detail = {}) => {
    const label = STATE_LABELS[state] || state;
    for (const known of STATES) {
      element.classList.remove(`conn-${known}`);
    }
    element.classList.add(`conn-${state}`);
    element.dataset.state = state;
    // Only change the text when the state changes: each change is read out by screen readers.
    if (element.textContent !== label) {
      element.textContent = label;
    }
    if (state === "reconnecting" && typeof detail.delay === "number") {
      element.title = `Connection lost; retrying in ${Math.ceil(detail.delay / 1000)} s`;
    } else if (state === "closed" && detail.code === 4401) {
      element.title = "Not signed in or access expired; reload the page";
    } else {
      element.title = label;
    }
  };
}
