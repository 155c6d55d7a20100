// The coaching panel: a snapshot from GET /api/v1/coach, then live on team:{id} and coach:{id}.
// Customer text and names are only ever set with textContent; the sparkline is built with DOM APIs.
import { dateIn, formatWhen } from "./dates.js";
import { areaLabels, channelLabel, humanise, money, rewardLabel } from "./labels.js";
import { showTicketLink } from "./links.js";
import { StreamConnection, connectionIndicator } from "./stream.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const MAX_CARDS = 60;
const MAX_ACKED = 20;
const SEVERITY_RANK = { high: 0, medium: 1, positive: 2 };

const MORE_STEP = 50;
const MOMENT_RULES = new Set(["great_moment"]);

const root = document.querySelector(".coach");
const teamId = Number(root.dataset.team);
// The page's filter (?kind=&agent_id=): the snapshot and the live alerts shown follow it.
const filter = { kind: root.dataset.kind || "", agentId: root.dataset.agent ? Number(root.dataset.agent) : null };
let openLimit = Number(root.dataset.openLimit) || MORE_STEP;
// The kinds' labels come from the server's one label table (streamsrv/labels.py).
const RULE_LABELS = JSON.parse(root.dataset.kindLabels || "{}");
// Every open alert the filter covers (counted by the server, then kept current by events).
let openCount = 0;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const els = {
  alerts: document.getElementById("alerts"),
  moments: document.getElementById("moments"),
  momentsEmpty: document.getElementById("moments-empty"),
  shoutouts: document.getElementById("shoutout-list"),
  showing: document.getElementById("alerts-showing-text"),
  more: document.getElementById("alerts-more"),
  acked: document.getElementById("acked"),
  alertsEmpty: document.getElementById("alerts-empty"),
  roster: document.getElementById("roster"),
  rosterEmpty: document.getElementById("roster-empty"),
  feed: document.getElementById("feed"),
  feedEmpty: document.getElementById("feed-empty"),
  sub: document.getElementById("team-sub"),
  toast: document.getElementById("toast"),
  dialog: document.getElementById("action-dialog"),
};
const tpl = {
  alert: document.getElementById("alert-tpl"),
  agent: document.getElementById("agent-tpl"),
  card: document.getElementById("card-tpl"),
  shoutout: document.getElementById("shoutout-tpl"),
};
const MAX_SHOUTOUTS = 10;

const alerts = new Map(); // alert id -> { data, el }
const agents = new Map(); // agent id -> { data, el }
const cards = new Map(); // response id -> card element
const ratings = new Map(); // response id -> { agentId, rating, day } (to adjust today's numbers on edits)
let threshold = 2;
// The team's account's time zone and its date now (from the snapshot): "today" and the
// sparkline's days are that zone's, whatever this browser's zone.
let zone = "UTC";
let today = null;

// --- helpers ------------------------------------------------------------------------------------

function clone(template) {
  return template.content.firstElementChild.cloneNode(true);
}

function stars(rating) {
  return "\u2605".repeat(rating) + "\u2606".repeat(5 - rating);
}

function setStars(el, rating) {
  el.textContent = stars(rating);
  el.setAttribute("aria-label", `${rating} out of 5 stars`);
}

function fmtAvg(value) {
  return value === null || value === undefined ? "–" : value.toFixed(1);
}

function dayOf(iso) {
  return dateIn(zone, new Date(iso));
}

function timeOf(iso) {
  return formatWhen(iso, zone);
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((p) => p[0].toUpperCase()).join("");
}

let toastTimer = null;
function toast(text) {
  els.toast.textContent = text;
  els.toast.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => els.toast.classList.remove("show"), 3500);
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const res = await fetch(path, {
    method: options.method || "GET",
    credentials: "same-origin",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data && data.error ? data.error.message : `request failed (${res.status})`;
    throw new Error(message);
  }
  return data;
}

// --- alerts -------------------------------------------------------------------------------------

function matchesFilter(alert) {
  if (filter.kind && alert.rule !== filter.kind) return false;
  if (filter.agentId !== null && alert.agent.id !== filter.agentId) return false;
  return true;
}

function listFor(alert) {
  return MOMENT_RULES.has(alert.rule) ? els.moments : els.alerts;
}

