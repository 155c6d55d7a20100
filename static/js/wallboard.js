// Wallboards. On a board page (.board[data-scope]): snapshots from /api/v1/boards/..., then live
// leaderboard.updated events on board:{scope}:{id}; the board re-ranks itself client-side with the
// same fair score as the server and animates rank changes (FLIP). On the index page
// (#displays-admin): administrators create, copy and revoke TV displays through /api/v1/displays.
// Names and comments are only ever set with textContent.
import { StreamConnection, connectionIndicator } from "./stream.js";

const PERIODS = ["today", "week", "month"];
const ROTATE_MS = 20000;
const TICKER_MAX = 12;
const DEFAULT_OPTIONS = { top_n: null, below_top: "hidden", shoutout_pin_minutes: 10 };
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

// --- the board ------------------------------------------------------------------------------

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((p) => p[0].toUpperCase()).join("");
}

// Exact fair-score ranking, as streamsrv/boards/scoring.py: (C*m + sum) / (C + n), ties share a
// rank and are ordered by name. Scores are compared as cross-multiplied integers, never floats.
export function rankAgents(agents, minResponses) {
  const total = agents.reduce((a, x) => a + x.count, 0);
  const totalSum = agents.reduce((a, x) => a + x.rating_sum, 0);
  const c = Math.max(minResponses, 0);
  const threshold = Math.max(minResponses, 1);
  // score = (c*totalSum/total + sum) / (c + n) = (c*totalSum + sum*total) / (total*(c+n))
  const num = (x) => c * totalSum + x.rating_sum * total;
  const den = (x) => total * (c + x.count);
  const cmp = (a, b) => num(b) * den(a) - num(a) * den(b);
  const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.agent_id - b.agent_id;
  const ranked = agents.filter((x) => x.count >= threshold).sort((a, b) => cmp(a, b) || byName(a, b));
  let rank = 0;
  ranked.forEach((x, i) => {
    if (i === 0 || cmp(ranked[i - 1], x) !== 0) rank = i + 1;
    x.rank = rank;
    x.score = total && den(x) ? num(x) / den(x) : 0;
  });
  const waiting = agents.filter((x) => x.count < threshold).sort((a, b) => b.count - a.count || byName(a, b));
  waiting.forEach((x) => { x.rank = null; x.score = null; });
  return { ranked, waiting };
}

function initBoard(root) {
  const scope = root.dataset.scope;
  const target = root.dataset.target;
  const token = root.dataset.token || null;
  const rows = document.getElementById("rows");
  const rowTemplate = document.getElementById("row");
  const ticker = document.getElementById("ticker");
  const bar = document.getElementById("rotation-bar");
  const state = { period: "today", min: 5, agents: new Map(), elements: new Map(), tickerItems: new Map(), options: { ...DEFAULT_OPTIONS } };
  // The shown period's bounds and the account's zone, as the server computed them.
  const shown = { start: null, end: null, zone: undefined };
  let revoked = false;
  let rollover = null;

  function headers() {
    const h = { Accept: "application/json" };
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  function showRevoked() {
    revoked = true;
    document.getElementById("revoked").hidden = false;
    root.classList.add("is-revoked");
  }

  function fmt(n, digits) {
    return n == null ? "\u2013" : n.toFixed(digits);
  }

  // A display may show only its top N ranks by name: below them nobody ("hidden") or rank and
  // score only ("anonymous"); the server already sends those agents without names.
  function belowTop(agent) {
    const topN = state.options.top_n;
    return Boolean(topN) && (agent.rank == null || agent.rank > topN);
  }

  function rowFor(agent) {
    let el = state.elements.get(agent.agent_id);
    if (!el) {
      el = rowTemplate.content.firstElementChild.cloneNode(true);
      el.dataset.agentId = String(agent.agent_id);
      state.elements.set(agent.agent_id, el);
    }
    const img = el.querySelector("img");
    if (agent.photo && img.getAttribute("src") !== agent.photo) {
      img.src = agent.photo;
      img.hidden = false;
    }
    const anonymous = belowTop(agent);
    el.classList.toggle("anonymous", anonymous);
    el.querySelector(".avatar").hidden = anonymous;
    el.querySelector(".initials").textContent = anonymous ? "" : initials(agent.name || "?");
    el.querySelector(".initials").hidden = Boolean(agent.photo);
    el.querySelector(".name").textContent = anonymous ? "" : agent.name;
    el.querySelector(".rank").textContent = agent.rank == null ? "" : String(agent.rank);
    el.querySelector(".score").textContent = fmt(agent.score, 2);
    el.querySelector(".avg").textContent = agent.count ? (agent.rating_sum / agent.count).toFixed(2) : "\u2013";
    el.querySelector(".count").textContent = String(agent.count);
    el.querySelector(".rewards").textContent = String(agent.rewards);
    el.classList.toggle("top", agent.rank === 1);
    el.dataset.rank = agent.rank == null ? "" : String(agent.rank);
    return el;
  }

  const TWO_COLUMNS_FROM = 12;
  // A TV cannot scroll: a long board shrinks its rows (down to 55 %) until every agent fits.
  function fitToScreen() {
    if (!document.body.classList.contains("tv")) return;
    // Past a dozen agents a TV shows two columns (ranks run down the left, then the right).
    const count = rows.children.length;
    const twoColumns = count > TWO_COLUMNS_FROM;
    rows.classList.toggle("two-col", twoColumns);
    document.body.classList.toggle("board-two-col", twoColumns);
    rows.style.gridTemplateRows = twoColumns ? `repeat(${Math.ceil(count / 2)}, auto)` : "";
    rows.style.fontSize = "";
    const available = rows.clientHeight;
    const needed = rows.scrollHeight;
    if (available > 0 && needed > available) {
      const size = parseFloat(getComputedStyle(rows).fontSize);
      rows.style.fontSize = `${(size * Math.max(0.55, (available / needed) * 0.97)).toFixed(2)}px`;
    }
  }
  window.addEventListener("resize", () => fitToScreen());

  // FLIP: remember where each row was (First), re-order (Last), offset each row back (Invert)
  // and let CSS transition it to its new place (Play).
  function render(changedId = null) {
    const { ranked, waiting } = rankAgents([...state.agents.values()], state.min);
    const before = new Map();
    for (const [id, el] of state.elements) if (el.isConnected) before.set(id, el.getBoundingClientRect().top);
    const oldRanks = new Map([...state.elements].map(([id, el]) => [id, el.dataset.rank]));
    const hideBelow = Boolean(state.options.top_n) && state.options.below_top === "hidden";
    const wanted = ranked.filter((a) => !(hideBelow && belowTop(a))).map(rowFor);
    rows.replaceChildren(...wanted);
    rows.classList.toggle("dense", wanted.length > 7);
    fitToScreen();
    document.getElementById("board-empty").hidden = ranked.length > 0;
    const waitingBox = document.getElementById("waiting-box");
    const waitingList = document.getElementById("waiting");
    // Below a display's top N, nobody waiting is named either.
    const privateWaiting = Boolean(state.options.top_n);
    waitingBox.hidden = waiting.length === 0 || (hideBelow && privateWaiting);
    if (privateWaiting) {
      const li = document.createElement("li");
      li.textContent = `${waiting.length} ${waiting.length === 1 ? "other" : "others"}`;
      waitingList.replaceChildren(li);
    } else waitingList.replaceChildren(
      ...waiting.map((a) => {
        const li = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = a.name;
        const count = document.createElement("span");
        count.className = "waiting-count";
        count.textContent = `${a.count}/${state.min}`;
        li.append(name, count);
        return li;
      }),
    );
    document.getElementById("min-note").textContent = `fewer than ${state.min} ratings`;
    if (reducedMotion.matches) return;
    for (const el of wanted) {
      const id = Number(el.dataset.agentId);
      const first = before.get(id);
      const last = el.getBoundingClientRect().top;
      if (first !== undefined && first !== last) {
        el.style.transition = "none";
        el.style.transform = `translateY(${first - last}px)`;
        requestAnimationFrame(() => {
          el.style.transition = "";
          el.style.transform = "";
        });
      }
      const oldRank = oldRanks.get(id);
      if (id === changedId || (oldRank && oldRank !== el.dataset.rank)) {
        el.classList.remove("changed");
        void el.offsetWidth;
        el.classList.add("changed");
      }
    }
  }

  // A shout-out stays pinned at the front for the display's pin time; newer praise fills the
  // rest of the ticker (at most TICKER_MAX items, pinned ones never pushed out).
  function isPinned(item, now) {
    const minutes = state.options.shoutout_pin_minutes;
    if (item.kind !== "shoutout" || !minutes) return false;
    return now - new Date(item.at).getTime() < minutes * 60000;
  }

  function tickerKey(item) {
    return item.response_id ? `r${item.response_id}` : `s${item.shoutout_id}`;
  }

  function renderTicker() {
    const now = Date.now();
    const newest = (a, b) => String(b.at).localeCompare(String(a.at));
    const items = [...state.tickerItems.values()];
    const pinned = items.filter((i) => isPinned(i, now)).sort(newest);
    const rest = items.filter((i) => !isPinned(i, now)).sort(newest);
    const shown = [...pinned, ...rest.slice(0, Math.max(0, TICKER_MAX - pinned.length))];
    // Forget what can no longer come back on screen.
    const keep = new Set(shown.map(tickerKey));
    for (const key of [...state.tickerItems.keys()]) if (!keep.has(key)) state.tickerItems.delete(key);
    ticker.replaceChildren(
      ...shown.map((item) => {
        const li = document.createElement("li");
        li.className = `tick tick-${item.kind || "comment"}${isPinned(item, now) ? " pinned" : ""}`;
        li.dataset.key = tickerKey(item);
        const who = document.createElement("strong");
        who.textContent = item.agent_name || "";
        const text = document.createElement("span");
        text.className = "tick-text";
        text.textContent = item.kind === "shoutout" ? item.message : `\u201c${item.comment}\u201d`;
        li.append(who, text);
        return li;
      }),
    );
  }

  function addTicker(item) {
    const key = tickerKey(item);
    if (state.tickerItems.has(key)) return;
    state.tickerItems.set(key, { ...item, at: item.at || new Date().toISOString() });
    renderTicker();
  }
  setInterval(renderTicker, 15000);

  // Returns whether the board now shows state.period's numbers.
  async function loadSnapshot() {
    const url = `/api/v1/boards/${scope}/${target}?period=${state.period}`;
    let res;
    try {
      res = await fetch(url, { credentials: "same-origin", headers: headers() });
    } catch {
      return false;
    }
    if (res.status === 401 && token) {
      showRevoked();
      return false;
    }
    if (!res.ok) return false;
    const body = await res.json();
    shown.start = body.period_start;
    shown.end = body.period_end;
    shown.zone = body.time_zone;
    scheduleRollover();
    tickClock();
    state.min = body.min_responses;
    state.options = { ...DEFAULT_OPTIONS, ...(body.options || {}) };
    state.agents = new Map();
    for (const a of [...body.standings, ...body.not_ranked]) state.agents.set(a.agent_id, { ...a });
    for (const item of body.ticker) if (!state.tickerItems.has(tickerKey(item))) state.tickerItems.set(tickerKey(item), item);
    renderTicker();
    render();
    return true;
  }

  // When the period ends (the account's midnight, Monday, the 1st) the board reloads, even if
  // nobody answers; timers are capped because very long ones overflow.
  function scheduleRollover() {
    clearTimeout(rollover);
    const end = shown.end ? new Date(shown.end).getTime() : NaN;
    if (Number.isNaN(end)) return;
    const wait = Math.min(Math.max(0, end - Date.now()) + 500, 6 * 3600 * 1000);
    rollover = setTimeout(() => (Date.now() >= end ? loadSnapshot() : scheduleRollover()), wait);
  }

  function onEvent(event) {
    if (event.type === "leaderboard.updated") {
      const d = event.data;
      const sums = d.periods && d.periods[state.period];
      const bounds = d.period_bounds && d.period_bounds[state.period];
      // ISO times in UTC compare as text. Sums of a period that began after the one on screen
      // start it afresh; sums of the one before (an event from just before midnight) are stale.
      let when = 0;
      if (bounds && shown.start && bounds.start !== shown.start) when = bounds.start > shown.start ? 1 : -1;
      if (sums && when > 0) {
        loadSnapshot();
      } else if (sums && when === 0) {
        const prev = state.agents.get(d.agent.id) || { agent_id: d.agent.id, name: d.agent.name, photo: d.agent.photo };
        // The event carries the agent's totals (not a delta): applying it twice changes nothing.
        state.agents.set(d.agent.id, { ...prev, name: d.agent.name || prev.name, count: sums.count, rating_sum: sums.rating_sum, rewards: sums.rewards });
        render(d.agent.id);
      }
      if (d.highlight) addTicker({ kind: "comment", ...d.highlight });
    } else if (event.type === "shoutout.posted") {
      const s = event.data.shoutout || event.data;
      addTicker({ kind: "shoutout", shoutout_id: s.id, agent_name: (s.agent_name || "").split(" ")[0], message: s.message, at: s.created_at || event.at });
    }
  }

  function showPeriod() {
    for (const li of document.querySelectorAll(".periods li")) {
      li.classList.toggle("active", li.dataset.period === state.period);
      li.setAttribute("aria-current", li.dataset.period === state.period ? "true" : "false");
    }
    bar.classList.remove("running");
    void bar.offsetWidth;
    bar.classList.add("running");
  }

  // Rotating today -> week -> month; each turn reloads that period's snapshot, which also
  // carries the board across midnight and the start of a week or month.
  async function rotate() {
    if (revoked) return;
    const previous = state.period;
    state.period = PERIODS[(PERIODS.indexOf(state.period) + 1) % PERIODS.length];
    showPeriod();
    // Never label a period with another period's numbers: without its snapshot, stay put.
    if (!(await loadSnapshot())) {
      state.period = previous;
      showPeriod();
    }
  }

  // The floor's clock: the account's zone, whose midnight the board's "today" starts at.
  function tickClock() {
    const clock = document.getElementById("clock");
    clock.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: shown.zone });
    if (shown.zone) clock.title = shown.zone;
  }

  const params = new URLSearchParams(location.search);
  if (PERIODS.includes(params.get("period"))) state.period = params.get("period");
  const rotating = params.get("rotate") !== "off";
  bar.parentElement.hidden = !rotating;
  showPeriod();
  tickClock();
  setInterval(tickClock, 10000);
  loadSnapshot().then(() => {
    if (revoked) return;
    const indicator = connectionIndicator(document.getElementById("conn"));
    const conn = new StreamConnection({
      token,
      streams: [`board:${scope}:${target}`],
      onEvent,
      onResync: () => loadSnapshot(),
      onState: (s, detail = {}) => {
        indicator(s, detail);
        if (s === "closed" && detail.code === 4401 && token) showRevoked();
      },
    });
    conn.start();
    if (rotating) setInterval(rotate, ROTATE_MS);
  });
}