function sortAlerts(list) {
  const items = [...list.children];
  items.sort((a, b) => {
    const ra = SEVERITY_RANK[a.dataset.severity] ?? 1;
    const rb = SEVERITY_RANK[b.dataset.severity] ?? 1;
    return ra - rb || b.dataset.created.localeCompare(a.dataset.created);
  });
  for (const item of items) list.append(item);
}

function updateAlertCounts() {
  const shown = [...alerts.values()].filter((a) => !a.data.acknowledged_at).length;
  els.alertsEmpty.hidden = els.alerts.children.length > 0;
  els.momentsEmpty.hidden = els.moments.children.length > 0 || els.shoutouts.children.length > 0;
  document.getElementById("kpi-open").textContent = String(openCount);
  els.showing.textContent = `Showing ${shown} of ${openCount} open alerts`;
  els.more.hidden = shown >= openCount;
}

function fillAlert(el, alert) {
  el.dataset.alertId = String(alert.id);
  el.dataset.severity = alert.severity;
  el.dataset.created = alert.created_at;
  el.className = `alert-card sev-${alert.severity} rule-${alert.rule}`;
  el.querySelector(".rule-chip").textContent = RULE_LABELS[alert.rule] || humanise(alert.rule);
  el.querySelector(".alert-agent").textContent = alert.agent.name;
  const when = el.querySelector(".when");
  when.dateTime = alert.created_at;
  when.textContent = timeOf(alert.created_at);
  el.querySelector(".alert-message").textContent = alert.message;
  const quote = el.querySelector(".alert-quote");
  const response = alert.response;
  if (response) {
    quote.hidden = false;
    setStars(quote.querySelector(".stars"), response.rating);
    const text = response.comment_hidden ? "(comment hidden by a moderator)" : response.comment || "(no comment)";
    quote.querySelector(".quote-text").textContent = text;
    quote.classList.toggle("no-comment", !response.comment);
  } else {
    quote.hidden = true;
  }
  const pick = el.querySelector(".pick-box");
  pick.value = String(alert.id);
  pick.disabled = Boolean(alert.acknowledged_at);
  el.querySelector(".pick").hidden = Boolean(alert.acknowledged_at);
  if (alert.acknowledged_at) pick.checked = false;
  const ackBtn = el.querySelector(".ack-btn");
  const state = el.querySelector(".ack-state");
  if (alert.acknowledged_at) {
    el.classList.add("acknowledged");
    ackBtn.hidden = true;
    const who = alert.acknowledged_by ? alert.acknowledged_by.name : "someone";
    state.textContent = `\u2713 Acknowledged by ${who} \u00b7 ${timeOf(alert.acknowledged_at)}`;
  } else {
    ackBtn.hidden = false;
    ackBtn.disabled = false;
    state.textContent = "";
  }
  el.querySelector(".shout-btn").hidden = alert.rule !== "great_moment";
  el.querySelector(".note-btn").hidden = alert.rule === "great_moment";
}

function renderAlert(alert, fresh) {
  if (alert.team_id !== teamId || !matchesFilter(alert)) return;
  const known = alerts.get(alert.id);
  const el = known ? known.el : clone(tpl.alert);
  fillAlert(el, alert);
  alerts.set(alert.id, { data: alert, el });
  if (!known) wireAlert(el, alert.id);
  if (alert.acknowledged_at) {
    if (el.parentElement !== els.acked) els.acked.prepend(el);
    while (els.acked.children.length > MAX_ACKED) {
      const last = els.acked.lastElementChild;
      alerts.delete(Number(last.dataset.alertId));
      last.remove();
    }
  } else {
    const list = listFor(alert);
    if (el.parentElement !== list) list.append(el);
    sortAlerts(list);
    if (fresh) {
      el.classList.add("arrived");
    }
  }
  updateAlertCounts();
}

// Shout-outs are great moments too: listed under them, following the agent filter (none when
// the kind filter names another kind of alert).
function renderShoutout(s, fresh) {
  if (s.team_id !== teamId) return;
  if (filter.kind && !MOMENT_RULES.has(filter.kind)) return;
  if (filter.agentId !== null && s.agent_id !== filter.agentId) return;
  if (els.shoutouts.querySelector(`[data-shoutout-id="${s.id}"]`)) return;
  const el = clone(tpl.shoutout);
  el.dataset.shoutoutId = String(s.id);
  el.querySelector(".so-agent").textContent = s.agent_name;
  el.querySelector(".so-text").textContent = s.message;
  el.querySelector(".so-author").textContent = s.author_name ? `\u2014 ${s.author_name}` : "";
  if (fresh) els.shoutouts.prepend(el);
  else els.shoutouts.append(el);
  while (els.shoutouts.children.length > MAX_SHOUTOUTS) els.shoutouts.lastElementChild.remove();
  updateAlertCounts();
}

function wireAlert(el, alertId) {
  el.querySelector(".ack-btn").addEventListener("click", async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try {
      const result = await api(`/api/v1/alerts/${alertId}/ack`, { method: "POST" });
      renderAlert(result, false);
    } catch (err) {
      button.disabled = false;
      toast(`Could not acknowledge: ${err.message}`);
    }
  });
  el.querySelector(".note-btn").addEventListener("click", () => {
    const { data } = alerts.get(alertId);
    openDialog("note", data.agent, data.response ? data.response.id : null);
  });
  el.querySelector(".shout-btn").addEventListener("click", () => {
    const { data } = alerts.get(alertId);
    openDialog("shoutout", data.agent, data.response ? data.response.id : null);
  });
}

// --- roster and sparklines ----------------------------------------------------------------------