// --- display administration ----------------------------------------------------------------

function initDisplays(section) {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const list = document.getElementById("displays");
  const template = document.getElementById("display-row");
  const error = document.getElementById("display-error");
  const send = (method, url, body) =>
    fetch(url, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined,
    });

  function optionsOf(form, topSel, belowSel, pinSel) {
    const top = form.querySelector(topSel).value.trim();
    const pin = form.querySelector(pinSel).value.trim();
    return {
      top_n: top === "" ? null : Number(top),
      below_top: form.querySelector(belowSel).value,
      shoutout_pin_minutes: pin === "" ? 10 : Number(pin),
    };
  }

  function row(d) {
    const li = template.content.firstElementChild.cloneNode(true);
    li.dataset.displayId = String(d.id);
    li.querySelector(".d-name").textContent = d.name;
    li.querySelector(".d-target").textContent = `${d.scope === "team" ? "Team" : "Account"} \u00b7 ${d.target_name}`;
    li.querySelector(".d-url").value = d.url;
    li.querySelector(".d-open").href = d.url;
    const options = li.querySelector(".d-options");
    options.querySelector(".d-top-n").value = d.top_n == null ? "" : String(d.top_n);
    options.querySelector(".d-below-top").value = d.below_top || "hidden";
    options.querySelector(".d-pin").value = String(d.shoutout_pin_minutes ?? 10);
    options.addEventListener("submit", async (e) => {
      e.preventDefault();
      const saved = options.querySelector(".d-saved");
      const res = await send("PATCH", `/api/v1/displays/${d.id}`, optionsOf(options, ".d-top-n", ".d-below-top", ".d-pin"));
      const body = await res.json();
      saved.textContent = res.ok ? "Saved: the screen shows it from its next reload" : (body.error ? body.error.message : "Could not save.");
    });
    li.querySelector(".d-revoke").addEventListener("click", async () => {
      if (!window.confirm(`Revoke \u201c${d.name}\u201d? The screen goes dark at once.`)) return;
      const res = await send("DELETE", `/api/v1/displays/${d.id}`);
      if (res.ok || res.status === 404) li.remove();
      document.getElementById("displays-empty").hidden = list.children.length > 0;
    });
    return li;
  }

  async function load() {
    const res = await send("GET", "/api/v1/displays");
    if (!res.ok) return;
    const body = await res.json();
    list.replaceChildren(...body.items.map(row));
    document.getElementById("displays-empty").hidden = list.children.length > 0;
  }

  document.getElementById("display-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const [scope, id] = document.getElementById("display-target").value.split(":");
    const res = await send("POST", "/api/v1/displays", {
      name: document.getElementById("display-name").value,
      scope,
      target_id: Number(id),
      ...optionsOf(e.target, "#display-top-n", "#display-below-top", "#display-pin"),
    });
    const body = await res.json();
    if (!res.ok) {
      error.textContent = body.error ? body.error.message : "Could not create the display.";
      return;
    }
    list.append(row(body));
    document.getElementById("displays-empty").hidden = true;
    e.target.reset();
  });
  load();
}

const boardRoot = document.querySelector(".board[data-scope]");
if (boardRoot) initBoard(boardRoot);
const admin = document.getElementById("displays-admin");
if (admin) initDisplays(admin);