function sparkline(series) {
  const width = 132;
  const height = 36;
  const pad = 4;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("spark-svg");
  const step = (width - pad * 2) / Math.max(series.length - 1, 1);
  const y = (avg) => pad + ((5 - avg) / 4) * (height - pad * 2);
  // A faint band under 3 stars marks the "needs attention" zone.
  const band = document.createElementNS(SVG_NS, "rect");
  band.setAttribute("x", "0");
  band.setAttribute("y", String(y(3)));
  band.setAttribute("width", String(width));
  band.setAttribute("height", String(height - y(3)));
  band.setAttribute("class", "spark-band");
  svg.append(band);
  // Days without ratings are skipped, not drawn as zero: the line joins the days that have data.
  const points = [];
  series.forEach((point, i) => {
    if (point.average !== null) points.push([pad + i * step, y(point.average)]);
  });
  if (points.length > 1) {
    const line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("points", points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("class", "spark-line");
    svg.append(line);
  }
  for (const [px, py] of points.slice(0, -1)) {
    const dot = document.createElementNS(SVG_NS, "circle");
    dot.setAttribute("cx", px.toFixed(1));
    dot.setAttribute("cy", py.toFixed(1));
    dot.setAttribute("r", "1.6");
    dot.setAttribute("class", "spark-dot");
    svg.append(dot);
  }
  const last = [...series].reverse().find((p) => p.average !== null);
  if (last) {
    const i = series.lastIndexOf(last);
    const end = document.createElementNS(SVG_NS, "circle");
    end.setAttribute("cx", String(pad + i * step));
    end.setAttribute("cy", String(y(last.average)));
    end.setAttribute("r", "3");
    end.setAttribute("class", last.average <= 3 ? "spark-end low" : "spark-end");
    svg.append(end);
  }
  return svg;
}

function trendLabel(agent) {
  const points = agent.series.filter((p) => p.average !== null);
  if (!points.length) return "no ratings in the last 14 days";
  return `14-day trend from ${points[0].average.toFixed(1)} to ${points[points.length - 1].average.toFixed(1)} stars`;
}

function fillAgent(el, agent) {
  el.dataset.agentId = String(agent.id);
  const avatar = el.querySelector(".avatar");
  if (agent.photo_url) {
    // The photo, named for screen readers; a broken photo falls back to the initials.
    const img = document.createElement("img");
    img.src = agent.photo_url;
    img.alt = agent.name;
    img.addEventListener("error", () => {
      avatar.replaceChildren(initials(agent.name));
      avatar.setAttribute("aria-hidden", "true");
    });
    avatar.removeAttribute("aria-hidden");
    avatar.replaceChildren(img);
  } else {
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = initials(agent.name);
  }
  el.querySelector(".agent-name").textContent = agent.name;
  // The agent's printable 1:1 sheet (this month), for the coaching meeting.
  const sheet = el.querySelector(".one-on-one-link");
  sheet.href = `/agents/${agent.id}/one-on-one?period=month`;
  sheet.setAttribute("aria-label", `1:1 sheet of ${agent.name}`);
  const t = agent.today;
  const parts = [`${t.count} today`];
  if (t.count) parts.push(`avg ${fmtAvg(t.average)}`);
  if (t.negative) parts.push(`${t.negative} negative`);
  el.querySelector(".agent-today").textContent = parts.join(" \u00b7 ");
  el.classList.toggle("has-negative", t.negative > 0);
  const spark = el.querySelector(".spark");
  spark.replaceChildren(sparkline(agent.series));
  spark.setAttribute("aria-label", trendLabel(agent));
  const avg = el.querySelector(".agent-avg");
  avg.textContent = fmtAvg(agent.period.average);
  avg.title = `${agent.period.count} responses in 14 days`;
  avg.classList.toggle("low", agent.period.average !== null && agent.period.average < 3.5);
  avg.classList.toggle("high", agent.period.average !== null && agent.period.average >= 4.5);
}

function renderAgent(agent) {
  const known = agents.get(agent.id);
  const el = known ? known.el : clone(tpl.agent);
  fillAgent(el, agent);
  agents.set(agent.id, { data: agent, el });
  if (!known) els.roster.append(el);
}

function updateKpis() {
  let count = 0;
  let total = 0;
  let negative = 0;
  for (const { data } of agents.values()) {
    count += data.today.count;
    total += (data.today.average || 0) * data.today.count;
    negative += data.today.negative;
  }
  document.getElementById("kpi-count").textContent = String(count);
  document.getElementById("kpi-avg").textContent = count ? (total / count).toFixed(2) : "–";
  document.getElementById("kpi-neg").textContent = String(negative);
}

function adjust(totals, rating, sign) {
  const sum = (totals.average || 0) * totals.count + sign * rating;
  totals.count += sign;
  totals.average = totals.count ? Math.round((sum / totals.count) * 100) / 100 : null;
  if (rating <= threshold) totals.negative = Math.max(0, (totals.negative || 0) + sign);
}

// Keeps today's numbers and the sparkline's last point current as feedback arrives.
function countResponse(response) {
  const entry = agents.get(response.agent_id);
  if (!entry) return;
  const day = dayOf(response.created_at);
  if (today && day > today) {
    // The account's day has turned: a fresh snapshot starts the new "today" and series.
    loadSnapshot().catch((err) => toast(`Could not reload the panel: ${err.message}`));
    return;
  }
  const agent = entry.data;
  const point = agent.series.find((p) => p.date === day);
  const before = ratings.get(response.id);
  if (before && before.rating === response.rating) return;
  if (before) {
    if (before.day === today) adjust(agent.today, before.rating, -1);
    if (point) adjust(point, before.rating, -1);
    adjust(agent.period, before.rating, -1);
  } else if (response.edit_count > 0) {
    return; // an edit of a response we never counted: its old rating is unknown here
  }
  if (day === today) adjust(agent.today, response.rating, 1);
  if (point) adjust(point, response.rating, 1);
  adjust(agent.period, response.rating, 1);
  ratings.set(response.id, { agentId: response.agent_id, rating: response.rating, day });
  fillAgent(entry.el, agent);
  updateKpis();
}

// --- feedback cards -----------------------------------------------------------------------------

function renderCard(response, fresh) {
  if (response.team_id !== teamId) return;
  const existing = cards.get(response.id);
  const card = existing || clone(tpl.card);
  setStars(card.querySelector(".stars"), response.rating);
  card.classList.toggle("negative", response.rating <= threshold);
  card.classList.toggle("positive", response.rating >= 4);
  card.querySelector(".agent").textContent = response.agent ? response.agent.name : `Agent ${response.agent_id}`;
  card.querySelector(".channel").textContent = channelLabel(response);
  const when = card.querySelector(".when");
  when.dateTime = response.created_at;
  when.textContent = timeOf(response.created_at);
  const comment = card.querySelector(".comment");
  comment.textContent = response.comment_hidden ? "" : response.comment || "";
  comment.hidden = !comment.textContent;
  const extras = [];
  if (response.reward) extras.push(`Suggested reward: ${rewardLabel(response)}`);
  if (response.improvement_areas && response.improvement_areas.length) extras.push(`To improve: ${areaLabels(response).join(", ")}`);
  card.querySelector(".extras").textContent = extras.join(" \u00b7 ");
  showTicketLink(card.querySelector(".ticket-link"), response.ticket_url);
  card.dataset.responseId = String(response.id);
  card.dataset.agentId = String(response.agent_id);
  card.dataset.agentName = response.agent ? response.agent.name : "";
  if (!existing) {
    cards.set(response.id, card);
    card.querySelector(".note-btn").addEventListener("click", () =>
      openDialog("note", { id: response.agent_id, name: card.dataset.agentName }, response.id));
    card.querySelector(".shout-btn").addEventListener("click", () =>
      openDialog("shoutout", { id: response.agent_id, name: card.dataset.agentName }, response.id));
    if (fresh) {
      els.feed.prepend(card);
      card.classList.add("arrived");
    } else {
      els.feed.append(card);
    }
    while (els.feed.children.length > MAX_CARDS) {
      const last = els.feed.lastElementChild;
      cards.delete(Number(last.dataset.responseId));
      last.remove();
    }
  }
  els.feedEmpty.hidden = els.feed.children.length > 0;
}

// --- note and shout-out dialog ------------------------------------------------------------------

const form = document.getElementById("action-form");
const dialogText = document.getElementById("dialog-text");
const dialogError = document.getElementById("dialog-error");
let action = null;

function openDialog(kind, agent, responseId) {
  action = { kind, agentId: agent.id, responseId };
  const note = kind === "note";
  document.getElementById("dialog-title").textContent = note ? "Log a coaching note" : "Post a shout-out";
  document.getElementById("dialog-target").textContent = `For ${agent.name}`;
  document.getElementById("dialog-label").textContent = note ? "Note" : "Message (shown on the team's wallboard)";
  document.getElementById("shared-row").hidden = !note;
  document.getElementById("dialog-shared").checked = false;
  document.getElementById("dialog-submit").textContent = note ? "Save note" : "Post shout-out";
  dialogText.maxLength = note ? 2000 : 500;
  dialogText.value = "";
  dialogError.hidden = true;
  els.dialog.showModal();
  dialogText.focus();
}

document.getElementById("dialog-cancel").addEventListener("click", () => els.dialog.close());

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!action) return;
  const submit = document.getElementById("dialog-submit");
  submit.disabled = true;
  try {
    if (action.kind === "note") {
      await api("/api/v1/coaching-notes", {
        method: "POST",
        body: {
          agent_id: action.agentId,
          response_id: action.responseId,
          text: dialogText.value,
          shared: document.getElementById("dialog-shared").checked,
        },
      });
      toast("Coaching note saved");
    } else {
      await api("/api/v1/shoutouts", {
        method: "POST",
        body: { agent_id: action.agentId, response_id: action.responseId, message: dialogText.value },
      });
      toast("Shout-out posted to the team's board");
    }
    els.dialog.close();
  } catch (err) {
    dialogError.textContent = err.message;
    dialogError.hidden = false;
  } finally {
    submit.disabled = false;
  }
});

// --- snapshot and live events -------------------------------------------------------------------

async function loadSnapshot() {
  const params = new URLSearchParams({ team_id: String(teamId), open_limit: String(openLimit) });
  if (filter.kind) params.set("kind", filter.kind);
  if (filter.agentId !== null) params.set("agent_id", String(filter.agentId));
  const snap = await api(`/api/v1/coach?${params}`);
  openCount = snap.alerts.open_count;
  threshold = snap.negative_threshold ?? 2;
  zone = snap.time_zone || "UTC";
  today = snap.today;
  const hint = document.getElementById("roster-hint");
  if (hint) hint.textContent = `last 14 days · ${zone} time`;
  if (snap.team) els.sub.textContent = `${snap.team.name} \u00b7 ${snap.team.account_name}`;
  for (const entry of alerts.values()) entry.el.remove();
  alerts.clear();
  // The server rendered the lists for browsers without scripts: from here on the script does.
  els.alerts.replaceChildren();
  els.moments.replaceChildren();
  els.acked.replaceChildren();
  els.shoutouts.replaceChildren();
  for (const s of snap.shoutouts || []) renderShoutout(s, false);
  els.roster.replaceChildren();
  agents.clear();
  for (const agent of snap.agents) renderAgent(agent);
  els.rosterEmpty.hidden = snap.agents.length > 0;
  els.feed.replaceChildren();
  cards.clear();
  ratings.clear();
  for (const response of snap.feedback) {
    renderCard(response, false);
    ratings.set(response.id, { agentId: response.agent_id, rating: response.rating, day: dayOf(response.created_at) });
  }
  els.feedEmpty.hidden = snap.feedback.length > 0;
  for (const alert of [...snap.alerts.recent].reverse()) renderAlert(alert, false);
  for (const alert of snap.alerts.open) renderAlert(alert, false);
  updateAlertCounts();
  updateKpis();
}

// The team's running totals of the month: an agent's row is reloaded when their ledger changes.
async function refreshEarnings(agentId) {
  const row = document.querySelector(`#team-earnings tr[data-agent-id="${agentId}"]`);
  if (!row) return;
  const res = await fetch(`/api/v1/agents/${agentId}/earnings`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) return;
  const e = await res.json();
  const cells = row.querySelectorAll("td");
  const rewards = e.rewards.map((r) => `${r.label} \u00d7 ${r.count}`).join(", ") || "\u2013";
  cells[0].textContent = rewards;
  if (e.capped) {
    const note = document.createElement("span");
    note.className = "muted";
    note.textContent = ` (${money(e.capped, e.currency)} above the cap)`;
    cells[0].append(note);
  }
  const others = Object.values(e.other_currencies || {}).map((o) => ` + ${o.total_text}`).join("");
  cells[1].textContent = `${e.total_text}${others}`;
}

function onEvent(event) {
  const data = event.data;
  switch (event.type) {
    case "feedback.received":
    case "feedback.updated":
      renderCard(data, true);
      countResponse(data);
      break;
    case "alert.raised":
      if (data.team_id === teamId && matchesFilter(data) && !alerts.has(data.id) && !data.acknowledged_at) openCount += 1;
      renderAlert(data, true);
      break;
    case "alert.acknowledged":
      // Sent once per alert, by whoever acknowledged it first (here or elsewhere).
      if (data.team_id === teamId && matchesFilter(data)) openCount = Math.max(0, openCount - 1);
      renderAlert(data, false);
      updateAlertCounts();
      break;
    case "alert.moved": {
      // The alert's response was reassigned to an agent of another team: it leaves this panel.
      const known = alerts.get(data.id);
      if (data.from_team_id !== teamId || !known) break;
      if (!known.data.acknowledged_at) openCount = Math.max(0, openCount - 1);
      known.el.remove();
      alerts.delete(data.id);
      updateAlertCounts();
      break;
    }
    case "shoutout.posted":
      renderShoutout(data, true);
      toast(`Shout-out for ${data.agent.name} from ${data.author_name}`);
      break;
    case "coaching.note":
      break;
    case "ledger.updated":
      refreshEarnings(data.agent_id);
      break;
    default:
      break;
  }
}

els.more.addEventListener("click", async (ev) => {
  ev.preventDefault();
  openLimit = Math.min(openLimit + MORE_STEP, 500);
  try {
    await loadSnapshot();
  } catch (err) {
    toast(`Could not load more alerts: ${err.message}`);
  }
});

const picker = document.getElementById("team-picker");
if (picker) picker.addEventListener("change", () => document.getElementById("team-form").submit());

try {
  await loadSnapshot();
} catch (err) {
  toast(`Could not load the panel: ${err.message}`);
}
const conn = new StreamConnection({
  streams: [`team:${teamId}`, `coach:${teamId}`],
  storageKey: `coach-${teamId}`,
  onEvent,
  onResync: () => loadSnapshot(),
  onState: connectionIndicator(document.getElementById("conn")),
});
conn.start();
